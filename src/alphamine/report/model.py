"""What a run report is made of: the plain data the run controller fills, and the rules read off it.

Why a separate model: the report must not know about the store, the pipeline or the backends; the
controller copies what a reader needs into `ReportData` (metrics in BRAIN's JSON names, settings in
BRAIN's spelling) and the renderers (`build.py`, `markdown.py`, `plots.py`) only read it. The rules
that several renderers share (OS collapse, parent-vs-variant deltas, the risk-model note, secret
redaction) live here so that Markdown, HTML and JSON always agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from alphamine.research.repair_table import RepairRow

# ---------------------------------------------------------------- rules shared by every renderer
OS_COLLAPSE_RATIO = 0.5  # OS Sharpe below this fraction of a strong IS Sharpe is a collapse
OS_COLLAPSE_MIN_IS_SHARPE = 1.0  # ... where "strong" means an IS Sharpe above this
OS_COLLAPSE_RULE = (
    f"OS Sharpe < {OS_COLLAPSE_RATIO:g} × IS Sharpe when IS Sharpe > {OS_COLLAPSE_MIN_IS_SHARPE:g}, "
    "or OS Sharpe < 0 when IS Sharpe > 0"
)
SHARPE_THRESHOLD = 1.25  # BRAIN's LOW_SHARPE limit (delay 1), drawn on the scatter
TURNOVER_THRESHOLD = 0.7  # BRAIN's HIGH_TURNOVER limit, drawn on the scatter
FUNNEL_ORDER = ("generated", "linted", "simulated", "promising", "ready")
METRICS = ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin")
DELTA_METRICS = ("sharpe", "fitness", "turnover")
RISK_NEUTRALIZATIONS = frozenset({"FAST", "SLOW", "SLOW_AND_FAST"})
RISK_MODEL_NOTE = (
    "FAST, SLOW and SLOW_AND_FAST neutralization use alphamine's approximation of BRAIN's proprietary "
    "risk model (style factors built from price, volume and size data); results under these settings "
    "can differ from the platform's."
)
_SECRET_KEY = re.compile(r"(api[_-]?key|secret|token|password|passwd|authorization|cookie|credential)", re.I)
REDACTED = "***"


@dataclass(frozen=True)
class GateRecord:
    """A candidate's latest gate decision as the store recorded it (`Store.gate_history`).

    Why two sources: the lineage-family cap records a decision without checks (it holds back a candidate
    whose checks passed), so `checks` are those of the latest record that judged checks, while `verdict`
    and `reasons` are the latest decision's and `capped` says that decision was the family cap."""

    verdict: str
    reasons: tuple[str, ...] = ()
    checks: tuple[dict[str, Any], ...] = ()
    capped: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reasons": list(self.reasons), "checks": list(self.checks),
                "capped": self.capped}  # fmt: skip


@dataclass
class CandidateReport:
    """One simulated candidate as a report shows it.

    `settings` in BRAIN's JSON spelling (`neutralization`, `universe`, ...); `is_metrics`/`os_metrics`
    in BRAIN's names (`sharpe`, `fitness`, `turnover`, `returns`, `drawdown`, `margin`, `longCount`,
    `shortCount`, `pnl`); `checks` as BRAIN returns them (`{name, result, limit?, value?}`).
    `dates`/`pnl` (optional) are the daily PnL in dollars from the first position day, `os_start` the
    ISO date of the first out-of-sample day; without them the candidate has no PnL curve.
    `train_metrics`/`test_metrics` are the search and validation blocks when the run simulated with a
    validation window (empty otherwise); `gate` the latest gate decision (None: never judged).
    """

    id: int
    expression: str
    settings: dict[str, Any]
    generator: str
    thesis: dict[str, Any]
    status: str
    reasons: list[str]
    parent_id: int | None
    strategy: str | None
    params: dict[str, Any]
    is_metrics: dict[str, Any]
    os_metrics: dict[str, Any]
    checks: list[dict[str, Any]]
    dates: np.ndarray | None = None
    pnl: np.ndarray | None = None
    os_start: str | None = None
    train_metrics: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, Any] = field(default_factory=dict)
    gate: GateRecord | None = None


