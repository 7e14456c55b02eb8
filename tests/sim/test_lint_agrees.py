"""lint must reject what simulate rejects (issue #11 B, C): a property test over random operator trees,
the evaluator applying the declarations' rules with the checker's very messages, and kernel failures
turned into one located line without JIT internals."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphamine.data.synthetic import synthetic
from alphamine.expr import check
from alphamine.ops.registry import REGISTRY, kernel_failure
from alphamine.sim.evaluate import EvaluationError, Evaluator, SubexpressionCache
from alphamine.sim.result import SimResult
from alphamine.sim.simulate import SimulationError, simulate
from tests.sim.fuzz_exprs import Fuzzer, random_exprs

PANEL = synthetic(30, 300)
FUZZER = Fuzzer(PANEL)
CACHE = SubexpressionCache(256 * 1024**2)
SETTINGS: list[dict[str, Any]] = [
    {"universe": "TOP30", "neutralization": "NONE"},
    {"universe": "TOP30", "neutralization": "SECTOR", "decay": 3},
    {"universe": "TOP30", "neutralization": "SLOW_AND_FAST", "delay": 0},
    {"universe": "TOP30", "neutralization": "MARKET", "nanHandling": "ON", "pasteurization": "OFF"},
]
INTERNALS = ("nopython", "numba", "Traceback", "pipeline", "Allocation failed")


def readable(e: SimulationError) -> None:
    text = str(e)
    assert "\n" not in text and not any(s in text for s in INTERNALS), text


@settings(derandomize=True, max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(data=st.data(), which=st.sampled_from(range(len(SETTINGS))))
def test_lint_clean_expressions_simulate(data: st.DataObject, which: int) -> None:
    """check(...) without errors => simulate returns a SimResult or raises a located, readable
    SimulationError; never any other exception."""
    source = FUZZER.expr(lambda options: data.draw(st.sampled_from(options)), depth=3)
    if any(d.is_error for d in check(source, PANEL.catalogue, n_days=PANEL.n_days)):
        return
    try:
        result = simulate(source, PANEL, SETTINGS[which], cache=CACHE)
    except SimulationError as e:
        readable(e)
        assert e.span is not None, str(e)
    else:
        assert isinstance(result, SimResult)


@pytest.mark.parametrize("seed", [1, 2])
def test_lint_clean_expressions_simulate_seeded_sweep(seed: int) -> None:
    """The same property over deeper trees from a seeded generator (hypothesis favours small draws)."""
    for i, source in enumerate(random_exprs(PANEL, 150, seed=seed, depth=4)):
        if any(d.is_error for d in check(source, PANEL.catalogue, n_days=PANEL.n_days)):
            continue
        try:
            simulate(source, PANEL, SETTINGS[i % len(SETTINGS)], cache=CACHE)
        except SimulationError as e:
            readable(e)
            assert e.span is not None, str(e)


# Expressions lint rejects because of a declared rule: the evaluator (lint bypassed) rejects them with
# the checker's message, located at the same place.
RULES = [
    "clamp(close, lower=2, upper=1)",
    "vec_percentage(sentiment_events, percentage=1.5)",
    "rank(bucket(close))",
    'replace(close, target="", dest="1")',
    "kth_element(close, 10, k=2147483648)",
    "ts_entropy(close, 10, buckets=2147483648)",
    "ts_moment(close, 10, k=1e308)",
    "ts_mean(close, 10001)",
    "max(close)",
    "add(close)",
    "rank(TOP30)",
]


@pytest.mark.parametrize("source", RULES)
def test_the_evaluator_applies_the_checkers_rules(source: str) -> None:
    errors = [d for d in check(source, PANEL.catalogue) if d.is_error]
    assert len(errors) == 1, errors
    with pytest.raises(EvaluationError) as e:
        Evaluator(PANEL).evaluate(source)
    assert errors[0].message in str(e.value) and e.value.span is not None
    d = errors[0]
    if d.code == "ARG_KIND":  # a parameter rule: the argument, or the call around it, is blamed
        assert d.span is not None
        assert e.value.span.start <= d.span.start and d.span.end <= e.value.span.end
    with pytest.raises(SimulationError) as s:
        simulate(source, PANEL, SETTINGS[0])
    assert d.message in str(s.value)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MemoryError("Allocation failed (probably too large)."), "not enough memory"),
        (RuntimeError("Failed in nopython mode pipeline (step: nopython frontend)\nnon-precise type"),
         "the kernel failed on this input (RuntimeError)"),
        (ValueError("Failed in nopython mode pipeline (step: x)"), "the kernel failed on this input (ValueError)"),
        (ValueError("too many groups to sort\nsecond line"), "too many groups to sort"),
    ],
)
def test_kernel_failures_become_one_located_line(monkeypatch: pytest.MonkeyPatch, error: BaseException,
                                                  reason: str) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    monkeypatch.setitem(REGISTRY, "ts_mean", dataclasses.replace(REGISTRY["ts_mean"], kernel=boom))
    source = "rank(close) + ts_mean(volume, 5)"
    with pytest.raises(EvaluationError) as e:
        Evaluator(PANEL).evaluate(source)
    assert e.value.span is not None and source[e.value.span.start : e.value.span.end] == "ts_mean(volume, 5)"
    assert str(e.value).startswith(f"ts_mean: {reason}") and str(e.value).endswith("(at 1:15)")
    with pytest.raises(SimulationError) as s:
        simulate(source, PANEL, SETTINGS[0])
    readable(s.value)
    assert s.value.span == e.value.span
    assert kernel_failure(error).startswith(reason)


def test_former_hangs_and_crashes_are_quick_lint_errors() -> None:
    """Issue #11 C: these hung (growing memory) or surfaced the JIT's text."""
    for source in ("ts_entropy(close, 10, buckets=2147483648)", "kth_element(close, 10, k=2147483648)",
                   "ts_moment(close, 10, k=1e308)"):
        with pytest.raises(SimulationError, match=r"^ARG_KIND at 1:\d+: ") as e:
            simulate(source, PANEL, SETTINGS[0])
        readable(e.value)


def test_the_fuzzer_reaches_both_sides() -> None:
    """The property above is not vacuous: the generator's trees are often lint-clean and often not."""
    import random

    rng = random.Random(3)
    sources = [FUZZER.expr(rng.choice, 3) for _ in range(200)]
    clean = sum(not any(d.is_error for d in check(s, PANEL.catalogue, n_days=PANEL.n_days)) for s in sources)
    assert 20 <= clean <= 180
