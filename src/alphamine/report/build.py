"""Writing a run's reports: `run_report.md`, `run_report.html` (self-contained, with plots) and
`run_result.json` (machine-readable), each written atomically.

Why fast: the controller rewrites the reports at every iteration, so the view model is computed once
for both Markdown and HTML, and run_result.json is encoded by the C JSON encoder, one candidate per
line (`dump_result`), falling back to `json_safe` only for a part that holds NaN/inf or an odd type.
The JSON holds no PnL series: `artifacts` names the CSV files that do. Each candidate carries its search
(`train`) and validation (`test`) metric blocks when the run had a validation window, its latest gate
decision (`gate`) and the research numbers read off them (`research`: `report.research`); the top-level
`research` holds the run's trial-aware gate rules, repair success table and field freshness.

Why atomic: a dashboard or a person may open the files while a run is still reporting; a temp file
in the same folder renamed over the old one means a reader sees the old report or the new one,
never half of one. The HTML is rendered by jinja2 with autoescaping on (expressions contain `<`,
`>` and `&&`), from `templates/run_report.html.j2`, with no scripts and no external resources.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from alphamine.report.markdown import render_markdown
from alphamine.report.model import (
    OS_COLLAPSE_RULE,
    RISK_MODEL_NOTE,
    CandidateReport,
    ReportData,
    os_collapse,
    redact,
    run_notes,
    uses_risk_model,
    variant_deltas,
)
from alphamine.report.plots import PLOT_TITLES, render_plots, sparkline
from alphamine.report.research import candidate_research, research_quality
from alphamine.report.research_view import context

__all__ = [
    "REPORT_FILES",
    "SCHEMA",
    "dump_result",
    "json_safe",
    "render_html",
    "render_markdown",
    "result_json",
    "write_reports",
]

SCHEMA = "alphamine.run_result/1"
REPORT_FILES = {"markdown": "run_report.md", "html": "run_report.html", "json": "run_result.json"}


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("alphamine.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def render_html(data: ReportData, ctx: dict[str, Any] | None = None) -> str:
    """The self-contained HTML page (charts as SVG data URIs, sparklines as inline SVG); `ctx` is
    `research_view.context(data)` when the caller already has it."""
    ctx = dict(context(data) if ctx is None else ctx)
    index = data.by_id()
    ctx["sparks"] = {r["id"]: _spark(index[r["id"]]) for r in ctx["rows"]}
    ctx.update(
        plots=render_plots(data),
        titles=PLOT_TITLES,
        collapse_rule=OS_COLLAPSE_RULE,
        risk_note=RISK_MODEL_NOTE,
        config_json=json.dumps(json_safe(ctx["config"]), indent=2, sort_keys=True, allow_nan=False),
    )
    return _env().get_template("run_report.html.j2").render(**ctx)


def _spark(c: CandidateReport) -> dict[str, Any] | None:
    """A card's PnL sparkline (inline SVG) and its caption, or None without a PnL curve."""
    svg = sparkline(c)
    if svg is None or c.pnl is None:
        return None
    total = float(np.nansum(np.asarray(c.pnl, dtype=float))) / 1e6
    return {"svg": Markup(svg), "total": f"{total:+.2f} $M".replace("-", "−")}


