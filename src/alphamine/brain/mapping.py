"""BRAIN JSON <-> alphamine objects: simulation payloads and answers, alpha JSON -> `SimResult`, check
names, data-field records -> `FieldInfo`.

Why one module: results from the platform must land in the same tables with the same field names
as local ones (ARCHITECTURE.md, "one simulation protocol"), so every translation between the
platform's JSON and alphamine's types is written once, here, and tested against the local
BRAIN-compatible server.

Contract:
- `simulation_payload(expression, settings)`: the body of one `POST /simulations` item. Settings go
  in BRAIN's spelling (`Settings.to_brain()`); alphamine-only settings (`maxTradeAdvFraction`,
  `isEnd`, `checkProfile`) are sent only when they differ from their defaults, so the platform sees
  BRAIN's keys and the local server still gets every non-default choice.
- `result_from_alpha(alpha, settings=..., expression=..., daily_pnl=..., yearly=...)`: a `SimResult`
  with the platform's metric blocks (`is` without its checks, `os`, `train`, `test`; a block the
  platform leaves null has every metric NaN: an unsubmitted alpha has no OS), normalized checks,
  the daily PnL of the record set (dates and dollars; empty when not fetched), NaN for what the
  platform does not publish per day (traded dollars, long/short counts), periods from the IS
  window (`settings.endDate` when the platform gives it, else every day is IS) with
  `alphamine.sim.periods.split_periods`, and an empty `data_fingerprint` (the caller keys it).
- `normalize_check_name(name)`: BRAIN's canonical upper-snake name (`lowSharpe`, `low sharpe`,
  `SELF_CORR` -> `LOW_SHARPE`, `LOW_SHARPE`, `SELF_CORRELATION`); `normalize_checks(list)` copies
  the checks with names and results normalized and numbers as floats.
- `field_info(record)`: a `/data-fields` record as `FieldInfo` (MATRIX, VECTOR, GROUP only; None for
  other types).
- Answers: `outcome_from_simulation(body, url)` -> `SimulationOutcome` (a finished leaf: COMPLETE /
  WARNING with an alpha id, or ERROR / FAIL / TIMEOUT / CANCELLED with the platform's message and
  `error_text()`, one line with the expression location); `spread(outcomes, n)` gives n outcomes for
  n requested items (a failed parent without children fails each); `flatten_errors(body)` turns a
  field-keyed 400 body into one line; `Started` (a POST's URL, accepted and rejected items) and
  `SubmitVerdict` (a submission's outcome and checks) are the client's answer types.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.sim.periods import split_periods
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings

METRIC_KEYS = (
    "pnl", "bookSize", "longCount", "shortCount", "turnover", "returns", "drawdown", "margin", "sharpe", "fitness",
)
ALPHAMINE_ONLY_SETTINGS = ("maxTradeAdvFraction", "isEnd", "checkProfile")
CHECK_NAMES = frozenset({
    "LOW_SHARPE", "LOW_FITNESS", "LOW_TURNOVER", "HIGH_TURNOVER", "CONCENTRATED_WEIGHT", "LOW_SUB_UNIVERSE_SHARPE",
    "LOW_2Y_SHARPE", "SELF_CORRELATION", "PROD_CORRELATION", "IS_LADDER_SHARPE", "POWER_POOL_CORRELATION",
    "MATCHES_COMPETITION", "MATCHES_THEMES", "MATCHES_PYRAMID", "DATA_DIVERSITY", "OSMOSIS_ALLOCATION",
    "REGULAR_SUBMISSION", "ALREADY_SUBMITTED", "OLD_SIMULATION", "UNITS", "DATA_LENGTH", "LOW_RETURNS",
    "LOW_GLB_AMER_SHARPE", "LOW_GLB_APAC_SHARPE", "LOW_GLB_EMEA_SHARPE", "LOW_ASI_JPN_SHARPE",
    "LOW_ROBUST_UNIVERSE_SHARPE", "LOW_ROBUST_UNIVERSE_RETURNS", "LOW_INVESTABILITY_CONSTRAINED_SHARPE",
    "LOW_AFTER_COST_ILLIQUID_UNIVERSE_SHARPE", "D0_SUBMISSION",
})
"""Check names seen on the platform (brain.md §4.2); others pass through normalized."""
CHECK_ALIASES = {
    "SELF_CORR": "SELF_CORRELATION",
    "SELFCORRELATION": "SELF_CORRELATION",
    "PROD_CORR": "PROD_CORRELATION",
    "PRODCORRELATION": "PROD_CORRELATION",
    "LOW_SUBUNIVERSE_SHARPE": "LOW_SUB_UNIVERSE_SHARPE",
    "SUB_UNIVERSE_SHARPE": "LOW_SUB_UNIVERSE_SHARPE",
    "CONCENTRATED_WEIGHTS": "CONCENTRATED_WEIGHT",
    "LOW_TWO_YEAR_SHARPE": "LOW_2Y_SHARPE",
    "LOW_2_Y_SHARPE": "LOW_2Y_SHARPE",
    "LOW2Y_SHARPE": "LOW_2Y_SHARPE",
    "IS_LADDER": "IS_LADDER_SHARPE",
}
CHECK_RESULTS = ("PASS", "FAIL", "WARNING", "PENDING", "ERROR")
_CAMEL_LOWER = re.compile(r"([a-z])([A-Z0-9])")  # lowSharpe, low2Y
_CAMEL_ACRONYM = re.compile(r"([A-Z0-9])([A-Z][a-z])")  # 2YSharpe
_SEPARATORS = re.compile(r"[\s\-.]+")


# ---------------------------------------------------------------------------------------- requests
def settings_payload(settings: Settings) -> dict[str, Any]:
    """BRAIN's settings JSON for `settings`; alphamine-only keys only when not at their default."""
    data = settings.to_brain()
    defaults = Settings.model_validate({}).to_brain()
    for key in ALPHAMINE_ONLY_SETTINGS:
        if key in data and data[key] == defaults.get(key):
            del data[key]
    return data


