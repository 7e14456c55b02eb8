"""The report's view model: formatted rows that the HTML template and the Markdown writer share.

Why: both renderers must show the same numbers with the same units (turnover, returns and drawdown
in %, margin in basis points) and the same flags; computing them once here keeps them identical and
keeps the template free of logic. Values that are missing or not finite print as an en dash.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alphamine.report.model import (
    DELTA_METRICS,
    FUNNEL_ORDER,
    CandidateReport,
    ReportData,
    num,
    os_collapse,
    redact,
    run_notes,
    uses_risk_model,
    variant_deltas,
)

DASH = "–"
# metric -> (label, formatter kind); the order of the IS | OS table columns
TABLE_METRICS: tuple[tuple[str, str, str], ...] = (
    ("sharpe", "Sharpe", "num"),
    ("fitness", "Fitness", "num"),
    ("turnover", "Turnover", "pct"),
    ("returns", "Returns", "pct"),
    ("drawdown", "Drawdown", "pct"),
    ("margin", "Margin (bps)", "bps"),
)
CHECK_CLASSES = {"PASS": "pass", "FAIL": "fail", "WARNING": "warn", "PENDING": "pending", "ERROR": "fail"}
CHECK_ORDER = {"FAIL": 0, "ERROR": 0, "WARNING": 1, "PENDING": 2, "PASS": 3}  # failures first, at a glance
LOWER_IS_BETTER = frozenset({"turnover", "drawdown"})
ALL_CANDIDATES_LIMIT = 500  # rows of the "all simulated candidates" table


def fmt(v: Any, kind: str = "num", digits: int = 2) -> str:
    x = num(v)
    if x is None:
        return DASH
    if kind == "pct":
        return f"{x * 100:.{max(digits - 1, 0)}f}%"
    if kind == "bps":
        return f"{x * 1e4:.1f}"
    if kind == "int":
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def goodness(metric: str, delta: Any) -> int:
    """+1 when the change is an improvement, −1 when it is worse, 0 when flat or unknown."""
    x = num(delta)
    if not x:
        return 0
    better = x < 0 if metric in LOWER_IS_BETTER else x > 0
    return 1 if better else -1


def fmt_delta(v: Any, kind: str = "num") -> str:
    x = num(v)
    if x is None:
        return DASH
    body = fmt(abs(x), kind)
    return ("+" if x > 0 else "−" if x < 0 else "±") + body


def settings_brief(s: dict[str, Any]) -> str:
    """`TOP500 · D1 · decay 4 · INDUSTRY · trunc 0.08` from BRAIN-spelled settings."""
    parts = [str(s.get("universe", "?")), f"D{s.get('delay', '?')}", f"decay {s.get('decay', 0)}"]
    parts.append(str(s.get("neutralization", "?")))
    if "truncation" in s:
        parts.append(f"trunc {fmt(s['truncation'])}")
    return " · ".join(parts)


def _parse_time(text: Any) -> dt.datetime | None:
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def check_badges(checks: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for c in sorted(checks, key=lambda c: CHECK_ORDER.get(str(c.get("result", "")).upper(), 2)):
        result = str(c.get("result", "?")).upper()
        detail = []
        if num(c.get("value")) is not None:
            detail.append(f"value {fmt(c.get('value'), digits=3)}")
        if num(c.get("limit")) is not None:
            detail.append(f"limit {fmt(c.get('limit'), digits=3)}")
        out.append(
            {
                "name": str(c.get("name", "?")),
                "result": result,
                "cls": CHECK_CLASSES.get(result, "pending"),
                "title": f"{c.get('name', '?')}: {result}" + (f" ({', '.join(detail)})" if detail else ""),
            }
        )
    return out


def candidate_row(c: CandidateReport, parent: CandidateReport | None, data: ReportData) -> dict[str, Any]:
    """Everything the main table and the candidate card show for one candidate."""
    metrics = [
        {
            "key": key,
            "label": label,
            "is": fmt(c.is_metrics.get(key), kind),
            "os": fmt(c.os_metrics.get(key), kind),
            "os_worse": key == "sharpe" and _worse(c.is_metrics.get(key), c.os_metrics.get(key)),
        }
        for key, label, kind in TABLE_METRICS
    ]
    deltas = variant_deltas(c, parent)
    delta_rows = None
    if deltas is not None:
        delta_rows = [
            {
                "metric": m,
                "text": fmt_delta(deltas[m], "pct" if m == "turnover" else "num"),
                "good": goodness(m, deltas[m]),
            }
            for m in DELTA_METRICS
        ]
    thesis = c.thesis or {}
    return {
        "id": c.id,
        "expression": c.expression,
        "settings": settings_brief(c.settings),
        "risk_model": uses_risk_model(c),
        "generator": c.generator,
        "status": c.status,
        "reasons": list(c.reasons),
        "best": c.id in data.best_ids,
        "ready": c.id in data.ready_ids,
        "collapse": os_collapse(c),
        "metrics": metrics,
        "checks": check_badges(c.checks),
        "failed_checks": [str(k.get("name")) for k in c.checks if str(k.get("result", "")).upper() == "FAIL"],
        "thesis": {
            "type": str(thesis.get("type", "") or ""),
            "rationale": str(thesis.get("rationale", "") or ""),
            "failure_mode": str(thesis.get("failure_mode", "") or ""),
        },
        "parent_id": c.parent_id,
        "parent_known": parent is not None,
        "strategy": c.strategy,
        "params": redact(dict(c.params)),
        "deltas": delta_rows,
        "long_short": f"{fmt(c.is_metrics.get('longCount'), 'int')} / {fmt(c.is_metrics.get('shortCount'), 'int')}",
    }


def _worse(a: Any, b: Any) -> bool:
    x, y = num(a), num(b)
    return x is not None and y is not None and y < x


def funnel_rows(funnel: dict[str, int]) -> list[dict[str, Any]]:
    """Stages in `FUNNEL_ORDER` (then any extra keys) with the conversion from the previous stage."""
    keys = [k for k in FUNNEL_ORDER if k in funnel] + [k for k in funnel if k not in FUNNEL_ORDER]
    rows, prev = [], None
    top = funnel.get(keys[0]) if keys else None
    for k in keys:
        n = int(funnel[k] or 0)
        rows.append(
            {
                "stage": k,
                "count": n,
                "from_prev": fmt(n / prev, "pct") if prev else DASH,
                "from_top": fmt(n / top, "pct") if top else DASH,
            }
        )
        prev = n
    return rows


def stage_rows(stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stage timeline rows with durations and bar offsets (percent of the whole run's span)."""
    times = [(_parse_time(s.get("started_at")), _parse_time(s.get("finished_at"))) for s in stages]
    known = [t for pair in times for t in pair if t is not None]
    t0, t1 = (min(known), max(known)) if known else (None, None)
    span = (t1 - t0).total_seconds() if t0 and t1 else 0.0
    rows = []
    for s, (a, b) in zip(stages, times, strict=True):
        dur = (b - a).total_seconds() if a and b else None
        left = ((a - t0).total_seconds() / span * 100) if a and t0 and span > 0 else 0.0
        width = (dur / span * 100) if dur is not None and span > 0 else 0.0
        summary = s.get("summary")
        if isinstance(summary, dict):
            summary = ", ".join(f"{k}: {v}" for k, v in redact(summary).items())
        rows.append(
            {
                "iteration": s.get("iteration", ""),
                "stage": str(s.get("stage", "")),
                "status": str(s.get("status", "")),
                "status_cls": {"DONE": "pass", "COMPLETED": "pass", "FAILED": "fail", "RUNNING": "warn"}.get(
                    str(s.get("status", "")).upper(), "pending"
                ),
                "started_at": str(s.get("started_at") or DASH),
                "duration": fmt_duration(dur),
                "left": f"{left:.2f}",
                "width": f"{max(width, 0.6):.2f}",
                "summary": "" if summary is None else str(summary),
            }
        )
    return rows


