"""The run report's figures: five charts as self-contained SVG data URIs, plus per-candidate sparklines.

Why this shape: the HTML report must open anywhere with no network and is rewritten at every
iteration of a run, so each chart is computed with numpy (cumulative sums, downsampling to a few
hundred points per curve, colour scales) and written as SVG text by `report.svg` in milliseconds:
one chart per plot kind, whatever the number of candidates (the scatter's hundreds of dots are one
path). Charts embed as `data:image/svg+xml;base64,...` in an `<img>`, so each keeps its own ids;
sparklines are small inline `<svg>` elements in the candidate cards. Output is deterministic.

Every `*_figure` function returns the SVG document, or None when there is nothing to draw (the page
then says so).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from alphamine.report.model import (
    SHARPE_THRESHOLD,
    TURNOVER_THRESHOLD,
    CandidateReport,
    ReportData,
    num,
    os_collapse,
)
from alphamine.report.svg import (
    AXIS,
    INK,
    MUTED,
    Chart,
    Labels,
    date_ticks,
    downsample,
    esc,
    nice_ticks,
    padded,
    points,
    spread_labels,
    text_width,
)
from alphamine.report.view import funnel_rows

PALETTE = ("#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d")
OS_COLOR, BAD, GOOD = "#f59e0b", "#dc2626", "#16a34a"
MAX_PNL_LINES = 5
MAX_IMPROVEMENTS = 20
MAX_ANNOTATED_CELLS = 20  # correlation matrices larger than this are drawn without numbers
# RdBu reversed (ColorBrewer, as matplotlib's "RdBu_r"): -1 blue .. 0 near-white .. +1 red
_DIVERGING = np.array(
    [[5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
     [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31]], dtype=float,
)  # fmt: skip


def to_data_uri(svg: str) -> str:
    """An SVG document as a base64 data URI (same bytes for the same document)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _curve(c: CandidateReport) -> tuple[np.ndarray, np.ndarray] | None:
    """(days as int, cumulative PnL in $M) of a candidate with a usable daily PnL, else None."""
    if c.pnl is None or c.dates is None or np.size(c.pnl) <= 1 or np.size(c.pnl) != np.size(c.dates):
        return None
    days = np.asarray(c.dates).astype("datetime64[D]").astype(np.int64)
    return days, np.nancumsum(np.asarray(c.pnl, dtype=float)) / 1e6


# ---------------------------------------------------------------- cumulative PnL
def pnl_figure(candidates: Sequence[CandidateReport], max_lines: int = MAX_PNL_LINES) -> str | None:
    """Cumulative PnL ($M) of up to `max_lines` candidates; the OS region shaded, its start marked."""
    drawn = [(c, cv) for c in candidates if (cv := _curve(c)) is not None][:max_lines]
    if not drawn:
        return None
    x_lo = min(int(d[0]) for _, (d, _) in drawn)
    x_hi = max(int(d[-1]) for _, (d, _) in drawn)
    y_all = np.concatenate([v for _, (_, v) in drawn])
    y_range = padded(min(float(np.nanmin(y_all)), 0.0), max(float(np.nanmax(y_all)), 0.0))
    ch = Chart(1000, 390)
    ch.frame(64, 30, 930, 350, (x_lo, x_hi + 0.01 * (x_hi - x_lo)), y_range)
    os_starts = [int(np.datetime64(c.os_start, "D").astype(np.int64)) for c, _ in drawn if c.os_start]
    if os_starts:
        lo = ch.xf(min(os_starts))
        ch.rect(lo, ch.top, ch.right - lo, ch.bottom - ch.top, OS_COLOR, ' fill-opacity="0.10"')
    ch.y_axis(nice_ticks(*y_range, 6), "cumulative PnL ($M)")
    ticks = date_ticks(np.datetime64(x_lo, "D"), np.datetime64(x_hi, "D"))
    ch.x_axis([(float(d.astype(np.int64)), label) for d, label in ticks])
    ch.line(ch.left, ch.yf(0), ch.right, ch.yf(0), AXIS, 1.0)
    if os_starts:
        lo = ch.xf(min(os_starts))
        ch.line(lo, ch.top, lo, ch.bottom, OS_COLOR, 1.3, "5 4")
        ch.text(lo + 6, ch.top - 12, "out of sample →", size=11, color="#b45309", weight="bold")
        ch.text(lo - 6, ch.top - 12, "← in sample", size=11, color=MUTED, anchor="end", weight="bold")
    ends = []
    for k, (_, (days, cum)) in enumerate(drawn):
        keep = downsample(cum)
        ok = np.isfinite(cum[keep])
        ch.polyline(ch.x(days[keep][ok]), ch.y(cum[keep][ok]), PALETTE[k % len(PALETTE)], 1.7)
        ends.append(ch.yf(float(cum[-1])))
    for k, ((c, (days, _)), y) in enumerate(
        zip(drawn, spread_labels(ends, 13, ch.top + 6, ch.bottom - 6), strict=True)
    ):
        ch.text(ch.xf(float(days[-1])) + 5, y, f"#{c.id}", size=10.5, color=PALETTE[k % len(PALETTE)], weight="bold")
    entries = []
    for k, (c, _) in enumerate(drawn):
        s_is, s_os = num(c.is_metrics.get("sharpe")), num(c.os_metrics.get("sharpe"))
        label = f"#{c.id}  IS {_f(s_is)} · OS {_f(s_os)}" + ("  ⚠ OS collapse" if os_collapse(c) else "")
        entries.append(("line", PALETTE[k % len(PALETTE)], label))
    ch.legend(ch.left + 8, ch.top + 6, entries)
    return ch.document()


