"""The dashboard in Debian's headless Chromium: every page loads with zero console messages (script
errors and Content-Security-Policy violations land there), the stylesheet applies (a failed load logs
nothing there, so the screenshot's header colour is the check), the candidate page draws its PnL chart,
and a screenshot of every page is written under the test's temporary folder (kept by pytest for a
person to look at).

Chromium logs each console message on stderr as `INFO:CONSOLE:...` with `--enable-logging=stderr`
(the approach of tests/report/test_chromium.py); one run per page prints the DOM (`--dump-dom`) and
writes the screenshot. Pages are visited four at a time.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from alphamine.dashboard import create_app, serve_in_thread
from alphamine.store import Store
from tests.browser_support import FLAGS, console_lines
from tests.dashboard.conftest import LIVE, MINED, Mined

WINDOW = (1280, 1400)
HEADER_INK = (0x1F, 0x29, 0x37)  # the stylesheet's header background: proof the CSS loaded and applied


def visit(exe: str, url: str, folder: Path, name: str) -> tuple[str, list[str], Path]:
    """(the DOM after load, console lines, the screenshot) of one page."""
    shot = folder / f"{name}.png"
    proc = subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={folder / ('profile-' + name)}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
         f"--screenshot={shot}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, console_lines(proc.stderr), shot


def header_pixel(shot: Path) -> tuple[int, int, int]:
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[:2] == (WINDOW[1], WINDOW[0])
    r, g, b = (np.asarray(img[12, 640, :3]) * 255).round().astype(int).tolist()
    return r, g, b


def test_console_detector_sees_errors(browser: str, tmp_path: Path) -> None:
    """Guards the checks below: this Chromium reports a script error and a CSP violation where we look."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>notDefined();</script></body></html>", encoding="utf-8")
    _, console, _ = visit(browser, bad.as_uri(), tmp_path, "bad")
    assert any("Uncaught" in ln for ln in console), console
    strict = tmp_path / "csp.html"
    strict.write_text(
        '<html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        '</head><body><p style="color:red">x</p></body></html>',
        encoding="utf-8",
    )
    _, console, _ = visit(browser, strict.as_uri(), tmp_path, "csp")
    assert any("Content Security Policy" in ln for ln in console), console


@pytest.fixture(scope="module")
def pages(mined: Mined) -> dict[str, str]:
    with Store.open(mined.db) as store:
        ready = store.candidates(run_id=MINED, status="ready")
    with_parent = next((c for c in ready if c.parent_id is not None), ready[0])
    return {
        "runs": "/",
        "run-finished": f"/runs/{MINED}",
        "run-live": f"/runs/{LIVE}",
        "candidates": f"/runs/{MINED}/candidates",
        "candidates-filtered": f"/runs/{MINED}/candidates?status=ready&status=promising&sort=os_sharpe&order=asc",
        "candidate": f"/candidates/{with_parent.id}",
        "candidate-unsimulated": f"/candidates/{mined.unsimulated}",
        "correlation": f"/runs/{MINED}/correlation",
        "memory": "/memory",
        "not-found": "/runs/no-such-run",
    }


@pytest.fixture(scope="module")
def visited(browser: str, served: str, pages: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, list[str], Path]]]:  # fmt: skip
    folder = tmp_path_factory.mktemp("screenshots")
    with ThreadPoolExecutor(4) as pool:
        futures = {name: pool.submit(visit, browser, served + path, folder, name) for name, path in pages.items()}
        yield {name: f.result() for name, f in futures.items()}


def test_every_page_loads_without_console_messages(visited: dict[str, tuple[str, list[str], Path]]) -> None:
    for name, (dom, console, _) in visited.items():
        assert console == [], (name, console)
        assert "<main>" in dom and "</footer>" in dom, name


def test_a_screenshot_per_page_with_the_stylesheet_applied(visited: dict[str, tuple[str, list[str], Path]]) -> None:
    for name, (_, _, shot) in visited.items():
        assert shot.is_file() and shot.stat().st_size > 10_000, name
        assert header_pixel(shot) == HEADER_INK, name


def test_candidate_page_draws_its_pnl_chart(visited: dict[str, tuple[str, list[str], Path]]) -> None:
    dom = visited["candidate"][0]
    chart = re.search(r'<svg id="pnl-chart"[^>]*>.*?</svg>', dom, re.S)
    assert chart is not None
    svg = chart.group(0)
    assert 'class="pnl-line"' in svg and svg.count('class="band band-') == 3
    points = re.search(r'<polyline points="([^"]+)"[^>]*class="pnl-line"', svg)
    assert points is not None and len(points.group(1).split()) > 100
    assert "Not simulated" in visited["candidate-unsimulated"][0]
    assert 'id="pnl-chart"' not in visited["candidate-unsimulated"][0]
    assert re.search(r'<svg id="corr-heatmap"', visited["correlation"][0])


def test_live_page_reloads_itself_and_finished_page_does_not(visited: dict[str, tuple[str, list[str], Path]]) -> None:
    assert '<meta http-equiv="refresh" content="5">' in visited["run-live"][0]
    assert 'http-equiv="refresh"' not in visited["run-finished"][0]
    assert "404 not found" in visited["not-found"][0]


def test_token_page_in_the_browser(browser: str, mined: Mined, tmp_path: Path) -> None:
    """Opened with ?token=, the page's stylesheet comes through the cookie the first answer set."""
    with serve_in_thread(create_app(mined.root, token="browser-token")) as url:
        assert httpx.get(url + "/").status_code == 401
        dom, console, shot = visit(browser, f"{url}/runs/{MINED}?token=browser-token", tmp_path, "token")
    assert console == [] and 'id="run-status">finished<' in dom
    assert header_pixel(shot) == HEADER_INK
