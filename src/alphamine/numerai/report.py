"""HTML reports of Numerai runs: one run against its baseline, or several runs side by side.

Why self-contained HTML with inline SVG: a report is opened from a run folder, mailed or attached
to an issue; it must show its charts with no server, no script and no image files next to it. The
charts are drawn with `alphamine.report.svg` (the mining report's writer: fixed decimals, escaped
text, no matplotlib), as numerai/example-scripts' `show_experiment` plots them: cumulative per-era
CORR of the model and of the baseline, and cumulative per-era BMC.

The baseline is the benchmark column's own predictions scored like a model (`baseline_scores`);
its BMC against itself is zero by construction and is not drawn. Eras are in `sort_eras` order and
the x axis is the era's position, labelled with era names.

Contract: `run_report_html(record, scores_doc, oof) -> str` and `compare_report_html(records,
scores_docs) -> str` return complete HTML documents; `scores_doc` is a run's scores.json
({"scores", "baseline_scores", "details"}). Values that are None (NaN) print as "–" and are left out
of the charts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from alphamine.report.svg import Chart, esc, nice_ticks, padded

if TYPE_CHECKING:
    import pandas as pd

    from alphamine.numerai.registry import RunRecord

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
BASELINE_COLOR = "#9ca3af"
ROWS = (
    ("corr_mean", "CORR mean"), ("corr_std", "CORR std"), ("corr_sharpe", "CORR sharpe"),
    ("max_drawdown", "CORR max drawdown"), ("bmc_mean", "BMC mean"), ("bmc_std", "BMC std"),
    ("bmc_sharpe", "BMC sharpe"),
)  # fmt: skip
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2937;margin:24px auto;
max-width:1040px;padding:0 16px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}
td,th{padding:3px 10px;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}
th{background:#f9fafb}td:first-child,th:first-child{text-align:left}.muted{color:#6b7280;font-size:13px}
.pos{color:#047857}.neg{color:#b91c1c}pre{background:#f9fafb;padding:8px;font-size:12px;overflow:auto}
.scroll{max-height:420px;overflow:auto;display:inline-block}
"""


def fmt(v: Any, digits: int = 4) -> str:
    """A number for a table cell ("–" for None / NaN)."""
    if v is None:
        return "–"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return esc(v)
    return "–" if not math.isfinite(x) else f"{x:.{digits}f}"


LOWER_IS_BETTER = frozenset({"max_drawdown", "corr_std", "bmc_std"})


def _signed(v: Any, lower_is_better: bool = False) -> str:
    if v is None or not math.isfinite(float(v)):
        return "<td>–</td>"
    good = float(v) < 0 if lower_is_better else float(v) > 0
    cls = "" if float(v) == 0 else "pos" if good else "neg"
    return f'<td class="{cls}">{float(v):+.4f}</td>'


def per_era(doc: dict[str, Any] | None, key: str) -> dict[str, float]:
    """{era: value} of one per-era series of a `Scores.to_json()` dict, finite values only."""
    series = (doc or {}).get(key) or {}
    return {str(e): float(v) for e, v in series.items() if v is not None and math.isfinite(float(v))}


def era_order(*series: dict[str, float]) -> list[str]:
    from alphamine.numerai.data import sort_eras

    return sort_eras({e for s in series for e in s})