def simulation_payload(expression: str, settings: Settings) -> dict[str, Any]:
    """One item of a `POST /simulations` body (module doc)."""
    return {"type": "REGULAR", "settings": settings_payload(settings), "regular": expression}


# ---------------------------------------------------------------------------------------- simulations
OK_STATUSES = frozenset({"COMPLETE", "WARNING"})
FAILED_STATUSES = frozenset({"ERROR", "FAIL", "TIMEOUT", "CANCELLED"})


@dataclass(frozen=True)
class SimulationOutcome:
    """A finished platform simulation (one leaf): its URL, status, alpha id or the platform's message."""

    url: str
    simulation_id: str
    status: str
    alpha_id: str | None = None
    message: str | None = None
    location: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES and bool(self.alpha_id)

    def error_text(self) -> str:
        """One readable line: status, the platform's message, where in the expression."""
        if self.status == "CANCELLED" and not self.message:
            text = "CANCELLED: the platform cancelled it (another simulation of its multi-simulation failed)"
        elif self.status in OK_STATUSES:
            text = f"{self.status}: the platform named no alpha for simulation {self.simulation_id}"
        else:
            text = f"{self.status}: {self.message or 'the platform gave no message'}"
        loc = self.location or {}
        if isinstance(loc, Mapping) and loc.get("start") is not None:
            text += f" (at line {loc.get('line', 1)}, characters {loc.get('start')}-{loc.get('end')})"
        return " ".join(text.split())


def outcome_from_simulation(body: Mapping[str, Any], url: str) -> SimulationOutcome:
    """A finished `GET /simulations/<id>` leaf body as a `SimulationOutcome`."""
    status = str(body.get("status") or "ERROR").upper()
    alpha = body.get("alpha")
    location = body.get("location") if isinstance(body.get("location"), Mapping) else None
    return SimulationOutcome(
        url=url,
        simulation_id=str(body.get("id") or url.rstrip("/").rsplit("/", 1)[-1]),
        status=status,
        alpha_id=str(alpha) if alpha else None,
        message=str(body["message"]) if body.get("message") else None,
        location=location,
    )


