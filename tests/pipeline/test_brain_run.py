"""`alphamine run --backend brain` against the local BRAIN-compatible server (real HTTP on loopback)
gives the same candidates, statuses and IS metrics as `--backend local` on the same data."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from alphamine.backends.local import LocalBackend
from alphamine.brain.server import create_app, serve_in_thread
from alphamine.cli.main import app
from alphamine.data.synthetic import synthetic
from alphamine.store import Store

ARGS = [
    "--synthetic", "60,400", "--seed", "2", "--universe", "TOP60", "--max-iterations", "1", "--candidates", "8",
    "--max-variant-alphas", "1", "--max-variants-per-alpha", "2", "--max-enhance-alphas", "1", "--workers", "1",
    "--quiet",
]  # fmt: skip
EMAIL, PASSWORD = "quant@example.com", "run-secret-7f3a"


def _outcomes(db: Path, backend: str) -> dict[tuple[str, str], tuple[str, float | None, float | None]]:
    with Store.open(db) as store:
        rows = store.candidates()
        res = store.results_for([r.id for r in rows], backend=backend)
    return {
        (r.expression, r.settings_key): (
            str(r.status),
            res[r.id].metrics["is"]["sharpe"] if r.id in res else None,
            res[r.id].metrics["is"]["turnover"] if r.id in res else None,
        )
        for r in rows
    }


def test_brain_backend_run_matches_local_run(tmp_path) -> None:
    panel = synthetic(60, 400, seed=2)
    server = create_app(
        LocalBackend(panel, workers=1), db_path=tmp_path / "srv.sqlite3", users={EMAIL: PASSWORD}, retry_after=0.05
    )
    runner = CliRunner()
    env = {"BRAIN_EMAIL": EMAIL, "BRAIN_PASSWORD": PASSWORD}
    with serve_in_thread(server) as url:
        res = runner.invoke(
            app,
            ["run", *ARGS, "--run-id", "b", "--runtime-root", str(tmp_path / "rb"), "--backend", "brain",
             "--brain-url", url],
            env=env,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["run", *ARGS, "--run-id", "l", "--runtime-root", str(tmp_path / "rl")])
    assert res.exit_code == 0, res.output
    brain = _outcomes(tmp_path / "rb" / "alphamine.sqlite3", "brain")
    local = _outcomes(tmp_path / "rl" / "alphamine.sqlite3", "local")
    assert brain == local
    assert sum(v[1] is not None for v in brain.values()) >= 5
    logs = "".join(p.read_text() for p in (tmp_path / "rb" / "runs" / "b" / "logs").glob("*simulate*.log"))
    assert "[BRAIN] POST /simulations -> 201" in logs and "[BRAIN] GET /alphas/" in logs
    # the password reached neither the store, the run folder nor the ledgers
    for path in (tmp_path / "rb").rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_platform_dataset_run_mines_the_platforms_field_listing(tmp_path) -> None:
    panel = synthetic(60, 400, seed=2)
    server = create_app(
        LocalBackend(panel, workers=1), db_path=tmp_path / "srv.sqlite3", users={EMAIL: PASSWORD}, retry_after=0.05
    )
    fundamental = {n for n, i in panel.catalogue.items() if i.dataset == "fundamental"}
    groups = {n for n, i in panel.catalogue.items() if i.type.value == "GROUP"}
    with serve_in_thread(server) as url:
        res = CliRunner().invoke(
            app,
            ["run", *ARGS, "--run-id", "f", "--runtime-root", str(tmp_path / "rf"), "--backend", "brain",
             "--brain-url", url, "--dataset", "fundamental"],
            env={"BRAIN_EMAIL": EMAIL, "BRAIN_PASSWORD": PASSWORD},
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    with Store.open(tmp_path / "rf" / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id="f")
    used = {f for r in rows for f in r.fields}
    assert used and used <= fundamental | groups, used - fundamental - groups
    assert used & fundamental


def test_max_sim_alphas_counts_what_a_resumed_run_already_spent(tmp_path, monkeypatch) -> None:
    from alphamine.cli.backend_factory import build_backend
    from alphamine.pipeline.config import PlatformConfig, RunConfig

    monkeypatch.setenv("BRAIN_EMAIL", EMAIL)
    monkeypatch.setenv("BRAIN_PASSWORD", PASSWORD)
    platform = PlatformConfig.model_validate({"brain_url": "http://127.0.0.1:9", "max_sim_alphas": 5})
    config = RunConfig.model_validate({"backend": "brain", "platform": platform})
    backend = build_backend(config, tmp_path, already_simulated=3)
    try:
        assert backend.budget.remaining == 2
    finally:
        backend.close()
    first, second = (build_backend(config, tmp_path, already_simulated=3, run_id="r") for _ in range(2))
    try:  # a run's processes (its controller, its workers) share one budget
        assert first.budget.take(1) == 1 and second.budget.remaining == 1
        assert second.budget.take(5) == 1 and first.budget.exhausted
    finally:
        first.close()
        second.close()
