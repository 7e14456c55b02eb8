"""`alphamine numerai ...`: Numerai-style experiments, their registry, the predict bundle and Signals.

Why a sub-app: the Numerai workflow (synthetic or downloaded data -> experiment -> registry ->
report -> export / Signals CSV) shares nothing with the mining run store except the runtime root,
where its registry lives (`alphamine.numerai.registry`). Heavy modules (pandas, scikit-learn,
LightGBM, numerai-tools) are imported inside the commands so `alphamine --help` stays fast. Every
expected problem (bad config, unknown run, invalid data) is one red `error:` line and exit status 2;
`validate-pickle` exits 1 when the pickle fails its checks. Tables are plain aligned text, so a log
or a doc can quote them as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from alphamine.cli.data_cmd import fail
from alphamine.runtime import DEFAULT_RUNTIME_ROOT

numerai_app = typer.Typer(
    help="Numerai experiments: synthetic data, era-CV runs, registry and reports, predict bundles, Signals.",
    no_args_is_help=True,
)
RootOpt = Annotated[Path, typer.Option("--runtime-root", help="Folder of the registry (and the mining store).")]
RunArg = Annotated[str, typer.Argument(metavar="RUN", help="A run id (or a unique prefix) of the registry.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON for machines instead of tables.")]
METRICS = ("corr_mean", "corr_std", "corr_sharpe", "max_drawdown", "bmc_mean", "bmc_std", "bmc_sharpe")


@contextmanager
def numerai_errors() -> Iterator[None]:
    """The Numerai layer's expected errors as one red line and exit 2 (never a traceback)."""
    from rich.markup import escape

    from alphamine.data.errors import DataError
    from alphamine.numerai.config import ConfigError
    from alphamine.numerai.data import NumeraiDataError
    from alphamine.numerai.export import ExportError
    from alphamine.numerai.models import ModelError
    from alphamine.numerai.registry import RegistryError
    from alphamine.numerai.signals import SignalsError

    try:
        yield
    except (ConfigError, NumeraiDataError, ModelError, RegistryError, ExportError, SignalsError, DataError) as e:
        raise fail(escape(" ".join(str(e).split()))) from None


def _num(v: Any) -> str:
    return "–" if v is None else f"{float(v):.4f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Plain aligned text: first column left, the others right."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]  # fmt: skip
    return "\n".join(line.rstrip() for line in lines)


def _registry(runtime_root: Path) -> Any:
    from alphamine.numerai.registry import Registry

    return Registry(runtime_root)


