"""The research-quality numbers of a run report: search vs validation vs OS, the trial-aware gate rules,
repair success and field freshness by period.

Why: a run tries hundreds of variants, so the in-sample numbers of its best candidates are optimistic.
The gate records what corrects for that (the deflated and probabilistic Sharpe given the trials, the
validation window no search stage read, the share of positive years, stale data) as check objects. A
reader must see those numbers beside IS and OS, with the rule a held-back candidate failed; how many
candidates each rule held back; whether repairs fix the check they target; and which fields went
stale in which period. Everything here reads `ReportData` only and returns typed records holding the
stored numbers unrounded, so the Markdown, the HTML, run_result.json and `alphamine candidates show`
(which uses `failed_rule` and `check_detail`) agree; formatting is `research_view`'s.

Contract: the search block is `train` when the run simulated with a validation window, else `is`;
validation is `test`. A candidate's trial numbers come from its latest gate record that judged checks
(`GateRecord.checks`). Field freshness is the worst STALE_DATA share per field and period over the
ready and promising candidates (the simulation's `fields`; no panel is read).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from alphamine.report.model import CandidateReport, ReportData, num
from alphamine.research.repair_table import RepairRow

TRIAL_RULES = ("DEFLATED_SHARPE", "VALIDATION_SHARPE", "YEARLY_STABILITY", "DATA_FRESHNESS", "READY_SET_CORRELATION")
CORRELATION_CHECKS = frozenset({"SELF_CORRELATION", "READY_SET_CORRELATION"})
FAMILY_CAP = "FAMILY_CAP"
PERIODS: tuple[tuple[str, str], ...] = (("train", "search"), ("test", "validation"), ("is", "IS"), ("os", "OS"))
FRESHNESS_STATUSES = frozenset({"ready", "gate_pending", "promising"})
FRESHNESS_ROWS = 50  # fields shown, worst first


@dataclass(frozen=True)
class HeldBack:
    """A rule a candidate failed at its latest gate decision, in words (`DSR 0.912 < 0.950`)."""

    check: str
    rule: str


@dataclass(frozen=True)
class CandidateResearch:
    """One candidate's research numbers (None: unknown, or not judged by the gate). Sharpe ratios are
    annualized; `validation_ratio` = validation / search Sharpe; `dsr`/`psr`/`n_trials_*`/
    `effective_trials` from DEFLATED_SHARPE (deflated by the lineage family's trials), `run_dsr` and
    `run_effective_trials` deflated by the whole run's; `positive_years` and `years` ({year: Sharpe})
    from YEARLY_STABILITY."""

    id: int
    is_sharpe: float | None
    search_sharpe: float | None
    validation_sharpe: float | None
    os_sharpe: float | None
    validation_ratio: float | None
    dsr: float | None = None
    psr: float | None = None
    run_dsr: float | None = None
    n_trials_family: int | None = None
    n_trials_run: int | None = None
    effective_trials: float | None = None
    run_effective_trials: float | None = None
    positive_years: float | None = None
    years: dict[str, float | None] = field(default_factory=dict)
    verdict: str | None = None
    held_back_by: tuple[HeldBack, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (by hand: `dataclasses.asdict` deep-copies, and run_result.json holds one
        of these per simulated candidate)."""
        out = {k: getattr(self, k) for k in _FIELDS}
        out["years"] = dict(self.years)
        out["held_back_by"] = [{"check": h.check, "rule": h.rule} for h in self.held_back_by]
        return out


_FIELDS = tuple(f for f in CandidateResearch.__dataclass_fields__ if f not in ("years", "held_back_by"))


@dataclass(frozen=True)
class RuleRow:
    """One trial-aware gate rule over the run's judged candidates: how many it judged, passed, held
    back (FAIL at a candidate's latest gate decision, candidate not ready), held back as the only
    failing check, and left PENDING."""

    check: str
    rule: str
    judged: int
    passed: int
    held_back: int
    sole: int
    pending: int


@dataclass(frozen=True)
class FreshnessRow:
    """A field the ready and promising candidates read: how many read it, and the worst share of
    their position-days on values older than the limit, per period (`PERIODS` keys)."""

    field: str
    candidates: int
    shares: dict[str, float]


@dataclass(frozen=True)
class ResearchQuality:
    """The run-level research section (see the module doc)."""

    trial_aware: bool
    judged: int
    rules: tuple[RuleRow, ...]
    family_capped: int
    family_rule: str
    repairs: tuple[RepairRow, ...]
    freshness: tuple[FreshnessRow, ...]
    freshness_periods: tuple[str, ...]
    freshness_candidates: int
    freshness_left_out: int
    stale_limit_days: float | None
    stale_max_share: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "trial_aware": self.trial_aware,
            "judged": self.judged,
            "rules": [dict(vars(r)) for r in self.rules],
            "family_capped": self.family_capped,
            "family_rule": self.family_rule,
            "repairs": [dict(vars(r)) for r in self.repairs],
            "freshness": {
                "candidates": self.freshness_candidates,
                "periods": list(self.freshness_periods),
                "fields": [{"field": r.field, "candidates": r.candidates, "shares": dict(r.shares)}
                           for r in self.freshness],
                "left_out": self.freshness_left_out,
                "limit_days": self.stale_limit_days,
                "max_share": self.stale_max_share,
            },
        }  # fmt: skip