@dataclass(frozen=True)
class Started:
    """A POST /simulations answer: the simulation URL (None when every item was rejected), the item
    indices it covers in order, and index -> message for items the platform rejected synchronously."""

    url: str | None
    accepted: tuple[int, ...]
    rejected: dict[int, str] = field(default_factory=dict)
    retry_after: float | None = None  # the POST's Retry-After: when to look first


@dataclass(frozen=True)
class SubmitVerdict:
    """The platform's verdict on a submission: accepted or not, the alpha's status, its checks."""

    alpha_id: str
    submitted: bool
    status: str
    checks: list[dict[str, Any]]
    message: str


def spread(outcomes: list[SimulationOutcome], n: int) -> list[SimulationOutcome]:
    """`n` outcomes for `n` requested items: as given, or one failed parent's outcome for each item."""
    if len(outcomes) == n:
        return outcomes
    if len(outcomes) == 1 and not outcomes[0].ok:
        return outcomes * n
    bad = SimulationOutcome(outcomes[0].url if outcomes else "", "", "ERROR",
                              message=f"the platform returned {len(outcomes)} results for {n} simulations")
    return [bad] * n


def flatten_errors(errors: Any) -> str:
    """A field-keyed 400 body as one line (`settings.region: "XXX" is not a valid choice.`)."""
    if isinstance(errors, Mapping):
        parts = []
        for key, value in errors.items():
            text = flatten_errors(value)
            parts.append(text if key in ("detail", "non_field_errors") else f"{key}: {text}")
        return "; ".join(p for p in parts if p)
    if isinstance(errors, list):
        return "; ".join(flatten_errors(e) for e in errors if e)
    return str(errors)


# ---------------------------------------------------------------------------------------- checks
def normalize_check_name(name: str) -> str:
    """BRAIN's upper-snake check name for any spelling (module doc)."""
    text = _CAMEL_ACRONYM.sub(r"\1_\2", _CAMEL_LOWER.sub(r"\1_\2", str(name).strip()))
    text = _SEPARATORS.sub("_", text).upper().strip("_")
    text = re.sub(r"_+", "_", text)
    return CHECK_ALIASES.get(text, text)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return value
    try:
        return float(value)
    except ValueError:
        return value


