"""The alpha memory's file and tables, and how one stored candidate becomes one row of evidence.

Why a file of its own (`<runtime-root>/alpha_memory.sqlite3`, SQLite in WAL mode like the store): the
memory is derived data, rebuilt from the store by `ingest`; keeping it out of the main store means its
tables never take part in the store's migrations (`store.migrations`), a store on PostgreSQL (`--db`)
still gets a local memory, and deleting the file only forgets. Its version table is
`memory_schema_version` (not the store's `schema_version`), so neither file can be mistaken for the other.

What a candidate contributes (`classify`, `candidate_keys`):
- pool: `learnable` (a decided simulation: ready, gate_pending, promising, rejected, or failed = the
  simulation itself errored), `invalid` (lint or settings refused it: tested, but never simulated),
  `undecided` (simulated, no verdict yet) or `untested` (generated, queued, duplicate). Only
  `learnable` rows enter success rates; `learnable` and `invalid` rows enter the hard-failure rate;
  `undecided` and `untested` rows are only counted.
- outcome (learnable only): ready 1.0; gate_pending and promising 0.5 (passed the simulation checks,
  or judged worth repairing); rejected and failed 0.0.
- failure modes, the tags `research.summary` uses: the FAIL checks of the simulation and of the latest
  gate record that judged checks, `lint:<CODE>` (`invalid` for refused settings) and `SIMULATION_ERROR`.
  A ready candidate has none.
- hard failure: a failure no tuning of the same idea fixes: `SIMULATION_ERROR`, an invalid candidate,
  or a FAIL of one of `HARD_CHECKS` (too little data, one name carrying the book, stale inputs).
- keys: dataset (`run_dataset`), region, field families (`field_family`), operators, operator skeleton
  (`operator_skeleton`), template family (the generator string), thesis type, prompt version
  (`params["prompt_version"]`, LLM candidates).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Float, Index, Integer, MetaData, String, Table, Text, insert, inspect, select

from alphamine.store.base import utcnow
from alphamine.store.errors import StoreUnreadableError
from alphamine.store.migrations import check_not_newer
from alphamine.store.schema import ID, NAMING, TS, WORD
from alphamine.store.status import CandidateStatus as S

MEMORY_FILENAME = "alpha_memory.sqlite3"
MEMORY_VERSION = 1

LEARNABLE, INVALID, UNDECIDED, UNTESTED = "learnable", "invalid", "undecided", "untested"
OUTCOME: dict[str, float] = {S.READY: 1.0, S.GATE_PENDING: 0.5, S.PROMISING: 0.5, S.REJECTED: 0.0, S.FAILED: 0.0}
HARD_CHECKS = frozenset({"DATA_LENGTH", "CONCENTRATED_WEIGHT", "STALE_DATA", "DATA_FRESHNESS"})
SIMULATION_ERROR = "SIMULATION_ERROR"
KINDS = ("field_family", "operator", "skeleton", "template", "thesis", "prompt")
"""The scoring dimensions, in `MemoryKeys` order; `failure_mode` rows sit in the same key table."""

PV_FIELDS = frozenset({"open", "high", "low", "close", "vwap", "volume", "adv20", "returns", "cap",
                       "dollar_volume", "sharesout"})
GROUP_FIELDS = frozenset({"market", "sector", "industry", "subindustry", "country", "exchange"})

def _ids() -> list[Column[Any]]:
    return [Column("run_id", ID, primary_key=True), Column("candidate_id", Integer, primary_key=True,
                                                           autoincrement=False)]


def _scope() -> list[Column[Any]]:
    return [Column("dataset", String(200), nullable=False), Column("region", WORD, nullable=False)]


md = MetaData(naming_convention=NAMING)
VERSION_TABLE = Table("memory_schema_version", md, Column("version", Integer, primary_key=True, autoincrement=False),
                      Column("applied_at", TS, nullable=False))
MEMORY_RUNS = Table(
    "memory_runs", md, Column("run_id", ID, primary_key=True), *_scope(),
    Column("run_created_at", TS, nullable=False), Column("ingested_at", TS, nullable=False),
    *(Column(n, Integer, nullable=False) for n in ("learnable", "invalid", "undecided", "untested", "ready", "hard")),
    Column("mean_outcome", Float, nullable=True),
)
EVIDENCE = Table(
    "memory_evidence", md, *_ids(), *_scope(),
    Column("observed_at", TS, nullable=False),  # the candidate's last status change (recency)
    Column("status", WORD, nullable=False),
    Column("pool", WORD, nullable=False),
    Column("outcome", Float, nullable=True),  # learnable rows only
    Column("hard", Integer, nullable=False),  # 0/1
    Column("expression", Text, nullable=False),
    Index(None, "dataset", "region"),
)
KEYS = Table("memory_keys", md, *_ids(), Column("kind", WORD, primary_key=True),
             Column("value", Text, primary_key=True), Index(None, "kind", "value"))
REPAIRS = Table(
    "memory_repairs", md, *_ids(), Column("check_name", WORD, primary_key=True), *_scope(),
    Column("move", String(200), nullable=False),
    Column("fixed", Integer, nullable=True),  # 1 fixed, 0 still failing, NULL no verdict
)
TABLES = (MEMORY_RUNS, EVIDENCE, KEYS, REPAIRS)


def memory_version(conn: Connection, where: str) -> int:
    """The file's memory schema version (0 when empty); a file holding other tables (the main store,
    anything else) raises `StoreUnreadableError` naming `where` instead of being written to."""
    insp = inspect(conn)
    if not insp.has_table(VERSION_TABLE.name):
        others = sorted(insp.get_table_names())
        if others:
            raise StoreUnreadableError(where, f"it has tables {', '.join(others[:5])} but is not an alpha memory")
        return 0
    return int(conn.execute(select(VERSION_TABLE.c.version).order_by(VERSION_TABLE.c.version.desc())).scalar() or 0)


def migrate_memory(begin: Callable[[], AbstractContextManager[Connection]],
                   read: Callable[[], AbstractContextManager[Connection]], where: str) -> int:
    """Create the tables on first use (one write transaction); an up-to-date file is only read, a newer
    one raises `SchemaTooNewError`. Version 1 is the only version so far: a later one appends a step."""
    with read() as conn:
        version = memory_version(conn, where)
    check_not_newer(version, MEMORY_VERSION, where)
    if version >= MEMORY_VERSION:
        return version
    with begin() as conn:
        version = memory_version(conn, where)  # another process may have created it meanwhile
        if version < MEMORY_VERSION:
            md.create_all(conn)
            conn.execute(insert(VERSION_TABLE).values(version=MEMORY_VERSION, applied_at=utcnow()))
    return MEMORY_VERSION


# ------------------------------------------------------------------------------------------ keys
@dataclass(frozen=True)
class MemoryKeys:
    """What the memory knows a candidate by. Empty tuples / None: the dimension does not apply (an
    unparsable expression has no skeleton; only LLM candidates have a prompt version)."""

    dataset: str
    region: str
    field_families: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    skeleton: str | None = None
    template: str | None = None
    thesis: str | None = None
    prompt_version: str | None = None

    def dimensions(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(kind, values) per dimension that applies, in `KINDS` order."""
        single = (self.skeleton, self.template, self.thesis, self.prompt_version)
        for kind, values in zip(KINDS, (self.field_families, self.operators, *((v,) if v else () for v in single)),
                                strict=True):
            if values:
                yield kind, tuple(values)