# ---------------------------------------------------------------- rules in words
def _n(x: Any, digits: int = 3) -> str:
    v = num(x)
    return "–" if v is None else f"{v:.{digits}f}"


def _pct(x: Any) -> str:
    v = num(x)
    return "–" if v is None else f"{v:.0%}"


def _lim(x: Any) -> str:
    """A limit as configured (0.995 stays 0.995)."""
    v = num(x)
    return "–" if v is None else f"{v:g}"


def rule_text(check: str, gate_config: Mapping[str, Any], limit: Any = None) -> str:
    """What a trial-aware rule requires, from the run's gate configuration (else the check's limit)."""
    g = gate_config
    if check == "DEFLATED_SHARPE":
        return (f"DSR ≥ {_lim(g.get('min_dsr', limit))}: the search Sharpe deflated by the effective "
                "number of trials in the candidate's lineage family")  # fmt: skip
    if check == "VALIDATION_SHARPE":
        return f"validation Sharpe > 0 and ≥ {_lim(g.get('min_validation_ratio'))} × search Sharpe"
    if check == "YEARLY_STABILITY":
        return f"≥ {_pct(g.get('min_positive_years', limit))} of IS years with positive PnL"
    if check == "DATA_FRESHNESS":
        share = _pct(g.get("stale_max_share", limit))
        return f"no field it reads stale (values older than the limit) on more than {share} of days in validation or OS"
    if check == "READY_SET_CORRELATION":
        return f"daily PnL correlation with every ready alpha < {_lim(limit)} (no 1.1 × Sharpe exception)"
    if check == FAMILY_CAP:
        return f"no lineage family holds more than {_pct(g.get('max_family_share'))} of the ready set"
    return check


def failed_rule(check: Mapping[str, Any]) -> str:
    """Why a check failed, with its numbers: `DSR 0.912 < 0.950`, `validation Sharpe -0.40 ≤ 0`."""
    name, value, limit = str(check.get("name", "?")), num(check.get("value")), num(check.get("limit"))
    if name == "DEFLATED_SHARPE":
        return f"DSR {_n(value, 4)} < {_lim(limit)}"
    if name == "VALIDATION_SHARPE":
        if value is not None and value <= 0:
            return f"validation Sharpe {_n(value, 2)} ≤ 0"
        return (f"validation Sharpe {_n(value, 2)} < {_n(limit, 2)} (search Sharpe "
                f"{_n(check.get('search_sharpe'), 2)}, ratio {_n(check.get('ratio'), 2)})")  # fmt: skip
    if name == "YEARLY_STABILITY":
        return f"positive IS years {_pct(value)} < {_pct(limit)}"
    if name in CORRELATION_CHECKS and value is not None:
        other = f" with {check['correlatedWith']}" if check.get("correlatedWith") else ""
        return f"PnL correlation {_n(value)}{other} ≥ {_lim(limit)}"
    if check.get("message"):
        return str(check["message"])
    return f"value {_n(value)} vs limit {_n(limit)}"


