"""Who may read the dashboard: loopback by default, a refused non-loopback host without --allow-remote,
the token on every request when one is set, the loopback Host check, and the `serve` command itself
(run as a process on loopback with --allow-remote: it prints a token and enforces it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from alphamine.cli.serve_cmd import serve
from alphamine.dashboard import BindRefused, bind_token, create_app, is_loopback, serve_in_thread
from alphamine.dashboard.security import TOKEN_COOKIE
from alphamine.store import Store
from tests.dashboard.conftest import Mined, free_port

TOKEN = "s3cret-token-for-tests"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("LOCALHOST", True), ("::1", True),
     ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.com", False),
     ("localhost.example.com", False), ("", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_bind_token_rules() -> None:
    assert bind_token("127.0.0.1", False, None) is None
    assert bind_token("127.0.0.1", False, "t") == "t"
    with pytest.raises(BindRefused, match="--allow-remote"):
        bind_token("0.0.0.0", False, None)
    with pytest.raises(BindRefused, match="--allow-remote"):
        bind_token("0.0.0.0", False, "t")  # a token alone does not open a remote bind
    generated = bind_token("0.0.0.0", True, None)
    assert generated and len(generated) >= 24 and generated != bind_token("0.0.0.0", True, None)
    assert bind_token("192.168.1.5", True, "mine") == "mine"
    with pytest.raises(BindRefused, match="empty"):
        bind_token("127.0.0.1", False, "  ")


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(serve)
    return app


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::"])
def test_serve_refuses_a_non_loopback_host_in_one_line(host: str, mined: Mined) -> None:
    result = CliRunner().invoke(_cli(), ["--host", host, "--runtime-root", str(mined.root)])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "--allow-remote" in lines[0], result.output


def test_serve_refuses_a_missing_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["--runtime-root", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no store" in result.output
    assert not (tmp_path / "nothing").exists()  # the dashboard never creates a store


@pytest.fixture(scope="module")
def guarded(mined: Mined) -> Iterator[str]:
    with serve_in_thread(create_app(mined.root, token=TOKEN)) as url:
        yield url


def test_token_is_required_on_every_request(guarded: str) -> None:
    for path in ("/", "/runs/mined", "/candidates/1", "/static/dashboard.css", "/nope"):
        r = httpx.get(guarded + path)
        assert r.status_code == 401, path
        assert TOKEN not in r.text
    assert httpx.get(guarded + "/", params={"token": "wrong"}).status_code == 401
    assert httpx.get(guarded + "/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(guarded + "/", cookies={TOKEN_COOKIE: "wrong"}).status_code == 401


def test_token_in_query_header_or_cookie(guarded: str) -> None:
    first = httpx.get(guarded + "/", params={"token": TOKEN})
    assert first.status_code == 200 and 'id="runs"' in first.text
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={TOKEN}") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert first.headers["referrer-policy"] == "no-referrer"
    with httpx.Client(base_url=guarded) as browser:  # the cookie carries the token to links and the stylesheet
        assert browser.get("/", params={"token": TOKEN}).status_code == 200
        assert browser.get("/runs/mined").status_code == 200
        assert browser.get("/static/dashboard.css").status_code == 200
    assert httpx.get(guarded + "/runs/mined", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert httpx.get(guarded + "/memory", headers={"X-Alphamine-Token": TOKEN}).status_code == 200
    assert "set-cookie" not in httpx.get(guarded + "/", headers={"Authorization": f"Bearer {TOKEN}"}).headers


def test_loopback_server_answers_only_loopback_host_names(served: str) -> None:
    port = served.rsplit(":", 1)[1]
    assert httpx.get(served + "/", headers={"Host": f"localhost:{port}"}).status_code == 200
    assert httpx.get(served + "/", headers={"Host": f"[::1]:{port}"}).status_code == 200
    for host in (f"evil.example:{port}", "attacker.test", f"192.168.1.5:{port}"):
        assert httpx.get(served + "/", headers={"Host": host}).status_code == 403, host


def test_memory_page_without_a_memory_creates_none(tmp_path: Path) -> None:
    Store.open(tmp_path / "alphamine.sqlite3").close()
    with serve_in_thread(create_app(tmp_path)) as url:
        html = httpx.get(url + "/memory").text
        assert 'id="no-memory"' in html
        assert "No runs in this store yet" in httpx.get(url + "/").text
    assert not (tmp_path / "alpha_memory.sqlite3").exists()


def test_serve_command_with_allow_remote_prints_and_enforces_a_token(mined: Mined) -> None:
    port = free_port()
    code = ("import typer; from alphamine.cli.serve_cmd import serve; app = typer.Typer(); app.command()(serve); "
            "app()")  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("ALPHAMINE_DASHBOARD_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--host", "127.0.0.1", "--port", str(port), "--runtime-root", str(mined.root),
         "--allow-remote"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        token, seen = None, []
        deadline = time.monotonic() + 60
        while token is None:
            assert proc.poll() is None and time.monotonic() < deadline, "".join(seen)
            line = proc.stdout.readline() if proc.stdout else ""
            seen.append(line)
            if line.startswith("open") and "?token=" in line:
                token = line.strip().rsplit("?token=", 1)[1]
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                r = httpx.get(url + "/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.05)
        assert r.status_code == 401
        ok = httpx.get(url + "/", params={"token": token}, timeout=10)
        assert ok.status_code == 200 and 'data-run="mined"' in ok.text
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
