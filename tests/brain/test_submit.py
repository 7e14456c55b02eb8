"""Submission is a human's act: the client refuses without confirmation, the CLI sends only ids that
are listed AND confirmed and prints the platform's verdict, and no other code in src/ can submit."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alphamine.brain.client import SubmissionNotConfirmed
from alphamine.cli.platform_cmd import submit
from alphamine.data.panel import Panel
from alphamine.data.synthetic import SignalStrengths, synthetic
from alphamine.sim.settings import make_settings
from tests.brain.test_client_support import EMAIL, PASSWORD, REPO, brain_server, fast_client, needs_server, user_stats

pytestmark = pytest.mark.timeout(180)

STRONG = "rank(-ts_sum(returns, 5))"  # passes every check on the panel below (see test_server_submit.py)
SETTINGS = make_settings({"universe": "TOP60", "neutralization": "MARKET"})
SUBMIT_PATH = "/alphas/{id}/submit"


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(60, 800, signals=SignalStrengths(reversal=0.08, value=0.0, sentiment=0.0))


@pytest.fixture()
def server(panel: Panel, tmp_path: Path) -> Iterator[str]:
    with brain_server(panel, tmp_path / "server.sqlite3") as url:
        yield url


def _submits(url: str) -> int:
    return int(user_stats(url)["postsByPath"].get(SUBMIT_PATH, 0))


def _alphas(url: str, *expressions: str) -> list[str]:
    with fast_client(url) as c:
        outcomes = c.multi_simulate([(e, SETTINGS.with_(decay=k)) for k, e in enumerate(expressions)])
    ids = [o.alpha_id for o in outcomes]
    assert all(ids)
    return [i for i in ids if i]


def _cli(url: str, tmp_path: Path, *args: str, password: str = PASSWORD) -> tuple[int, str]:
    app = typer.Typer()
    app.command()(submit)

    @app.command()
    def other() -> None:  # a second command keeps `submit` a named subcommand
        """unused"""

    env = {"BRAIN_EMAIL": EMAIL, "BRAIN_PASSWORD": password, "COLUMNS": "200"}
    result = CliRunner().invoke(
        app, ["submit", *args, "--brain-url", url, "--secret-file", str(tmp_path / "no-secret.json")], env=env)
    return result.exit_code, result.output


@needs_server
def test_the_client_refuses_without_confirmation(server: str) -> None:
    (alpha,) = _alphas(server, STRONG)
    with fast_client(server) as c:
        for flag in (False, 1, "yes"):  # only the literal True confirms
            with pytest.raises(SubmissionNotConfirmed, match=alpha):
                c.submit(alpha, confirmed=flag)  # type: ignore[arg-type]
        assert _submits(server) == 0  # nothing was sent
        verdict = c.submit(alpha, confirmed=True)
        assert verdict.submitted and verdict.status == "ACTIVE" and "submitted" in verdict.message
        assert not [x for x in verdict.checks if x["result"] == "FAIL"]
        again = c.submit(alpha, confirmed=True)  # idempotent once ACTIVE
        assert again.submitted


@needs_server
def test_the_cli_submits_only_listed_and_confirmed_ids(server: str, tmp_path: Path) -> None:
    good, twin = _alphas(server, STRONG, STRONG)
    code, out = _cli(server, tmp_path, good, twin, "--confirm", good, "--confirm", "NotListed")
    assert code == 0, out
    assert f"{good}: submitted: status ACTIVE" in out
    assert f"skipped {twin}: not confirmed (add --confirm {twin} to submit it)" in out
    assert "--confirm NotListed ignored" in out
    assert _submits(server) == 1
    with fast_client(server) as c:
        assert c.get_alpha(good)["status"] == "ACTIVE" and c.get_alpha(twin)["status"] == "UNSUBMITTED"
    # the twin now correlates with an ACTIVE alpha: the platform refuses it with its checks (403)
    code, out = _cli(server, tmp_path, twin, "--confirm", twin)
    assert code == 1, out
    assert f"{twin}: refused: SELF_CORRELATION" in out and f"checks of {twin}" in out and "FAIL" in out


@needs_server
def test_the_cli_sends_nothing_unconfirmed_and_reports_bad_credentials(server: str, tmp_path: Path) -> None:
    (alpha,) = _alphas(server, STRONG)
    code, out = _cli(server, tmp_path, alpha)
    assert code == 2 and "nothing submitted" in out and _submits(server) == 0
    code, out = _cli(server, tmp_path, alpha, "--confirm", alpha, password="wrong-password")
    assert code == 2 and "refused the credentials" in out and _submits(server) == 0


def test_the_cli_without_credentials(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(submit)

    @app.command()
    def other() -> None:
        """unused"""

    result = CliRunner().invoke(app, ["submit", "A1", "--confirm", "A1", "--secret-file", str(tmp_path / "x.json")],
                                env={"BRAIN_EMAIL": "", "BRAIN_PASSWORD": ""})
    assert result.exit_code == 2 and "no BRAIN email or password" in result.output


# ------------------------------------------------------------------ nobody else can submit
ALLOWED = {"src/alphamine/brain/client.py", "src/alphamine/cli/platform_cmd.py"}
SERVER = "src/alphamine/brain/server/"  # the local server *serves* the endpoint; it calls nothing


def _submit_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "submit"]


def test_no_other_code_path_calls_the_submit_endpoint() -> None:
    offenders = []
    for path in sorted((REPO / "src").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel.startswith(SERVER):  # the local server routes the path; it must not use the client
            if "alphamine.brain.client" in text:
                offenders.append(f"{rel}: the server imports the client")
            continue
        if rel in ALLOWED:
            continue
        if re.search(r"/submit\b", text):
            offenders.append(f"{rel}: mentions the /submit endpoint")
        uses_client = "alphamine.brain.client" in text or "BrainClient" in text
        dask_tasks = not uses_client and ("dask.distributed" in text or "from distributed" in text)
        for call in _submit_calls(ast.parse(text)):
            if dask_tasks and not any(k.arg == "confirmed" for k in call.keywords):
                continue  # Dask's `Client.submit` schedules a task; this file cannot reach BRAIN
            receiver = ast.unparse(call.func.value).lower()  # type: ignore[attr-defined]
            if uses_client or "client" in receiver or "brain" in receiver or any(
                    k.arg == "confirmed" for k in call.keywords):
                offenders.append(f"{rel}:{call.lineno}: calls {ast.unparse(call.func)}(...)")
    assert offenders == []
    cli = (REPO / "src/alphamine/cli/platform_cmd.py").read_text(encoding="utf-8")
    calls = _submit_calls(ast.parse(cli))
    assert len(calls) == 1 and ast.unparse(calls[0]) == "client.submit(alpha_id, confirmed=alpha_id in confirmed)"
