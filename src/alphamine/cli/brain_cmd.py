"""`alphamine brain ...`: the BRAIN platform side: a local BRAIN-compatible server and calibration of
the local simulator against a BRAIN endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from alphamine.cli.brain_serve_cmd import brain_serve
from alphamine.cli.console import make_console, print_table
from alphamine.cli.data_cmd import (
    DataOpt,
    MetaOpt,
    SampleOpt,
    SeedOpt,
    SyntheticOpt,
    fail,
    resolve_panel,
    source_errors,
)
from alphamine.runtime import DEFAULT_RUNTIME_ROOT

brain_app = typer.Typer(
    help="The BRAIN platform: a local BRAIN-compatible server, calibration against a BRAIN endpoint.",
    no_args_is_help=True,
)
brain_app.command("serve")(brain_serve)


@brain_app.command("calibrate")
def calibrate(
    exprs: Annotated[Path, typer.Option("--exprs", help="File of expressions, one per line (# comments).")],
    brain_url: Annotated[
        str | None, typer.Option("--brain-url", help="BRAIN API base URL (default: BRAIN_API_URL or the platform).")
    ] = None,
    data: DataOpt = None,
    meta: MetaOpt = None,
    sample: SampleOpt = False,
    synthetic: SyntheticOpt = None,
    seed: SeedOpt = 0,
    preset: Annotated[str | None, typer.Option(help="Settings preset for both backends.")] = None,
    universe: Annotated[str | None, typer.Option(help="Override the preset's universe.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for calibration.json and .md.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: all cores).")] = None,
    runtime_root: Annotated[Path, typer.Option("--runtime-root", help="Leases, usage ledger, caches.")] = (
        DEFAULT_RUNTIME_ROOT
    ),
) -> None:
    """Simulate the same expressions on the local simulator and on a BRAIN endpoint with the same
    settings; write a per-metric difference report (Sharpe, fitness, turnover, returns, drawdown,
    margin, daily-PnL correlation)."""
    import datetime as dt
    import json

    from alphamine.backends.compare import calibrate as compare
    from alphamine.backends.compare import to_markdown
    from alphamine.backends.local import LocalBackend
    from alphamine.cli.backend_factory import build_backend
    from alphamine.pipeline.config import PlatformConfig, RunConfig
    from alphamine.pipeline.presets import PresetError, resolve_settings
    from alphamine.sim.batch import SimSpec
    from alphamine.sim.settings import SettingsError

    try:
        lines = exprs.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise fail(f"cannot read {exprs}: {e}") from None
    expressions = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not expressions:
        raise fail(f"{exprs} has no expressions (one per line; # starts a comment)")
    try:
        settings = resolve_settings(runtime_root, preset, {"universe": universe})
    except (PresetError, SettingsError) as e:
        raise fail(str(e)) from None
    with source_errors():
        panel = resolve_panel(data, meta, sample, synthetic, seed)
    specs = [SimSpec(e, settings) for e in expressions]
    config = RunConfig.model_validate(
        {
            "settings": settings.to_brain(),
            "backend": "brain",
            "platform": PlatformConfig.model_validate({"brain_url": brain_url}),
        }
    )
    brain = build_backend(config, runtime_root)
    console = make_console()
    with console.status(f"simulating {len(specs)} expressions locally"):
        local = LocalBackend(panel, workers=workers).simulate_many(specs)
    with console.status(f"simulating {len(specs)} expressions on {brain.client.base_url}"):
        platform = brain.simulate_many(specs)
    brain.close()
    result = compare(expressions, local, platform, "local", "brain")
    folder = out or runtime_root / "calibration" / f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "calibration.json").write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
        (folder / "calibration.md").write_text(to_markdown(result), encoding="utf-8")
    except OSError as e:
        raise fail(f"cannot write the calibration report to {folder}: {e}") from None
    table = Table(title=f"local vs brain on {len(expressions)} expressions", title_justify="left")
    for col in ("metric (IS)", "pairs", "mean |diff|", "median |diff|", "correlation", "same sign"):
        table.add_column(col, justify="left" if col.startswith("metric") else "right")
    for s in result.summaries:
        table.add_row(
            s.metric,
            str(s.n),
            f"{s.mean_abs_diff:.4f}",
            f"{s.median_abs_diff:.4f}",
            "—" if s.correlation is None else f"{s.correlation:.3f}",
            f"{s.sign_agreement:.0%}",
        )
    print_table(console, table)
    median = result.pnl_correlation_median
    console.print(f"median daily-PnL correlation: {'—' if median is None else f'{median:.3f}'}")
    console.print(f"wrote {folder / 'calibration.md'} and calibration.json")
