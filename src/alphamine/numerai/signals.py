"""Numerai Signals submissions from FASTEXPR alphas: one value in (0, 1) per ticker for one date.

Why this shape: a Signals submission is a cross-sectional ranking of stocks on one day (docs.numer.ai
"Signals / Submissions": an id column, a `signal` column strictly inside (0, 1), at least 100 tickers
of the live universe, each ticker once). A mined alpha is exactly such a ranking, day by day, so the
submission is the alpha's cross-section on the last day of the panel (or `date`).

How a value is computed (`alpha_signal`): the expression is evaluated on the whole panel in the
*build frame with no delay* (inputs up to and including the date, pasteurized to the alpha's universe
when its settings pasteurize), the settings' decay is applied, and the row of the date is kept for the
instruments of the universe on that day with a finite value. That row is what the alpha would trade
on the next day. The settings' neutralization and truncation are NOT applied: Numerai neutralizes
Signals itself against its own risk factors, and a rank is invariant to truncation's scaling of a
book. Several alphas (a run's ready set) are combined by averaging their ranks per ticker (each alpha
ranked to (0, 1) on the date; a ticker is kept when at least one alpha has a value), then the average
is ranked again, so every alpha weighs the same whatever its scale.

Ranks are `(rank - 0.5) / n` with ties averaged (numerai_tools' `rank`), so values lie strictly in
(0, 1) and never touch the bounds.

Ticker mapping (`to_signals_ticker`): alphamine panels name instruments by their US exchange ticker
(the bundled sample: "AAPL", "BRK.B"). Numerai Signals accepts a `bloomberg_ticker` column whose
values are Bloomberg composite tickers, "<TICKER> <COUNTRY>", US stocks being "AAPL US"; Bloomberg
writes share classes with a slash ("BRK/B US"), so "." and "-" become "/". That is the default
(`ticker_style="bloomberg"`). `ticker_style="plain"` writes the symbol unchanged in a `ticker`
column, which numerai_tools' validator accepts but Numerai's documentation does not list: map it with
Numerai's universe file (numerai_tools.submissions.remap_ids) before uploading. Symbols the universe
does not know are dropped by Numerai; the validator here checks headers, values, duplicates and the
100-ticker minimum against the submission's own tickers (there is no network to fetch the live
universe).

Contract: `build_signals(...) -> SignalsSubmission` (frame columns [id column, "date", "signal"],
one row per ticker, sorted by ticker); `validate_signals(frame) -> list[str]` (problems, empty when
valid); `write_signals_csv(sub, path)`. `SignalsError` carries one line for the CLI.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from alphamine.data.panel import Panel
    from alphamine.data.sources import DataSource

TICKER_STYLES = {"bloomberg": "bloomberg_ticker", "plain": "ticker"}
SIGNAL_COL = "signal"
DATE_COL = "date"
MIN_TICKERS = 100  # numerai_tools.submissions.SIGNALS_MIN_TICKERS (also checked without the package)


class SignalsError(ValueError):
    """A submission cannot be built (unknown run, no alpha, a date outside the panel, a failing
    expression, too few tickers): one line for the CLI."""


@dataclass(frozen=True)
class AlphaSpec:
    """One alpha to turn into a signal: its expression and simulation settings (BRAIN JSON or
    snake_case; `{}` = the defaults)."""

    expression: str
    settings: dict[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class SignalsSubmission:
    """A built submission. `frame`: [id column, "date", "signal"]; `date`: the panel day used;
    `alphas`: what was combined; `dropped`: instruments with no value from any alpha on that day."""

    frame: pd.DataFrame
    date: str
    ticker_col: str
    alphas: tuple[AlphaSpec, ...]
    dropped: int
    problems: tuple[str, ...] = ()

    @property
    def n_tickers(self) -> int:
        return len(self.frame)


# ---------------------------------------------------------------------------- tickers
def to_signals_ticker(symbol: str, style: str = "bloomberg") -> str:
    """The Signals id of a US ticker (module doc): "AAPL" -> "AAPL US", "BRK.B" -> "BRK/B US";
    `plain` leaves it unchanged."""
    if style not in TICKER_STYLES:
        raise SignalsError(f"ticker style must be one of {', '.join(TICKER_STYLES)}, got {style!r}")
    s = str(symbol).strip().upper()
    if style == "plain":
        return s
    return s.replace(".", "/").replace("-", "/") + " US"


# ---------------------------------------------------------------------------- values
def unit_rank(values: pd.Series) -> pd.Series:
    """Average-tie ranks scaled to (rank - 0.5) / n: strictly inside (0, 1); NaN stays NaN."""
    r = values.rank(method="average")
    return (r - 0.5) / r.notna().sum()


def resolve_date(panel: Panel, date: str | None) -> int:
    """Row of `date` in the panel: the last day when None, else the last trading day on or before it
    (a weekend or holiday date uses the day before). SignalsError outside the panel."""
    if date is None:
        return panel.n_days - 1
    try:
        d = np.datetime64(str(date), "D")
    except ValueError:
        raise SignalsError(f"--date must be YYYY-MM-DD, got {date!r}") from None
    i = int(np.searchsorted(panel.dates, d, side="right")) - 1
    if i < 0:
        raise SignalsError(f"date {d} is before the panel's first day {panel.dates[0]}")
    if d > panel.dates[-1]:
        raise SignalsError(f"date {d} is after the panel's last day {panel.dates[-1]}; the data has no values there")
    return i


def alpha_signal(panel: Panel, alpha: AlphaSpec, row: int) -> pd.Series:
    """The alpha's raw values on panel row `row` (module doc), indexed by instrument, NaN dropped."""
    import pandas as pd

    from alphamine.sim.decay import decay_finite
    from alphamine.sim.evaluate import EvaluationError, Evaluator
    from alphamine.sim.settings import OnOff, SettingsError, make_settings

    try:
        s = make_settings(dict(alpha.settings))
    except SettingsError as e:
        raise SignalsError(f"settings of {alpha.expression!r}: {e}") from None
    if s.universe not in panel.universes:
        raise SignalsError(f"universe {s.universe} is not offered by this panel ({', '.join(panel.universes)})")
    universe = np.asarray(panel.universe(s.universe), dtype=bool)
    ev = Evaluator(panel, universe=universe if s.pasteurize else None, shift=0,
                   nan_handling=s.nan_handling == OnOff.ON)  # fmt: skip
    try:
        raw = ev.evaluate_raw(alpha.expression)
    except (EvaluationError, ValueError) as e:
        raise SignalsError(f"cannot evaluate {alpha.expression!r}: {e}") from None
    values = decay_finite(raw, s.decay) if s.decay > 1 else np.asarray(raw, dtype=float)
    day = np.asarray(values[row], dtype=float)
    keep = universe[row] & np.isfinite(day)
    return pd.Series(day[keep], index=pd.Index(np.asarray(panel.instruments)[keep], name="instrument"))