# ---------------------------------------------------------------- JSON
def json_safe(obj: Any) -> Any:
    """Plain JSON values: NaN/inf -> None, numpy scalars/arrays -> Python, dates -> ISO text,
    enums -> their value, anything else unknown -> str."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, enum.Enum):
        return json_safe(obj.value)
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if np.issubdtype(obj.dtype, np.datetime64):
            return [str(v) for v in obj.astype("datetime64[D]")]
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, np.datetime64):
        return str(obj)
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    if isinstance(obj, np.bool_):
        return bool(obj)
    return str(obj)


def _candidate_json(c: CandidateReport, parent: CandidateReport | None, data: ReportData) -> dict[str, Any]:
    return {
        "id": c.id,
        "expression": c.expression,
        "settings": redact(c.settings),
        "generator": c.generator,
        "thesis": c.thesis,
        "status": c.status,
        "reasons": c.reasons,
        "ready": c.id in data.ready_ids,
        "best": c.id in data.best_ids,
        "lineage": {"parent_id": c.parent_id, "strategy": c.strategy, "params": redact(c.params)},
        "deltas_vs_parent": variant_deltas(c, parent),
        "is": c.is_metrics,
        "os": c.os_metrics,
        "os_start": c.os_start,
        "train": c.train_metrics or None,
        "test": c.test_metrics or None,
        "checks": c.checks,
        "gate": None if c.gate is None else c.gate.to_json(),
        "research": candidate_research(c).to_json(),
        "flags": {"os_collapse": os_collapse(c), "risk_model_approximation": uses_risk_model(c)},
    }


def _plain(obj: Any) -> Any:
    """`json.dumps` default hook: numpy scalars and arrays, enums, dates, sets as plain values (a NaN
    it returns makes the strict encoder raise, and the caller falls back to `json_safe`)."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, set | frozenset):
        return list(obj)
    return json_safe(obj)


def _dumps(obj: Any, indent: int | None = None) -> str:
    """Strict JSON text of `obj` with the values `json_safe` gives (NaN/inf -> null, numpy -> plain
    numbers), by the C encoder whenever `obj` has no NaN/inf and only str/int keys."""
    try:
        return json.dumps(obj, allow_nan=False, ensure_ascii=False, default=_plain, indent=indent)
    except (ValueError, TypeError):
        return json.dumps(json_safe(obj), allow_nan=False, ensure_ascii=False, indent=indent)


def _result_doc(data: ReportData) -> dict[str, Any]:
    index = data.by_id()
    candidates = [
        _candidate_json(c, index.get(c.parent_id) if c.parent_id is not None else None, data) for c in data.candidates
    ]
    out = {
        "schema": SCHEMA,
        "run": {
            "id": data.run_id,
            "status": data.status,
            "created_at": data.created_at,
            "finished_at": data.finished_at,
            "seed": data.seed,
            "config": redact(data.config),
            "data": {"description": data.data_description, "fingerprint": data.data_fingerprint},
        },
        "funnel": dict(data.funnel),
        "ready_ids": list(data.ready_ids),
        "best_ids": list(data.best_ids),
        "os_collapse_rule": OS_COLLAPSE_RULE,
        "candidates": candidates,
        "correlation": (
            {"ids": list(data.correlation_ids), "matrix": data.correlation}
            if data.correlation is not None and data.correlation_ids
            else None
        ),
        "improvements": data.improvements,
        "stages": redact(data.stages),
        "stage_times": data.stage_times,
        "artifacts": dict(data.artifacts),
        "research": research_quality(data).to_json(),
        "efficiency": {k: v for k, v in data.efficiency.items() if k not in ("cost_rows", "quota_rows")},
        "notes": run_notes(data),
    }
    return out


def result_json(data: ReportData) -> dict[str, Any]:
    """The machine-readable run summary (no PnL arrays: `artifacts` names the files that hold them),
    JSON-safe (`json.dumps(..., allow_nan=False)`)."""
    return json_safe(_result_doc(data))  # type: ignore[no-any-return,unused-ignore]


def dump_result(data: ReportData) -> str:
    """run_result.json's text: `result_json(data)` as strict JSON, top-level keys indented, one
    candidate per line (fast to write, and still greppable and diffable by candidate)."""
    doc = _result_doc(data)
    parts = []
    for key, value in doc.items():
        if key == "candidates" and value:
            body = "[\n" + ",\n".join("    " + _dumps(c) for c in value) + "\n  ]"
        else:
            body = _dumps(value, indent=2).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {body}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# ---------------------------------------------------------------- files
def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` via a temp file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a report is meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(run_dir: Path, data: ReportData) -> dict[str, Path]:
    """Write the three reports into `run_dir`; returns `{"markdown": ..., "html": ..., "json": ...}`."""
    run_dir = Path(run_dir)
    ctx = context(data)
    texts = {"markdown": render_markdown(data, ctx), "html": render_html(data, ctx), "json": dump_result(data)}
    paths = {}
    for key, name in REPORT_FILES.items():
        paths[key] = run_dir / name
        atomic_write_text(paths[key], texts[key])
    return paths