def stage_time_rows(times: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`ReportData.stage_times` formatted: seconds, runs, mean per run, share, and a bar width
    relative to the slowest stage."""
    top = max((num(t.get("seconds")) or 0.0 for t in times), default=0.0)
    rows = []
    for t in times:
        seconds, count = num(t.get("seconds")) or 0.0, int(t.get("count") or 0)
        rows.append(
            {
                "stage": str(t.get("stage", "")),
                "seconds": f"{seconds:.2f}",
                "count": count,
                "mean": fmt_duration(seconds / count) if count else DASH,
                "share": fmt(t.get("share"), "pct"),
                "width": f"{(seconds / top * 100) if top > 0 else 0.0:.1f}",
            }
        )
    return rows


def improvement_rows(data: ReportData) -> list[dict[str, Any]]:
    rows = []
    for imp in data.improvements:
        before, after = imp.get("before") or {}, imp.get("after") or {}
        metrics = [m for m in ("sharpe", "fitness", "turnover") if m in before or m in after]
        rows.append(
            {
                "optimizer": str(imp.get("optimizer", "")),
                "strategy": str(imp.get("strategy", "") or ""),
                "parent_id": imp.get("parent_id"),
                "child_id": imp.get("child_id"),
                "changes": [_change(m, before.get(m), after.get(m)) for m in metrics],
            }
        )
    return rows


def _change(metric: str, before: Any, after: Any) -> dict[str, Any]:
    kind = "pct" if metric == "turnover" else "num"
    b, a = num(before), num(after)
    delta = None if a is None or b is None else a - b
    return {
        "metric": metric,
        "before": fmt(b, kind),
        "after": fmt(a, kind),
        "delta": fmt_delta(delta, kind),
        "good": goodness(metric, delta),
    }


def context(data: ReportData) -> dict[str, Any]:
    """The template context (without plots): header, cards, tables, timeline, notes."""
    index = data.by_id()
    rows = [
        candidate_row(c, index.get(c.parent_id) if c.parent_id is not None else None, data) for c in data.highlighted()
    ]
    sims = list(data.candidates)
    best_sharpe = max((s for c in sims if (s := num(c.is_metrics.get("sharpe"))) is not None), default=None)
    collapses = sum(1 for c in sims if os_collapse(c))
    everyone = [
        {
            "id": c.id,
            "expression": c.expression,
            "status": c.status,
            "generator": c.generator,
            "is_sharpe": fmt(c.is_metrics.get("sharpe")),
            "os_sharpe": fmt(c.os_metrics.get("sharpe")),
            "fitness": fmt(c.is_metrics.get("fitness")),
            "turnover": fmt(c.is_metrics.get("turnover"), "pct"),
            "collapse": os_collapse(c),
            "ready": c.id in data.ready_ids,
            "parent_id": c.parent_id,
        }
        for c in sorted(sims, key=lambda c: -(num(c.is_metrics.get("fitness")) or -1e9))[:ALL_CANDIDATES_LIMIT]
    ]
    return {
        "run_id": data.run_id,
        "status": data.status,
        "created_at": data.created_at,
        "finished_at": data.finished_at or DASH,
        "seed": data.seed,
        "data_description": data.data_description,
        "data_fingerprint": data.data_fingerprint,
        "config": redact(data.config),
        "cards": [
            {"label": "Generated", "value": fmt(data.funnel.get("generated"), "int"), "alert": False},
            {"label": "Simulated", "value": fmt(data.funnel.get("simulated", len(sims)), "int"), "alert": False},
            {"label": "Ready", "value": str(len(data.ready_ids)), "alert": False},
            {"label": "Best IS Sharpe", "value": fmt(best_sharpe), "alert": False},
            {"label": "OS collapses", "value": str(collapses), "alert": collapses > 0},
        ],
        "funnel": funnel_rows(data.funnel),
        "rows": rows,
        "card_ids": {r["id"] for r in rows},
        "all_candidates": everyone,
        "all_truncated": len(sims) > ALL_CANDIDATES_LIMIT,
        "n_candidates": len(sims),
        "improvements": improvement_rows(data),
        "stages": stage_rows(data.stages),
        "stage_times": stage_time_rows(data.stage_times),
        "artifacts": dict(data.artifacts),
        "notes": run_notes(data),
        "table_metrics": [label for _, label, _ in TABLE_METRICS],
        "correlation": correlation_rows(data),
    }


def correlation_rows(data: ReportData) -> dict[str, Any] | None:
    if data.correlation is None or not data.correlation_ids:
        return None
    m = data.correlation
    ids = list(data.correlation_ids)
    return {"ids": ids, "rows": [[fmt(m[i, j]) for j in range(len(ids))] for i in range(len(ids))]}
