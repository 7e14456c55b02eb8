"""`alphamine submit` and `alphamine usage`: the two commands that touch the BRAIN account itself.

Why `submit` is shaped this way: submitting is irreversible and counts against the account's
daily submissions, so nothing in alphamine submits on its own (the gate only marks candidates
ready). A human lists the alpha ids AND confirms each one again with `--confirm ID`; only ids that
are both listed and confirmed are sent, one by one, and the platform's verdict is printed (the
failing checks on a refusal). Why `usage`: several processes share one account's daily quota; the
ledger they all write (`<runtime-root>/daily_simulation_usage.json`) answers "how much did we
spend today", and the lease file shows what is in flight now.

Contract:
- `submit ALPHA_ID... --confirm ALPHA_ID [--confirm ...] [--brain-url URL] [--secret-file PATH]`:
  unconfirmed ids are skipped with a note, a confirmation of an unlisted id is ignored with a note;
  nothing confirmed, missing credentials or a platform that cannot be reached: one red line, exit 2;
  every confirmed id accepted: exit 0; any refused (403 with checks) or failed: exit 1.
- `usage [--date YYYY-MM-DD] [--runtime-root R] [--json]`: the day's total over all processes,
  per process, and the live leases; reads only (creates nothing when the files do not exist).
Heavy modules (httpx, the client) are imported when a command runs, so `--help` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from alphamine.cli.console import make_console, print_table
from alphamine.cli.data_cmd import fail
from alphamine.runtime import DEFAULT_RUNTIME_ROOT

BrainUrlOpt = Annotated[
    str | None,
    typer.Option("--brain-url", help="BRAIN API base URL (default: BRAIN_API_URL, else api.worldquantbrain.com)."),
]
SecretFileOpt = Annotated[
    Path | None,
    typer.Option("--secret-file", help='Credentials file {"brain": {"email", "password"}} '
                                       "(default ~/secrets/worldquant-brain.json; BRAIN_EMAIL/BRAIN_PASSWORD win)."),
]


def _checks_table(alpha_id: str, checks: list[dict[str, Any]]) -> Table:
    table = Table(title=f"checks of {alpha_id}", title_justify="left")
    for col in ("check", "result", "value", "limit"):
        table.add_column(col, justify="right" if col in ("value", "limit") else "left")
    for c in checks:
        style = {"FAIL": "red", "PASS": "green"}.get(c.get("result", ""), "yellow")
        value, limit = c.get("value"), c.get("limit")
        table.add_row(
            escape(str(c.get("name"))),
            f"[{style}]{escape(str(c.get('result')))}[/{style}]",
            f"{value:.4g}" if isinstance(value, float) else escape(str(value if value is not None else "")),
            f"{limit:.4g}" if isinstance(limit, float) else escape(str(limit if limit is not None else "")),
        )
    return table


def submit(
    alpha_ids: Annotated[list[str], typer.Argument(help="Platform alpha ids to submit.", show_default=False)],
    confirm: Annotated[
        list[str] | None,
        typer.Option("--confirm", help="Confirm the submission of this alpha id (repeat for each id)."),
    ] = None,
    brain_url: BrainUrlOpt = None,
    secret_file: SecretFileOpt = None,
) -> None:
    """Submit alphas to BRAIN: only ids that are listed AND confirmed with --confirm ID."""
    console = make_console()
    listed = list(dict.fromkeys(a.strip() for a in alpha_ids if a.strip()))
    confirmed = {c.strip() for c in confirm or [] if c.strip()}
    for extra in sorted(confirmed - set(listed)):
        console.print(f"[yellow]note:[/yellow] --confirm {escape(extra)} ignored: it is not among the ids to submit")
    for alpha_id in listed:
        if alpha_id not in confirmed:
            console.print(f"skipped {escape(alpha_id)}: not confirmed (add --confirm {escape(alpha_id)} to submit it)")
    todo = [a for a in listed if a in confirmed]
    if not todo:
        raise fail("nothing submitted: confirm each alpha id to submit with --confirm ID")

    from alphamine.brain.client import BrainAuthError, BrainClient, BrainError, BrainUnavailable
    from alphamine.brain.credentials import load_credentials
    from alphamine.brain.retry import CircuitBreaker, RetryPolicy

    try:
        credentials = load_credentials(secret_file=secret_file)
        # a person is waiting: give up on an unreachable platform within about a minute
        client = BrainClient(credentials, base_url=brain_url, retry=RetryPolicy(max_attempts=6, cap=20.0),
                             breaker=CircuitBreaker(threshold=6, pause=10.0, pause_budget=30.0))
    except BrainError as e:
        raise fail(escape(str(e))) from None
    not_accepted = 0
    with client:
        for alpha_id in todo:
            try:
                verdict = client.submit(alpha_id, confirmed=alpha_id in confirmed)
            except (BrainAuthError, BrainUnavailable) as e:
                raise fail(escape(str(e))) from None
            except BrainError as e:
                console.print(f"[red]{escape(alpha_id)}: not submitted:[/red] {escape(str(e))}")
                not_accepted += 1
                continue
            if verdict.submitted:
                console.print(f"[green]{escape(alpha_id)}: {escape(verdict.message)}[/green]")
            else:
                not_accepted += 1
                console.print(f"[red]{escape(alpha_id)}: {escape(verdict.message)}[/red]")
                if verdict.checks:
                    print_table(console, _checks_table(alpha_id, verdict.checks))
    raise typer.Exit(1 if not_accepted else 0)


def usage(
    date: Annotated[str | None, typer.Option("--date", help="Day to report, YYYY-MM-DD (default: today).")] = None,
    runtime_root: Annotated[
        Path, typer.Option("--runtime-root", help="Folder of the shared ledger and lease file.")
    ] = DEFAULT_RUNTIME_ROOT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """BRAIN simulations spent on a day by every alphamine process of a runtime root, and leases in flight."""
    from alphamine.brain import leases as L
    from alphamine.brain import usage as U

    try:
        day = dt.date.fromisoformat(date).isoformat() if date else dt.date.today().isoformat()
    except ValueError:
        raise fail(f"--date must be YYYY-MM-DD (got {escape(date or '')})") from None
    ledger = U.UsageLedger(runtime_root)
    per_process = ledger.by_process(day) if ledger.path.exists() else {}
    lease_file = L.LeaseFile(runtime_root, renew=False)
    live = lease_file.live() if lease_file.path.exists() else []
    total = sum(per_process.values())
    if as_json:
        body = {
            "date": day,
            "total": total,
            "byProcess": per_process,
            "ledger": str(ledger.path),
            "leases": [{"host": x.host, "pid": x.pid, "slots": x.slots, "capacity": x.capacity,
                        "expires": x.expires} for x in live],
        }
        typer.echo(json.dumps(body, indent=2))
        return
    console = make_console()
    console.print(f"BRAIN simulations on {day}: [bold]{total}[/bold] ({escape(str(ledger.path))})")
    if per_process:
        table = Table(title="by process", title_justify="left")
        table.add_column("host:pid")
        table.add_column("simulations", justify="right")
        for process, n in sorted(per_process.items()):
            table.add_row(escape(process), str(n))
        print_table(console, table)
    if live:
        share = sum(x.slots / max(1, x.capacity) for x in live)
        console.print(f"in flight now: {len(live)} leases holding {share:.0%} of the account's simulation slots")
        for x in live:
            console.print(f"  {escape(x.host)}:{x.pid} {x.slots}/{x.capacity} slots")
    else:
        console.print("in flight now: nothing")
