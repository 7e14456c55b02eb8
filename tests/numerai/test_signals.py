"""Numerai Signals submissions from alphas on the bundled S&P 500 sample: a given expression, and the
ready alphas of a small real mining run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from alphamine.data.panel import Panel
from alphamine.data.sample import load_sample
from alphamine.numerai.signals import (
    MIN_TICKERS,
    AlphaSpec,
    SignalsError,
    alpha_signal,
    build_signals,
    resolve_date,
    run_alphas,
    to_signals_ticker,
    unit_rank,
    validate_signals,
    write_signals_csv,
)

REVERSAL = "rank(-ts_delta(close, 5))"
VOLUME = "-ts_corr(close, volume, 10)"
runner = CliRunner()


@pytest.fixture(scope="module")
def panel() -> Panel:
    return load_sample()


def test_tickers_map_to_bloomberg_composites() -> None:
    assert to_signals_ticker("AAPL") == "AAPL US"
    assert to_signals_ticker("brk.b") == "BRK/B US" and to_signals_ticker("BF-B") == "BF/B US"
    assert to_signals_ticker("BRK.B", "plain") == "BRK.B"
    with pytest.raises(SignalsError, match="ticker style"):
        to_signals_ticker("AAPL", "reuters")


def test_unit_rank_is_strictly_inside_zero_one() -> None:
    r = unit_rank(pd.Series([3.0, 1.0, 2.0, 2.0, np.nan]))
    assert r.tolist()[:4] == [0.875, 0.125, 0.5, 0.5] and np.isnan(r.iloc[4])


def test_dates_resolve_to_the_last_trading_day_on_or_before(panel: Panel) -> None:
    assert resolve_date(panel, None) == panel.n_days - 1
    assert str(panel.dates[resolve_date(panel, "2018-02-03")]) == "2018-02-02"  # a Saturday -> Friday
    with pytest.raises(SignalsError, match="before the panel's first day"):
        resolve_date(panel, "2001-01-01")
    with pytest.raises(SignalsError, match="after the panel's last day"):
        resolve_date(panel, "2030-01-01")
    with pytest.raises(SignalsError, match="YYYY-MM-DD"):
        resolve_date(panel, "yesterday")


def test_an_expression_becomes_a_valid_submission(panel: Panel, tmp_path: Path) -> None:
    sub = build_signals(panel, [AlphaSpec(REVERSAL)])
    frame = sub.frame
    assert sub.date == "2018-02-07" and list(frame.columns) == ["bloomberg_ticker", "date", "signal"]
    assert frame["bloomberg_ticker"].is_unique and frame["bloomberg_ticker"].is_monotonic_increasing
    assert frame["bloomberg_ticker"].str.endswith(" US").all() and "BRK/B US" in set(frame["bloomberg_ticker"])
    assert len(frame) + sub.dropped == panel.n_instruments and len(frame) >= MIN_TICKERS
    assert ((frame["signal"] > 0) & (frame["signal"] < 1)).all() and frame["signal"].nunique() > len(frame) // 2
    assert sub.problems == () and validate_signals(frame) == []
    import warnings

    from numerai_tools.submissions import validate_submission_signals

    warnings.simplefilter("ignore")  # numerai_tools' own pandas deprecation warnings
    ticker_col, signal_col, date_col, filtered, invalid = validate_submission_signals(
        frame[["bloomberg_ticker"]].copy(), frame.copy(), assert_date_col=True)
    assert (ticker_col, signal_col, date_col, len(filtered), invalid) == ("bloomberg_ticker", "signal", "date",
                                                                          len(frame), [])  # fmt: skip
    # the signal orders tickers as the alpha's raw values on that day
    raw = alpha_signal(panel, AlphaSpec(REVERSAL), panel.n_days - 1)
    by_symbol = frame.set_index(frame["bloomberg_ticker"].str.removesuffix(" US").str.replace("/", "."))["signal"]
    assert np.corrcoef(raw.rank(), by_symbol.loc[raw.index].rank())[0, 1] == pytest.approx(1.0)

    path = write_signals_csv(sub, tmp_path / "out" / "signals.csv")
    back = pd.read_csv(path)
    assert back.columns.tolist() == ["bloomberg_ticker", "date", "signal"] and len(back) == len(frame)
    assert back["date"].nunique() == 1 and ((back["signal"] > 0) & (back["signal"] < 1)).all()


def test_several_alphas_are_averaged_by_rank(panel: Panel) -> None:
    day = panel.date_index("2017-06-30")
    a, b = AlphaSpec(REVERSAL), AlphaSpec(VOLUME, {"decay": 3, "universe": "TOP200"})
    combined = build_signals(panel, [a, b], date="2017-06-30", ticker_style="plain").frame.set_index("ticker")
    ra, rb = unit_rank(alpha_signal(panel, a, day)), unit_rank(alpha_signal(panel, b, day))
    expected = unit_rank(pd.concat([ra, rb], axis=1).mean(axis=1))
    assert len(combined) == len(expected) == len(ra.index.union(rb.index))
    np.testing.assert_allclose(combined["signal"].to_numpy(), expected.loc[combined.index].to_numpy())
    single = build_signals(panel, [a], date="2017-06-30", ticker_style="plain").frame
    twice = build_signals(panel, [a, a], date="2017-06-30", ticker_style="plain").frame
    pd.testing.assert_frame_equal(single, twice)


def test_problems_are_reported(panel: Panel) -> None:
    frame = build_signals(panel, [AlphaSpec(REVERSAL)]).frame
    assert any("at least 100" in p for p in validate_signals(frame.head(50)))
    dup = pd.concat([frame, frame.head(1)], ignore_index=True)
    assert any("duplicate" in p.lower() or "Duplicates" in p for p in validate_signals(dup))
    edge = frame.assign(signal=frame["signal"].where(frame.index > 0, 1.0))
    assert any("strictly in (0, 1)" in p for p in validate_signals(edge))
    assert "columns must be" in validate_signals(frame.rename(columns={"signal": "value"}))[0]
    with pytest.raises(SignalsError, match="no alpha"):
        build_signals(panel, [])
    with pytest.raises(SignalsError, match="cannot evaluate"):
        build_signals(panel, [AlphaSpec("rank(no_such_field)")])


# ---------------------------------------------------------------------------- a small real mining run
@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alphamine.data.sources import DataSource
    from alphamine.pipeline.config import RunConfig
    from alphamine.pipeline.controller import start_run
    from alphamine.sim.settings import make_settings

    root = tmp_path_factory.mktemp("mined")
    config = RunConfig(
        seed=1, settings=make_settings({"universe": "TOP200", "decay": 2}).to_brain(), data=DataSource(kind="sample"),
        max_iterations=1, candidates_per_iteration=8, max_variant_alphas=0, max_enhance_alphas=0, workers=1,
    )  # fmt: skip
    out = start_run(config, runtime_root=root, run_id="mine", console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    return root


def _mark_ready(root: Path, n: int) -> list[str]:
    """Stand in for SUBMIT_GATE: a small run rarely passes it, so mark the first `n` simulated
    candidates ready through the store's own API."""
    from alphamine.store.status import SIMULATED_STATUSES, CandidateStatus
    from alphamine.store.store import Store

    with Store.open(root / "alphamine.sqlite3") as store:
        rows = [r for r in store.candidates(run_id="mine") if r.status in SIMULATED_STATUSES][:n]
        store.set_candidate_status([r.id for r in rows], CandidateStatus.READY, reason="test: ready for Signals")
    return [r.expression for r in rows]