# ---------------------------------------------------------------- funnel
def funnel_figure(funnel: dict[str, int]) -> str | None:
    """Centered horizontal bars (a funnel) with counts and the conversion from the previous stage."""
    rows = funnel_rows(funnel)
    if not rows or max(r["count"] for r in rows) <= 0:
        return None
    top = max(r["count"] for r in rows)
    blues = ["#1e40af", "#2563eb", "#3b82f6", "#60a5fa", "#16a34a", "#15803d", "#166534"]
    ch = Chart(560, 46 * len(rows) + 24, 12)
    label_w = max(text_width(r["stage"], 12) for r in rows) + 16
    left, right = label_w, 560 - 110
    for i, r in enumerate(rows):
        n, y = r["count"], 12 + 46 * i
        w = (right - left) * n / top
        color = GOOD if r["stage"] == "ready" else blues[i % len(blues)]
        x = left + (right - left - w) / 2
        ch.rect(x, y, max(w, 2.0), 34, color, ' rx="3"')
        ch.text(left - 10, y + 17, r["stage"], anchor="end", size=12)
        inside = w > 0.12 * (right - left)
        ch.text((left + right) / 2 if inside else x + max(w, 2.0) + 6, y + 17, f"{n:,}", size=12.5,
                weight="bold", color="white" if inside else INK, anchor="middle" if inside else "start")  # fmt: skip
        if i > 0:
            ch.text(right + 10, y + 17, f"{r['from_prev']} of prev.", size=11, color=MUTED)
    return ch.document()