def check_detail(check: Mapping[str, Any]) -> str:
    """The numbers behind a trial-aware check, in one line (empty for other checks)."""
    name = check.get("name")
    if name == "DEFLATED_SHARPE":
        t, r = check.get("trials") or {}, check.get("run_trials") or {}
        return (f"PSR {_n(check.get('psr'), 4)} · trials family {t.get('n_trials_family', '–')} / run "
                f"{t.get('n_trials_run', '–')} (effective {_n(t.get('effective_trials'), 1)}, Sharpe variance "
                f"{_n(t.get('sr_variance_daily'), 5)} daily) · search Sharpe {_n(t.get('search_sharpe'), 2)} · skew "
                f"{_n(t.get('skew'), 2)} · kurtosis {_n(t.get('kurtosis'), 2)} · DSR deflated by the whole run "
                f"{_n(check.get('run_dsr'), 4)} (effective trials {_n(r.get('effective_trials'), 1)})")  # fmt: skip
    if name == "VALIDATION_SHARPE":
        if check.get("message"):
            return str(check["message"])
        return f"search Sharpe {_n(check.get('search_sharpe'), 2)} · validation / search {_n(check.get('ratio'), 2)}"
    if name == "YEARLY_STABILITY":
        return " · ".join(f"{y} {_n(s, 2)}" for y, s in (check.get("years") or {}).items())
    if name == "DATA_FRESHNESS":
        return str(check.get("message") or "")
    return ""


# ---------------------------------------------------------------- per candidate
def gate_checks(c: CandidateReport) -> dict[str, dict[str, Any]]:
    return {str(k.get("name")): k for k in (c.gate.checks if c.gate is not None else ())}


def search_sharpe(c: CandidateReport) -> float | None:
    """The search block's Sharpe: `train` with a validation window, else IS (what the search read)."""
    return num((c.train_metrics if c.test_metrics else c.is_metrics).get("sharpe"))


def held_back_by(c: CandidateReport) -> tuple[HeldBack, ...]:
    """The rules that held a not-ready candidate back at its latest gate decision."""
    if c.gate is None or str(c.status).lower() == "ready":
        return ()
    out = [HeldBack(str(k.get("name")), failed_rule(k)) for k in c.gate.checks if k.get("result") == "FAIL"]
    if c.gate.capped:
        out.append(HeldBack(FAMILY_CAP, "; ".join(c.gate.reasons)))
    return tuple(out)


def candidate_research(c: CandidateReport) -> CandidateResearch:
    checks = gate_checks(c)
    dsr = checks.get("DEFLATED_SHARPE", {})
    trials, whole = dsr.get("trials") or {}, dsr.get("run_trials") or {}
    stability = checks.get("YEARLY_STABILITY", {})
    search = search_sharpe(c)
    validation = num(c.test_metrics.get("sharpe")) if c.test_metrics else None
    return CandidateResearch(
        id=c.id,
        is_sharpe=num(c.is_metrics.get("sharpe")),
        search_sharpe=search,
        validation_sharpe=validation,
        os_sharpe=num(c.os_metrics.get("sharpe")),
        validation_ratio=validation / search if validation is not None and search else None,
        dsr=num(dsr.get("value")),
        psr=num(dsr.get("psr")),
        run_dsr=num(dsr.get("run_dsr")),
        n_trials_family=_int(trials.get("n_trials_family")),
        n_trials_run=_int(trials.get("n_trials_run")),
        effective_trials=num(trials.get("effective_trials")),
        run_effective_trials=num(whole.get("effective_trials")),
        positive_years=num(stability.get("value")),
        years={str(y): num(s) for y, s in (stability.get("years") or {}).items()},
        verdict=c.gate.verdict if c.gate is not None else None,
        held_back_by=held_back_by(c),
    )


