"""The dashboard's progress chart as inline SVG: the metric per experiment and the best-so-far line.

Why SVG rendered on the server: the page must work offline and without scripts (leanlab's loads
Chart.js from a CDN and shows "chart library unavailable" offline); a static SVG is readable in any
browser, in a saved copy of the page and in a headless test.

Contract: `progress_svg(cfg, rows, band)` draws, over experiments 1..N in ledger order, the objective
of each scored experiment (a polyline and `circle.pt` points, the best one `circle.pt.best` in
green), a dashed stepped best-so-far line (`path.best-line`), failed experiments as red crosses
(`path.fail`) on the bottom axis, and the noise band as a shaded strip around the best value. The
`<svg>` carries `data-points`, `data-failed` and `data-best` for tests and scripts.
"""

from __future__ import annotations

from html import escape
from typing import Any

from alphamine.lab.config import LabConfig

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _y_range(values: list[float], band: float) -> tuple[float, float]:
    low, high = min(values) - band, max(values) + band
    if high - low < 1e-12:
        pad = abs(high) * 0.05 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def progress_svg(cfg: LabConfig, rows: list[dict[str, Any]], band: float = 0.0) -> str:
    """The chart (module doc)."""
    n = len(rows)
    values = [cfg.value(r) for r in rows]
    scored = [(i, v) for i, v in enumerate(values) if v is not None]
    failed = [i for i, v in enumerate(values) if v is None]
    best = cfg.best_of([v for _, v in scored])
    head = (f'<svg id="progress" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" style="max-width:100%;height:auto" role="img" '
            f'aria-label="{escape(cfg.metric)} per experiment" data-points="{len(scored)}" '
            f'data-failed="{len(failed)}" data-best="{"" if best is None else best}">')
    parts = [head, f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" class="bg"/>']
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}"/>')
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>')
    parts.append(f'<text class="label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                 f"experiment (1–{n})</text>")
    if not scored:
        parts.append(f'<text class="empty" x="{WIDTH / 2:.1f}" y="{HEIGHT / 2:.1f}" text-anchor="middle">'
                     "no scored experiment yet</text></svg>")
        return "".join(parts)
    low, high = _y_range([v for _, v in scored], band)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / max(n, 1))

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / (high - low))

    for tick in (low, (low + high) / 2, high):
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y(tick):.1f}" x2="{LEFT + plot_w}" y2="{y(tick):.1f}"/>')
    parts.append(f'<text class="label" x="14" y="{TOP + plot_h / 2:.1f}" transform="rotate(-90 14 '
                 f'{TOP + plot_h / 2:.1f})" text-anchor="middle">{escape(cfg.metric)} ({cfg.direction})</text>')
    if band > 0 and best is not None:
        top, bottom = y(best + band), y(best - band)
        parts.append(f'<rect class="band" x="{LEFT}" y="{top:.1f}" width="{plot_w}" height="{bottom - top:.1f}">'
                     f"<title>noise band ±{_fmt(band)}</title></rect>")
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in scored)
    parts.append(f'<polyline class="metric-line" points="{line}"/>')
    steps: list[str] = []
    running: float | None = None
    for i, v in scored:
        running = v if running is None or cfg.better(v, running) else running
        steps.append(f"{'M' if not steps else 'H'}{x(i):.1f} {'' if not steps else 'V'}{y(running):.1f}")
    steps.append(f"H{LEFT + plot_w:.1f}")
    parts.append(f'<path class="best-line" d="{" ".join(steps)}"/>')
    best_i = next(i for i, v in scored if v == best)
    for i, v in scored:
        cls = "pt best" if i == best_i else "pt"
        name = escape(str(rows[i].get("experiment_file", "?")))
        parts.append(f'<circle class="{cls}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="{5 if i == best_i else 3.5}">'
                     f"<title>#{i + 1} {name}: {_fmt(v)}</title></circle>")
    base = TOP + plot_h
    for i in failed:
        cx = x(i)
        name = escape(str(rows[i].get("experiment_file", "?")))
        parts.append(f'<path class="fail" d="M{cx - 4:.1f} {base - 4} L{cx + 4:.1f} {base + 4} M{cx - 4:.1f} '
                     f'{base + 4} L{cx + 4:.1f} {base - 4}"><title>#{i + 1} {name}: failed</title></path>')
    parts.append("</svg>")
    return "".join(parts)