# ---------------------------------------------------------------- Sharpe vs turnover
def scatter_figure(
    candidates: Sequence[CandidateReport], ready_ids: Sequence[int], highlight_ids: Sequence[int] = ()
) -> str | None:
    """IS Sharpe (y) against IS turnover (x) for every candidate; ready ones in green, highlighted
    ones labelled with a dotted drop to their OS Sharpe (hollow marker, red on an OS collapse);
    BRAIN's Sharpe and turnover limits drawn and the passing region shaded."""
    pts = [
        (c, t * 100, s)
        for c in candidates
        if (s := num(c.is_metrics.get("sharpe"))) is not None and (t := num(c.is_metrics.get("turnover"))) is not None
    ]
    if not pts:
        return None
    ready, marked = set(ready_ids), set(highlight_ids) | set(ready_ids)
    xs = np.array([p[1] for p in pts])
    ys = np.array([p[2] for p in pts])
    os_marked = [v for c, _, _ in pts if c.id in marked and (v := num(c.os_metrics.get("sharpe"))) is not None]
    y_all = np.concatenate([ys, np.asarray(os_marked, dtype=float)])
    spread = float(np.ptp(y_all)) or 1.0
    x_range = (0.0, max(float(xs.max()) * 1.05, TURNOVER_THRESHOLD * 100 * 1.15))
    y_range = (min(float(y_all.min()) - 0.05 * spread, -0.2), max(float(y_all.max()) + 0.12 * spread,
                                                                   SHARPE_THRESHOLD * 1.2))  # fmt: skip
    x_ticks, y_ticks = nice_ticks(*x_range, 6), nice_ticks(*y_range, 8)
    ch = Chart(560, 400)
    ch.frame(52, 14, 548, 350, x_range, y_range)
    x1, x70, s_lim = ch.xf(1.0), ch.xf(TURNOVER_THRESHOLD * 100), ch.yf(SHARPE_THRESHOLD)
    ch.rect(x1, ch.top, x70 - x1, s_lim - ch.top, GOOD, ' fill-opacity="0.07"')
    ch.y_axis(y_ticks, "IS Sharpe")
    ch.x_axis([(float(v), f"{v:g}") for v in x_ticks], "IS turnover (%)")
    ch.line(ch.left, ch.yf(0), ch.right, ch.yf(0), AXIS, 0.8)
    ch.line(ch.left, s_lim, ch.right, s_lim, GOOD, 1.0, "5 4")
    ch.line(x70, ch.top, x70, ch.bottom, BAD, 1.0, "5 4")
    ch.text(ch.right - 2, s_lim - 7, f"Sharpe {SHARPE_THRESHOLD}", size=10, color=GOOD, anchor="end")
    ch.text(x70 + 4, ch.bottom - 8, f"turnover {TURNOVER_THRESHOLD:.0%}", size=10, color=BAD)
    labels = Labels(ch)
    plain = np.array([p[0].id not in marked for p in pts])
    ch.dots(ch.x(xs[plain]), ch.y(ys[plain]), 2.6, "#9ca3af", extra=' fill-opacity="0.6"')
    for group, color in (
        ([p for p in pts if p[0].id in marked and p[0].id not in ready], PALETTE[0]),
        ([p for p in pts if p[0].id in ready], GOOD),
    ):
        for c, x, y in group:
            y_os = num(c.os_metrics.get("sharpe"))
            if y_os is not None:
                drop = BAD if os_collapse(c) is not None else color
                ch.line(ch.xf(x), ch.yf(y), ch.xf(x), ch.yf(y_os), drop, 1.0, "1.5 2.5")
                ch.dots(ch.x([x]), ch.y([y_os]), 3.4, "white", drop, 1.3)
        if group:
            gx, gy = np.array([p[1] for p in group]), np.array([p[2] for p in group])
            ch.dots(ch.x(gx), ch.y(gy), 4.4, color, "white", 1.0)
    for c, x, y in sorted((p for p in pts if p[0].id in marked), key=lambda p: (p[0].id not in ready, -p[2])):
        labels.place(ch.xf(x), ch.yf(y), f"#{c.id}")
    ch.legend(ch.right - 150, ch.top + 6, [("dot", "#9ca3af", "simulated"), ("dot", PALETTE[0], "best (IS)"),
                                            ("dot", GOOD, "ready (IS)"), ("ring", MUTED, "OS Sharpe")])  # fmt: skip
    return ch.document()


# ---------------------------------------------------------------- correlation heatmap
def diverging(values: np.ndarray) -> list[str]:
    """Hex colours of values in [-1, 1] on the RdBu_r scale (vectorized interpolation)."""
    v = (np.clip(np.nan_to_num(np.asarray(values, dtype=float)), -1, 1) + 1) / 2 * (len(_DIVERGING) - 1)
    i = np.minimum(v.astype(int), len(_DIVERGING) - 2)
    rgb = _DIVERGING[i] + (_DIVERGING[i + 1] - _DIVERGING[i]) * (v - i)[..., None]
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in np.rint(rgb).astype(int).reshape(-1, 3).tolist()]