def _int(x: Any) -> int | None:
    v = num(x)
    return None if v is None else int(v)


# ---------------------------------------------------------------- the run
def rule_rows(candidates: Iterable[CandidateReport], gate_config: Mapping[str, Any]) -> tuple[int, list[RuleRow]]:
    """(candidates judged, one `RuleRow` per trial-aware rule present in the run's gate records)."""
    counts = {name: [0, 0, 0, 0, 0] for name in TRIAL_RULES}  # judged, passed, held back, sole, pending
    limits: dict[str, Any] = {}
    judged = 0
    for c in candidates:
        if c.gate is None or not c.gate.checks:
            continue
        judged += 1
        ready = str(c.status).lower() == "ready"
        fails = [k for k in c.gate.checks if k.get("result") == "FAIL"]
        for name, k in gate_checks(c).items():
            if name not in counts:
                continue
            n, result = counts[name], str(k.get("result", "")).upper()
            limits.setdefault(name, k.get("limit"))
            n[0] += 1
            n[1] += result in ("PASS", "WARNING")
            n[2] += result == "FAIL" and not ready
            n[3] += result == "FAIL" and not ready and len(fails) == 1
            n[4] += result == "PENDING"
    rows = [RuleRow(name, rule_text(name, gate_config, limits.get(name)), *n) for name, n in counts.items() if n[0]]
    return judged, rows


def freshness_rows(candidates: Iterable[CandidateReport]) -> tuple[int, list[FreshnessRow], dict[str, Any]]:
    """(candidates, rows worst first, the STALE_DATA limits) over the ready and promising candidates."""
    worst: dict[str, dict[str, float]] = {}
    readers: dict[str, int] = {}
    limits: dict[str, Any] = {}
    n = 0
    for c in candidates:
        if str(c.status).lower() not in FRESHNESS_STATUSES:
            continue
        stale = next((k for k in c.checks if k.get("name") == "STALE_DATA"), None)
        if stale is None:
            continue
        n += 1
        limits.setdefault("limit_days", stale.get("limitDays"))
        limits.setdefault("max_share", stale.get("limit"))
        for name, shares in (stale.get("fields") or {}).items():
            readers[name] = readers.get(name, 0) + 1
            cell = worst.setdefault(name, {})
            for period, share in (shares or {}).items():
                v = num(share)
                if v is not None and v >= cell.get(period, -1.0):
                    cell[period] = v
    rows = [FreshnessRow(f, readers[f], worst[f]) for f in worst]
    rows.sort(key=lambda r: (-max(r.shares.values(), default=0.0), r.field))
    return n, rows, limits


def research_quality(data: ReportData) -> ResearchQuality:
    """The run's research section from its candidates, gate records and repair table."""
    judged, rules = rule_rows(data.candidates, data.gate_config)
    n_fresh, fresh, limits = freshness_rows(data.candidates)
    seen = {p for r in fresh for p in r.shares}
    mode = data.gate_config.get("mode")
    return ResearchQuality(
        trial_aware=mode != "classic",  # unknown (an old run): the gate's default
        judged=judged,
        rules=tuple(rules),
        family_capped=sum(1 for c in data.candidates if c.gate is not None and c.gate.capped),
        family_rule=rule_text(FAMILY_CAP, data.gate_config),
        repairs=tuple(data.repairs),
        freshness=tuple(fresh[:FRESHNESS_ROWS]),
        freshness_periods=tuple(p for p, _ in PERIODS if p in seen),
        freshness_candidates=n_fresh,
        freshness_left_out=max(0, len(fresh) - FRESHNESS_ROWS),
        stale_limit_days=num(limits.get("limit_days")),
        stale_max_share=num(limits.get("max_share")),
    )
