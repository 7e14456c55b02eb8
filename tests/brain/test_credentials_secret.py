"""A planted password must never appear in anything alphamine produces: exercise the client, the
backend, the CLI and every error path with it, then grep all the text (messages, tracebacks, reprs,
logs at DEBUG, terminal output) and every file written under the test's directory."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import socket
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from alphamine.backends.brain import BrainBackend
from alphamine.brain.client import BrainClient, BrainQuotaExceeded
from alphamine.brain.credentials import Credentials, load_credentials, resolve_base_url
from alphamine.brain.leases import LeaseFile
from alphamine.brain.retry import CircuitBreaker
from alphamine.brain.usage import UsageLedger
from alphamine.cli.platform_cmd import submit, usage
from alphamine.data.synthetic import synthetic
from alphamine.sim.batch import SimFailure, SimSpec
from alphamine.sim.settings import make_settings
from tests.brain.test_client_support import brain_server, fast_policy, needs_server

pytestmark = [needs_server, pytest.mark.timeout(180)]

PLANTED = "PLANTED-s3cr3t-9f2Kq"
EMAIL, VICTIM = "planted@example.com", "victim@example.com"
SETTINGS = make_settings({"universe": "TOP40"})


def _error_text(fn: Callable[[], Any]) -> str:
    """The full traceback (chained causes included) of the error `fn` must raise."""
    try:
        fn()
    except BaseException as e:
        return "".join(traceback.format_exception(e)) + repr(e) + str(e)
    raise AssertionError(f"{fn} raised nothing")


def _cli(*args: str, env: dict[str, str]) -> str:
    app = typer.Typer()
    app.command()(submit)
    app.command()(usage)
    result = CliRunner().invoke(app, list(args), env=env)
    return f"{result.output}\n{result.exception!r}"


def test_the_password_appears_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                      capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    texts: list[str] = []
    secret_file = tmp_path / "secrets" / "worldquant-brain.json"
    secret_file.parent.mkdir()
    secret_file.write_text(json.dumps({"brain": {"email": EMAIL, "password": PLANTED}}))
    creds = load_credentials(secret_file=secret_file, env={})
    texts += [repr(creds), str(creds), repr(creds.password), f"{creds.password}"]
    texts.append(_error_text(lambda: pickle.dumps(creds)))
    root, cache = tmp_path / "runtime", tmp_path / "cache"
    quick: dict[str, Any] = {"retry": fast_policy(), "timeout": 30.0, "max_poll_interval": 0.2}
    users = {EMAIL: PLANTED, VICTIM: "the-victims-own-password"}
    with brain_server(synthetic(40, 300), tmp_path / "server.sqlite3", users=users, daily_quota=6) as url:
        client = BrainClient(creds, base_url=url, cache_dir=cache,
                             breaker=CircuitBreaker(threshold=8, pause=0.05, pause_budget=1.0), **quick)
        texts.append(repr(client))
        backend = BrainBackend(client, leases=LeaseFile(root), usage=UsageLedger(root), batch_size=2)
        texts.append(repr(backend))
        out = backend.simulate_many([SimSpec("rank(close)", SETTINGS), SimSpec("bad_field + 1", SETTINGS),
                                     SimSpec("rank(", SETTINGS)])
        texts += [o.error for o in out if isinstance(o, SimFailure)] + [repr(o) for o in out]
        alpha = out[0].metrics["is"]["alphaId"]  # type: ignore[union-attr]
        texts += [json.dumps(client.check(alpha)), json.dumps(client.data_fields(region="USA", delay=1,
                                                                                 universe="TOP40"))]
        texts.append(_error_text(lambda: client.get_alpha("NoSuchId")))  # 404
        texts.append(_error_text(lambda: client.submit(alpha, confirmed=False)))  # not confirmed
        texts.append(repr(client.submit(alpha, confirmed=True)))  # refused with checks (403)
        texts.append(_error_text(lambda: backend.checks("NoSuchId")))  # ChecksUnavailable
        blocker = LeaseFile(root, capacity=1)
        blocker.acquire(1)  # the whole account
        texts.append(_error_text(lambda: LeaseFile(root, capacity=1).acquire(1, timeout=0.01)))  # LeaseTimeout
        blocker.close()
        quota = _error_text(lambda: [client.simulate(f"rank(open) + {k}", SETTINGS) for k in range(9)])
        assert BrainQuotaExceeded.__name__ in quota
        texts.append(quota)
        wrong = BrainClient(Credentials.of(VICTIM, PLANTED), base_url=url, **quick)  # planted = a wrong password
        texts.append(_error_text(lambda: wrong.simulate("rank(close)", SETTINGS)))
        assert "refused the credentials" in texts[-1]
        env = {"BRAIN_EMAIL": EMAIL, "BRAIN_PASSWORD": PLANTED, "COLUMNS": "200"}
        no_file = str(tmp_path / "none.json")
        texts.append(_cli("submit", alpha, "--confirm", alpha, "--brain-url", url, "--secret-file", no_file, env=env))
        texts.append(_cli("submit", alpha, "--brain-url", url, "--secret-file", no_file, env=env))
        texts.append(_cli("submit", alpha, "--confirm", alpha, "--brain-url", url, "--secret-file", no_file,
                          env={**env, "BRAIN_EMAIL": VICTIM}))
        texts.append(_cli("usage", "--runtime-root", str(root), env=env))
        assert "refused: " in texts[-4] and "nothing submitted" in texts[-3] and "refused the credentials" in texts[-2]
        backend.close()
    dead = CircuitBreaker(threshold=2, pause=0.01, pause_budget=0.02)
    gone = BrainClient(creds, base_url=url, breaker=dead, **quick)  # the server has stopped
    texts.append(_error_text(lambda: gone.simulate("rank(close)", SETTINGS)))
    assert "BrainUnavailable" in texts[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    texts.append(_error_text(lambda: resolve_base_url(f"http://{EMAIL}:{PLANTED}@127.0.0.1:{port}")))
    broken = tmp_path / "broken.json"
    broken.write_text('{"brain": {"email": "' + EMAIL + '", "password": "' + PLANTED + '"')
    texts.append(_error_text(lambda: load_credentials(secret_file=broken, env={})))
    texts.append(caplog.text)
    captured = capfd.readouterr()
    texts += [captured.out, captured.err]

    basic = base64.b64encode(f"{EMAIL}:{PLANTED}".encode()).decode()
    for text in texts:
        assert PLANTED not in text and basic not in text, text[:2000]
    assert "logged in to BRAIN" in caplog.text  # the logs were really captured
    planted_files = {secret_file, broken}
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p not in planted_files]
    assert any(p.parent == root for p in written) and any(cache in p.parents for p in written)
    for path in written:
        data = path.read_bytes()
        assert PLANTED.encode() not in data and basic.encode() not in data, path