@dataclass
class ReportData:
    """Everything one run report shows. `funnel` keys follow `FUNNEL_ORDER`; `best_ids` are the top
    candidates by IS fitness (chosen by the controller); `correlation` is the square PnL correlation
    matrix of `correlation_ids` (the ready set). `improvements` rows are `{optimizer, strategy,
    parent_id, child_id, before: {metric: v}, after: {metric: v}}`; `stages` rows are `{iteration,
    stage, status, started_at, finished_at, summary}`; `stage_times` rows are `{stage, seconds, count,
    share}`, each stage's wall time summed over iterations (`alphamine.pipeline.timings`). `config`
    must already be free of secrets (the renderers redact secret-looking keys again anyway).
    `artifacts` names data files written beside the reports, as paths relative to the run folder
    (`{"ready_pnl": "artifacts/ready_pnl.csv"}`): the reports link them and run_result.json
    references them instead of repeating their content. `gate_config` is the run's gate configuration
    (`GateConfig` as JSON: mode and the trial-aware limits; empty when unknown) and `repairs` the repair
    success table (`research.repair_table.repair_success`) of the run's repair children."""

    run_id: str
    status: str
    created_at: str
    finished_at: str | None
    seed: int
    config: dict[str, Any]
    data_description: str
    data_fingerprint: str
    funnel: dict[str, int]
    candidates: list[CandidateReport]
    ready_ids: list[int]
    best_ids: list[int]
    correlation_ids: list[int] = field(default_factory=list)
    correlation: np.ndarray | None = None
    improvements: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stage_times: list[dict[str, Any]] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    gate_config: dict[str, Any] = field(default_factory=dict)
    repairs: list[RepairRow] = field(default_factory=list)
    efficiency: dict[str, Any] = field(default_factory=dict)  # `report.efficiency.efficiency`

    def by_id(self) -> dict[int, CandidateReport]:
        return {c.id: c for c in self.candidates}

    def highlighted_ids(self) -> list[int]:
        return [c.id for c in self.highlighted()]

    def highlighted(self) -> list[CandidateReport]:
        """Best candidates first, then ready ones not already among them (the report's main table)."""
        index = self.by_id()
        seen: set[int] = set()
        out: list[CandidateReport] = []
        for i in [*self.best_ids, *self.ready_ids]:
            if i in index and i not in seen:
                seen.add(i)
                out.append(index[i])
        return out


# ---------------------------------------------------------------- shared rules
def num(x: Any) -> float | None:
    """A finite float, or None for missing, NaN, infinite and non-numeric values."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def os_collapse(c: CandidateReport) -> str | None:
    """Why the candidate's out-of-sample Sharpe collapsed (`OS_COLLAPSE_RULE`), or None."""
    s_is, s_os = num(c.is_metrics.get("sharpe")), num(c.os_metrics.get("sharpe"))
    if s_is is None or s_os is None or s_is <= 0:
        return None
    if s_os < 0:
        return f"OS Sharpe {s_os:.2f} < 0 (IS {s_is:.2f})"
    if s_is > OS_COLLAPSE_MIN_IS_SHARPE and s_os < OS_COLLAPSE_RATIO * s_is:
        return f"OS Sharpe {s_os:.2f} < {OS_COLLAPSE_RATIO:g} × IS {s_is:.2f}"
    return None


def variant_deltas(c: CandidateReport, parent: CandidateReport | None) -> dict[str, float | None] | None:
    """IS child − parent for `DELTA_METRICS`; None when `c` is no variant or its parent is unknown."""
    if c.parent_id is None or parent is None:
        return None
    out: dict[str, float | None] = {}
    for m in DELTA_METRICS:
        a, b = num(parent.is_metrics.get(m)), num(c.is_metrics.get(m))
        out[m] = None if a is None or b is None else b - a
    return out


def uses_risk_model(c: CandidateReport) -> bool:
    return str(c.settings.get("neutralization", "")).upper() in RISK_NEUTRALIZATIONS


def run_notes(data: ReportData) -> list[str]:
    """The run's notes plus the risk-model note whenever a candidate used FAST/SLOW/SLOW_AND_FAST."""
    notes = list(data.notes)
    if any(uses_risk_model(c) for c in data.candidates) and RISK_MODEL_NOTE not in notes:
        notes.append(RISK_MODEL_NOTE)
    return notes


@lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None  # memoized: reports redact the same few keys thousands of times


def redact(obj: Any) -> Any:
    """A copy with the values of secret-looking keys (api key, token, password, ...) replaced."""
    if isinstance(obj, Mapping):
        return {k: (REDACTED if _is_secret(str(k)) else redact(v)) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact(v) for v in obj]
    return obj


def from_sim_result(result: Any, **fields: Any) -> CandidateReport:
    """A `CandidateReport` from an `alphamine.sim.result.SimResult` plus the controller's own fields
    (`id`, `generator`, `thesis`, `status`, ...): metrics, checks, settings, PnL and the OS start."""
    p = result.periods
    first, os_lo = p.first, p.os_range[0]
    split = p.test_range[1] > p.test_range[0]  # a validation window: the search and validation blocks
    defaults: dict[str, Any] = {
        "expression": result.expression,
        "settings": result.settings.to_brain(),
        "generator": "",
        "thesis": {},
        "status": "SIMULATED",
        "reasons": [],
        "parent_id": None,
        "strategy": None,
        "params": {},
        "is_metrics": dict(result.is_metrics),
        "os_metrics": dict(result.os_metrics),
        "checks": [dict(c) for c in result.checks],
        "dates": np.asarray(result.dates[first:]).astype("datetime64[D]"),
        "pnl": np.asarray(result.daily_pnl[first:], dtype=float),
        "os_start": str(np.datetime64(result.dates[os_lo], "D")) if os_lo < result.dates.size else None,
        "train_metrics": dict(result.metrics.get("train") or {}) if split else {},
        "test_metrics": dict(result.metrics.get("test") or {}) if split else {},
    }
    defaults.update(fields)
    return CandidateReport(**defaults)
