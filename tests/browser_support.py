"""Debian's headless Chromium for the page tests (report, dashboard, lab dashboard): where it is, the
flags every visit uses, how console messages show on stderr, and a `browser` fixture that skips with a
clear reason when it is not installed (`make test` installs it: apt-get install chromium)."""

from __future__ import annotations

import os
import re
import shutil

import pytest

SKIP_REASON = "Debian chromium not installed (make test installs it: apt-get install -y chromium)"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000"]  # fmt: skip
CONSOLE = re.compile(r"CONSOLE|Uncaught", re.I)  # Chromium logs every console message as `INFO:CONSOLE:<line>`


def chromium() -> str | None:
    """The chromium executable, or None."""
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@pytest.fixture(scope="module")
def browser() -> str:
    exe = chromium()
    if exe is None:
        pytest.skip(SKIP_REASON)
    return exe


def console_lines(stderr: str) -> list[str]:
    """The console messages (script errors, CSP violations, logs) among Chromium's stderr lines."""
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]