def field_family(name: str, catalogue: Mapping[str, Any] | None = None) -> str | None:
    """A field's family: its catalogue `category`; a field the catalogue does not know: "pv" for the
    price-volume names, else the name's prefix before the first "_" (`fnd6_capex` -> "fnd6", the way
    platform field ids are spelled), else "other". None for a grouping or universe field (they only
    condition a signal, as in the theme sampler)."""
    info = catalogue.get(name) if catalogue is not None else None
    if info is not None:
        return None if str(getattr(info.type, "value", info.type)) in ("GROUP", "UNIVERSE") else str(info.category)
    if name in GROUP_FIELDS:
        return None
    if name in PV_FIELDS:
        return "pv"
    prefix = name.partition("_")[0]
    return prefix if "_" in name and prefix else "other"


def operator_skeleton(expression: str) -> str | None:
    """The canonical expression of the inlined program with every field spelled `x` and every numeric
    constant `1` (the convention of the quota allocator's clusters), re-normalized so commutative
    arguments sort the same way; None when the expression does not parse. String and boolean
    arguments stay: they select an operator's mode."""
    from alphamine.expr import Name, Number, canonical, inline, map_nodes, parse

    try:
        node = map_nodes(inline(parse(expression)),
                         lambda n: Name("x") if isinstance(n, Name) else Number(1.0) if isinstance(n, Number) else n)
        return canonical(node)
    except Exception:
        return None


