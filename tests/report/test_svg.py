"""The report's SVG charts: downsampling keeps the line's shape, ticks are round, a chart's size does
not grow with the number of candidates, sparklines reach the cards, and run_result.json's fast
writer gives the same JSON as the safe one."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from alphamine.report import ReportData, plots, render_html, result_json
from alphamine.report.build import dump_result
from alphamine.report.svg import Chart, date_ticks, downsample, esc, nice_ticks, points, tick_label


def test_downsample_keeps_ends_and_extremes() -> None:
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=5000))
    y[1234], y[3000] = 1e3, -1e3  # one-day spikes a stride would miss
    idx = downsample(y, 100)
    assert idx[0] == 0 and idx[-1] == 4999 and np.all(np.diff(idx) > 0)
    assert len(idx) <= 2 * 100 + 2
    assert 1234 in idx and 3000 in idx
    width = -(-5000 // 100)
    for b in range(100):  # every bucket's min and max are kept
        part = y[b * width : (b + 1) * width]
        assert b * width + int(part.argmin()) in idx and b * width + int(part.argmax()) in idx
    assert list(downsample(y[:50], 100)) == list(range(50))  # short series are kept whole


def test_downsample_skips_nan() -> None:
    y = np.arange(1000.0)
    y[500:520] = np.nan
    assert not np.isnan(y[downsample(y, 50)]).any()


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [(0, 10, [0, 2, 4, 6, 8, 10]), (-1.1, 6.2, [0, 2, 4, 6]), (0.0, 0.55, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])],
)
def test_nice_ticks(lo: float, hi: float, expected: list[float]) -> None:
    ticks = nice_ticks(lo, hi, 5)
    assert ticks.tolist() == pytest.approx(expected)
    assert all(lo - 1e-9 <= t <= hi + 1e-9 for t in ticks)
    assert [tick_label(t, 0.1) for t in (0.1, 0.30000000000000004, -0.2)] == ["0.1", "0.3", "−0.2"]


def test_date_ticks_are_year_starts_for_long_spans() -> None:
    ticks = date_ticks(np.datetime64("2013-02-08"), np.datetime64("2018-02-07"))
    assert [label for _, label in ticks] == ["2014", "2015", "2016", "2017", "2018"]
    short = date_ticks(np.datetime64("2020-01-15"), np.datetime64("2020-12-01"))
    assert [label for _, label in short] == ["2020-04", "2020-07", "2020-10"]


def test_chart_text_is_escaped_and_numbers_plain() -> None:
    ch = Chart(100, 50)
    ch.text(1, 2, 'a<b & "c"')
    ch.polyline(np.array([0.0, np.float64(1.25)]), np.array([2.0, 3.0]), "#000")
    doc = ch.document()
    ET.fromstring(doc)  # well-formed
    assert "a&lt;b &amp; &quot;c&quot;" in doc and 'points="0.0,2.0 1.2,3.0"' in doc
    assert points(np.array([]), np.array([])) == "" and esc("<") == "&lt;"


def _svg(uri: str | None) -> str:
    assert uri is not None and uri.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")


def test_one_chart_per_kind_whatever_the_candidate_count(report_data: ReportData) -> None:
    """The scatter draws all plain candidates as one path; 40x the candidates adds bytes, not elements."""
    many = [dataclasses.replace(c, id=1000 + k) for k in range(40) for c in report_data.candidates]
    small = plots.render_plots(report_data)
    big = plots.render_plots(dataclasses.replace(report_data, candidates=[*report_data.candidates, *many]))
    assert set(small) == set(big) == set(plots.PLOT_TITLES)
    a, b = _svg(small["scatter"]), _svg(big["scatter"])
    assert len(ET.fromstring(a)) == len(ET.fromstring(b))  # the same number of elements
    assert b.count("<path") == a.count("<path")


def test_pnl_chart_is_downsampled(report_data: ReportData) -> None:
    c0 = report_data.candidates[0]
    assert c0.dates is not None and c0.pnl is not None
    n = 4000
    long = dataclasses.replace(
        c0, dates=np.arange(np.datetime64("2000-01-03"), np.datetime64("2000-01-03") + n), pnl=np.ones(n)
    )
    svg = plots.pnl_figure([long])
    assert svg is not None
    pts = re.search(r'<polyline points="([^"]+)"', svg)
    assert pts and len(pts.group(1).split()) <= 2 * 200 + 2


def test_cards_have_sparklines(report_data: ReportData) -> None:
    html = render_html(report_data)
    shown = report_data.highlighted_ids()
    assert html.count('<svg class="spark"') == len(shown)
    card = re.search(rf'id="cand-{shown[0]}">(.*?)</article>', html, re.S)
    assert card and '<svg class="spark"' in card.group(1) and "$M</b> cumulative" in card.group(1)
    no_pnl = dataclasses.replace(report_data, candidates=[dataclasses.replace(c, pnl=None, dates=None)
                                                          for c in report_data.candidates])  # fmt: skip
    assert '<svg class="spark"' not in render_html(no_pnl)


def test_fast_json_equals_the_safe_json(report_data: ReportData) -> None:
    assert json.loads(dump_result(report_data)) == json.loads(json.dumps(result_json(report_data)))
    c0 = report_data.candidates[0]
    odd = dataclasses.replace(c0, is_metrics={**c0.is_metrics, "sharpe": float("nan"), "n": np.int64(3)})
    data = dataclasses.replace(report_data, candidates=[odd, *report_data.candidates[1:]],
                               correlation=np.full((3, 3), np.nan))  # fmt: skip
    text = dump_result(data)  # NaN: the safe path for that part
    assert "NaN" not in text
    assert json.loads(text) == json.loads(json.dumps(result_json(data), allow_nan=False))
    assert json.loads(text)["candidates"][0]["is"]["sharpe"] is None
