"""The run report's figures, as self-contained SVG data URIs.

Why this shape: the HTML report must open anywhere with no network, so each figure is rendered by
matplotlib (object API, never pyplot: no global backend, no GUI, safe in workers) to SVG with text as
paths (no fonts needed) and embedded as `data:image/svg+xml;base64,...` in an `<img>`: vector-sharp,
and each SVG keeps its own ids. Output is deterministic (fixed hash salt, no date metadata).

Every `*_figure` function returns None when there is nothing to draw; the page then says so.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from alphamine.report.model import (
    SHARPE_THRESHOLD,
    TURNOVER_THRESHOLD,
    CandidateReport,
    ReportData,
    num,
    os_collapse,
)
from alphamine.report.view import funnel_rows

PALETTE = ("#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d")
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"
OS_COLOR, BAD, GOOD = "#f59e0b", "#dc2626", "#16a34a"
MAX_PNL_LINES = 5
MAX_IMPROVEMENTS = 20
MAX_ANNOTATED_CELLS = 20  # correlation matrices larger than this are drawn without numbers
_RC: Any = {  # matplotlib types rc keys as Literals; a plain dict is what rc_context takes at run time
    "svg.fonttype": "path",
    "svg.hashsalt": "alphamine-report",
    "font.size": 9,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def to_data_uri(fig: Figure) -> str:
    """SVG of `fig` as a base64 data URI (deterministic bytes for the same figure)."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.08)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(w: float, h: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(w, h), layout="constrained")


