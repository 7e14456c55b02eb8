"""`alphamine run --backend dask`: the options reach the stored config, a run finishes on a LocalCluster,
and bad combinations are one red line (exit 2)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from alphamine.cli.main import app
from alphamine.pipeline.config import RunConfig
from alphamine.pipeline.controller import open_store

pytest.importorskip("distributed", reason="the dask extra (alphamine[dask]) is not installed")
runner = CliRunner()
SMALL = ["--synthetic", "40,400", "--universe", "TOP40", "--max-iterations", "1", "--candidates", "6",
         "--max-variant-alphas", "1", "--max-variants-per-alpha", "1", "--quiet"]


def test_a_run_on_a_local_dask_cluster_stores_its_backend(tmp_path) -> None:
    res = runner.invoke(app, ["run", *SMALL, "--backend", "dask", "--dask-local", "1", "--run-id", "d",
                              "--runtime-root", str(tmp_path)])
    assert res.exit_code == 0, res.output
    store = open_store(tmp_path, None)
    try:
        config = RunConfig.model_validate(store.get_run("d").config)  # type: ignore[union-attr]
        assert config.backend == "dask" and config.dask is not None and config.dask.local_workers == 1
        assert any(r.status not in ("generated", "queued") for r in store.candidates(run_id="d"))
    finally:
        store.close()


@pytest.mark.parametrize("args,msg", [
    (["--scheduler", "tcp://127.0.0.1:8786"], "need --backend dask"),
    (["--backend", "dask", "--scheduler", "h:1", "--dask-local", "2"], "not both"),
    (["--backend", "dask", "--scheduler", "ftp://x"], "--scheduler expects"),
])
def test_bad_dask_options_are_one_line(args, msg, tmp_path) -> None:
    res = runner.invoke(app, ["run", *SMALL, *args, "--runtime-root", str(tmp_path)])
    assert res.exit_code == 2 and msg in res.output, res.output


def _results_by_expression(db) -> dict[str, object]:
    from tests.pipeline.test_worker import RUN

    from alphamine.store import Store

    with Store.open(db) as store:
        rows = store.candidates(run_id=RUN)
        results = store.results_for([r.id for r in rows])
        return {r.expression: results[r.id] for r in rows if r.id in results}


def test_a_worker_drains_a_local_run_on_a_dask_cluster_with_the_local_results(tmp_path) -> None:
    from tests.pipeline.test_worker import finish, make_run, start

    on_dask, on_local = make_run(tmp_path / "dask", 8), make_run(tmp_path / "local", 8)
    report = finish(start(tmp_path / "dask", "--dask-local", "1", "--optimize-every-alphas", "0"), timeout=300)
    assert report["taken"] == 8
    finish(start(tmp_path / "local", "--optimize-every-alphas", "0"))
    dask, local = _results_by_expression(on_dask), _results_by_expression(on_local)
    assert len(dask) == 8 and dask.keys() == local.keys()
    for expression, result in dask.items():
        assert result.metrics == local[expression].metrics, expression  # type: ignore[attr-defined]
        assert result.pnl.tobytes() == local[expression].pnl.tobytes()  # type: ignore[attr-defined]


@pytest.mark.parametrize("args,msg", [
    (["--backend", "local", "--scheduler", "tcp://127.0.0.1:8786"], "need --backend dask"),
    (["--backend", "brain"], "--backend must be local or dask"),
    (["--dask-local", "1", "--scheduler", "h:1"], "not both"),
])
def test_bad_worker_backend_options_are_one_line(args, msg, tmp_path) -> None:
    from tests.pipeline.test_worker import RUN, make_run

    make_run(tmp_path, 2)
    res = runner.invoke(app, ["worker", "--run-id", RUN, "--runtime-root", str(tmp_path), *args])
    assert res.exit_code == 2 and msg in res.output, res.output
