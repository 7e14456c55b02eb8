"""No numpy RuntimeWarning escapes from simulate (issue #11 G): a few hundred diverse expressions on the
bundled sample (template library, lint-clean random trees, edge cases on broken panels), every warning
an error. Sources are fixed where they arise (e.g. `adv_dollars` on an infinite volume), never by
silencing warnings globally."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from alphamine.data.panel import Panel
from alphamine.expr import check
from alphamine.sim.checks import PoolEntry
from alphamine.sim.evaluate import SubexpressionCache
from alphamine.sim.simulate import SimulationError, simulate
from tests.sim.fuzz_exprs import random_exprs

SETTINGS: list[dict[str, Any]] = [
    {},
    {"neutralization": "NONE", "decay": 4},
    {"neutralization": "SLOW_AND_FAST"},
    {"neutralization": "MARKET", "nanHandling": "ON", "delay": 0},
    {"neutralization": "SECTOR", "maxTrade": "ON", "pasteurization": "OFF"},
    {"checkProfile": "consultant", "testPeriod": "P1Y"},
]
EDGES = ["rank(close)", "1/0", "close - close", "nan", "-inf", "rank(close) * 0", "1", "volume", "zscore(close)",
         "ts_std_dev(close, 20)", "group_zscore(close, sector)", "ts_corr(close, volume, 10)", "rank(close) * 1e308",
         "close * 1e-320", "trade_when(close > 0, rank(close), -1)", "hump(rank(close))"]


@pytest.fixture(scope="module")
def sample() -> Panel:
    try:
        from alphamine.data.sample import load_sample

        return load_sample()
    except Exception as e:  # pragma: no cover - the sample ships with the package
        pytest.skip(f"bundled sample unavailable: {e}")


@contextmanager
def warnings_are_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _run(source: str, panel: Panel, settings: dict, **kw: object) -> None:
    # a rejected expression is fine here; a warning or any other error is not
    with warnings_are_errors(), contextlib.suppress(SimulationError):
        simulate(source, panel, settings, **kw)  # type: ignore[arg-type]


def test_template_library_and_random_trees_raise_no_warnings(sample: Panel) -> None:
    from alphamine.generate.candidate import GenerationContext
    from alphamine.generate.templates import TemplateGenerator
    from alphamine.sim.settings import make_settings

    ctx = GenerationContext(sample.catalogue, sample.n_days, make_settings({}), np.random.default_rng(0))
    sources = [c.expression for c in TemplateGenerator().generate(ctx, 150)]
    sources += [s for s in random_exprs(sample, 250, seed=5, depth=3)
                if not any(d.is_error for d in check(s, sample.catalogue, n_days=sample.n_days))]
    assert len(sources) >= 250
    cache = SubexpressionCache(512 * 1024**2)
    for i, source in enumerate(sources):
        _run(source, sample, SETTINGS[i % len(SETTINGS)], cache=cache)


def test_edge_alphas_on_broken_panels_raise_no_warnings(sample: Panel) -> None:
    panels = [
        sample,
        sample.with_fields(matrices={"close": np.full(sample.shape, np.nan)}),
        sample.with_fields(matrices={"volume": np.full(sample.shape, np.inf)}),  # adv_dollars: inf - inf
    ]
    pool = [PoolEntry("flat", sample.dates, np.zeros(sample.n_days), 1.0),
            PoolEntry("missing", sample.dates, np.full(sample.n_days, np.nan), 1.0)]
    for k, panel in enumerate(panels):
        for i, source in enumerate(EDGES):
            _run(source, panel, SETTINGS[(i + k) % len(SETTINGS)], pool=pool)
    _run("rank(close)", panels[2], {"maxTrade": "ON"})


def test_the_harness_does_catch_warnings() -> None:
    with pytest.raises(RuntimeWarning), warnings_are_errors():
        np.float64(1.0) / np.float64(0.0)
