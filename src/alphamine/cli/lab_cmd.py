"""`alphamine lab ...`: experiment labs, a frozen-judge research loop compatible with leanlab.

Why a sub-app: a lab is its own small workflow (init, check, noise, run, status, serve, freeze) on a
folder that leanlab can also open; it shares nothing with the run store. Heavy modules (the loop,
FastAPI, the LLM client) are imported inside the commands so `alphamine --help` stays fast. Every
lab problem is one red `error:` line and exit status 2 (`LabError`), never a traceback.

Worker choice for `lab run`: `--worker-cmd` alone means `--worker scripted`; with neither, an
unfinished run is resumed with the worker it had, and otherwise the LLM worker is used (which fails
with one line when no LLM is configured). Scripted runs get the deterministic summary Critic and
Director; LLM runs get the LLM ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from alphamine.cli.data_cmd import fail

if TYPE_CHECKING:
    from alphamine.lab.config import LabConfig
    from alphamine.lab.roles import Role
    from alphamine.lab.workers import Worker

lab_app = typer.Typer(
    help="Experiment labs: a frozen-judge research loop (leanlab-compatible) with Worker, Critic, Director.",
    no_args_is_help=True,
)
LabArg = Annotated[str, typer.Argument(metavar="LAB", help="The lab folder, or a lab name under ./.leanlab/.")]
WorkerOpt = Annotated[str | None, typer.Option("--worker", help="llm or scripted.")]
WorkerCmdOpt = Annotated[
    str | None,
    typer.Option("--worker-cmd", help='A scripted worker\'s command, e.g. "python my_worker.py {lab} {n}".'),
]
WORKER_KINDS = ("llm", "scripted")
_SYMBOL = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@contextmanager
def lab_errors() -> Iterator[None]:
    from alphamine.lab.config import LabError

    try:
        yield
    except LabError as e:
        raise fail(escape(str(e))) from None


def _lab(name: str) -> LabConfig:
    from alphamine.lab.config import resolve_lab

    return resolve_lab(name)


def build_worker(cfg: LabConfig, kind: str, command: str | None, timeout: float) -> tuple[Worker, Role, Role]:
    """(worker, critic, director) for `kind` (module doc); `LabError` when it cannot be built."""
    from alphamine.lab.config import LabError

    if kind not in WORKER_KINDS:
        raise LabError(f"--worker must be llm or scripted, got {kind!r}")
    if kind == "scripted":
        from alphamine.lab.roles import SummaryCritic, SummaryDirector
        from alphamine.lab.workers import ScriptedWorker

        return ScriptedWorker(cfg, command or "", timeout=timeout), SummaryCritic(), SummaryDirector()
    from alphamine.lab.llm_agents import LLMRole, LLMWorker, make_llm_client

    client = make_llm_client()
    return LLMWorker(cfg, client), LLMRole("critic", client), LLMRole("director", client)


@lab_app.command("init")
def init(
    name: Annotated[Path, typer.Argument(metavar="NAME", help="The folder to create; its name names the lab.")],
    template: Annotated[str, typer.Option("--template", help="regression or alpha.")] = "regression",
) -> None:
    """Scaffold a lab: task.md, lab.json, evaluation.py, validate.py, experiments/sample.py (judge frozen)."""
    from alphamine.lab.scaffold import init_lab

    with lab_errors():
        cfg = init_lab(name, template.strip().lower())
    typer.echo(f"created lab {cfg.name} at {cfg.dir} ({template}: {cfg.direction} {cfg.metric}); judge frozen")
    typer.echo(f"next: alphamine lab check {name}  ·  alphamine lab run {name} --worker-cmd \"...\"")


@lab_app.command("run")
def run(
    lab: LabArg,
    n: Annotated[int | None, typer.Option("--n", min=1, help="Experiments (default: resume, else 5).")] = None,
    worker: WorkerOpt = None,
    worker_cmd: WorkerCmdOpt = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Experiments in flight at once.")] = None,
    worker_timeout: Annotated[float, typer.Option("--worker-timeout", help="Seconds per worker call.")] = 900.0,
) -> None:
    """Run N experiments: worker -> validate -> frozen judge (fixes) -> one record; Critic and Director."""
    from alphamine.lab.loop import LabRunner, pending_run

    console = _console()
    with lab_errors():
        cfg = _lab(lab)
        pending = pending_run(cfg) if n is None else None
        kind = worker or ("scripted" if worker_cmd else (pending.worker if pending else "llm"))
        command = worker_cmd or (pending.worker_cmd if pending and kind == "scripted" else None)
        k = workers or (pending.workers if pending else 1)
        agent, critic, director = build_worker(cfg, kind, command, worker_timeout)
        runner = LabRunner(cfg, agent, critic=critic, director=director,
                           echo=lambda line: console.print(escape(line)), worker_cmd=command)
        try:
            runner.run(n, k)
        except KeyboardInterrupt:
            console.print(f"stopped; `alphamine lab run {escape(lab)}` resumes the run")
            raise typer.Exit(130) from None


@lab_app.command("noise")
def noise(
    lab: LabArg,
    repeats: Annotated[int, typer.Option("--repeats", min=2, help="Times the baseline is scored.")] = 5,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Repeats in flight at once (load).")] = 1,
) -> None:
    """Score the baseline K times and record the objective's noise band (per level of concurrency)."""
    from alphamine.lab.noise import measure_noise
    from alphamine.lab.session import open_study
    from alphamine.lab.state import lab_lock, run_lock, update_state

    with lab_errors():
        cfg = _lab(lab)
        with run_lock(cfg, "lab noise"):
            study = open_study(cfg, typer.echo)
            band = measure_noise(cfg, study.judge, repeats, workers)
            with lab_lock(cfg):
                update_state(cfg, lambda s: s.noise.__setitem__(str(workers), band.to_json()))
    values = ", ".join(f"{v:.6g}" for v in band.values)
    typer.echo(f"{cfg.metric}: mean {band.mean:.6g}, std {band.std:.3g}, band ±{band.band:.3g} "
               f"({repeats} repeats, {workers} at a time): {values}")