def combine(signals: Sequence[pd.Series]) -> pd.Series:
    """Average of per-alpha unit ranks per instrument (present in at least one), ranked again."""
    import pandas as pd

    ranks = pd.concat([unit_rank(s) for s in signals], axis=1)
    return unit_rank(ranks.mean(axis=1, skipna=True).dropna())


# ---------------------------------------------------------------------------- building
def build_signals(
    panel: Panel,
    alphas: Sequence[AlphaSpec],
    *,
    date: str | None = None,
    ticker_style: str = "bloomberg",
    validate: bool = True,
) -> SignalsSubmission:
    """The submission of `alphas` on `date` (module doc). SignalsError when no ticker has a value."""
    import pandas as pd

    if not alphas:
        raise SignalsError("no alpha to turn into a signal (give an expression or a run with ready alphas)")
    if ticker_style not in TICKER_STYLES:
        raise SignalsError(f"ticker style must be one of {', '.join(TICKER_STYLES)}, got {ticker_style!r}")
    row = resolve_date(panel, date)
    day = str(panel.dates[row])
    per_alpha = [alpha_signal(panel, a, row) for a in alphas]
    empty = [a.label or a.expression for a, s in zip(alphas, per_alpha, strict=True) if s.empty]
    if len(empty) == len(alphas):
        raise SignalsError(f"no instrument has a value on {day} for {', '.join(empty[:3])}")
    signal = combine([s for s in per_alpha if not s.empty])
    col = TICKER_STYLES[ticker_style]
    tickers = [to_signals_ticker(t, ticker_style) for t in signal.index]
    frame = pd.DataFrame({col: tickers, DATE_COL: day, SIGNAL_COL: signal.to_numpy(dtype=float)})
    frame = frame.sort_values(col, kind="stable").reset_index(drop=True)
    if frame[col].duplicated().any():
        dup = frame.loc[frame[col].duplicated(), col].iloc[0]
        raise SignalsError(f"two instruments map to the Signals ticker {dup!r}")
    problems = tuple(validate_signals(frame)) if validate else ()
    dropped = int(panel.n_instruments - len(frame))
    return SignalsSubmission(frame, day, col, tuple(alphas), dropped, problems)


