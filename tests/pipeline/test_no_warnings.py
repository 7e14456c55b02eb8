"""A normal mining run prints no numpy/pandas warning: the sample run with RuntimeWarnings as errors.

Warnings are turned into errors in the run's process and, through fork, in its simulation workers; a
warning raised there would make a simulation fail, so the test also checks that no candidate failed
with a warning's text and that nothing warning-like reached stderr.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from alphamine.data.sample_paths import sample_path

pytestmark = pytest.mark.slow


def test_sample_run_raises_no_runtime_warning(tmp_path) -> None:
    if not sample_path("daily").is_file():
        pytest.skip("the bundled sample is not installed")
    root = tmp_path / "rt"
    cmd = [
        sys.executable, "-W", "error::RuntimeWarning", "-c",
        "from alphamine.cli.main import main; main()",
        "run", "--sample", "--max-iterations", "1", "--candidates", "40", "--workers", "2",
        "--runtime-root", str(root), "--run-id", "w1", "--quiet",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=None)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stderr, proc.stderr[-3000:]
    with sqlite3.connect(root / "alphamine.sqlite3") as db:
        failed = db.execute("select expression, reasons from candidates where status = 'failed'").fetchall()
    warned = [f for f in failed if "Warning" in str(f[1]) or "encountered" in str(f[1])]
    assert not warned, warned
