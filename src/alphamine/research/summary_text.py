"""The plain-language half of the research summary: recommendations and the Markdown page.

Why a module of its own: `research.summary` computes numbers; this turns them into sentences and
tables, and its rules (thresholds below) are the part people argue about and tune, so they sit apart
from the arithmetic. Pure functions of a `ResearchSummary`; nothing here reads the store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from alphamine.research.regimes import TREND_NAMES, VOL_NAMES
from alphamine.research.repair_table import to_markdown as repair_markdown

if TYPE_CHECKING:
    from alphamine.research.summary import ResearchSummary

FAMILY_SHARE_MAX = 0.5  # one lineage family holding more than this of >= 2 ready alphas: too narrow
MIN_VALIDATION_RATIO = 0.5  # median validation/search Sharpe below this: the search overfits
MIN_OS_IS_RATIO = 0.5  # median OS/IS Sharpe below this: the edge does not survive out of sample
CORRELATION_LIMIT = 0.7  # two ready alphas above this PnL correlation are one bet (SELF_CORRELATION)
REGIME_MIN_DAYS = 60  # a regime Sharpe on fewer days is noise, never a recommendation
TOP_PRODUCERS = 10  # rows per producer table in Markdown (JSON has all)


def recommend(s: ResearchSummary) -> list[str]:
    """Plain-language advice, one rule per sentence, in this order:
    no simulation / no ready alpha (the most common failing tag); one lineage family holding more than
    FAMILY_SHARE_MAX of >= 2 ready alphas; median validation/search below MIN_VALIDATION_RATIO; median
    OS/IS below MIN_OS_IS_RATIO or fewer than half the ready alphas positive in OS; two ready alphas
    correlated above CORRELATION_LIMIT; fields stale in validation/OS; a ready alpha losing money
    (Sharpe < 0) in a regime of at least REGIME_MIN_DAYS days. None of these: keep going."""
    out: list[str] = []
    f = s.funnel
    top = s.failure_tags[0] if s.failure_tags else None
    if f.simulated == 0:
        why = f" The most common failure is {top.tag} ({top.count} of {f.generated})." if top else ""
        out.append(f"Nothing was simulated.{why} Fix the generators or the data before mining more.")
    elif f.ready == 0:
        why = (f"the most common failing check is {top.tag} ({top.count} of {f.generated} candidates); "
               "see the repair table for the moves that fix it") if top else "no check failed: run more iterations"
        out.append(f"No ready alpha: {why}.")
    if f.ready >= 2 and s.largest_family_share > FAMILY_SHARE_MAX:
        out.append(f"Most ready alphas ({s.largest_family_share:.0%}) come from one lineage family "
                   f"(#{s.largest_family}): widen exploration (more --candidates, other themes).")
    if s.median_validation_search < MIN_VALIDATION_RATIO:
        out.append(f"The median validation/search Sharpe ratio is {s.median_validation_search:.2f}, below "
                   f"{MIN_VALIDATION_RATIO}: the search overfits; raise --min-dsr or add more diverse candidates.")
    if s.median_os_is < MIN_OS_IS_RATIO or s.os_positive_share < 0.5:
        out.append(f"Out of sample the ready alphas keep a median {s.median_os_is:.2f} of their IS Sharpe and "
                   f"{s.os_positive_share:.0%} stay positive: treat them as overfit and tighten the gate.")
    if s.max_correlation > CORRELATION_LIMIT and s.correlated_pair:
        one, two = s.correlated_pair
        out.append(f"Ready alphas #{one} and #{two} have a PnL correlation of {s.max_correlation:.2f}: they are one "
                   "bet; keep the better one.")
    if s.stale_fields:
        names = ", ".join(f"{x.field} ({x.family}, {x.candidates})" for x in s.stale_fields[:5])
        out.append(f"Fields stale in validation or OS: {names}: an in-sample edge on values that stop updating "
                   "is not an edge; refresh the data or prefer fields that keep updating.")
    for a in s.ready:
        bad = [f"{k} {v.sharpe:.2f}" for k, v in a.regimes.items() if v.n_days >= REGIME_MIN_DAYS and v.sharpe < 0]
        if bad:
            out.append(f"Ready alpha #{a.id} loses money in {', '.join(bad)} (Sharpe by regime): it is partly a "
                       "bet on the regime; size it down or pair it with an alpha that earns there.")
    return out or ["No warning sign in these numbers: keep the settings and run more iterations for more ready alphas."]


# ------------------------------------------------------------------------------------------ Markdown
def _n(value: float, fmt: str = ".2f") -> str:
    return format(value, fmt) if math.isfinite(value) else "—"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """A Markdown table, the first `left` columns left-aligned, the rest (numbers) right-aligned; []
    without rows. A "|" inside a cell is escaped."""
    if not rows:
        return []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * left + "---:|" * (len(head) - left)]
    return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]


def markdown(s: ResearchSummary) -> str:
    """The summary as one Markdown page: funnel, failure tags, producers, ready alphas with their
    ratios and regimes, stale fields, repairs, recommendations. "—" marks an undefined number."""
    out = [f"# Research summary: {', '.join(s.run_ids)}", "", "## Funnel", ""]
    stages = list(asdict(s.funnel).items())
    out += _table(["Stage", "Candidates", "Of previous"],
                  [[k, str(v), _n(v / stages[i - 1][1], ".0%") if i and stages[i - 1][1] else "—"]
                   for i, (k, v) in enumerate(stages)])
    out += ["", "## Failure tags", ""]
    out += _table(["Tag", "Candidates"], [[t.tag, str(t.count)] for t in s.failure_tags]) or ["none"]
    out += ["", "## What produces ready alphas"]
    for title, producers in (("Operators", s.operators), ("Field families", s.field_families),
                             ("Template families", s.template_families)):
        rows = [[p.name, str(p.ready), str(p.simulated), _n(p.rate, ".0%")] for p in producers[:TOP_PRODUCERS]]
        out += ["", f"### {title}", "", *(_table(["Name", "Ready", "Simulated", "Rate"], rows) or ["none"])]
    out += ["", "## Ready alphas", "", *_ready(s)]
    out += ["", "## Sharpe by market regime", "", *_regimes(s)]
    if s.stale_fields:
        rows = [[x.field, x.family, str(x.candidates)] for x in s.stale_fields]
        out += ["", "## Stale fields (validation or OS)", "", *_table(["Field", "Family", "Candidates"], rows, 2)]
    out += ["", "## Repairs", "", repair_markdown(s.repairs).rstrip() if s.repairs else "none"]
    out += ["", "## Recommendations", "", *(f"- {r}" for r in s.recommendations), ""]
    return "\n".join(out)


def _ready(s: ResearchSummary) -> list[str]:
    if not s.ready:
        return ["none"]
    head = ["#", "Expression", "IS", "OS", "OS/IS", "Search", "Validation", "Val/Search", "DSR", "Trials"]
    rows = [
        [str(a.id), f"`{a.expression}`", _n(a.is_sharpe), _n(a.os_sharpe), _n(a.os_is_ratio), _n(a.search_sharpe),
         _n(a.validation_sharpe), _n(a.validation_search_ratio), _n(a.dsr, ".3f"),
         f"{a.n_trials_family or '—'} / {a.n_trials_run or '—'} / {_n(a.effective_trials, '.1f')}"]
        for a in s.ready
    ]
    pair = f" (#{s.correlated_pair[0]} and #{s.correlated_pair[1]})" if s.correlated_pair else ""
    family = f" (#{s.largest_family})" if s.largest_family is not None else ""
    return [
        *_table(head, rows, left=2),
        "",
        "Trials: the DSR's family / run / effective number of trials.",
        "",
        f"- median OS/IS Sharpe: {_n(s.median_os_is)}",
        f"- median validation/search Sharpe: {_n(s.median_validation_search)}",
        f"- OS Sharpe > 0: {_n(s.os_positive_share, '.0%')}",
        f"- simulations per ready alpha: {_n(s.trials_per_ready, '.1f')}",
        f"- largest pairwise PnL correlation: {_n(s.max_correlation)}{pair}",
        f"- largest lineage family: {_n(s.largest_family_share, '.0%')} of the ready alphas{family}",
    ]


def _regimes(s: ResearchSummary) -> list[str]:
    names = [*VOL_NAMES.values(), *TREND_NAMES.values()]
    rows = [[str(a.id), *(_n(a.regimes[k].sharpe) for k in names)] for a in s.ready if a.regimes]
    notes = [f"- run {run}: {why}" for run, why in s.regime_notes.items()]
    lines = _table(["#", *names], rows) + ([""] if rows and notes else []) + notes
    return lines or ["none"]
