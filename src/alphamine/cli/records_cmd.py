"""`alphamine candidates ...`, `alphamine settings ...`, `alphamine doctor`."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from alphamine.cli.console import expression_column, make_console, print_table
from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, open_records

candidates_app = typer.Typer(help="Browse candidates in the store (list / show with lineage).", no_args_is_help=True)
settings_app = typer.Typer(help="Settings presets: built-in and personal.", no_args_is_help=True)


@candidates_app.command("list")
def list_candidates(
    run_id: Annotated[str | None, typer.Option("--run-id", help="Only this run.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status (ready, promising, rejected, ...).")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list for machines (all metrics).")] = False,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Candidates with their status and IS metrics, best IS fitness first."""
    with open_records(runtime_root, db) as store:
        rows = store.candidates(run_id=run_id, status=status)
        results = store.results_for([r.id for r in rows])
    rows = sorted(rows, key=lambda r: (-(results[r.id].metrics["is"]["fitness"] if r.id in results else -1e9), r.id))
    if as_json:
        typer.echo(json.dumps([candidate_record(r, results.get(r.id)) for r in rows[:limit]], indent=2))
        return
    table = Table(title=f"{len(rows)} candidates")
    for col in ("id", "run", "status", "generator"):
        table.add_column(col, overflow="fold")
    expression_column(table)
    for col in ("IS Sharpe", "fitness", "turnover"):
        table.add_column(col, justify="right")
    for r in rows[:limit]:
        m = results[r.id].metrics["is"] if r.id in results else None
        table.add_row(
            str(r.id),
            r.run_id,
            r.status,
            r.generator,
            escape(r.expression),
            f"{m['sharpe']:.2f}" if m else "",
            f"{m['fitness']:.2f}" if m else "",
            f"{m['turnover']:.1%}" if m else "",
        )
    print_table(make_console(), table)


def candidate_record(row: Any, result: Any) -> dict[str, Any]:
    """A candidate as plain JSON: identity, status, settings (BRAIN spelling), thesis and, when
    simulated, the IS/OS metrics (plain floats)."""
    rec: dict[str, Any] = {
        "id": row.id,
        "run_id": row.run_id,
        "iteration": row.iteration,
        "status": str(row.status),
        "generator": row.generator,
        "expression": row.expression,
        "parent_id": row.parent_id,
        "strategy": row.strategy,
        "settings": row.settings.to_brain(),
        "thesis": row.thesis.type,
    }
    if result is not None:
        rec["metrics"] = {p: _plain(result.metrics[p]) for p in ("is", "os")}
        rec["failed_checks"] = result.failed_checks()
    return rec


def _plain(block: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if isinstance(v, float) else int(v) if isinstance(v, int) else v) for k, v in block.items()}


def _sharpe(block: dict[str, Any] | None) -> str:
    value = (block or {}).get("sharpe")
    return "–" if value is None else f"{value:.4g}"


def sharpe_line(res: Any) -> str:
    """Search | validation | OS Sharpe side by side (the search reads `train`, only the gate reads the
    validation block `test`, no rule reads OS); without a validation window the search read IS."""
    m = res.metrics
    if res.test_range[1] > res.test_range[0]:
        search, val = m.get("train"), m.get("test")
        s, v = (search or {}).get("sharpe"), (val or {}).get("sharpe")
        ratio = f"{v / s:.4g}" if isinstance(s, float) and isinstance(v, float) and s else "–"
        return (f"Sharpe: search {_sharpe(search)} | validation {_sharpe(val)} (validation / search {ratio}) | "
                f"OS {_sharpe(m['os'])} | IS {_sharpe(m['is'])}")  # fmt: skip
    return f"Sharpe: search = IS {_sharpe(m['is'])} (no validation window) | OS {_sharpe(m['os'])}"


