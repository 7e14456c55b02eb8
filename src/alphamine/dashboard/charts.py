"""The dashboard's charts: inline SVG drawn on the server with the report's SVG writer (`report.svg`).

Why server-side SVG and not a JavaScript charting library: the pages must work offline, behind a token,
under a strict Content-Security-Policy (no script at all), and in a headless browser; the report
already draws its charts as SVG text with numpy in milliseconds. So the "charting library" the
dashboard serves from the package is this module: every chart arrives inside the page's HTML.

Contract: `pnl_chart_svg` -> an `<svg id="pnl-chart">` of the cumulative PnL ($M) from the first
position day, each `Band` (search / validation / OS) shaded and labelled, with `data-days`,
`data-final` (the last cumulative value, $) and `data-bands` attributes that say what it drew;
`heatmap_svg` -> the report's ready-set heatmap as `<svg id="corr-heatmap">`. Deterministic output;
non-finite values are never drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from alphamine.report.plots import correlation_figure
from alphamine.report.svg import AXIS, MUTED, Chart, date_ticks, downsample, esc, nice_ticks, padded

LINE = "#1f2937"


@dataclass(frozen=True)
class Band:
    """A period of a result: panel rows [lo, hi) and its first and last dates."""

    name: str
    lo: int
    hi: int
    start: str
    end: str
    color: str

    def shifted(self, first: int) -> Band:
        """The same band in rows of a series that starts at panel row `first`."""
        return replace(self, lo=self.lo - first, hi=self.hi - first)


def _with_id(svg: str, element_id: str, extra: str = "") -> str:
    """The SVG document with an id, a class and `extra` attributes on its root element."""
    return svg.replace("<svg ", f'<svg id="{element_id}" class="chart" role="img"{extra} ', 1)


def pnl_chart_svg(dates: np.ndarray, pnl: np.ndarray, bands: Sequence[Band], title: str = "") -> str:
    """Cumulative PnL of one alpha with its periods shaded (module doc). `bands` index `dates`."""
    days = np.asarray(dates).astype("datetime64[D]").astype(np.int64)
    cum = np.nancumsum(np.asarray(pnl, dtype=float))
    scaled = cum / 1e6
    n = int(days.size)
    x_lo, x_hi = int(days[0]), int(days[-1])
    y_range = padded(min(float(np.nanmin(scaled)), 0.0), max(float(np.nanmax(scaled)), 0.0))
    ch = Chart(960, 360)
    ch.frame(70, 34, 940, 318, (x_lo, x_hi), y_range)
    drawn = []
    for b in bands:
        lo, hi = max(b.lo, 0), min(b.hi, n)
        if hi <= lo:
            continue
        x0 = ch.xf(float(days[lo]))
        x1 = ch.xf(float(days[hi])) if hi < n else ch.right
        ch.rect(x0, ch.top, x1 - x0, ch.bottom - ch.top, b.color,
                f' fill-opacity="0.09" class="band band-{b.name.lower()}"')  # fmt: skip
        label = f"{b.name} {b.start[:7]} → {b.end[:7]}"
        ch.text((x0 + x1) / 2, ch.top - 12, label if x1 - x0 > 7 * len(label) else b.name, size=10.5,
                color=b.color, anchor="middle", weight="bold")  # fmt: skip
        drawn.append(b.name)
    ch.y_axis(nice_ticks(*y_range, 6), "cumulative PnL ($M)")
    ticks = date_ticks(np.datetime64(x_lo, "D"), np.datetime64(x_hi, "D"))
    ch.x_axis([(float(d.astype(np.int64)), label) for d, label in ticks])
    ch.line(ch.left, ch.yf(0), ch.right, ch.yf(0), AXIS, 1.0)
    keep = downsample(scaled, 400)
    ok = np.isfinite(scaled[keep])
    ch.polyline(ch.x(days[keep][ok]), ch.y(scaled[keep][ok]), LINE, 1.6, ' class="pnl-line"')
    if title:
        ch.text(ch.right, ch.bottom - 10, f"{title}  {float(cum[-1]) / 1e6:+.2f} $M", size=11, color=MUTED,
                anchor="end")  # fmt: skip
    extra = (f' data-days="{n}" data-final="{float(cum[-1]):.2f}" data-bands="{esc(",".join(drawn))}"'
             f' aria-label="cumulative PnL {esc(title)}"')  # fmt: skip
    return _with_id(ch.document(), "pnl-chart", extra)


def heatmap_svg(ids: Sequence[int], matrix: np.ndarray) -> str | None:
    """The ready set's correlation heatmap (`report.plots.correlation_figure`) as `#corr-heatmap`."""
    svg = correlation_figure(list(ids), matrix)
    return None if svg is None else _with_id(svg, "corr-heatmap", f' data-n="{len(ids)}"')