def validate_signals(frame: pd.DataFrame) -> list[str]:
    """Problems with a submission frame, empty when valid: numerai_tools' Signals validator
    (`validate_submission_signals`, headers + ids + values, the submission's own tickers as the
    universe) when the package is installed, plus the same checks written out here so the answer does
    not depend on it."""
    problems: list[str] = []
    id_cols = [c for c in frame.columns if c in (*TICKER_STYLES.values(), "numerai_ticker", "sedol", "composite_figi")]
    if len(id_cols) != 1 or SIGNAL_COL not in frame.columns:
        return [f"columns must be one ticker column and {SIGNAL_COL!r} (got {list(frame.columns)})"]
    col = id_cols[0]
    values = frame[SIGNAL_COL].astype(float)
    if values.isna().any():
        problems.append("signal has NaN values")
    elif not ((values > 0) & (values < 1)).all():
        problems.append(f"signal must lie strictly in (0, 1); got [{values.min():.6g}, {values.max():.6g}]")
    if len(values) > 1 and np.isclose(values.std(), 0.0):
        problems.append("signal has zero standard deviation")
    if frame[col].duplicated().any():
        problems.append(f"duplicate tickers in {col}")
    if frame[col].nunique() < MIN_TICKERS:
        problems.append(f"{frame[col].nunique()} tickers; Numerai Signals needs at least {MIN_TICKERS}")
    try:
        from numerai_tools.submissions import validate_submission_signals
    except ImportError:
        return problems
    sub = frame[[col, SIGNAL_COL, *([DATE_COL] if DATE_COL in frame.columns else [])]].copy()
    try:
        with warnings.catch_warnings():  # numerai_tools' pandas deprecation warnings (inplace drop)
            warnings.simplefilter("ignore")
            validate_submission_signals(frame[[col]].copy(), sub)
    except AssertionError as e:
        message = f"numerai_tools: {e}"
        if message not in problems:
            problems.append(message)
    return problems


def write_signals_csv(sub: SignalsSubmission, path: Path) -> Path:
    """Write the submission as CSV (header: ticker column, date, signal), via a temporary file so a
    failed write never leaves half a submission."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sub.frame.to_csv(tmp, index=False, float_format="%.8f")
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------------- mining runs
def run_alphas(runtime_root: Path, run_id: str, *, db: str | None = None) -> tuple[DataSource, dict[str, Any],
                                                                                  list[AlphaSpec]]:  # fmt: skip
    """(the run's data source, its settings, its ready alphas) from the mining store. SignalsError
    for an unknown run or a runtime root without a store (none is created)."""
    from alphamine.pipeline.config import RunConfig
    from alphamine.pipeline.controller import open_store
    from alphamine.runtime import DB_FILENAME
    from alphamine.store.status import CandidateStatus

    if db is None and not (Path(runtime_root) / DB_FILENAME).exists():
        raise SignalsError(f"no mining store in {runtime_root} (no {DB_FILENAME}); run `alphamine run` first")
    store = open_store(runtime_root, db)
    try:
        row = store.get_run(run_id)
        if row is None:
            raise SignalsError(f"no mining run {run_id!r} in {store.url}")
        ready = store.candidates(run_id=run_id, status=CandidateStatus.READY)
    finally:
        store.close()
    config = RunConfig.model_validate(row.config)
    alphas = [AlphaSpec(r.expression, r.settings.to_brain(), label=f"#{r.id}") for r in ready]
    return config.data, dict(config.settings), alphas


def load_source_panel(source: DataSource) -> Panel:
    """The panel of a data source (the mining run's), errors as SignalsError."""
    from alphamine.data.errors import DataError
    from alphamine.pipeline.controller import load_panel

    try:
        return load_panel(source)
    except DataError as e:
        raise SignalsError(str(e)) from None