def _echo_scores(model: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    headers = ["metric", "model"] + (["baseline"] if baseline else [])
    rows = [[k, _num(model.get(k))] + ([_num(baseline.get(k))] if baseline else []) for k in METRICS]
    typer.echo(table(headers, rows))


# ---------------------------------------------------------------------------- data and runs
EXAMPLE_CONFIG = """\
# alphamine numerai run --config {name}
data:
  path: train.parquet
  feature_set: medium
  benchmark_col: v53_lgbm_ender20
model:
  type: lgbm
  params: {{n_estimators: 200, learning_rate: 0.05, num_leaves: 15}}
cv:
  scheme: walkforward
  folds: 4
  embargo: 4
seed: 0
"""


@numerai_app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the dataset into.")],
    eras: Annotated[int, typer.Option("--eras", min=10, help="Train + validation eras.")] = 200,
    rows_per_era: Annotated[int, typer.Option("--rows-per-era", min=10)] = 100,
    features: Annotated[int, typer.Option("--features", min=8)] = 60,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Write a synthetic Numerai dataset (train/validation/live, benchmarks, features.json) and an
    example config `experiment.yaml` next to it."""
    from alphamine.numerai.synth import SynthSpec, write_synthetic

    spec = SynthSpec(n_eras=eras, rows_per_era=rows_per_era, n_features=features,
                     n_validation_eras=max(2, eras // 5), seed=seed)  # fmt: skip
    with numerai_errors():
        data = write_synthetic(out, spec)
    config = out / "experiment.yaml"
    config.write_text(EXAMPLE_CONFIG.format(name=config), encoding="utf-8")
    names = sorted(p.name for p in out.iterdir())
    typer.echo(f"wrote a synthetic Numerai dataset to {out}: {', '.join(names)}")
    typer.echo(f"planted signal in {', '.join(data.signal_features)}; benchmark column {data.benchmark_col}")
    typer.echo(f"next: alphamine numerai run --config {config}")


def _run_and_record(config: Any, runtime_root: Path, run_id: str | None) -> Any:
    from alphamine.numerai.experiment import run_experiment

    result = run_experiment(config)
    return _registry(runtime_root).record(result, run_id=run_id)


@numerai_app.command("run")
def run(
    config: Annotated[Path, typer.Option("--config", help="Experiment config (.yaml, .yml or .json).")],
    runtime_root: RootOpt = DEFAULT_RUNTIME_ROOT,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run (default: nm-<time>-<hex>).")] = None,
) -> None:
    """Run one experiment (era CV -> OOF scores -> final model) and store it in the registry."""
    from alphamine.numerai.config import load_config

    with numerai_errors():
        rec = _run_and_record(load_config(config), runtime_root, run_id)
    typer.echo(f"run {rec.run_id} ({rec.name}): {rec.model_type}, {rec.n_rows} OOF rows over {rec.n_eras} eras, "
               f"{rec.n_features} features, {rec.seconds:.1f} s")  # fmt: skip
    _echo_scores(rec.metrics, rec.baseline)
    typer.echo(f"stored in {rec.folder} (report: {rec.folder / 'report.html'})")


@numerai_app.command("sweep")
def sweep(
    config: Annotated[Path, typer.Option("--config", help="The base experiment config.")],
    param: Annotated[list[str], typer.Option("--param", help="dotted.path=v1,v2 (repeat for a grid).")],
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="Where the configs go.")] = None,
    run_them: Annotated[bool, typer.Option("--run/--no-run", help="Run and record every config.")] = True,
    runtime_root: RootOpt = DEFAULT_RUNTIME_ROOT,
) -> None:
    """Write one config per grid point, then run and record each (and compare them)."""
    from alphamine.numerai.experiment import parse_sweep_arg
    from alphamine.numerai.experiment import sweep as write_sweep

    with numerai_errors():
        params = dict(parse_sweep_arg(p) for p in param)
        folder = out_dir or runtime_root / "numerai" / "sweeps" / config.stem
        paths = write_sweep(config, params, folder)
        typer.echo(f"wrote {len(paths)} configs to {folder}")
        if not run_them:
            return
        from alphamine.numerai.config import load_config

        records = []
        for path in paths:
            rec = _run_and_record(load_config(path), runtime_root, None)
            typer.echo(f"  {rec.run_id}  {path.name}  corr_mean {_num(rec.metrics.get('corr_mean'))}  "
                       f"bmc_mean {_num(rec.metrics.get('bmc_mean'))}")  # fmt: skip
            records.append(rec)
    _echo_compare(records)


@numerai_app.command("score")
def score(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="Parquet or CSV with era, target and predictions.")],
    pred_col: Annotated[str, typer.Option("--pred-col")] = "prediction",
    target_col: Annotated[str, typer.Option("--target-col")] = "target",
    era_col: Annotated[str, typer.Option("--era-col")] = "era",
    benchmark_col: Annotated[str | None, typer.Option("--benchmark-col", help="Adds BMC.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the scores as JSON.")] = None,
) -> None:
    """Score a prediction file per era (CORR, BMC with --benchmark-col) with numerai-tools."""
    import pandas as pd

    from alphamine.numerai.scoring import score_frame

    try:
        df = pd.read_csv(data) if data.suffix.lower() == ".csv" else pd.read_parquet(data)
        scores = score_frame(df, pred_col, target_col, era_col, benchmark_col)
    except (OSError, KeyError, ValueError) as e:
        raise fail(f"cannot score {data}: {' '.join(str(e).split())}") from None
    doc = scores.to_json()
    typer.echo(f"{data}: {len(df)} rows, {len(doc['per_era_corr'])} eras")
    _echo_scores(doc, None)
    if out is not None:
        out.write_text(json.dumps({**doc, "details": scores.details()}, indent=2, sort_keys=True) + "\n",
                       encoding="utf-8")  # fmt: skip
        typer.echo(f"wrote {out}")


# ---------------------------------------------------------------------------- registry
@numerai_app.command("list")
def list_runs(runtime_root: RootOpt = DEFAULT_RUNTIME_ROOT, as_json: JsonOpt = False) -> None:
    """The registry's runs, newest first."""
    with numerai_errors():
        records = _registry(runtime_root).runs()
    if as_json:
        typer.echo(json.dumps([{"run_id": r.run_id, "name": r.name, "model_type": r.model_type,
                                "created_at": r.created_at, **r.metrics} for r in records], indent=2))  # fmt: skip
        return
    if not records:
        typer.echo(f"no Numerai runs in {runtime_root}")
        return
    rows = [[r.run_id, r.name, r.model_type, r.n_eras, _num(r.metrics.get("corr_mean")),
             _num(r.metrics.get("corr_sharpe")), _num(r.metrics.get("bmc_mean")), r.created_at[:19]]
            for r in records]  # fmt: skip
    typer.echo(table(["run", "name", "model", "eras", "corr_mean", "corr_sharpe", "bmc_mean", "created"], rows))


@numerai_app.command("show")
def show(run_id: RunArg, runtime_root: RootOpt = DEFAULT_RUNTIME_ROOT, as_json: JsonOpt = False) -> None:
    """One run: what it ran on, its scores against the baseline, and its files."""
    with numerai_errors():
        reg = _registry(runtime_root)
        rec = reg.get(run_id)
        details = reg.scores(rec.run_id).get("details") or {}
    if as_json:
        doc = {k: v for k, v in rec.__dict__.items() if k != "folder"}
        typer.echo(json.dumps({**doc, "folder": str(rec.folder), "details": details}, indent=2, default=str))
        return
    typer.echo(f"run {rec.run_id} ({rec.name}), created {rec.created_at}")
    typer.echo(f"model {rec.model_type} {json.dumps(rec.config.get('model', {}).get('params', {}), sort_keys=True)}")
    typer.echo(f"data {rec.data_path} (fingerprint {rec.data_fingerprint[:16]}), {rec.n_rows} OOF rows, "
               f"{rec.n_eras} eras, {rec.n_features} features, {rec.seconds:.1f} s")  # fmt: skip
    _echo_scores(rec.metrics, rec.baseline)
    for key in ("corr_last_200", "bmc_last_200"):
        if details.get(key):
            typer.echo(f"{key}: mean {_num(details[key].get('mean'))}, sharpe {_num(details[key].get('sharpe'))}")
    if details.get("avg_corr_with_benchmark") is not None:
        typer.echo(f"avg corr with benchmark: {_num(details['avg_corr_with_benchmark'])}")
    typer.echo(f"files in {rec.folder}: {', '.join(sorted(p.name for p in rec.folder.iterdir()))}")


def _echo_compare(records: Sequence[Any]) -> None:
    from alphamine.numerai.report import compare_rows

    rows = [[row["label"], row["run_id"], *(_num(row.get(k)) for k in METRICS)] for row in compare_rows(records)]
    typer.echo(table(["run", "id", *METRICS], rows))
    if len({r.data_fingerprint for r in records}) > 1:
        typer.echo("note: these runs used different data (fingerprints differ)")


@numerai_app.command("compare")
def compare(
    run_ids: Annotated[list[str], typer.Argument(metavar="RUN...", help="Two or more run ids (or prefixes).")],
    runtime_root: RootOpt = DEFAULT_RUNTIME_ROOT,
    out: Annotated[Path | None, typer.Option("--out", help="Also write an HTML comparison report.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Runs side by side (with each data set's baseline); --out writes an HTML report with charts."""
    from alphamine.numerai.report import compare_report_html, compare_rows

    with numerai_errors():
        reg = _registry(runtime_root)
        records = [reg.get(r) for r in run_ids]
        docs = [reg.scores(r.run_id) for r in records] if out is not None else []
    if as_json:
        typer.echo(json.dumps(compare_rows(records), indent=2))
    else:
        _echo_compare(records)
    if out is not None:
        out.write_text(compare_report_html(records, docs), encoding="utf-8")
        typer.echo(f"wrote {out}")


# ---------------------------------------------------------------------------- export
@numerai_app.command("export")
def export(
    run_id: Annotated[str, typer.Option("--run-id", help="The registry run whose final model to bundle.")],
    out: Annotated[Path, typer.Option("--out", help="The pickle to write (model.pkl).")],
    runtime_root: RootOpt = DEFAULT_RUNTIME_ROOT,
) -> None:
    """Write a self-contained predict(live_features, live_benchmark_models) pickle for Numerai upload."""
    from alphamine.numerai.export import build_bundle, container_warnings, read_bundle_facts

    with numerai_errors():
        reg = _registry(runtime_root)
        rec = reg.get(run_id)
        model = reg.model(rec.run_id)
        path = build_bundle(model, out)
        facts = read_bundle_facts(path.read_bytes())
    libs = ", ".join(f"{k} {v}" for k, v in facts.libraries.items())
    typer.echo(f"wrote {path} ({path.stat().st_size} bytes) from run {rec.run_id}: {rec.n_features} features")
    typer.echo(f"needs Python {facts.python} (numerai_predict_py_{(facts.python or '').replace('.', '_')}); "
               f"built with {libs}")  # fmt: skip
    typer.echo(f"references no alphamine module; next: alphamine numerai validate-pickle {path}")
    _echo_warnings(container_warnings(facts))


def _echo_warnings(lines: list[str]) -> None:
    for line in lines:
        typer.echo(f"warning: {line}", err=True)


@numerai_app.command("validate-pickle")
def validate_pickle(
    pickle_path: Annotated[Path, typer.Argument(metavar="PICKLE", help="The model.pkl to check.")],
    live: Annotated[Path | None, typer.Option("--live", help="Live features parquet (default: generated).")] = None,
    benchmark: Annotated[Path | None, typer.Option("--benchmark", help="Live benchmark models parquet.")] = None,
    rows: Annotated[int, typer.Option("--rows", min=2, help="Generated rows without --live.")] = 200,
) -> None:
    """Load and run the pickle in a fresh interpreter where alphamine cannot be imported."""
    from alphamine.numerai.export import container_warnings, read_bundle_facts
    from alphamine.numerai.export import validate_pickle as check

    if not pickle_path.is_file():
        raise fail(f"no such file {pickle_path}")
    with numerai_errors():
        result = check(pickle_path, live=live, benchmark=benchmark, rows=rows)
    typer.echo(f"pickle needs Python {result.python_needed or 'unknown'}; checked with Python "
               f"{result.child_python or '?'} (alphamine importable: {result.alphamine_importable})")  # fmt: skip
    if result.rows:
        typer.echo(f"predict({'live_features, live_benchmark_models' if result.arity == 2 else 'live_features'}) "
                   f"-> {result.rows} rows, columns {list(result.columns)}, values in "
                   f"[{_num(result.min_value)}, {_num(result.max_value)}]")  # fmt: skip
    if result.ok:
        typer.echo("ok: the pickle loads and predicts without alphamine")
        _echo_warnings(container_warnings(read_bundle_facts(pickle_path.read_bytes())))
        return
    for problem in result.problems:
        typer.echo(f"problem: {problem}", err=True)
    raise typer.Exit(1)


# ---------------------------------------------------------------------------- signals
READY_HELP = "Use the run's ready alphas (the default without --expression; with it, add them)."
DATA_HELP = "Panel file or folder when there is no --run-id (default: the bundled sample)."


@numerai_app.command("signals")
def signals(
    out: Annotated[Path, typer.Option("--out", help="The CSV to write.")],
    run_id: Annotated[str | None, typer.Option("--run-id", help="A mining run: its panel and ready alphas.")] = None,
    ready: Annotated[bool, typer.Option("--ready", help=READY_HELP)] = False,
    expression: Annotated[list[str] | None, typer.Option("--expression", help="An alpha (repeatable).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: the panel's last day).")] = None,
    data: Annotated[Path | None, typer.Option("--data", help=DATA_HELP)] = None,
    ticker_style: Annotated[str, typer.Option("--ticker-style", help="bloomberg (AAPL US) or plain.")] = "bloomberg",
    runtime_root: RootOpt = DEFAULT_RUNTIME_ROOT,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the mining store.")] = None,
) -> None:
    """Turn alphas into a Numerai Signals CSV (ticker, date, signal in (0, 1)) for one day."""
    from alphamine.cli.errors import store_errors
    from alphamine.data.sources import DataSource
    from alphamine.numerai import signals as S

    exprs = list(expression or [])
    with numerai_errors(), store_errors():
        settings: dict[str, Any] = {}
        alphas: list[S.AlphaSpec] = []
        if run_id is not None:
            source, settings, ready_alphas = S.run_alphas(runtime_root, run_id, db=db)
            if ready or not exprs:
                if not ready_alphas:
                    raise S.SignalsError(f"mining run {run_id} has no ready alphas; pass --expression")
                alphas += ready_alphas
        elif ready:
            raise S.SignalsError("--ready needs --run-id")
        else:
            source = DataSource.from_options(data) if data is not None else DataSource()
        alphas += [S.AlphaSpec(e, settings, label=e) for e in exprs]
        panel = S.load_source_panel(source)
        sub = S.build_signals(panel, alphas, date=date, ticker_style=ticker_style)
        S.write_signals_csv(sub, out)
    typer.echo(f"wrote {out}: {sub.n_tickers} tickers ({sub.ticker_col}) for {sub.date} from {len(sub.alphas)} "
               f"alpha(s); {sub.dropped} instruments had no value")  # fmt: skip
    _echo_warnings(list(sub.problems))
    if not sub.problems:
        typer.echo("valid: numerai_tools' Signals checks pass (headers, values in (0, 1), unique tickers, >= 100)")