def print_gate_checks(console: Any, gate: Any, gate_config: dict[str, Any]) -> None:
    """The checks of the latest gate record that judged checks, trial-aware ones included: result, value,
    limit, the rule a FAIL broke (what the rule requires, from `gate_config`, the judging run's gate
    settings) and the numbers behind the trial-aware checks (`report.research`, as the reports say it)."""
    from alphamine.report.research import TRIAL_RULES, check_detail, failed_rule, rule_text

    table = Table(title=f"gate checks (latest judged record: {gate.verdict}, {str(gate.created_at)[:19]})")
    for col in ("check", "result", "value", "limit", "rule that failed"):
        table.add_column(col, justify="right" if col in ("value", "limit") else "left")
    for c in gate.checks:
        table.add_row(
            escape(str(c.get("name"))),
            escape(str(c.get("result"))),
            _number(c.get("value")),
            _number(c.get("limit")),
            escape(failed_rule(c)) if c.get("result") == "FAIL" else "",
        )
    print_table(console, table)
    for c in gate.checks:
        if detail := check_detail(c):
            console.print(escape(f"  {c.get('name')}: {detail}"))
    for c in gate.checks:
        if c.get("result") == "FAIL":
            name = str(c.get("name"))
            rule = f" (rule: {rule_text(name, gate_config, c.get('limit'))})" if name in TRIAL_RULES else ""
            console.print(escape(f"held back by {name}: {failed_rule(c)}{rule}"))


def _number(x: Any) -> str:
    if x is None:
        return ""
    return f"{x:.4g}" if isinstance(x, float) else escape(str(x))


def _label(row: Any, result: Any) -> str:
    m = (
        f" IS Sharpe {result.metrics['is']['sharpe']:.2f}, fitness {result.metrics['is']['fitness']:.2f}"
        if result
        else ""
    )
    how = f" [{row.strategy}]" if row.strategy else ""
    return escape(f"#{row.id}{how} {row.expression} ({row.status}{',' if m else ''}{m})")


