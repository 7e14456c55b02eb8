"""The HTML report in a real browser: Debian's headless Chromium opens it with no console messages,
every plot image decodes, and a screenshot shows a non-trivial page.

The shipped report has no scripts; to ask the browser whether the images decoded, a *copy* of it gets
a small probe script that writes the answer into the DOM, which `--dump-dom` prints.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from alphamine.report import ReportData, write_reports
from tests.browser_support import FLAGS, console_lines

PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  document.body.setAttribute("data-images", String(imgs.length));
  document.body.setAttribute("data-images-ok", String(imgs.every(i => i.complete && i.naturalWidth > 0)));
});
</script>"""


def run(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def report(report_data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_reports(tmp_path_factory.mktemp("run"), report_data)["html"]


def test_console_detector_sees_errors(browser: str, tmp_path: Path) -> None:
    """Guards the check below: this Chromium does print console errors where we look for them."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>notDefined();</script></body></html>", encoding="utf-8")
    proc = run(browser, tmp_path / "profile", "--dump-dom", bad.as_uri())
    assert any("Uncaught" in line for line in console_lines(proc.stderr)), proc.stderr[-2000:]


def test_report_opens_without_console_errors_and_shows_its_plots(browser: str, report: Path, tmp_path: Path) -> None:
    proc = run(browser, tmp_path / "profile", "--dump-dom", report.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert console_lines(proc.stderr) == []
    dom = proc.stdout
    assert "alphamine run" in dom
    assert len(re.findall(r'<img src="data:image/svg\+xml;base64,', dom)) == 5
    assert 'id="plot-pnl"' in dom and 'id="plot-scatter"' in dom

    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = run(browser, tmp_path / "profile2", "--dump-dom", probed.as_uri())
    assert console_lines(proc.stderr) == []
    assert 'data-images="5"' in proc.stdout
    assert 'data-images-ok="true"' in proc.stdout, "an embedded plot did not decode in Chromium"


def test_screenshot_is_not_blank(browser: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    proc = run(browser, tmp_path / "profile", "--window-size=1280,2000", f"--screenshot={shot}", report.as_uri())
    assert shot.exists(), proc.stderr[-2000:]
    assert console_lines(proc.stderr) == []
    assert shot.stat().st_size > 50_000
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[:2] == (2000, 1280)
    rgb = (np.asarray(img[..., :3]) * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.unique(rgb[::7], axis=0)
    assert len(colours) > 200  # text, lines, shading: far from a blank or single-colour page
    assert float((rgb.min(axis=1) < 200).mean()) > 0.02  # a real share of non-background pixels
