"""The lab dashboard over real HTTP (`alphamine lab serve` as a subprocess on loopback), read by
`/api/state` and rendered by Debian's headless Chromium: the chart has one point per scored
experiment, a best-so-far line and a cross per failure; the latest Critic and Director notes show."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser_support import FLAGS, SKIP_REASON, chromium, console_lines
from tests.lab.conftest import make_leanlab_lab, runner_for, worker_cmd


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("served")
    lab = make_leanlab_lab(root, critic_every=3, director_every=3, max_fix_calls=0)
    runner_for(lab, worker_cmd("--broken", "4")).run(6)  # type: ignore[attr-defined]
    (lab / "Critic_Feedback.md").write_text((lab / "Critic_Feedback.md").read_text() + "\n<b>not bold</b>\n")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "alphamine.cli.lab_cmd", "serve", str(lab), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if httpx.get(f"{url}/api/state", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.05)
        yield url, lab
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_api_state(served: tuple[str, Path]) -> None:
    url, _ = served
    state = httpx.get(f"{url}/api/state").json()
    assert state["metric"] == "rmse" and state["direction"] == "min" and len(state["results"]) == 6
    scored = [r["rmse"] for r in state["results"] if r["rmse"] is not None]
    assert state["failed"] == 1 and state["best"] == min(scored) and state["latest"] == state["results"][-1]["rmse"]
    assert "summary director" in state["directions"] and "summary critic" in state["critique"]


def test_dashboard_in_headless_chromium(served: tuple[str, Path], tmp_path: Path) -> None:
    exe = chromium()
    if exe is None:
        pytest.skip(SKIP_REASON)
    url, _ = served
    page = f"{url}/?refresh=0"
    common = [exe, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert re.search(r'<svg id="progress"[^>]*data-points="5"[^>]*data-failed="1"', html)
    assert html.count('class="pt"') + html.count('class="pt best"') == 5 and html.count('class="pt best"') == 1
    assert 'class="best-line"' in html and html.count('class="fail"') == 1
    assert html.count("<tr") == 7  # header + 6 records
    assert "summary critic" in html and "summary director" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html
    console = console_lines(dom.stderr)
    assert console == []
    shot = tmp_path / "dashboard.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1400", page], capture_output=True,
                   timeout=120, check=True)
    assert shot.stat().st_size > 20_000