def normalize_checks(checks: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Copies of `checks` with normalized `name` and `result` and numeric `limit` / `value`."""
    out: list[dict[str, Any]] = []
    for check in checks or []:
        if not isinstance(check, Mapping) or "name" not in check:
            continue
        c = dict(check)
        c["name"] = normalize_check_name(str(c["name"]))
        result = str(c.get("result", "PENDING")).strip().upper()
        c["result"] = result if result in CHECK_RESULTS else result or "PENDING"
        for key in ("limit", "value"):
            if key in c and c[key] is not None:
                c[key] = _number(c[key])
        out.append(c)
    return out


def failing_checks(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the checks whose result is FAIL (one line each: name, value, limit)."""
    lines = []
    for c in checks:
        if c.get("result") == "FAIL":
            extra = []
            if c.get("value") is not None:
                extra.append(f"value {c['value']:.4g}" if isinstance(c["value"], float) else f"value {c['value']}")
            if c.get("limit") is not None:
                extra.append(f"limit {c['limit']:.4g}" if isinstance(c["limit"], float) else f"limit {c['limit']}")
            if c.get("message"):
                extra.append(str(c["message"]))
            lines.append(f"{c['name']}" + (f" ({', '.join(extra)})" if extra else ""))
    return lines


# ---------------------------------------------------------------------------------------- record sets
def records(body: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A `{schema: {properties: [{name}]}, records: [[...]]}` record set as a list of dicts."""
    if not body:
        return []
    props = [p.get("name") for p in (body.get("schema") or {}).get("properties") or []]
    return [dict(zip(props, row, strict=False)) for row in body.get("records") or []]


def pnl_series(body: Mapping[str, Any] | None, *, cumulative: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """(dates datetime64[D], daily PnL float64) from a `daily-pnl` (or cumulative `pnl`) record set."""
    rows = sorted((r for r in records(body) if r.get("date")), key=lambda r: str(r["date"])[:10])
    if not rows:
        return None
    dates = np.array([str(r["date"])[:10] for r in rows], dtype="datetime64[D]")
    values = np.array([np.nan if r.get("pnl") is None else float(r["pnl"]) for r in rows], dtype=np.float64)
    if cumulative:
        values = np.diff(np.nan_to_num(values), prepend=0.0)
    return dates, values


# ---------------------------------------------------------------------------------------- alpha -> SimResult
def _block(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {k: math.nan for k in METRIC_KEYS}
    out = {k: v for k, v in value.items() if k != "checks"}
    for k in METRIC_KEYS:
        if out.get(k) is None:
            out[k] = math.nan
    return out


def _day(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def result_from_alpha(
    alpha: Mapping[str, Any],
    *,
    settings: Settings,
    expression: str | None = None,
    daily_pnl: tuple[np.ndarray, np.ndarray] | None = None,
    yearly: Sequence[Mapping[str, Any]] | None = None,
) -> SimResult:
    """A `SimResult` from `GET /alphas/{id}` and its record sets (module doc). `settings` and
    `expression` are the caller's (what it asked for, so stored results key the same way)."""
    raw_is = alpha.get("is")
    is_raw: Mapping[str, Any] = raw_is if isinstance(raw_is, Mapping) else {}
    code = expression
    if code is None:
        regular = alpha.get("regular")
        code = regular.get("code", "") if isinstance(regular, Mapping) else str(regular or "")
    if daily_pnl is not None:
        dates, pnl = np.asarray(daily_pnl[0], dtype="datetime64[D]"), np.asarray(daily_pnl[1], dtype=np.float64)
    else:
        dates, pnl = np.array([], dtype="datetime64[D]"), np.array([], dtype=np.float64)
    n = int(dates.size)
    start = _day(is_raw.get("startDate"))
    first = int(np.searchsorted(dates, np.datetime64(start, "D"))) if start is not None and n else 0
    raw_settings = alpha.get("settings")
    platform_settings: Mapping[str, Any] = raw_settings if isinstance(raw_settings, Mapping) else {}
    end = _day(platform_settings.get("endDate")) or _day(is_raw.get("endDate"))
    if end is None and n:
        end = dates[-1].item()
    periods = split_periods(dates, min(first, n), is_end=end, test_period=settings.test_period)
    nan = np.full(n, np.nan)
    return SimResult(
        expression=code,
        settings=settings,
        dates=dates,
        daily_pnl=pnl,
        traded=nan,
        long_counts=nan.copy(),
        short_counts=nan.copy(),
        periods=periods,
        metrics={k: _block(alpha.get(k)) for k in ("is", "os", "train", "test")},
        yearly_rows=[dict(r) for r in yearly or []],
        checks=normalize_checks(is_raw.get("checks")),
    )


# ---------------------------------------------------------------------------------------- catalogue
CATALOGUE_TYPES = (FieldType.MATRIX, FieldType.VECTOR, FieldType.GROUP)
_UNITS = {u.value: u for u in Unit}


def _fraction(value: Any, default: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return default
    return min(1.0, max(0.0, x)) if x == x else default


def field_info(record: Mapping[str, Any]) -> FieldInfo | None:
    """A `/data-fields` record as `FieldInfo`, or None for a type the engine does not use (module doc)."""
    try:
        kind = FieldType(str(record.get("type", "")).upper())
    except ValueError:
        return None
    if kind not in CATALOGUE_TYPES or not record.get("id"):
        return None
    dataset = record.get("dataset")
    category = record.get("category")
    unit = record.get("unit")
    return FieldInfo(
        name=str(record["id"]),
        type=kind,
        dataset=str(dataset.get("id", "")) if isinstance(dataset, Mapping) else str(dataset or ""),
        category=str(category.get("id", "")) if isinstance(category, Mapping) else str(category or ""),
        description=str(record.get("description") or ""),
        unit=_UNITS.get(unit, Unit.NONE) if isinstance(unit, str) else Unit.NONE,
        coverage=_fraction(record.get("coverage"), 1.0),
        date_coverage=_fraction(record.get("dateCoverage"), 1.0),
        approximate=bool(record.get("approximate", False)),
    )