@lab_app.command("check")
def check(
    lab: LabArg,
    worker: WorkerOpt = None,
    worker_cmd: WorkerCmdOpt = None,
) -> None:
    """Check the folder contract, the judge's wiring (and that it scores sample.py), and the worker."""
    from alphamine.lab.check import FAIL, Check, check_lab, passed
    from alphamine.lab.config import LabError
    from alphamine.lab.state import load_state

    console = _console()
    with lab_errors():
        cfg = _lab(lab)
        last = load_state(cfg)
        remembered = last.last_worker if last is not None else {}
        kind = worker or ("scripted" if worker_cmd else remembered.get("worker"))
        command = worker_cmd or remembered.get("worker_cmd")
        extra: list[Check] = []
        agent = None
        if kind is not None:
            try:
                agent = build_worker(cfg, kind, command, 900.0)[0]
            except LabError as e:
                extra.append(Check("worker", FAIL, str(e)))
        checks = check_lab(cfg, agent)
        if extra:
            checks = [c for c in checks if c.name != "worker"] + extra
    for c in checks:
        console.print(f"{_SYMBOL.get(c.status, '?')} [bold]{escape(c.name)}[/bold] — {escape(c.message)}")
    counts = {s: sum(c.status == s for c in checks) for s in ("ok", "warn", "fail")}
    console.print(f"{counts['ok']} ok · {counts['warn']} warn · {counts['fail']} fail")
    raise typer.Exit(0 if passed(checks) else 1)


@lab_app.command("status")
def status(
    lab: LabArg,
    as_json: Annotated[bool, typer.Option("--json", help="The dashboard's state as JSON.")] = False,
) -> None:
    """The lab's records, best value, noise band, judge and unfinished run."""
    from rich.table import Table

    from alphamine.lab.judge import judge_hashes
    from alphamine.lab.serve import lab_state
    from alphamine.lab.state import load_state

    with lab_errors():
        cfg = _lab(lab)
        facts: dict[str, Any] = lab_state(cfg)
        state = load_state(cfg)
    if state is not None:
        facts["judge_frozen"] = bool(state.judge) and state.judge == judge_hashes(cfg)
        facts["unfinished_run"] = None if state.run is None else vars(state.run)
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
        return
    console = _console()
    table = Table(title=f"{cfg.name}: {cfg.direction} {cfg.metric}")
    for column in ("#", "experiment", cfg.metric, "best", "significant", "notes"):
        table.add_column(column)
    for i, row in enumerate(facts["results"], 1):
        value = cfg.value(row)
        table.add_row(str(i), escape(str(row.get("experiment_file", "?"))),
                      "—" if value is None else f"{value:.6g}", "★" if row.get("best_so_far") else "",
                      "★" if row.get("significant_best") else "", escape(str(row.get("notes", ""))[:60]))
    console.print(table)
    best, band = facts["best"], facts["noise"]
    best_text = "—" if best is None else f"{best:.6g}"
    band_text = "not measured" if band is None else f"±{band['band']:.3g} ({band['repeats']} repeats)"
    console.print(f"best {cfg.metric}: {best_text} · noise band: {band_text}")
    if state is not None:
        console.print(f"judge: {'frozen, unchanged' if facts['judge_frozen'] else 'CHANGED or not frozen'}")
        if state.run is not None:
            console.print(f"unfinished run: `alphamine lab run {escape(lab)}` resumes it")


@lab_app.command("serve")
def serve(
    lab: LabArg,
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1.")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
) -> None:
    """A dashboard: metric per experiment with the best-so-far line, results, Critic and Director notes."""
    from alphamine.lab.serve import serve as serve_lab

    with lab_errors():
        cfg = _lab(lab)
    typer.echo(f"lab {cfg.name}: http://{host}:{port}/  (Ctrl-C stops)")
    serve_lab(cfg, host, port)


@lab_app.command("freeze")
def freeze(
    lab: LabArg,
    accept_ledger: Annotated[
        bool, typer.Option("--accept-ledger", help="Also accept results.jsonl as it is now.")
    ] = False,
) -> None:
    """Record evaluation.py and validate.py as they are now (a new study; old noise bands are dropped)."""
    from alphamine.lab.session import freeze as freeze_lab

    with lab_errors():
        cfg = _lab(lab)
        freeze_lab(cfg, accept_ledger=accept_ledger)
    typer.echo(f"froze the judge of {cfg.name}" + (" and accepted results.jsonl" if accept_ledger else ""))


if __name__ == "__main__":
    lab_app()