def candidate_keys(candidate: Any, *, dataset: str, catalogue: Mapping[str, Any] | None = None) -> MemoryKeys:
    """The keys of a `Candidate` (not stored yet: fields and operators are read from its expression) or
    a `CandidateRow` (its stored `fields` / `operators`)."""
    from alphamine.expr import fields_used, operators_used, parse

    fields: Sequence[str] | None = getattr(candidate, "fields", None)
    operators: Sequence[str] | None = getattr(candidate, "operators", None)
    if fields is None or operators is None:
        try:
            tree = parse(candidate.expression)
            fields, operators = fields_used(tree, catalogue), operators_used(tree)
        except Exception:
            fields, operators = (), ()
    families = dict.fromkeys(f for f in (field_family(x, catalogue) for x in fields) if f)
    prompt = candidate.params.get("prompt_version") if candidate.params else None
    return MemoryKeys(
        dataset=dataset,
        region=str(candidate.settings.region).upper(),
        field_families=tuple(sorted(families)),
        operators=tuple(sorted(set(operators))),
        skeleton=operator_skeleton(candidate.expression),
        template=candidate.generator or None,
        thesis=candidate.thesis.type or None,
        prompt_version=str(prompt) if prompt else None,
    )


def run_dataset(config: Mapping[str, Any]) -> str:
    """A run's dataset label: `brain:<dataset>` (or `brain`) for a platform run, else its data source:
    `sample`, `synthetic`, `file:<name>` (the file or folder name)."""
    if config.get("backend") == "brain":
        dataset = (config.get("platform") or {}).get("dataset")
        return f"brain:{dataset}" if dataset else "brain"
    data = config.get("data") or {}
    kind = str(data.get("kind") or "sample")
    return f"file:{Path(str(data['path'])).name}" if kind == "file" and data.get("path") else kind


