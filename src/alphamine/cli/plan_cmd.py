"""`alphamine plan`: which ready (and near-ready) alphas to submit, in which order, within a quota.

Why: the platform accepts a new alpha only when its PnL correlation with every submitted alpha stays
below 0.7, or its Sharpe is at least 1.1x each correlated one's; so the order of submission decides
how many of a batch get in (the weaker of two correlated alphas first). The planner
(`research.planner`) maximizes the number accepted against the existing pool within the quota and says
why for each choice. It never submits: `alphamine submit ID --confirm ID` does, one confirmed id at a time.

Candidates: the run's `ready` alphas and its near-ready ones (held back by the gate on
SELF_CORRELATION alone, which a different order can fix). Pool: `--pool local` = the store's ready
alphas of other runs on the same data and region; `--pool brain` = the account's submitted alphas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from alphamine.cli.console import expression_column, make_console, print_table
from alphamine.cli.data_cmd import fail
from alphamine.cli.platform_cmd import BrainUrlOpt, SecretFileOpt
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, _run_dir, open_records, require_run

NEAR_READY_FAILS = frozenset({"SELF_CORRELATION"})


def _candidates(store: Any, run_id: str) -> list[tuple[Any, Any, str]]:
    """(candidate row, result, "ready" | "near_ready") of the run."""
    from alphamine.store.status import CandidateStatus as CS

    chosen: list[tuple[Any, str]] = [(r, "ready") for r in store.candidates(run_id=run_id, status=CS.READY)]
    for row in store.candidates(run_id=run_id, status=CS.PROMISING):
        history = store.gate_history(row.id)
        if not history:
            continue
        fails = {c["name"] for c in history[-1].checks if c.get("result") == "FAIL"}
        if fails and fails <= NEAR_READY_FAILS:
            chosen.append((row, "near_ready"))
    results = store.results_for([r.id for r, _ in chosen])
    return [(r, results[r.id], status) for r, status in chosen if r.id in results]


def _local_pool(store: Any, run_id: str, region: str, fingerprint: str) -> list[Any]:
    from alphamine.pipeline.gate import pool_entry

    return [pool_entry(r, x) for r, x in store.ready_pool(region=region)
            if r.run_id != run_id and x.data_fingerprint == fingerprint]


def _brain_pool(brain_url: str | None, secret_file: Path | None) -> list[Any]:
    from alphamine.brain.client import BrainClient, BrainError
    from alphamine.brain.credentials import load_credentials
    from alphamine.brain.pool import brain_pool

    try:
        with BrainClient(load_credentials(secret_file=secret_file), base_url=brain_url) as client:
            return brain_pool(client)
    except BrainError as e:
        raise fail(f"cannot read the account's submitted alphas: {escape(str(e))}") from None


def plan(
    run_id: Annotated[str, typer.Option("--run-id", help="The run whose ready alphas to plan.")],
    quota: Annotated[int, typer.Option(help="Most submissions in this batch (the account's daily quota).")] = 5,
    pool: Annotated[str, typer.Option(help="local (ready alphas of other runs) or brain (submitted alphas).")] = (
        "local"
    ),
    output: Annotated[Path | None, typer.Option(help="Where to write the plan (default: the run folder).")] = None,
    brain_url: BrainUrlOpt = None,
    secret_file: SecretFileOpt = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Choose and order a submission batch (never submits): writes submission_plan.json."""
    from alphamine.pipeline.trial_gate import gate_score
    from alphamine.research.planner import PlanCandidate, plan_submissions

    if pool not in ("local", "brain"):
        raise fail(f"--pool must be local or brain, got {pool!r}")
    if quota < 0:
        raise fail(f"--quota must be at least 0, got {quota}")
    console = make_console()
    with open_records(runtime_root, db) as store:
        run_row = require_run(store, run_id)
        found = _candidates(store, run_id)
        if not found:
            raise fail(f"run {run_id} has no ready or near-ready candidate to plan")
        region = found[0][0].settings.region
        existing = (_local_pool(store, run_id, region, run_row.data_fingerprint) if pool == "local"
                    else _brain_pool(brain_url, secret_file))
        cands = []
        for row, res, status in found:
            lo, hi = max(res.is_range[0], res.first), res.is_range[1]
            cands.append(PlanCandidate(id=row.id, name=f"#{row.id}", dates=res.dates[lo:hi], pnl=res.pnl[lo:hi],
                                       sharpe=res.sharpe, score=gate_score(res), status=status))
        result = plan_submissions(cands, existing, quota)
        target = output or _run_dir(run_row, runtime_root) / "submission_plan.json"
        expressions = {row.id: row.expression for row, _, _ in found}
        alpha_ids = {row.id: res.metrics.get("is", {}).get("alphaId") for row, res, _ in found}
    body = {"run_id": run_id, "pool": pool, **result.to_json(),
            "expressions": {str(k): v for k, v in expressions.items()},
            "platform_alpha_ids": {str(k): v for k, v in alpha_ids.items() if v}}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(body, indent=2, allow_nan=False), encoding="utf-8")
    table = Table(title=f"submission plan for run {run_id} ({len(result.entries)} of quota {quota}; pool: "
                        f"{pool}, {result.pool_size} alphas)", title_justify="left")
    for col in ("#", "id", "status", "Sharpe"):
        table.add_column(col)
    expression_column(table)
    table.add_column("why", overflow="fold")
    for e in result.entries:
        table.add_row(str(e.position), str(e.candidate_id), e.status, f"{e.sharpe:.2f}",
                      escape(expressions[e.candidate_id]), escape(e.reason))
    print_table(console, table)
    for s in result.skipped:
        console.print(f"  skipped #{s.candidate_id}: {escape(s.reason)}")
    console.print(f"plan written to {target}. Nothing was submitted; submit with "
                  "`alphamine submit ALPHA_ID --confirm ALPHA_ID`.")
