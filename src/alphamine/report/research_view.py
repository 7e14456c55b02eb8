"""The research part of the report's view model, and the whole template context.

Why a module of its own: `view.py` formats the IS | OS part; this formats `research.py`'s records (search,
validation and OS Sharpe side by side, the trial numbers, the gate rules, repairs, freshness) with the
same units and dashes, once for both renderers. `context(data)` is `view.context(data)` plus
`research`, the context Markdown and HTML are rendered from.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from alphamine.report import research as R
from alphamine.report import view
from alphamine.report.model import ReportData, num
from alphamine.report.view import DASH, fmt

PERIOD_LABELS = dict(R.PERIODS)


def context(data: ReportData) -> dict[str, Any]:
    """The template context: `view.context(data)` plus `research` (see `research_context`)."""
    ctx = view.context(data)
    ctx["research"] = research_context(data)
    ctx["efficiency"] = data.efficiency
    return ctx


def _ratio(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}"


def table_row(c: R.CandidateResearch, status: str, ready: bool) -> dict[str, Any]:
    """One row of the search | validation | OS table."""
    return {
        "id": c.id,
        "status": status,
        "ready": ready,
        "is": fmt(c.is_sharpe),
        "search": fmt(c.search_sharpe),
        "validation": fmt(c.validation_sharpe),
        "os": fmt(c.os_sharpe),
        "ratio": _ratio(c.validation_ratio),
        "dsr": fmt(c.dsr, digits=4),
        "psr": fmt(c.psr, digits=4),
        "trials": DASH if c.n_trials_family is None else f"{c.n_trials_family} / {c.n_trials_run}",
        "effective": fmt(c.effective_trials, digits=1),
        "run_dsr": fmt(c.run_dsr, digits=4),
        "positive_years": fmt(c.positive_years, "pct", digits=1),
        "held_back": [f"{h.check}: {h.rule}" for h in c.held_back_by],
        "failed": {h.check for h in c.held_back_by},
    }


def card(c: R.CandidateResearch) -> dict[str, Any]:
    """The research lines of a candidate card / details entry."""
    sharpes = (f"search {fmt(c.search_sharpe)} · validation {fmt(c.validation_sharpe)} (× "
               f"{_ratio(c.validation_ratio)} of search) · OS {fmt(c.os_sharpe)} · IS {fmt(c.is_sharpe)}")  # fmt: skip
    trials = None
    if c.dsr is not None or c.n_trials_family is not None:
        trials = (f"DSR {fmt(c.dsr, digits=4)} · PSR {fmt(c.psr, digits=4)} · trials family "
                  f"{c.n_trials_family if c.n_trials_family is not None else DASH} / run "
                  f"{c.n_trials_run if c.n_trials_run is not None else DASH} (effective "
                  f"{fmt(c.effective_trials, digits=1)}) · DSR deflated by the whole run "
                  f"{fmt(c.run_dsr, digits=4)} (effective {fmt(c.run_effective_trials, digits=1)})")  # fmt: skip
    years = None
    if c.positive_years is not None or c.years:
        per_year = " · ".join(f"{y} {fmt(s)}" for y, s in c.years.items())
        years = f"{fmt(c.positive_years, 'pct', digits=1)} positive" + (f" ({per_year})" if per_year else "")
    return {
        "sharpes": sharpes,
        "trials": trials,
        "years": years,
        "verdict": c.verdict,
        "held_back": [f"{h.check}: {h.rule}" for h in c.held_back_by],
    }


def research_context(data: ReportData) -> dict[str, Any]:
    """Formatted research rows: `table` and `cards` for the best and ready candidates, then the run's
    `rules`, `repairs` and `freshness`."""
    q = R.research_quality(data)
    shown = data.highlighted()
    numbers = {c.id: R.candidate_research(c) for c in shown}
    ready = set(data.ready_ids)
    fresh_periods = list(q.freshness_periods)
    limit = q.stale_max_share
    return {
        "table": [table_row(numbers[c.id], str(c.status), c.id in ready) for c in shown],
        "cards": {i: card(n) for i, n in numbers.items()},
        "has_validation": any(c.test_metrics for c in shown),
        "trial_aware": q.trial_aware,
        "judged": q.judged,
        "rules": [asdict(r) for r in q.rules],
        "family_capped": q.family_capped,
        "family_rule": q.family_rule,
        "repairs": [{**asdict(r), "rate": fmt(r.rate, "pct", digits=1)} for r in q.repairs],
        "freshness": {
            "periods": [PERIOD_LABELS[p] for p in fresh_periods],
            "rows": [
                {
                    "field": r.field,
                    "candidates": r.candidates,
                    "cells": [_share_cell(r.shares.get(p), limit) for p in fresh_periods],
                }
                for r in q.freshness
            ],
            "candidates": q.freshness_candidates,
            "left_out": q.freshness_left_out,
            "limit_days": fmt(q.stale_limit_days, "int"),
            "max_share": fmt(q.stale_max_share, "pct", digits=1),
        },
    }


def _share_cell(share: float | None, limit: float | None) -> dict[str, Any]:
    v = num(share)
    return {"text": fmt(v, "pct", digits=2), "stale": v is not None and limit is not None and v > limit}