def correlation_figure(ids: Sequence[int], matrix: np.ndarray | None) -> str | None:
    """Annotated PnL correlation heatmap (diverging, −1..1) of the ready set, diagonal greyed."""
    if matrix is None or len(ids) == 0:
        return None
    m = np.asarray(matrix, dtype=float)
    n = len(ids)
    if m.shape != (n, n):
        return None
    cell = max(min(480 / n, 46), 8)
    label_w = text_width(f"#{max(ids, key=lambda i: len(str(i)))}", 10) + 10
    side = cell * n
    ch = Chart(label_w + side + 80, side + label_w + 14, 10)
    x0, y0 = label_w, 8
    colors = diverging(m).copy()
    finite = np.isfinite(m)
    annotate = n <= MAX_ANNOTATED_CELLS
    for i in range(n):
        for j in range(n):
            fill = "#f3f4f6" if i == j or not finite[i, j] else colors[i * n + j]
            ch.rect(x0 + j * cell, y0 + i * cell, cell - 1.5, cell - 1.5, fill)
            if annotate:
                v = m[i, j]
                text = f"{v + 0.0:.2f}".replace("-0.00", "0.00").replace("-", "−") if finite[i, j] else "–"
                color = MUTED if i == j else ("white" if finite[i, j] and abs(v) > 0.6 else INK)
                ch.text(x0 + (j + 0.5) * cell - 0.75, y0 + (i + 0.5) * cell, text, size=max(7.0, min(10.5, cell / 4)),
                        color=color, anchor="middle")  # fmt: skip
    for k, cid in enumerate(ids):
        ch.text(x0 - 6, y0 + (k + 0.5) * cell, f"#{cid}", anchor="end", color=MUTED)
        cx, cy = x0 + (k + 0.5) * cell, y0 + side + 8
        ch.text(cx, cy, f"#{cid}", anchor="end", color=MUTED, extra=f' transform="rotate(-50 {cx:.1f} {cy:.1f})"')
    bar_x, steps = x0 + side + 22, 40
    for s in range(steps):
        v = 1 - 2 * (s + 0.5) / steps
        ch.rect(bar_x, y0 + s * side / steps, 12, side / steps + 0.6, diverging(np.array([v]))[0])
    for v in (1.0, 0.5, 0.0, -0.5, -1.0):
        ch.text(bar_x + 16, y0 + (1 - v) / 2 * side, f"{v:g}".replace("-", "−"), color=MUTED)
    return ch.document()


# ---------------------------------------------------------------- optimizer improvements
def improvements_figure(improvements: Sequence[dict[str, Any]]) -> str | None:
    """Before → after arrows (a dumbbell chart) of IS Sharpe and fitness, one row per improvement:
    grey dot = parent, coloured dot = variant (green when better, red when worse)."""
    rows = [
        r for r in improvements[:MAX_IMPROVEMENTS]
        if any(num((r.get(k) or {}).get(m)) is not None for k in ("before", "after") for m in ("sharpe", "fitness"))
    ]  # fmt: skip
    if not rows:
        return None
    labels = [f"#{r.get('parent_id')} → #{r.get('child_id')} {r.get('optimizer', '')}" for r in rows]
    label_w = max(text_width(t, 10) for t in labels) * 1.12 + 16
    row_h, top = 22, 30
    panel_w = (560 - label_w - 24) / 2
    ch = Chart(560, top + row_h * len(rows) + 30, 10)
    for k, text in enumerate(labels):
        ch.text(label_w - 8, top + row_h * (k + 0.5), text, anchor="end", color=INK)
    for p, metric in enumerate(("sharpe", "fitness")):
        vals = [v for r in rows for k in ("before", "after") if (v := num((r.get(k) or {}).get(metric))) is not None]
        x_range = padded(min([*vals, 0.0]), max([*vals, 0.0]), 0.1)
        ticks = nice_ticks(*x_range, 4)
        left = label_w + p * (panel_w + 24)
        ch.frame(left, top, left + panel_w, top + row_h * len(rows), x_range, (0, 1))
        ch.text(left, 12, f"IS {metric}", size=11, weight="bold")
        ch.x_axis([(float(v), f"{v:g}".replace("-", "−")) for v in ticks])
        ch.line(ch.xf(0), ch.top, ch.xf(0), ch.bottom, AXIS, 0.8)
        for k, r in enumerate(rows):
            yy = top + row_h * (k + 0.5)
            b, a = num((r.get("before") or {}).get(metric)), num((r.get("after") or {}).get(metric))
            if b is not None:
                ch.dots(ch.x([b]), np.array([yy]), 3.6, "#9ca3af")
            if a is None:
                continue
            color = GOOD if b is None or a >= b else BAD
            if b is not None and a != b:
                ch.line(ch.xf(b), yy, ch.xf(a), yy, color, 1.6)
                ch.text(ch.xf(a), yy - 9, f"{a - b:+.2f}".replace("-", "−"), size=8.5, color=color, anchor="middle")
            ch.dots(ch.x([a]), np.array([yy]), 4.2, color)
    return ch.document()


