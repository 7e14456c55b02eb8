"""Every expression the checker accepts evaluates, at and around the TOO_COMPLEX limits (issue #11 E):
the evaluator is iterative, so depth never reaches the interpreter's recursion limit."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.expr.limits import MAX_DEPTH
from alphamine.sim.evaluate import Evaluator
from alphamine.sim.result import SimResult
from alphamine.sim.simulate import SimulationError, simulate

SETTINGS = {"universe": "TOP30", "neutralization": "MARKET"}


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(30, 300)


def flat_chain(n: int, term: str = "close") -> str:
    return " + ".join([term] * n)


def variable_chain(n: int) -> str:
    return "v0 = close + 1; " + "".join(f"v{i} = v{i - 1} + 1; " for i in range(1, n)) + f"v{n - 1}"


@pytest.mark.parametrize("source", [flat_chain(MAX_DEPTH), variable_chain(MAX_DEPTH - 1)],
                         ids=["flat", "variables"])
def test_chains_at_the_limit_simulate(panel: Panel, source: str) -> None:
    assert isinstance(simulate(source, panel, SETTINGS), SimResult)


@pytest.mark.parametrize("source", [flat_chain(MAX_DEPTH + 1), variable_chain(MAX_DEPTH)], ids=["flat", "variables"])
def test_chains_beyond_the_limit_are_rejected_by_lint(panel: Panel, source: str) -> None:
    with pytest.raises(SimulationError, match=r"^TOO_COMPLEX at 1:\d+: the expression nests") as e:
        simulate(source, panel, SETTINGS)
    assert e.value.span is not None


def test_evaluation_is_independent_of_the_callers_stack(panel: Panel) -> None:
    source = variable_chain(MAX_DEPTH - 1)

    def nested(k: int) -> SimResult:
        return simulate(source, panel, SETTINGS) if k == 0 else nested(k - 1)

    assert isinstance(nested(sys.getrecursionlimit() - 200), SimResult)


def test_the_evaluator_itself_has_no_depth_limit(panel: Panel) -> None:
    """Far beyond the lint limit (bypassing lint), the iterative evaluator still computes the value."""
    n = 3 * sys.getrecursionlimit()  # the old recursive evaluator used 4 frames per level
    out = Evaluator(panel).evaluate("v0 = close + 1; " + "".join(f"v{i} = v{i - 1} + 1; " for i in range(1, n))
                                    + f"v{n - 1}")
    np.testing.assert_allclose(out, panel.matrices["close"] + n, rtol=1e-12)


def test_shared_inputs_are_computed_once_and_values_released(panel: Panel) -> None:
    ev = Evaluator(panel)
    a = ev.evaluate("a = ts_mean(close, 5); b = a * a + a; b - a")
    m = ev.evaluate("ts_mean(close, 5)")
    np.testing.assert_allclose(a, m * m, rtol=1e-12, equal_nan=True)
    assert ev.cache.misses <= 6  # close, ts_mean, a*a, +a, -a, root: each looked up once
