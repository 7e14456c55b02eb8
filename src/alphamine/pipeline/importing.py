"""Import other tools' outputs into a run as candidates (`alphamine parse-artifact`).

Why: alphas found elsewhere (a brain_agent session, another miner's final expressions, a simulation
status sheet exported from the platform) should join a run's queue and be linted, simulated, varied and
gated like the run's own, without ever simulating anything twice. The file formats and their errors
are `alphamine.pipeline.import_formats` (re-exported here).

Contract of `import_rows(store, run_id, rows, iteration=...)`: ONE transaction (all rows or none). A
row's settings are the run's with the row's on top, except `RUN_OWNED` keys: the validation window
(`testPeriod`, `isEnd`), the check profile and `visualization` stay the run's, so imported candidates
are judged like the run's own and share their settings keys. Then, per row:
- same canonical expression and settings as a stored candidate (this run or another: results are
  shared across runs) or as an earlier row: `duplicate`, not stored, reported with the existing
  candidate id;
- an expression that does not parse: stored `invalid` with the syntax error (the import's record is
  complete and a re-import dedups it). Every other lint (fields the run's data lacks, types,
  lookbacks, universes) is INSPECT's, which checks against the run's own catalogue (local panel or
  platform dataset), the one that decides; importing needs neither the data nor the platform;
- otherwise stored `generated` at `iteration`, so the run's next INSPECT / SIMULATE picks it up.
Provenance: the store's `source` column keeps the raw text as written (as for every candidate), so an
import is marked by `generator="import:<kind>"`, the tag `import` and `params` {"artifact" (file
name), "line" (CSV line or JSON index), "where" ("line 4" / "item 2"), "alpha_id", "platform" (the
other tool's status and metrics)}: a claimed metric never becomes a simulation result.

`import_iteration(store, run_id)` picks the iteration: the first whose INSPECT has not finished (where
`resume` will lint and simulate them), with a note when `resume` will not get there (every iteration is
inspected, or the run already has `target_ready` ready candidates and stops before it). Importing into
a run that another process is running may miss the INSPECT it is in the middle of; import into a
stopped (interrupted, failed or just created) run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from alphamine.data.fields import FieldInfo
from alphamine.expr import ParseError, canonical, fields_used, operators_used, parse, structural_hash
from alphamine.generate.candidate import Candidate
from alphamine.generate.thesis import infer_thesis
from alphamine.pipeline.config import STAGES, RunConfig
from alphamine.pipeline.import_formats import ArtifactError, ImportedRow, ImportKind, RowProblem, parse_artifact
from alphamine.sim.settings import Settings, SettingsError, make_settings
from alphamine.store import NotFoundError, Store
from alphamine.store.status import CandidateStatus

__all__ = [
    "ArtifactError",
    "ImportKind",
    "ImportReport",
    "ImportedRow",
    "Outcome",
    "RowOutcome",
    "RowProblem",
    "import_iteration",
    "import_rows",
    "parse_artifact",
]

RUN_OWNED = frozenset({"testPeriod", "isEnd", "checkProfile", "visualization"})


class Outcome(StrEnum):
    ADDED = "added"  # stored `generated` (in a dry run: would be)
    INVALID = "invalid"  # stored `invalid`: the expression does not parse
    DUPLICATE = "duplicate"  # not stored: the store (or an earlier row) has it


@dataclass(frozen=True)
class RowOutcome:
    line: int
    where: str
    expression: str  # canonical text when it parses, else as written
    outcome: Outcome
    candidate_id: int | None  # the stored row (added, invalid) or the existing one (duplicate)
    detail: str = ""


@dataclass(frozen=True)
class ImportReport:
    run_id: str
    iteration: int
    rows: tuple[RowOutcome, ...]
    dry_run: bool = False

    def of(self, outcome: Outcome) -> list[RowOutcome]:
        return [r for r in self.rows if r.outcome == outcome]

    @property
    def added(self) -> list[RowOutcome]:
        return self.of(Outcome.ADDED)

    @property
    def duplicates(self) -> list[RowOutcome]:
        return self.of(Outcome.DUPLICATE)

    @property
    def invalid(self) -> list[RowOutcome]:
        return self.of(Outcome.INVALID)


def import_rows(
    store: Store,
    run_id: str,
    rows: Sequence[ImportedRow],
    *,
    iteration: int,
    catalogue: Mapping[str, FieldInfo] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Store `rows` as candidates of run `run_id` at `iteration` (module doc), or with `dry_run` only
    say what would happen (nothing is written; rows that would be added have no id). `catalogue` (the
    run's fields, when the caller has them) sharpens the inferred thesis. `NotFoundError` for an
    unknown run; `ArtifactError` naming the row when its settings cannot join the run's."""
    run = store.get_run(run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r} in {store.url}")
    base = make_settings(dict(run.config.get("settings") or {}))
    if dry_run:
        return ImportReport(run_id, iteration, _import(store, run_id, rows, iteration, base, catalogue), True)
    with store.transaction() as conn:
        outcomes = _import(store, run_id, rows, iteration, base, catalogue, conn=conn, write=True)
    return ImportReport(run_id, iteration, outcomes)