def test_a_mining_runs_ready_alphas_become_a_submission(mined: Path, tmp_path: Path) -> None:
    from alphamine.cli.numerai_cmd import numerai_app

    _source, settings, ready = run_alphas(mined, "mine")
    out = tmp_path / "signals.csv"
    if not ready:  # the usual case for an 8-candidate run: the command says so in one line
        res = runner.invoke(numerai_app, ["signals", "--run-id", "mine", "--out", str(out), "--runtime-root",
                                          str(mined)])  # fmt: skip
        assert res.exit_code == 2 and "has no ready alphas" in res.output and not out.exists()
    expressions = _mark_ready(mined, 2 - len(ready)) if len(ready) < 2 else []
    source, settings, ready = run_alphas(mined, "mine")
    assert source.kind == "sample" and settings["universe"] == "TOP200" and len(ready) >= 2
    assert set(expressions) <= {a.expression for a in ready}
    assert all(a.settings["universe"] == "TOP200" and a.settings["decay"] == 2 for a in ready)

    res = runner.invoke(numerai_app, ["signals", "--run-id", "mine", "--ready", "--expression", REVERSAL,
                                      "--date", "2017-12-29", "--out", str(out), "--runtime-root", str(mined)])
    assert res.exit_code == 0, res.output
    assert f"from {len(ready) + 1} alpha(s)" in res.output and "valid:" in res.output
    frame = pd.read_csv(out)
    assert frame["date"].unique().tolist() == ["2017-12-29"]
    assert frame["bloomberg_ticker"].is_unique and 150 <= len(frame) <= 200  # the run's TOP200
    assert ((frame["signal"] > 0) & (frame["signal"] < 1)).all()
    assert validate_signals(frame) == []


def test_cli_signals_errors_are_one_line(tmp_path: Path) -> None:
    from alphamine.cli.numerai_cmd import numerai_app

    res = runner.invoke(numerai_app, ["signals", "--run-id", "x", "--out", str(tmp_path / "s.csv"),
                                      "--runtime-root", str(tmp_path)])  # fmt: skip
    assert res.exit_code == 2 and "no mining store" in res.output
    assert not (tmp_path / "alphamine.sqlite3").exists()  # nothing created by asking
    res = runner.invoke(numerai_app, ["signals", "--ready", "--out", str(tmp_path / "s.csv")])
    assert res.exit_code == 2 and "--ready needs --run-id" in res.output
    res = runner.invoke(numerai_app, ["signals", "--expression", REVERSAL, "--ticker-style", "x",
                                      "--out", str(tmp_path / "s.csv")])  # fmt: skip
    assert res.exit_code == 2 and "ticker style" in res.output