def cheap_catalogue(config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The run's field catalogue when it can be read without loading any array: the sample's or a
    panel cache's manifest, the synthetic market's fixed catalogue; else None (platform runs, raw
    files, anything unreadable), and `field_family` falls back to names."""
    try:
        from alphamine.data.sources import DataSource

        source = DataSource.model_validate(config.get("data") or {})
        if config.get("backend") == "brain":
            return None
        if source.kind == "sample":
            from alphamine.data.sample_paths import sample_catalogue

            found = sample_catalogue()
            return found[0] if found else None
        if source.kind == "synthetic":
            from alphamine.data.synthetic_parts import catalogue

            return catalogue(4)
        if source.path and (Path(source.path) / "panel.json").is_file():
            from alphamine.data.cache_manifest import read_catalogue

            return read_catalogue(source.path)[0]
    except Exception:
        return None
    return None


# ------------------------------------------------------------------------------------------ outcome
@dataclass(frozen=True)
class Outcome:
    """How a candidate counts (module doc): its pool, outcome (learnable only), hard failure, tags."""

    pool: str
    outcome: float | None
    hard: bool
    failure_modes: tuple[str, ...]


_LINT = re.compile(r"^lint ([A-Z_]+):")


def failing(checks: Sequence[Mapping[str, Any]] | None) -> list[str]:
    return [str(c.get("name")) for c in checks or () if c.get("result") == "FAIL"]


def classify(status: str, last_reason: str, checks: Sequence[Mapping[str, Any]] | None,
             gate_checks: Sequence[Mapping[str, Any]] | None) -> Outcome:
    """The evidence a candidate in `status` gives (module doc). `last_reason` is its latest status
    reason, `checks` its simulation's checks, `gate_checks` those of its latest gate record that judged
    checks (None: none)."""
    if status == S.INVALID:
        m = _LINT.match(last_reason)
        return Outcome(INVALID, None, True, (f"lint:{m.group(1)}" if m else "invalid",))
    if status == S.SIMULATED:
        return Outcome(UNDECIDED, None, False, ())
    if status not in OUTCOME:
        return Outcome(UNTESTED, None, False, ())
    if status == S.FAILED:
        return Outcome(LEARNABLE, 0.0, True, (SIMULATION_ERROR,))
    if status == S.READY:
        return Outcome(LEARNABLE, 1.0, False, ())
    modes = tuple(dict.fromkeys([*failing(checks), *failing(gate_checks)]))
    return Outcome(LEARNABLE, OUTCOME[status], not HARD_CHECKS.isdisjoint(modes), modes)
# ------------------------------------------------------------------------------------------ summary
@dataclass(frozen=True)
class KeyRow:
    """A key in the summary: `rate` the raw mean outcome, `score` the decayed and shrunk one."""

    value: str
    n: int
    ready: int
    untested: int
    rate: float | None
    score: float
    hard_rate: float | None


@dataclass(frozen=True)
class FailureRow:
    """A failure mode: candidates carrying it and their `share` of the learnable and invalid rows."""

    mode: str
    count: int
    share: float


@dataclass(frozen=True)
class RepairMemory:
    """Repair children (`repair:<CHECK>`, `optimizer:<Name>`) of one (check, move): how often the child
    passed the check its parent failed (`rate` = fixed / judged)."""

    check: str
    move: str
    attempts: int
    judged: int
    fixed: int
    rate: float | None


@dataclass(frozen=True)
class MemoryRun:
    run_id: str
    dataset: str
    region: str
    run_created_at: str
    ingested_at: str
    learnable: int
    invalid: int
    undecided: int
    untested: int
    ready: int
    hard: int
    mean_outcome: float | None


SECTIONS = ("field_families", "operators", "skeletons", "templates", "thesis_types", "prompts")


@dataclass(frozen=True)
class MemorySummary:
    """`AlphaMemory.summary`: the scope, its priors, rows per pool, a section per key kind (most simulated
    first), failure modes, learned repairs and the recent runs; `to_json` / `to_markdown` render it."""

    dataset: str | None
    region: str | None
    half_life_days: float
    prior: float
    risk_prior: float
    counts: Mapping[str, int]
    field_families: list[KeyRow]
    operators: list[KeyRow]
    skeletons: list[KeyRow]
    templates: list[KeyRow]
    thesis_types: list[KeyRow]
    prompts: list[KeyRow]
    failure_modes: list[FailureRow]
    repairs: list[RepairMemory]
    recent_runs: list[MemoryRun]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        scope = ", ".join(f"{k} {v}" for k, v in (("dataset", self.dataset), ("region", self.region)) if v) or "all"
        c = self.counts
        out = [f"# Alpha memory ({scope})", "",
               f"{c.get(LEARNABLE, 0)} simulated and decided candidates (success rates), {c.get(INVALID, 0)} "
               f"invalid, {c.get('undecided', 0) + c.get('untested', 0)} not judged (counted only); prior "
               f"success {self.prior:.1%}, hard failures {self.risk_prior:.1%}; half-life "
               f"{self.half_life_days:g} days.", ""]
        for name in SECTIONS:
            rows: list[KeyRow] = getattr(self, name)
            out += [f"## {name.replace('_', ' ').capitalize()}", ""]
            out += _table(["Key", "Simulated", "Ready", "Untested", "Rate", "Score", "Hard"],
                          [[f"`{r.value}`" if name == "skeletons" else r.value, r.n, r.ready, r.untested,
                            _pct(r.rate), _pct(r.score), _pct(r.hard_rate)] for r in rows])
        out += ["## Failure modes", ""]
        out += _table(["Mode", "Candidates", "Share"], [[f.mode, f.count, _pct(f.share)] for f in self.failure_modes])
        out += ["## Learned repairs", ""]
        out += _table(["Check", "Move", "Attempts", "Judged", "Fixed", "Fix rate"],
                      [[r.check, r.move, r.attempts, r.judged, r.fixed, _pct(r.rate)] for r in self.repairs])
        out += ["## Recent runs", ""]
        out += _table(["Run", "Dataset", "Region", "Simulated", "Ready", "Hard", "Untested", "Mean outcome"],
                      [[r.run_id, r.dataset, r.region, r.learnable, r.ready, r.hard, r.untested + r.undecided,
                        _pct(r.mean_outcome)] for r in self.recent_runs])
        return "\n".join(out)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    """A Markdown table; a column of numbers and percentages is right-aligned."""
    if not rows:
        return ["(none yet)", ""]
    numeric = [all(isinstance(r[i], int | float) or str(r[i]).endswith("%") or r[i] == "—" for r in rows)
               for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    return [*lines, *("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |" for r in rows), ""]