def _style(ax: Any) -> None:
    ax.grid(True, color=GRID, lw=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# ---------------------------------------------------------------- cumulative PnL
def pnl_figure(candidates: Sequence[CandidateReport], max_lines: int = MAX_PNL_LINES) -> Figure | None:
    """Cumulative PnL ($M) of up to `max_lines` candidates; the OS region shaded, its start marked."""
    with_pnl = [
        c
        for c in candidates
        if c.pnl is not None and c.dates is not None and np.size(c.pnl) > 1 and np.size(c.pnl) == np.size(c.dates)
    ]
    if not with_pnl:
        return None
    with matplotlib.rc_context(_RC):
        fig = _figure(10.5, 4.3)
        ax = fig.add_subplot()
        _style(ax)
        os_starts = []
        for k, c in enumerate(with_pnl[:max_lines]):
            assert c.pnl is not None and c.dates is not None
            dates = np.asarray(c.dates).astype("datetime64[D]")
            cum = np.nancumsum(np.asarray(c.pnl, dtype=float)) / 1e6
            s_is, s_os = num(c.is_metrics.get("sharpe")), num(c.os_metrics.get("sharpe"))
            label = f"#{c.id}  IS {_f(s_is)} · OS {_f(s_os)}" + ("  ⚠ OS collapse" if os_collapse(c) else "")
            color = PALETTE[k % len(PALETTE)]
            ax.plot(dates, cum, color=color, lw=1.6, label=label, solid_capstyle="round")
            ax.annotate(
                f"#{c.id}", (dates[-1], cum[-1]), xytext=(4, 0), textcoords="offset points",
                color=color, fontsize=8, va="center", fontweight="bold",
            )  # fmt: skip
            if c.os_start:
                os_starts.append(np.datetime64(c.os_start, "D"))
        if os_starts:
            lo = float(mdates.date2num(min(os_starts)))
            hi = float(
                mdates.date2num(max(np.asarray(c.dates).astype("datetime64[D]")[-1] for c in with_pnl[:max_lines]))
            )
            ax.axvspan(lo, hi, color=OS_COLOR, alpha=0.10, lw=0)
            ax.axvline(lo, color=OS_COLOR, lw=1.2, ls="--")
            ax.text(lo, 1.0, "  out of sample →", transform=ax.get_xaxis_transform(), color="#b45309",
                    fontsize=8.5, va="top", fontweight="bold")  # fmt: skip
            ax.text(lo, 1.0, "← in sample  ", transform=ax.get_xaxis_transform(), color=MUTED,
                    fontsize=8.5, va="top", ha="right", fontweight="bold")  # fmt: skip
        ax.axhline(0, color="#9ca3af", lw=0.8)
        ax.set_ylabel("cumulative PnL ($M)")
        ax.legend(loc="upper left", fontsize=8, frameon=False, bbox_to_anchor=(0.0, 0.93))
        ax.margins(x=0.01)
    return fig


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


# ---------------------------------------------------------------- funnel
def funnel_figure(funnel: dict[str, int]) -> Figure | None:
    """Centered horizontal bars (a funnel) with counts and the conversion from the previous stage."""
    rows = funnel_rows(funnel)
    if not rows or max(r["count"] for r in rows) <= 0:
        return None
    top = max(r["count"] for r in rows)
    with matplotlib.rc_context(_RC):
        fig = _figure(6.2, 0.55 * len(rows) + 0.9)
        ax = fig.add_subplot()
        blues = ["#1e40af", "#2563eb", "#3b82f6", "#60a5fa", "#16a34a", "#15803d", "#166534"]
        for i, r in enumerate(rows):
            n = r["count"]
            color = GOOD if r["stage"] == "ready" else blues[i % len(blues)]
            ax.barh(i, n, left=(top - n) / 2, color=color, height=0.72)
            ax.text(top / 2, i, f"{n:,}", ha="center", va="center", fontsize=9.5, fontweight="bold",
                    color="white" if n > 0.12 * top else INK)  # fmt: skip
            if i > 0:
                ax.text(top * 1.02, i, f"{r['from_prev']} of prev.", va="center", fontsize=8, color=MUTED)
        ax.set_yticks(range(len(rows)), [r["stage"] for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.25)
        ax.set_xticks([])
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0, labelsize=9.5, labelcolor=INK)
    return fig


# ---------------------------------------------------------------- Sharpe vs turnover
def scatter_figure(
    candidates: Sequence[CandidateReport], ready_ids: Sequence[int], highlight_ids: Sequence[int] = ()
) -> Figure | None:
    """IS Sharpe (y) against IS turnover (x) for every candidate; ready ones in green, highlighted
    ones labelled with a dotted drop to their OS Sharpe (hollow marker); thresholds drawn."""
    pts = []
    for c in candidates:
        s, t = num(c.is_metrics.get("sharpe")), num(c.is_metrics.get("turnover"))
        if s is not None and t is not None:
            pts.append((c, t * 100, s))
    if not pts:
        return None
    ready, marked = set(ready_ids), set(highlight_ids) | set(ready_ids)
    with matplotlib.rc_context(_RC):
        fig = _figure(6.2, 4.3)
        ax = fig.add_subplot()
        _style(ax)
        xs = np.array([p[1] for p in pts])
        ys = np.array([p[2] for p in pts])
        x_hi = max(float(xs.max()) * 1.08, TURNOVER_THRESHOLD * 100 * 1.15)
        os_marked = [v for c, _, _ in pts if c.id in marked and (v := num(c.os_metrics.get("sharpe"))) is not None]
        y_all = np.concatenate([ys, np.asarray(os_marked, dtype=float)])
        y_hi = max(float(y_all.max()) + 0.25 * float(np.ptp(y_all) or 1), SHARPE_THRESHOLD * 1.2)
        y_lo = min(float(y_all.min()) - 0.1 * float(np.ptp(y_all) or 1), -0.2)
        ax.fill_between([1, TURNOVER_THRESHOLD * 100], SHARPE_THRESHOLD, y_hi, color=GOOD, alpha=0.07, lw=0)
        ax.axhline(SHARPE_THRESHOLD, color=GOOD, lw=1, ls="--")
        ax.axvline(TURNOVER_THRESHOLD * 100, color=BAD, lw=1, ls="--")
        ax.text(0.99, SHARPE_THRESHOLD, f"Sharpe {SHARPE_THRESHOLD}", transform=ax.get_yaxis_transform(),
                ha="right", va="bottom", fontsize=7.5, color=GOOD)  # fmt: skip
        ax.text(TURNOVER_THRESHOLD * 100, 0.01, f" turnover {TURNOVER_THRESHOLD:.0%}",
                transform=ax.get_xaxis_transform(), fontsize=7.5, color=BAD)  # fmt: skip
        plain = [p for p in pts if p[0].id not in marked]
        if plain:
            ax.scatter([p[1] for p in plain], [p[2] for p in plain], s=16, color="#9ca3af", alpha=0.7,
                       lw=0, label="simulated")  # fmt: skip
        for group, color, label in (
            ([p for p in pts if p[0].id in marked and p[0].id not in ready], PALETTE[0], "best"),
            ([p for p in pts if p[0].id in ready], GOOD, "ready"),
        ):
            if not group:
                continue
            for c, x, y in group:
                y_os = num(c.os_metrics.get("sharpe"))
                if y_os is not None:
                    bad = os_collapse(c) is not None
                    ax.plot([x, x], [y, y_os], color=BAD if bad else color, lw=1, ls=":")
                    ax.scatter([x], [y_os], s=30, facecolors="white", edgecolors=BAD if bad else color, lw=1.2,
                               zorder=3)  # fmt: skip
                ax.annotate(f"#{c.id}", (x, y), xytext=(5, 3), textcoords="offset points", fontsize=7.5, color=INK)
            ax.scatter([p[1] for p in group], [p[2] for p in group], s=42, color=color, edgecolors="white",
                       lw=0.8, zorder=4, label=f"{label} (IS)")  # fmt: skip
        ax.scatter([], [], s=30, facecolors="white", edgecolors=MUTED, label="OS Sharpe")
        ax.set_xlim(0, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.set_xlabel("IS turnover (%)")
        ax.set_ylabel("IS Sharpe")
        ax.legend(loc="best", fontsize=7.5, frameon=True, framealpha=0.9, edgecolor=GRID)
    return fig


# ---------------------------------------------------------------- correlation heatmap
def correlation_figure(ids: Sequence[int], matrix: np.ndarray | None) -> Figure | None:
    """Annotated PnL correlation heatmap (diverging, −1..1) of the ready set."""
    if matrix is None or len(ids) == 0:
        return None
    m = np.asarray(matrix, dtype=float)
    n = len(ids)
    if m.shape != (n, n):
        return None
    side = min(2.2 + 0.48 * n, 7.5)
    with matplotlib.rc_context(_RC):
        fig = _figure(side + 1.0, side)
        ax = fig.add_subplot()
        off = m.copy()
        np.fill_diagonal(off, np.nan)  # the trivial 1s would dominate the colour scale's attention
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#f3f4f6")
        mesh = ax.pcolormesh(np.ma.masked_invalid(off), cmap=cmap, vmin=-1, vmax=1, edgecolors="white", lw=1.5)
        if n <= MAX_ANNOTATED_CELLS:
            for i in range(n):
                for j in range(n):
                    v = m[i, j]
                    text = "–" if not np.isfinite(v) else f"{v:.2f}"
                    color = MUTED if i == j else ("white" if np.isfinite(v) and abs(v) > 0.6 else INK)
                    ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=max(6.0, 9 - n * 0.2),
                            color=color)  # fmt: skip
        labels = [f"#{i}" for i in ids]
        ax.set_xticks(np.arange(n) + 0.5, labels, rotation=45 if n > 8 else 0)
        ax.set_yticks(np.arange(n) + 0.5, labels)
        ax.invert_yaxis()
        ax.set_aspect("equal")
        ax.tick_params(length=0)
        for side_name in ("top", "right", "bottom", "left"):
            ax.spines[side_name].set_visible(False)
        fig.colorbar(mesh, ax=ax, shrink=0.8)
    return fig


# ---------------------------------------------------------------- optimizer improvements
def improvements_figure(improvements: Sequence[dict[str, Any]]) -> Figure | None:
    """Before → after arrows (a dumbbell chart) of IS Sharpe and fitness, one row per improvement:
    grey dot = parent, coloured dot = variant (green when better, red when worse)."""
    rows = [
        r for r in improvements[:MAX_IMPROVEMENTS]
        if any(num((r.get(k) or {}).get(m)) is not None for k in ("before", "after") for m in ("sharpe", "fitness"))
    ]  # fmt: skip
    if not rows:
        return None
    labels = [f"#{r.get('parent_id')} → #{r.get('child_id')}\n{r.get('optimizer', '')}" for r in rows]
    y = np.arange(len(rows))
    with matplotlib.rc_context(_RC):
        fig = _figure(6.2, 0.5 * len(rows) + 1.1)
        axes = fig.subplots(1, 2, sharey=True)
        for ax, metric in zip(axes, ("sharpe", "fitness"), strict=True):
            _style(ax)
            ax.grid(axis="y", visible=False)
            for yi, r in zip(y, rows, strict=True):
                b, a = num((r.get("before") or {}).get(metric)), num((r.get("after") or {}).get(metric))
                if b is not None:
                    ax.scatter([b], [yi], s=36, color="#9ca3af", zorder=3)
                if a is None:
                    continue
                color = GOOD if b is None or a >= b else BAD
                if b is not None and a != b:
                    ax.annotate("", (a, yi), (b, yi), arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.4,
                                                                  "shrinkA": 4, "shrinkB": 4})  # fmt: skip
                ax.scatter([a], [yi], s=44, color=color, zorder=4)
                if b is not None:
                    ax.annotate(f"{a - b:+.2f}", (a, yi), xytext=(0, 7), textcoords="offset points", ha="center",
                                fontsize=7.5, color=color)  # fmt: skip
            ax.axvline(0, color="#9ca3af", lw=0.8)
            ax.set_title(f"IS {metric}", loc="left")
            ax.margins(x=0.18, y=0.3)
        axes[0].set_yticks(y, labels, fontsize=8)
        axes[0].invert_yaxis()
        axes[0].tick_params(axis="y", length=0)
    return fig


# ---------------------------------------------------------------- all of them
PLOT_TITLES = {
    "pnl": "Cumulative PnL of the best candidates",
    "funnel": "Research funnel",
    "scatter": "IS Sharpe vs turnover",
    "correlation": "PnL correlation of the ready set",
    "improvements": "Optimizer improvements (parent → variant)",
}


def render_plots(data: ReportData) -> dict[str, str | None]:
    """Every figure of the report as a data URI, None where there is nothing to show."""
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