# ---------------------------------------------------------------- sparklines
def sparkline(c: CandidateReport, width: int = 260, height: int = 44) -> str | None:
    """An inline `<svg>` of a candidate's cumulative PnL: in sample blue, out of sample amber, zero
    line grey; None without a usable PnL."""
    curve = _curve(c)
    if curve is None:
        return None
    days, cum = curve
    keep = downsample(cum, width // 2)
    d, v = days[keep], cum[keep]
    ok = np.isfinite(v)
    d, v = d[ok], v[ok]
    if d.size < 2:
        return None
    lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
    span_y = (hi - lo) or 1.0
    x = (d - d[0]) / max(int(d[-1] - d[0]), 1) * (width - 4) + 2
    y = (height - 3) - (v - lo) / span_y * (height - 6)
    zero = (height - 3) - (0 - lo) / span_y * (height - 6)
    split = d.size
    if c.os_start:
        split = int(np.searchsorted(d, np.datetime64(c.os_start, "D").astype(np.int64)))
    parts = [f'<line x1="0" y1="{zero:.1f}" x2="{width}" y2="{zero:.1f}" stroke="#d1d5db" stroke-width="1"/>']
    if split > 1:
        parts.append(f'<polyline points="{points(x[:split], y[:split])}" fill="none" stroke="{PALETTE[0]}" '
                     'stroke-width="1.4"/>')  # fmt: skip
    if split < d.size:
        a = max(split - 1, 0)
        parts.append(f'<polyline points="{points(x[a:], y[a:])}" fill="none" stroke="{OS_COLOR}" '
                     'stroke-width="1.6"/>')  # fmt: skip
    title = f"#{c.id} cumulative PnL: {float(cum[-1]):+.2f} $M"
    return (f'<svg class="spark" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img"><title>{esc(title)}</title>{"".join(parts)}</svg>')  # fmt: skip


# ---------------------------------------------------------------- all of them
PLOT_TITLES = {
    "pnl": "Cumulative PnL of the best candidates",
    "funnel": "Research funnel",
    "scatter": "IS Sharpe vs turnover",
    "correlation": "PnL correlation of the ready set",
    "improvements": "Optimizer improvements (parent → variant)",
}


def render_plots(data: ReportData) -> dict[str, str | None]:
    """Every chart of the report as a data URI, None where there is nothing to show."""
    index = data.by_id()
    best = [index[i] for i in data.best_ids if i in index] or [index[i] for i in data.ready_ids if i in index]
    figures = {
        "pnl": pnl_figure(best),
        "funnel": funnel_figure(data.funnel),
        "scatter": scatter_figure(data.candidates, data.ready_ids, data.best_ids),
        "correlation": correlation_figure(data.correlation_ids, data.correlation),
        "improvements": improvements_figure(data.improvements),
    }
    return {k: (to_data_uri(f) if f is not None else None) for k, f in figures.items()}
