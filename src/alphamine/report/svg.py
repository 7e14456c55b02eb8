"""A small SVG writer for the report's charts: scales, ticks, axes, downsampled polylines, text.

Why not matplotlib: the report is rewritten at every iteration of a run, and matplotlib made it the
slowest stage (0.35 s to import, about 1 s to lay out and serialize five figures with text as paths,
for 858 candidates; docs/benchmarks.md "Report stage"). These charts are lines, dots, bars and labels
whose coordinates numpy computes in one pass; written as SVG text they cost milliseconds, stay vector
sharp, and need no fonts embedded (text uses the reader's sans-serif).

Contract: every function returns SVG markup as `str`; numbers are written with fixed decimals (no
numpy reprs, no NaN: callers drop non-finite points first); user text goes through `esc`. A `Chart`
is one `<svg>` document with explicit width/height (so an `<img>` gets a natural size) and no ids
shared with anything else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

INK, MUTED, GRID, AXIS = "#1f2937", "#6b7280", "#e5e7eb", "#9ca3af"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
CHAR_WIDTH = 0.56  # average glyph width of a sans-serif font, in ems: enough to size boxes and gaps
DOWNSAMPLE_BUCKETS = 200  # a long series is drawn through at most 2 points per bucket (min and max)


def esc(text: object) -> str:
    """XML-escaped text for element content and attribute values."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def text_width(text: str, size: float) -> float:
    """Approximate rendered width of `text` at font size `size` (px)."""
    return len(text) * size * CHAR_WIDTH


def points(xs: np.ndarray, ys: np.ndarray) -> str:
    """`x,y x,y ...` with one decimal (sub-pixel is invisible), formatted in one C-level pass."""
    n = int(np.size(xs))
    if n == 0:
        return ""
    pairs = np.empty(2 * n)
    pairs[0::2], pairs[1::2] = xs, ys
    return (("%.1f,%.1f " * n) % tuple(pairs.tolist())).rstrip()


def downsample(y: np.ndarray, buckets: int = DOWNSAMPLE_BUCKETS) -> np.ndarray:
    """Indices of `y` that draw the same line at chart resolution: the first and last point, and the
    minimum and maximum of each of `buckets` equal slices, in time order (spikes survive, unlike
    striding). Non-finite values are never chosen (a short series is returned whole)."""
    n = int(np.size(y))
    if n <= 2 * buckets + 2:
        return np.arange(n)
    width = -(-n // buckets)
    pad = np.full(buckets * width, np.nan)
    pad[:n] = y
    grid = pad.reshape(buckets, width)
    finite = np.isfinite(grid)
    lo = np.where(finite, grid, np.inf).argmin(axis=1)
    hi = np.where(finite, grid, -np.inf).argmax(axis=1)
    base = np.arange(buckets) * width
    idx = np.unique(np.concatenate([[0], base + lo, base + hi, [n - 1]]))
    idx = idx[idx < n]
    return idx[np.isfinite(y[idx])]


def nice_ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10^k) within [lo, hi] (frame a chart by its data
    range plus a margin, as matplotlib does, and label the round values inside it)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.array([0.0])
    if hi <= lo:
        hi, lo = lo + 0.5, lo - 0.5
    raw = (hi - lo) / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))

    def badness(step: float) -> tuple[int, float]:  # closest to target + 1 ticks; the wider step on a tie
        count = math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1
        return abs(count - (target + 1)), -step

    step = min((m * mag for m in (0.5, 1.0, 2.0, 2.5, 5.0, 10.0)), key=badness)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-6, step)
    return np.round(ticks / step) * step  # exact multiples: no 0.30000000000000004 labels


def padded(lo: float, hi: float, margin: float = 0.05) -> tuple[float, float]:
    """[lo, hi] widened by `margin` of its span on each side (a point span gets ±0.5)."""
    span = hi - lo
    return (lo - 0.5, hi + 0.5) if span <= 0 else (lo - margin * span, hi + margin * span)