@dataclass(frozen=True)
class _Parsed:
    text: str  # canonical text, or the expression as written when it does not parse
    expr_hash: str  # structural hash, or `unparsed:<text>` (as `stages.add_candidates`)
    program: Any  # the parsed program, None when it does not parse
    problem: str = ""  # the syntax error


def _parse(expression: str) -> _Parsed:
    try:
        text = canonical(expression)
        return _Parsed(text, structural_hash(text), parse(text))
    except Exception as e:  # ParseError, or a tree too deep to print: the row is `invalid`
        where = f" at expression line {e.line}, column {e.column}" if isinstance(e, ParseError) else ""
        what = e.message if isinstance(e, ParseError) else (str(e).splitlines() or [type(e).__name__])[0]
        return _Parsed(expression, f"unparsed:{expression}", None, f"syntax error{where}: {what}")


def _import(
    store: Store,
    run_id: str,
    rows: Sequence[ImportedRow],
    iteration: int,
    base: Settings,
    catalogue: Mapping[str, FieldInfo] | None,
    *,
    conn: Any = None,
    write: bool = False,
) -> tuple[RowOutcome, ...]:
    out: list[RowOutcome] = []
    seen: dict[tuple[str, str], tuple[str, int | None]] = {}  # (hash, settings key) -> (where, id)
    for row in rows:
        settings = _merged(base, row)
        p = _parse(row.expression)
        key = (p.expr_hash, settings.key())
        if key in seen:
            first, first_id = seen[key]
            out.append(RowOutcome(row.line, row.where, p.text, Outcome.DUPLICATE, first_id, f"repeats {first}"))
            continue
        existing = store.find_candidate(*key, run_id=run_id, conn=conn) or store.find_candidate(*key, conn=conn)
        if existing is not None:
            in_run = "this run" if existing.run_id == run_id else f"run {existing.run_id}"
            seen[key] = (row.where, existing.id)
            detail = f"same as #{existing.id} of {in_run}"
            out.append(RowOutcome(row.line, row.where, p.text, Outcome.DUPLICATE, existing.id, detail))
            continue
        cid = _store(store, run_id, iteration, row, settings, p, catalogue, conn) if write else None
        seen[key] = (row.where, cid)
        outcome = Outcome.INVALID if p.program is None else Outcome.ADDED
        out.append(RowOutcome(row.line, row.where, p.text, outcome, cid, p.problem))
    return tuple(out)


def _merged(base: Settings, row: ImportedRow) -> Settings:
    own = {k: v for k, v in row.settings.items() if k not in RUN_OWNED}
    try:
        return make_settings({**base.to_brain(), **own})
    except SettingsError as e:
        raise ArtifactError(row.artifact, [RowProblem(row.where, "settings", str(e))]) from None


def _store(
    store: Store,
    run_id: str,
    iteration: int,
    row: ImportedRow,
    settings: Settings,
    p: _Parsed,
    catalogue: Mapping[str, FieldInfo] | None,
    conn: Any,
) -> int:
    params: dict[str, Any] = {"artifact": row.artifact, "line": row.line, "where": row.where}
    if row.alpha_id:
        params["alpha_id"] = row.alpha_id
    if row.metadata:
        params["platform"] = dict(row.metadata)
    cand = Candidate(
        expression=row.expression,
        settings=settings,
        generator=f"import:{row.kind.value}",
        thesis=infer_thesis(p.text, catalogue or {}),
        params=params,
        tags=("import",),
    )
    fields = sorted(fields_used(p.program, catalogue)) if p.program is not None else []
    ops = sorted(operators_used(p.program)) if p.program is not None else []
    cid = store.add_candidate(
        run_id, iteration, cand, canonical=p.text, expr_hash=p.expr_hash, fields=fields, operators=ops, conn=conn
    )
    if p.program is None:
        reason = f"import {row.where}: {p.problem}"
        store.set_candidate_status([cid], CandidateStatus.INVALID, reason=reason, conn=conn)
    return cid


def import_iteration(store: Store, run_id: str) -> tuple[int, str | None]:
    """(iteration, note): the first iteration whose INSPECT has not finished, where `resume` will lint
    and simulate imported candidates; the note (None when all is well) says why `resume` will not
    reach them: every iteration is inspected (then the last one is returned), the run already has
    `target_ready` ready candidates and stops before that iteration, or its config is unreadable."""
    run = store.get_run(run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r} in {store.url}")
    try:
        config = RunConfig.model_validate(run.config)
    except ValidationError:
        return run.iteration, f"run {run_id} has a config this alphamine cannot read: `resume` will not run it"
    done = store.finished_stages(run_id)
    pending = next((i for i in range(config.max_iterations) if (i, "INSPECT") not in done), None)
    if pending is None:
        return config.max_iterations - 1, (
            f"run {run_id} has inspected all {config.max_iterations} of its iterations: `resume` will not "
            "simulate these candidates (import into a run with iterations left)"
        )
    ready = len(store.candidates(run_id=run_id, status=CandidateStatus.READY))
    earlier_done = all((i, s) in done for i in range(pending) for s in STAGES)
    if pending > 0 and earlier_done and ready >= config.target_ready:
        return pending, (
            f"run {run_id} already has {ready} ready candidates (target {config.target_ready}): `resume` "
            f"stops before iteration {pending + 1}, so it will not simulate these"
        )
    return pending, None
