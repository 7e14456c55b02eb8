"""infer_thesis on representative expressions."""

from __future__ import annotations

import pytest

from alphamine.data.panel import Panel
from alphamine.generate import THESIS_TYPES, infer_thesis

CASES = [
    ("rank(-returns)", "reversal"),
    ("-rank(ts_delta(close, 5))", "reversal"),
    ("rank(-ts_sum(returns, 3))", "reversal"),
    ("rank(close / ts_delay(close, 252) - 1)", "momentum"),
    ("rank(ts_mean(returns, 120))", "momentum"),
    ("rank(ts_delay(close, 21) / ts_delay(close, 252))", "momentum"),
    ("-rank(ts_std_dev(returns, 20))", "volatility"),
    ("-rank(ts_mean((high - low) / close, 20))", "volatility"),
    ("-rank(ts_corr(rank(close), rank(volume), 10))", "volume_price"),
    ("-rank(ts_mean(volume, 20) / sharesout)", "liquidity"),
    ("-rank(log(cap))", "liquidity"),
    ("rank(ts_backfill(bookvalue, 252) / cap)", "value"),
    ("rank(ts_backfill(earnings, 252) / ts_backfill(assets, 252))", "quality"),
    ("rank(ts_delta(ts_backfill(sales, 252), 126))", "growth"),
    ("group_rank(close, sector)", "group_relative"),
    ("rank(ts_decay_linear(ts_backfill(vec_avg(sentiment_events), 60), 10))", "sentiment"),
    ("1", "other"),
    ("this is not ( an expression", "other"),
]


@pytest.mark.parametrize(("expr", "kind"), CASES)
def test_infer_thesis(expr: str, kind: str, syn: Panel) -> None:
    t = infer_thesis(expr, syn.catalogue)
    assert t.type == kind
    assert t.type in THESIS_TYPES
    assert t.rationale.endswith(".") and len(t.failure_mode) > 20


def test_reversal_failure_mode_mentions_turnover(syn: Panel) -> None:
    assert "turnover" in infer_thesis("rank(-returns)", syn.catalogue).failure_mode.lower()


def test_sample_fundamental_ratio(sample: Panel) -> None:
    t = infer_thesis("rank(ts_backfill(net_income, 252) / ts_backfill(total_assets, 252))", sample.catalogue)
    assert t.type == "quality"
