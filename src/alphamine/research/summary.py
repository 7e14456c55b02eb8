"""The research summary: is the search working, and what should change next?

Why: the run report lists candidates; it does not say where the candidates were lost, which ideas
produce ready alphas, how much of a ready alpha's edge survives validation, OS and a change of market
regime, or what to do about it. This module answers those questions from the store alone (plus the
run's panel for regimes and field families) for one run or several, as numbers and as plain sentences.

Contract (`summarize` reads, never writes):
- Funnel: generated → linted → simulated → promising → ready, with the `store.status` sets.
- Failure tags: per candidate, the union of its simulation's FAIL checks, the FAIL checks of its latest
  gate record that judged checks, ``lint:<CODE>`` (or ``invalid``) for an invalid candidate and
  ``SIMULATION_ERROR`` for a failed one; each tag counts a candidate once.
- Producers: per operator, field family (the catalogue's `category`, else the field name) and template
  family (the part after ``template:`` in the generator, else the generator's kind), the simulated
  candidates using it and how many of them are ready.
- Ready alphas: IS / OS / search / validation Sharpe (search = `train` with a validation window, else
  IS), OS/IS and validation/search ratios (NaN when undefined), DSR and trial counts from the latest
  gate record's DEFLATED_SHARPE check, and the Sharpe per market regime (`research.regimes`, point in
  time, on the alpha's universe, over every PnL day from its first position, IS and OS). Regimes
  need the run's panel; when it cannot be loaded or its fingerprint differs from the run's, the
  regimes of that run are skipped and `regime_notes[run_id]` says why.
- Recommendations and Markdown: `research.summary_text` (its rules and thresholds are documented there).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from alphamine.research.regimes import (
    TREND_NAMES,
    VOL_NAMES,
    RegimeStat,
    market_return,
    sharpe_by_regime,
    up_down,
    volatility_terciles,
)
from alphamine.research.repair_table import RepairRow, outcomes_from_store, repair_success
from alphamine.research.summary_text import markdown, recommend
from alphamine.sim.checks import aligned_correlation
from alphamine.store.status import LINTED_STATUSES, PROMISING_STATUSES, SIMULATED_STATUSES, CandidateStatus

if TYPE_CHECKING:
    from alphamine.data.panel import Panel
    from alphamine.store import CandidateRow, GateRow, ResultRow, RunRow, Store

PanelLoader = Callable[["RunRow"], "Panel"]



@dataclass(frozen=True)
class Funnel:
    """Candidates at each stage (`store.status` sets): every later count is a subset of the earlier."""

    generated: int
    linted: int
    simulated: int
    promising: int
    ready: int


@dataclass(frozen=True)
class TagCount:
    """A failure tag and the number of candidates carrying it."""

    tag: str
    count: int


@dataclass(frozen=True)
class Producer:
    """An operator / field family / template family: simulated candidates using it, ready ones, and
    the rate ready / simulated."""

    name: str
    ready: int
    simulated: int
    rate: float


@dataclass(frozen=True)
class StaleField:
    """A field whose values are stale (STALE_DATA share above its limit) in validation or OS for
    `candidates` simulated candidates."""

    field: str
    family: str
    candidates: int


@dataclass(frozen=True)
class ReadyAlpha:
    """A ready candidate's numbers (annualized Sharpe ratios; ratios NaN when undefined), the DSR and
    trial counts the gate recorded, and its Sharpe per regime (`VOL_NAMES`, then `TREND_NAMES`)."""

    id: int
    run_id: str
    expression: str
    generator: str
    family: int  # lineage root id
    is_sharpe: float
    os_sharpe: float
    search_sharpe: float
    validation_sharpe: float  # NaN without a validation window
    os_is_ratio: float
    validation_search_ratio: float
    dsr: float  # NaN when the gate recorded no DEFLATED_SHARPE (classic mode)
    n_trials_family: int | None
    n_trials_run: int | None
    effective_trials: float
    regimes: dict[str, RegimeStat] = field(default_factory=dict)  # empty when skipped


@dataclass(frozen=True)
class ResearchSummary:
    """Everything `summarize` found; `to_json` / `to_markdown` are its two outputs. Producer and tag
    lists are sorted best first (most ready, then highest rate; most candidates)."""

    run_ids: tuple[str, ...]
    funnel: Funnel
    failure_tags: list[TagCount]
    operators: list[Producer]
    field_families: list[Producer]
    template_families: list[Producer]
    ready: list[ReadyAlpha]
    trials_per_ready: float  # simulated candidates per ready alpha (NaN without ready)
    median_os_is: float
    median_validation_search: float
    os_positive_share: float  # of ready alphas with OS Sharpe > 0
    max_correlation: float  # largest pairwise PnL correlation among ready alphas (NaN with < 2)
    correlated_pair: tuple[int, int] | None
    largest_family: int | None  # lineage root id holding most ready alphas
    largest_family_share: float
    stale_fields: list[StaleField]
    repairs: list[RepairRow]
    regime_notes: dict[str, str]  # run id -> why its regimes were skipped (or computed differently)
    recommendations: list[str]

    def to_json(self) -> dict[str, Any]:
        """Plain Python types (lists, dicts, str, int, float, None); NaN and infinities become None."""
        return _plain(asdict(self))

    def to_markdown(self) -> str:
        return markdown(self)


# ------------------------------------------------------------------------------------------ computing
def load_run_panel(run: RunRow) -> Panel:
    """The panel a run was mined on, from its stored config's data source (no pipeline import: the
    research layer sits below the pipeline)."""
    from alphamine.data.sources import DataSource, open_source

    return open_source(DataSource.model_validate(run.config.get("data") or {}))


def summarize(store: Store, run_ids: Sequence[str], panel_loader: PanelLoader = load_run_panel) -> ResearchSummary:
    """The summary of `run_ids` (each must exist: KeyError otherwise); see the module docstring."""
    rows: list[CandidateRow] = []
    results: dict[int, ResultRow] = {}
    panels: dict[str, Panel | None] = {}  # run id -> its panel, whatever its fingerprint (catalogue)
    same: dict[str, Panel | None] = {}  # run id -> its panel when the fingerprint matches (regimes)
    loaded: dict[str, tuple[Panel | None, str | None]] = {}  # data source -> (panel, loading error)
    notes: dict[str, str] = {}
    repairs = []
    for run_id in dict.fromkeys(run_ids):
        run = store.get_run(run_id)
        if run is None:
            raise KeyError(f"no run {run_id!r} in {store.url}")
        mine = store.candidates(run_id=run_id)
        rows += mine
        results.update(store.results_for([r.id for r in mine], backend=run.config.get("backend")))
        source = json.dumps(run.config.get("data"), sort_keys=True, default=str)
        if source not in loaded:
            loaded[source] = _load(run, panel_loader)
        panel, note = loaded[source]
        if panel is not None and panel.fingerprint() != run.data_fingerprint:
            note = (f"the data changed since the run (fingerprint {panel.fingerprint()[:12]} != "
                    f"{run.data_fingerprint[:12]})")
        note = f"regimes skipped: {note}" if note else None
        panels[run_id], same[run_id] = panel, None if note else panel
        if note:
            notes[run_id] = note
        repairs += outcomes_from_store(store, run_id)
    gates = {r.id: _latest_gate(store.gate_history(r.id)) for r in rows if r.status in SIMULATED_STATUSES}
    families = {r.id: [_family(f, panels[r.run_id]) for f in r.fields] for r in rows}
    simulated = [r for r in rows if r.status in SIMULATED_STATUSES]
    ready_rows = sorted((r for r in rows if r.status == CandidateStatus.READY and r.id in results), key=lambda r: r.id)
    market: dict[tuple[str, str], tuple[np.ndarray, np.ndarray] | None] = {}
    ready = [
        _ready_alpha(r, results[r.id], gates.get(r.id), _labels(market, r, same[r.run_id], notes))
        for r in ready_rows
    ]
    funnel = Funnel(
        generated=len(rows),
        linted=sum(r.status in LINTED_STATUSES for r in rows),
        simulated=len(simulated),
        promising=sum(r.status in PROMISING_STATUSES for r in rows),
        ready=sum(r.status == CandidateStatus.READY for r in rows),
    )
    corr, pair = _max_correlation(ready_rows, results)
    roots = Counter(a.family for a in ready)
    top = roots.most_common(1)[0] if roots else None
    summary = ResearchSummary(
        run_ids=tuple(dict.fromkeys(run_ids)),
        funnel=funnel,
        failure_tags=_failure_tags(rows, results, gates),
        operators=_producers(simulated, lambda r: r.operators),
        field_families=_producers(simulated, lambda r: families[r.id]),
        template_families=_producers(simulated, lambda r: [template_family(r.generator)]),
        ready=ready,
        trials_per_ready=funnel.simulated / funnel.ready if funnel.ready else math.nan,
        median_os_is=_median(a.os_is_ratio for a in ready),
        median_validation_search=_median(a.validation_search_ratio for a in ready),
        os_positive_share=sum(a.os_sharpe > 0 for a in ready) / len(ready) if ready else math.nan,
        max_correlation=corr,
        correlated_pair=pair,
        largest_family=top[0] if top else None,
        largest_family_share=top[1] / len(ready) if top else math.nan,
        stale_fields=_stale_fields(simulated, results, panels),
        repairs=repair_success(repairs),
        regime_notes=notes,
        recommendations=[],
    )
    return replace(summary, recommendations=recommend(summary))


def template_family(generator: str) -> str:
    """"template:<family>" -> family; any other generator -> its kind ("variant:x" -> "variant")."""
    kind, _, rest = generator.partition(":")
    return rest if kind == "template" and rest else kind


def _load(run: RunRow, loader: PanelLoader) -> tuple[Panel | None, str | None]:
    """(the run's panel, None), or (None, why it cannot be loaded): any error is a reason, not a crash
    (data moved or deleted, an unreadable file, the config of an older version)."""
    try:
        return loader(run), None
    except Exception as e:
        return None, f"the run's data cannot be loaded ({type(e).__name__}: {e})"


def _latest_gate(history: Sequence[GateRow]) -> GateRow | None:
    return next((g for g in reversed(history) if g.checks), None)


def _family(name: str, panel: Panel | None) -> str:
    """A field's family: its catalogue category, else (no panel, unknown field) its own name."""
    info = panel.catalogue.get(name) if panel is not None else None
    return info.category if info is not None else name


def _failing(checks: Iterable[Mapping[str, Any]]) -> set[str]:
    return {str(c.get("name")) for c in checks if c.get("result") == "FAIL"}


def _failure_tags(rows: Sequence[CandidateRow], results: Mapping[int, ResultRow],
                  gates: Mapping[int, GateRow | None]) -> list[TagCount]:
    counts: Counter[str] = Counter()
    for r in rows:
        tags = _failing(results[r.id].checks) if r.id in results else set()
        gate = gates.get(r.id)
        tags |= _failing(gate.checks) if gate is not None else set()
        if r.status == CandidateStatus.INVALID:
            reason = str(r.reasons[-1].get("reason") or "") if r.reasons else ""
            code = reason.partition(":")[0].removeprefix("lint ").strip()
            tags.add(f"lint:{code}" if reason.startswith("lint ") and code else "invalid")
        elif r.status == CandidateStatus.FAILED:
            tags.add("SIMULATION_ERROR")
        counts.update(tags)
    return [TagCount(t, n) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _producers(rows: Sequence[CandidateRow], keys: Callable[[CandidateRow], Iterable[str]]) -> list[Producer]:
    sims: Counter[str] = Counter()
    ready: Counter[str] = Counter()
    for r in rows:
        names = set(keys(r))
        sims.update(names)
        if r.status == CandidateStatus.READY:
            ready.update(names)
    out = [Producer(k, ready[k], n, ready[k] / n) for k, n in sims.items()]
    return sorted(out, key=lambda p: (-p.ready, -p.rate, -p.simulated, p.name))


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b != 0 else math.nan


def _median(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(statistics.median(finite)) if finite else math.nan


def _ready_alpha(row: CandidateRow, res: ResultRow, gate: GateRow | None,
                 labels: tuple[np.ndarray, np.ndarray] | None) -> ReadyAlpha:
    is_sr, os_sr = res.metric("sharpe", "is"), res.metric("sharpe", "os")
    validated = res.test_range[1] > res.test_range[0]
    search = res.metric("sharpe", "train") if validated else is_sr
    validation = res.metric("sharpe", "test") if validated else math.nan
    dsr = next((c for c in (gate.checks if gate else []) if c.get("name") == "DEFLATED_SHARPE"), {})
    trials = dsr.get("trials") or {}
    regimes: dict[str, RegimeStat] = {}
    if labels is not None and res.pnl.size == labels[0].size:
        lo = res.first
        regimes = {**sharpe_by_regime(res.pnl[lo:], labels[0][lo:], VOL_NAMES),
                   **sharpe_by_regime(res.pnl[lo:], labels[1][lo:], TREND_NAMES)}
    n_family, n_run = trials.get("n_trials_family"), trials.get("n_trials_run")
    return ReadyAlpha(
        id=row.id, run_id=row.run_id, expression=row.expression, generator=row.generator,
        family=row.root_id if row.root_id is not None else row.id,
        is_sharpe=is_sr, os_sharpe=os_sr, search_sharpe=search, validation_sharpe=validation,
        os_is_ratio=_ratio(os_sr, is_sr), validation_search_ratio=_ratio(validation, search) if validated else math.nan,
        dsr=_num(dsr.get("value")), n_trials_family=None if n_family is None else int(n_family),
        n_trials_run=None if n_run is None else int(n_run), effective_trials=_num(trials.get("effective_trials")),
        regimes=regimes,
    )


def _labels(cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray] | None], row: CandidateRow,
            panel: Panel | None, notes: dict[str, str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(volatility terciles, up/down) of the market of the row's universe, point in time; cached."""
    key = (row.run_id, row.settings.universe)
    if panel is not None and key not in cache:
        from alphamine.sim.simulate import panel_returns

        try:
            universe = panel.universe(row.settings.universe)
        except KeyError:
            why = f"universe {row.settings.universe} is not in the panel: regimes of the whole market"
            notes.setdefault(row.run_id, why)
            universe = None
        market = market_return(panel_returns(panel), universe)
        cache[key] = (volatility_terciles(market), up_down(market))
    return cache.get(key)


def _max_correlation(
    rows: Sequence[CandidateRow], results: Mapping[int, ResultRow]
) -> tuple[float, tuple[int, int] | None]:
    """The largest pairwise PnL correlation among `rows` (on common dates) and its pair; NaN, None with < 2."""
    best, pair = math.nan, None
    series = [(r.id, *results[r.id].pnl_series()) for r in rows]
    for i, (a, da, pa) in enumerate(series):
        for b, db, pb in series[i + 1 :]:
            c = aligned_correlation(da, pa, db, pb)
            if math.isfinite(c) and not c <= best:
                best, pair = c, (a, b)
    return best, pair


def _stale_fields(rows: Sequence[CandidateRow], results: Mapping[int, ResultRow],
                  panels: Mapping[str, Panel | None]) -> list[StaleField]:
    counts: Counter[tuple[str, str]] = Counter()
    for r in rows:
        checks = results[r.id].checks if r.id in results else []
        stale = next((c for c in checks if c.get("name") == "STALE_DATA"), None)
        if stale is None:
            continue
        limit = _num(stale.get("limit"))
        for name, shares in (stale.get("fields") or {}).items():
            if any(_num((shares or {}).get(p)) > limit for p in ("test", "os")):
                counts[(name, _family(name, panels.get(r.run_id)))] += 1
    return [StaleField(f, fam, n) for (f, fam), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def dumps(summary: ResearchSummary) -> str:
    """The summary as indented JSON text (strict: no NaN)."""
    return json.dumps(summary.to_json(), indent=2, allow_nan=False)