@candidates_app.command("show")
def show_candidate(
    candidate_id: Annotated[int, typer.Argument(help="Candidate id.")],
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """One candidate: settings, thesis, history, IS/OS metrics, checks and its lineage tree."""
    console = make_console()
    with open_records(runtime_root, db) as store:
        try:
            row = store.get_candidate(candidate_id)
        except KeyError:
            raise fail(f"no candidate #{candidate_id} in {store.url}") from None
        lineage = store.lineage(candidate_id)
        children = store.children(candidate_id)
        results = store.results_for([r.id for r in [*lineage, *children]])
        gates = store.gate_history(candidate_id)
        judged = next((g for g in reversed(gates) if g.checks), None)
        gate_run = store.get_run(judged.run_id) if judged is not None else None
    console.print(f"[bold]#{row.id}[/bold] {escape(row.expression)}")
    console.print(
        f"run {row.run_id}, iteration {row.iteration + 1}, generator {row.generator}, status [bold]{row.status}[/bold]"
    )
    console.print(f"settings {json.dumps(row.settings.to_brain(), sort_keys=True)}")
    console.print(escape(f"thesis: {row.thesis.type}: {row.thesis.rationale} Watch for: {row.thesis.failure_mode}"))
    res = results.get(row.id)
    if res is not None:
        t = Table(title="IS | OS")
        t.add_column("")
        t.add_column("IS", justify="right")
        t.add_column("OS", justify="right")
        for k in ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin"):
            t.add_row(k, f"{res.metrics['is'][k]:.4g}", f"{res.metrics['os'][k]:.4g}")
        console.print(t)
        console.print(sharpe_line(res))
        console.print("checks: " + ", ".join(f"{c['name']} {c['result']}" for c in res.checks))
    for entry in row.reasons:
        why = f": {entry['reason']}" if entry.get("reason") else ""
        console.print(escape(f"  {str(entry.get('at', ''))[:19]} {entry.get('status', '')}{why}"))
    for g in gates:
        console.print(escape(f"  gate {g.verdict}: {'; '.join(g.reasons)}"))
    if judged is not None:
        print_gate_checks(console, judged, (gate_run.config.get("gate") if gate_run else None) or {})
    tree = Tree(_label(lineage[0], results.get(lineage[0].id)) if lineage else _label(row, res))
    node = tree
    for anc in lineage[1:]:
        node = node.add(_label(anc, results.get(anc.id)))
    for child in children:
        node.add(_label(child, results.get(child.id)))
    console.print("lineage:")
    console.print(tree)


@settings_app.command("list")
def settings_list(runtime_root: RootOpt = DEFAULT_ROOT) -> None:
    """Built-in and personal presets (personal ones live in <runtime-root>/settings_presets.json)."""
    from alphamine.pipeline.presets import DEFAULT_PRESET, PresetError, all_presets

    try:
        presets = all_presets(runtime_root)
    except PresetError as e:
        raise fail(str(e)) from None
    table = Table(title="settings presets")
    for col in ("name", "origin", "universe", "delay", "decay", "neutralization", "truncation"):
        table.add_column(col, no_wrap=col == "name")
    for name, (origin, values) in sorted(presets.items()):
        mark = " (default)" if name == DEFAULT_PRESET else ""
        table.add_row(
            name + mark,
            origin,
            *(str(values.get(k, "")) for k in ("universe", "delay", "decay", "neutralization", "truncation")),
        )
    print_table(make_console(), table)


@settings_app.command("choose")
def settings_choose(
    print_command: Annotated[
        bool, typer.Option("--print-command", help="Print only the equivalent `alphamine run` command.")
    ] = False,
    runtime_root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Pick a preset from a numbered list and print its settings and the equivalent run command."""
    from alphamine.pipeline.presets import PLATFORM_PRESETS, PresetError, all_presets, preset_command

    try:
        presets = sorted(all_presets(runtime_root).items())
    except PresetError as e:
        raise fail(str(e)) from None
    console = make_console(stderr=print_command)  # with --print-command stdout holds the command only
    table = Table(title="settings presets")
    for col in ("#", "name", "for", "region", "universe", "delay", "decay", "neutralization", "truncation"):
        table.add_column(col)
    for i, (name, (origin, v)) in enumerate(presets, start=1):
        where = "BRAIN platform" if name in PLATFORM_PRESETS else f"local data ({origin})"
        keys = ("region", "universe", "delay", "decay", "neutralization", "truncation")
        table.add_row(str(i), name, where, *(str(v.get(k, "USA" if k == "region" else "")) for k in keys))
    print_table(console, table)
    # not typer.prompt: click's prompt writes a space to stdout, which --print-command keeps for the command
    console.print(f"preset number (1-{len(presets)}): ", end="")
    choice = sys.stdin.readline().strip()
    try:
        index = int(choice)
        if not 1 <= index <= len(presets):
            raise ValueError
    except ValueError:
        raise fail(f"choose a number from 1 to {len(presets)}, got {choice!r}") from None
    name, (_, values) = presets[index - 1]
    command = preset_command(name, values, platform=name in PLATFORM_PRESETS)
    if print_command:
        typer.echo(command)
        return
    typer.echo(json.dumps(values, indent=2, sort_keys=True))
    typer.echo(f"run it with: {command}")


@settings_app.command("show")
def settings_show(
    name: Annotated[str, typer.Argument(help="Preset name.")], runtime_root: RootOpt = DEFAULT_ROOT
) -> None:
    """Every setting of a preset, in BRAIN's JSON spelling."""
    from alphamine.pipeline.presets import PresetError, resolve_settings

    try:
        typer.echo(json.dumps(resolve_settings(runtime_root, name, {}).to_brain(), indent=2))
    except PresetError as e:
        raise fail(str(e)) from None


@settings_app.command("save")
def settings_save(
    name: Annotated[str, typer.Argument(help="Name of the personal preset.")],
    base: Annotated[str | None, typer.Option("--from", help="Start from this preset.")] = None,
    universe: Annotated[str | None, typer.Option()] = None,
    delay: Annotated[int | None, typer.Option()] = None,
    decay: Annotated[int | None, typer.Option()] = None,
    neutralization: Annotated[str | None, typer.Option()] = None,
    truncation: Annotated[float | None, typer.Option()] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Save a personal preset (a built-in one with your overrides)."""
    from alphamine.pipeline.presets import PresetError, resolve_settings, save_personal_preset
    from alphamine.sim.settings import SettingsError

    try:
        s = resolve_settings(
            runtime_root,
            base,
            {
                "universe": universe,
                "delay": delay,
                "decay": decay,
                "neutralization": neutralization,
                "truncation": truncation,
            },
        )
        path = save_personal_preset(runtime_root, name, s)
    except (PresetError, SettingsError) as e:
        raise fail(str(e)) from None
    typer.echo(f"saved preset {name!r} in {path}")


def doctor(
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
    check_llm: Annotated[
        bool, typer.Option("--check-llm", help="Resolve the LLM configuration (sources, key masked) and make "
                           "one tiny call.")
    ] = False,
) -> None:
    """Check the environment, the bundled data and the store's health (and the LLM with --check-llm)."""
    import numba
    import numpy
    import pandas

    console = make_console()
    ok = True

    def line(good: bool, what: str, detail: str) -> None:
        nonlocal ok
        ok = ok and good
        console.print(f"[{'green' if good else 'red'}]{'ok ' if good else 'BAD'}[/] {what}: {detail}")

    line(sys.version_info >= (3, 11), "python", platform.python_version())
    line(True, "libraries", f"numpy {numpy.__version__}, numba {numba.__version__}, pandas {pandas.__version__}")
    line(True, "machine", f"{os.cpu_count()} cores, {platform.machine()}")
    try:
        from alphamine.data.sample import load_sample

        p = load_sample()
        line(
            p.shape == (1259, 505),
            "bundled sample",
            f"{p.n_days} days x {p.n_instruments} instruments, fingerprint {p.fingerprint()[:12]}",
        )
    except Exception as e:
        line(False, "bundled sample", str(e))
    try:
        from alphamine.sim.simulate import simulate

        r = simulate("rank(-returns)", p, {"universe": "TOP100"})
        line(True, "simulator", f"rank(-returns) on TOP100: IS Sharpe {r.metrics['is']['sharpe']:.2f}")
    except Exception as e:
        line(False, "simulator", str(e))
    try:
        from alphamine.pipeline.controller import open_store

        store = open_store(runtime_root, db)
        try:
            health = store.health() if hasattr(store, "health") else {}
            line(
                bool(health.get("ok", True)),
                "store",
                f"{store.url}, schema v{store.schema_version}, "
                f"{len(store.list_runs())} runs {json.dumps(health) if health else ''}",
            )
        finally:
            store.close()
    except Exception as e:
        line(False, "store", str(e))
    chromium = next((c for c in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(c).exists()), None)
    line(True, "chromium (for report screenshots in tests)", chromium or "not installed (optional)")
    if check_llm:
        _doctor_llm(console, line)
    if not ok:
        raise typer.Exit(1)


def _doctor_llm(console: Any, line: Any) -> None:
    """`doctor --check-llm`: every setting with the source it came from (the key masked), then one tiny
    call; a configuration error or a failed call is BAD, a skipped call (nothing configured) is not."""
    from alphamine.llm.client import LLMClient
    from alphamine.llm.config import LLMConfigError, resolve_config
    from alphamine.llm.doctor import check_llm as lines_of

    try:
        lines = lines_of(resolve_config(), LLMClient)
    except LLMConfigError as e:
        line(False, "LLM config", str(e))
        return
    for text in lines[:-1]:
        console.print(f"    {escape(text)}")
    last = lines[-1] if lines else "LLM call: skipped"
    line(not last.startswith("LLM call: FAILED"), "LLM", escape(last.removeprefix("LLM call: ")))