# ---------------------------------------------------------------------------- charts
def cumulative_chart(
    lines: Sequence[tuple[str, str, dict[str, float]]], eras: list[str], title: str, y_label: str,
    width: float = 960, height: float = 300,
) -> str:  # fmt: skip
    """An inline SVG of each line's cumulative sum over `eras` (a missing era adds nothing)."""
    chart = Chart(width, height)
    chart.text(12, 14, title, size=13, weight="600")
    if not eras or not any(line[2] for line in lines):
        chart.text(width / 2, height / 2, "no per-era scores", anchor="middle")
        return chart.document()
    xs = np.arange(len(eras), dtype=float)
    curves = []
    for label, color, series in lines:
        values = np.array([series.get(e, 0.0) for e in eras], dtype=float)
        if series:
            curves.append((label, color, np.cumsum(values)))
    lo = min(0.0, *(float(c.min()) for _, _, c in curves))
    hi = max(0.0, *(float(c.max()) for _, _, c in curves))
    chart.frame(64, 30, width - 16, height - 44, (0.0, max(len(eras) - 1, 1)), padded(lo, hi))
    chart.y_axis(nice_ticks(*chart.y_range), label=y_label)
    step = max(1, len(eras) // 8)
    chart.x_axis([(float(i), eras[i]) for i in range(0, len(eras), step)], label="era")
    chart.line(chart.left, chart.yf(0.0), chart.right, chart.yf(0.0), "#6b7280", 1.0, dash="3 3")
    for _, color, curve in curves:
        chart.polyline(chart.x(xs), chart.y(curve), color, 1.8)
    chart.legend(chart.left + 8, chart.top + 4, [("line", color, label) for label, color, _ in curves])
    return chart.document()


# ---------------------------------------------------------------------------- pages
def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")  # fmt: skip


def summary_table(record: RunRecord, scores_doc: dict[str, Any]) -> str:
    """Model vs baseline (benchmark) for every summary metric, with the difference."""
    model = scores_doc.get("scores") or {}
    base = scores_doc.get("baseline_scores")
    head = "<tr><th>metric</th><th>model</th>" + ("<th>baseline (benchmark)</th><th>model − baseline</th>"
                                                  if base else "") + "</tr>"  # fmt: skip
    rows = []
    for key, label in ROWS:
        m = model.get(key)
        cells = f"<td>{esc(label)}</td><td>{fmt(m)}</td>"
        if base:
            b = base.get(key)
            diff = None if m is None or b is None or key.startswith("bmc") else float(m) - float(b)
            cells += f"<td>{fmt(b)}</td>" + _signed(diff, key in LOWER_IS_BETTER)
        rows.append(f"<tr>{cells}</tr>")
    details = scores_doc.get("details") or {}
    extra = []
    for name in ("corr_last_200", "bmc_last_200"):
        block = details.get(name) or {}
        if block:
            extra.append(f"<tr><td>{esc(name.replace('_', ' '))} mean</td><td>{fmt(block.get('mean'))}</td>"
                         + ("<td></td><td></td>" if base else "") + "</tr>")  # fmt: skip
    if details.get("avg_corr_with_benchmark") is not None:
        extra.append(f"<tr><td>avg corr with benchmark</td><td>{fmt(details['avg_corr_with_benchmark'])}</td>"
                     + ("<td></td><td></td>" if base else "") + "</tr>")  # fmt: skip
    return f"<table>{head}{''.join(rows)}{''.join(extra)}</table>"


def per_era_table(scores_doc: dict[str, Any], oof: pd.DataFrame | None) -> str:
    corr = per_era(scores_doc.get("scores"), "per_era_corr")
    bmc = per_era(scores_doc.get("scores"), "per_era_bmc")
    base = per_era(scores_doc.get("baseline_scores"), "per_era_corr")
    counts = oof["era"].astype(str).value_counts().to_dict() if oof is not None and "era" in oof else {}
    rows = []
    cum = 0.0
    for era in era_order(corr, bmc, base):
        cum += corr.get(era, 0.0)
        rows.append(f"<tr><td>{esc(era)}</td><td>{counts.get(era, '')}</td><td>{fmt(corr.get(era))}</td>"
                    f"<td>{fmt(cum)}</td><td>{fmt(bmc.get(era))}</td><td>{fmt(base.get(era))}</td></tr>")  # fmt: skip
    head = ("<tr><th>era</th><th>rows</th><th>CORR</th><th>cumulative CORR</th><th>BMC</th>"
            "<th>baseline CORR</th></tr>")  # fmt: skip
    return f'<div class="scroll"><table>{head}{"".join(rows)}</table></div>'


def run_report_html(record: RunRecord, scores_doc: dict[str, Any], oof: pd.DataFrame | None = None) -> str:
    """The report of one run (module doc)."""
    model = scores_doc.get("scores") or {}
    base = scores_doc.get("baseline_scores")
    corr, bmc = per_era(model, "per_era_corr"), per_era(model, "per_era_bmc")
    base_corr = per_era(base, "per_era_corr")
    eras = era_order(corr, bmc, base_corr)
    corr_lines = [("model", PALETTE[0], corr)] + ([("baseline (benchmark)", BASELINE_COLOR, base_corr)] if base else [])
    parts = [
        f"<h1>Numerai run {esc(record.run_id)}</h1>",
        f'<p class="muted">{esc(record.name)} · model {esc(record.model_type)} · {record.n_rows} OOF rows over '
        f"{record.n_eras} eras · {record.n_features} features · {record.seconds:.1f} s · {esc(record.created_at)}"
        f"<br>data {esc(record.data_path)} (fingerprint {esc(record.data_fingerprint[:16])})</p>",
        "<h2>Scores (out of fold) against the baseline</h2>",
        summary_table(record, scores_doc),
        "<h2>Cumulative per-era CORR</h2>",
        cumulative_chart(corr_lines, eras, "cumulative CORR: model vs baseline", "cumulative CORR"),
    ]
    if bmc:
        parts += ["<h2>Cumulative per-era BMC</h2>",
                  cumulative_chart([("model", PALETTE[0], bmc)], eras, "cumulative BMC (vs the benchmark)",
                                   "cumulative BMC")]  # fmt: skip
    parts += ["<h2>Per era</h2>", per_era_table(scores_doc, oof),
              "<h2>Config</h2>", f"<pre>{esc(json.dumps(record.config, indent=2, sort_keys=True))}</pre>"]  # fmt: skip
    return _page(f"Numerai run {record.run_id}", "".join(parts))


def compare_rows(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """One dict per run, then one per distinct data set's baseline (the benchmark scored as a model):
    label, run id, then the summary metrics."""
    rows: list[dict[str, Any]] = [{"label": r.name, "run_id": r.run_id, **r.metrics} for r in records]
    seen: dict[str, RunRecord] = {}
    for r in records:
        if r.baseline and r.data_fingerprint not in seen:
            seen[r.data_fingerprint] = r
    many = len(seen) > 1
    for fp, r in seen.items():
        label = f"baseline (benchmark, data {fp[:8]})" if many else "baseline (benchmark)"
        rows.append({"label": label, "run_id": "-", **(r.baseline or {})})
    return rows


def compare_report_html(records: Sequence[RunRecord], scores_docs: Sequence[dict[str, Any]]) -> str:
    """Several runs side by side: summary table (with each data set's baseline) and cumulative
    CORR / BMC curves on the union of their eras."""
    fingerprints = {r.data_fingerprint for r in records}
    note = "" if len(fingerprints) <= 1 else (
        '<p class="neg">These runs used different data (fingerprints differ): compare with care.</p>')
    head = "<tr><th>run</th><th>id</th>" + "".join(f"<th>{esc(lbl)}</th>" for _, lbl in ROWS) + "</tr>"
    body = "".join(
        f"<tr><td>{esc(row['label'])}</td><td>{esc(row['run_id'])}</td>"
        + "".join(f"<td>{fmt(row.get(k))}</td>" for k, _ in ROWS) + "</tr>"
        for row in compare_rows(records)
    )
    corr_lines, bmc_lines = [], []
    for i, (r, doc) in enumerate(zip(records, scores_docs, strict=True)):
        color = PALETTE[i % len(PALETTE)]
        corr_lines.append((f"{r.name} ({r.run_id[-4:]})", color, per_era(doc.get("scores"), "per_era_corr")))
        bmc_lines.append((f"{r.name} ({r.run_id[-4:]})", color, per_era(doc.get("scores"), "per_era_bmc")))
    base_doc = next((d.get("baseline_scores") for d in scores_docs if d.get("baseline_scores")), None)
    if base_doc and len(fingerprints) == 1:
        corr_lines.append(("baseline (benchmark)", BASELINE_COLOR, per_era(base_doc, "per_era_corr")))
    eras = era_order(*(s for _, _, s in corr_lines), *(s for _, _, s in bmc_lines))
    parts = [f"<h1>Numerai runs compared ({len(records)})</h1>", note, f"<table>{head}{body}</table>",
             "<h2>Cumulative per-era CORR</h2>",
             cumulative_chart(corr_lines, eras, "cumulative CORR", "cumulative CORR")]
    if any(s for _, _, s in bmc_lines):
        parts += ["<h2>Cumulative per-era BMC</h2>",
                  cumulative_chart(bmc_lines, eras, "cumulative BMC", "cumulative BMC")]  # fmt: skip
    return _page("Numerai runs compared", "".join(parts))
