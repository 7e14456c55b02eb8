"""`alphamine brain serve` (the `brain_serve` command): users, option errors, and a real server
process over a synthetic market that a client logs into and simulates on."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from alphamine.brain.server import DEFAULT_DAILY_QUOTA, DEFAULT_MAX_CONCURRENT
from alphamine.cli.brain_serve_cmd import DAILY_QUOTA, LOCAL_EMAIL, MAX_CONCURRENT, brain_serve, resolve_users
from tests.brain.test_server_support import poll, regular

STARTUP_LIMIT_S = 60.0


def test_resolve_users() -> None:
    assert resolve_users(["a@x.com:pw:with:colons", "b@y.com:2"], {}) == (
        {"a@x.com": "pw:with:colons", "b@y.com": "2"}, None)
    assert resolve_users(None, {"BRAIN_EMAIL": "me@x.com", "BRAIN_PASSWORD": "s"}) == ({"me@x.com": "s"}, None)
    users, generated = resolve_users([], {"BRAIN_EMAIL": "me@x.com"})  # no password: generate
    assert generated and users == {LOCAL_EMAIL: generated} and len(generated) >= 12
    assert resolve_users(None, {})[1] != generated  # fresh each time
    for bad in ("no-colon", ":pw", "a@x.com:"):
        with pytest.raises(ValueError, match="EMAIL:PASSWORD"):
            resolve_users([bad], {})


def test_defaults_match_the_server() -> None:
    assert (DAILY_QUOTA, MAX_CONCURRENT) == (DEFAULT_DAILY_QUOTA, DEFAULT_MAX_CONCURRENT)


def test_bad_options_are_one_line_and_exit_2(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(brain_serve)
    runner = CliRunner()
    for args, words in (
        (["--faults", "429=2"], "429=2"),
        (["--user", "nocolon"], "EMAIL:PASSWORD"),
        (["--workers", "0"], "--workers"),
        (["--data", str(tmp_path / "missing.parquet")], "missing"),
    ):
        result = runner.invoke(app, [*args, "--db", str(tmp_path / "s.sqlite3")])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output
    assert not (tmp_path / "s.sqlite3").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_process_end_to_end(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "records" / "server.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("BRAIN_EMAIL", "BRAIN_PASSWORD")}
    env["COLUMNS"] = "200"
    code = "import typer; from alphamine.cli.brain_serve_cmd import brain_serve; typer.run(brain_serve)"
    args = ["--synthetic", "40,300", "--port", str(port), "--db", str(db), "--workers", "1", "--log-level", "warning"]
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("password") for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        password = re.match(r"password\s+(\S+)", lines[-1])
        assert password is not None
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            try:
                httpx.get(f"{url}/authentication", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.post("/authentication", auth=(LOCAL_EMAIL, password[1])).status_code == 201
            r = c.post("/simulations", json=regular("rank(-returns)"))
            assert r.status_code == 201 and r.headers["location"].startswith(f"{url}/simulations/")
            assert poll(c, r.headers["location"]).json()["status"] == "COMPLETE"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == 0
    assert db.exists()
    stored = b"".join(p.read_bytes() for p in db.parent.iterdir())
    assert password[1].encode() not in stored  # secrets never reach the disk