def tick_label(v: float, step: float) -> str:
    """A tick value with as many decimals as its step needs."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    if step > 0 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1  # 2.5-type steps
    text = f"{v:.{decimals}f}"
    return "0" if float(text) == 0 else text.replace("-", "−")


def date_ticks(lo: np.datetime64, hi: np.datetime64) -> list[tuple[np.datetime64, str]]:
    """Year starts (or half-years, quarters for short spans) between two days, labelled."""
    lo_d, hi_d = np.asarray(lo).astype("datetime64[D]"), np.asarray(hi).astype("datetime64[D]")
    years = int((hi_d - lo_d).astype(np.int64)) / 365.25
    months = 12 if years > 4 else 6 if years > 1.5 else 3
    m0, m1 = (int(np.asarray(d).astype("datetime64[M]").astype(np.int64)) for d in (lo_d, hi_d))
    ms = np.arange(m0, m1 + 1)  # months since 1970-01: multiples of 12 are Januaries
    starts = ms[ms % months == 0].astype("datetime64[M]")
    days = starts.astype("datetime64[D]")
    keep = (days >= lo_d) & (days <= hi_d)
    return [(d, str(m)[:4] if months == 12 else str(m)) for d, m in zip(days[keep], starts[keep], strict=True)]


class Chart:
    """One SVG document: append elements, then `document()`. `frame(...)` sets the plot area and the
    data ranges that `x()`/`y()` map (vectorized) into it."""

    def __init__(self, width: float, height: float, font_size: float = 11.0) -> None:
        self.width, self.height, self.font_size = width, height, font_size
        self.parts: list[str] = []
        self.left, self.top, self.right, self.bottom = 0.0, 0.0, width, height
        self.x_range, self.y_range = (0.0, 1.0), (0.0, 1.0)

    # ------------------------------------------------------------ geometry
    def frame(
        self, left: float, top: float, right: float, bottom: float,
        x_range: tuple[float, float], y_range: tuple[float, float],
    ) -> None:  # fmt: skip
        self.left, self.top, self.right, self.bottom = left, top, right, bottom
        self.x_range = x_range if x_range[1] > x_range[0] else (x_range[0] - 0.5, x_range[0] + 0.5)
        self.y_range = y_range if y_range[1] > y_range[0] else (y_range[0] - 0.5, y_range[0] + 0.5)

    def x(self, v: ArrayLike) -> np.ndarray:
        lo, hi = self.x_range
        return self.left + (np.asarray(v, dtype=float) - lo) / (hi - lo) * (self.right - self.left)

    def y(self, v: ArrayLike) -> np.ndarray:
        lo, hi = self.y_range
        return self.bottom - (np.asarray(v, dtype=float) - lo) / (hi - lo) * (self.bottom - self.top)

    def xf(self, v: float) -> float:
        return float(self.x(v))

    def yf(self, v: float) -> float:
        return float(self.y(v))

    # ------------------------------------------------------------ elements
    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str = AXIS, width: float = 1.0,
             dash: str | None = None, extra: str = "") -> None:  # fmt: skip
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" '
                 f'stroke-width="{width:g}"{d}{extra}/>')  # fmt: skip

    def rect(self, x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> None:
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                 f'fill="{fill}"{extra}/>')  # fmt: skip

    def text(self, x: float, y: float, text: str, size: float | None = None, color: str = INK,
             anchor: str = "start", weight: str | None = None, baseline: str = "middle",
             extra: str = "") -> None:  # fmt: skip
        w = f' font-weight="{weight}"' if weight else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size or self.font_size:g}" fill="{color}" '
                 f'text-anchor="{anchor}" dominant-baseline="{baseline}"{w}{extra}>{esc(text)}</text>')  # fmt: skip

    def polyline(self, xs: np.ndarray, ys: np.ndarray, color: str, width: float = 1.5, extra: str = "") -> None:
        self.add(f'<polyline points="{points(xs, ys)}" fill="none" stroke="{color}" stroke-width="{width:g}" '
                 f'stroke-linejoin="round" stroke-linecap="round"{extra}/>')  # fmt: skip

    def dots(self, xs: np.ndarray, ys: np.ndarray, r: float, fill: str, stroke: str | None = None,
             width: float = 1.0, extra: str = "") -> None:  # fmt: skip
        """Many circles as one path (one element instead of thousands)."""
        n = int(np.size(xs))
        if n == 0:
            return
        seg = f"M%.1f %.1fm-{r:g} 0a{r:g} {r:g} 0 1 0 {2 * r:g} 0a{r:g} {r:g} 0 1 0 {-2 * r:g} 0"
        pairs = np.empty(2 * n)
        pairs[0::2], pairs[1::2] = xs, ys
        d = (seg * n) % tuple(pairs.tolist())
        s = f' stroke="{stroke}" stroke-width="{width:g}"' if stroke else ""
        self.add(f'<path d="{d}" fill="{fill}"{s}{extra}/>')

    # ------------------------------------------------------------ axes
    def y_axis(self, ticks: Iterable[float], label: str | None = None, grid: bool = True) -> None:
        tick_list = list(ticks)
        step = abs(tick_list[1] - tick_list[0]) if len(tick_list) > 1 else 1.0
        for v in tick_list:
            yy = self.yf(v)
            if grid:
                self.line(self.left, yy, self.right, yy, GRID, 0.8)
            self.text(self.left - 6, yy, tick_label(v, step), color=MUTED, anchor="end")
        if label:
            cy = (self.top + self.bottom) / 2
            self.text(14, cy, label, color=INK, anchor="middle",
                      extra=f' transform="rotate(-90 14 {cy:.1f})"')  # fmt: skip

    def x_axis(self, ticks: Sequence[tuple[float, str]], label: str | None = None, grid: bool = True) -> None:
        self.line(self.left, self.bottom, self.right, self.bottom, AXIS, 1.0)
        for v, text in ticks:
            xx = self.xf(v)
            if grid:
                self.line(xx, self.top, xx, self.bottom, GRID, 0.8)
            self.line(xx, self.bottom, xx, self.bottom + 4, AXIS, 1.0)
            self.text(xx, self.bottom + 15, text, color=MUTED, anchor="middle")
        if label:
            self.text((self.left + self.right) / 2, self.bottom + 33, label, anchor="middle")

    def legend(self, x: float, y: float, entries: Sequence[tuple[str, str, str]], size: float = 10.5) -> None:
        """A boxed legend at (x, y): entries are (kind 'line' | 'dot' | 'ring', colour, label)."""
        row = size + 6
        w = max(text_width(t, size) for _, _, t in entries) + 34
        self.rect(x, y, w, row * len(entries) + 8, "white", ' fill-opacity="0.88" stroke="#e5e7eb" rx="4"')
        for k, (kind, color, label) in enumerate(entries):
            cy = y + 4 + row * (k + 0.5)
            if kind == "line":
                self.line(x + 8, cy, x + 24, cy, color, 2.2)
            elif kind == "ring":
                self.add(f'<circle cx="{x + 16:.1f}" cy="{cy:.1f}" r="4" fill="white" stroke="{color}" '
                         f'stroke-width="1.4"/>')  # fmt: skip
            else:
                self.add(f'<circle cx="{x + 16:.1f}" cy="{cy:.1f}" r="4" fill="{color}"/>')
            self.text(x + 30, cy, label, size=size)

    def document(self) -> str:
        w, h = f"{self.width:g}", f"{self.height:g}"
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
                f'font-family=\'{FONT}\'>')  # fmt: skip
        return head + "".join(self.parts) + "</svg>"


class Labels:
    """Greedy placement of short point labels: each label takes the first of a few spots around its
    point that overlaps no label placed before; with none free it is left out (the tables name every
    candidate anyway). Place the most important labels first."""

    OFFSETS = ((6.0, -7.0, "start"), (6.0, 9.0, "start"), (-6.0, -7.0, "end"), (-6.0, 9.0, "end"))

    def __init__(self, chart: Chart, size: float = 9.5) -> None:
        self.chart, self.size = chart, size
        self.boxes: list[tuple[float, float, float, float]] = []

    def place(self, x: float, y: float, text: str, color: str = INK) -> bool:
        w, h = text_width(text, self.size), self.size + 1
        for dx, dy, anchor in self.OFFSETS:
            x0 = x + dx if anchor == "start" else x + dx - w
            box = (x0, y + dy - h / 2, x0 + w, y + dy + h / 2)
            if not any(b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in self.boxes):
                self.boxes.append(box)
                self.chart.text(x + dx, y + dy, text, size=self.size, color=color, anchor=anchor)
                return True
        return False


def spread_labels(ys: Sequence[float], gap: float, lo: float, hi: float) -> list[float]:
    """Label positions near `ys` that keep at least `gap` apart and stay within [lo, hi]."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    placed = [0.0] * len(ys)
    prev = lo - gap
    for i in order:
        prev = max(ys[i], prev + gap)
        placed[i] = prev
    overflow = (placed[order[-1]] - hi) if order else 0.0
    if overflow > 0:
        for i in order:
            placed[i] = max(lo, placed[i] - overflow)
    return placed
