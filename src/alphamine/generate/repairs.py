"""Check-matched repairs: settings-space and expression moves chosen by the check a candidate failed.

Why: a promising alpha that fails one submission check is usually one standard move away from
passing, and the right move depends on *which* check failed, not on thresholds of the metrics (that
is what the evidence-triggered optimizers in `optimizers.py` do). Many of these moves live in the
settings, not the expression: a larger decay for HIGH_TURNOVER, a smaller (more liquid) universe
for LOW_SUB_UNIVERSE_SHARPE, a lower truncation for CONCENTRATED_WEIGHT, another neutralization for
SELF_CORRELATION. Naming the failing check on every child lets the report count, per check, how
often a repair fixed it (`alphamine.research.repair_table`).

`REPAIRS` maps a check name to its ordered moves (the most reliable first); `REPAIR_WHEN` holds the
extra condition a check's repair needs (LOW_FITNESS is only repaired by trading less when the
Sharpe is good and turnover still costs fitness). Checks without an entry are not repaired here.

Contract of `propose_repairs`: at most `max_n` lint-clean children, unique by (canonical structure,
settings) and different from the parent, deterministic (no randomness; the same failed-check *set*
gives the same children whatever its order); the failed checks are served round-robin in `REPAIRS`
order, each taking its next move whose child is new, so a cut at `max_n >= len(failed checks)`
covers every failing check that has an applicable move. Each child has
`generator="repair:<CHECK>"`, `strategy="<CHECK>:<move>"`, `params={"repairs": CHECK, "move":
<move>, ...}` where the rest says what changed (a setting as `[old, new]`, e.g. `{"decay": [4, 8]}`;
a wrapper as `{"wrapper": "trade_when", ...}`), the parent's thesis and tags, and `parent_id=None`
(the controller links the stored parent). Settings moves go through `Settings.with_` and only use
values the data offers (a universe from the catalogue, a neutralization `rotation.supported`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from alphamine.data.fields import FieldType
from alphamine.expr import Binary, Call, Node, canonical, fields_used
from alphamine.generate.candidate import Candidate, Evidence, GenerationContext
from alphamine.generate.mutate import (
    SPARSE_BACKFILL,
    as_node,
    backfill_inputs,
    call,
    candidate_key,
    field_ref,
    is_sparse,
    lint_clean,
    make_candidate,
    scale_lookbacks,
)
from alphamine.generate.optimizers import COMMON_FACTORS, FITNESS_TURNOVER_FLOOR, LOW_FITNESS_MIN_SHARPE
from alphamine.generate.rotation import allowed_neutralizations
from alphamine.sim.settings import Settings
from alphamine.sim.simulate import universe_size

MIN_REPAIR_DECAY = 4  # a decay repair goes to at least this, else doubles the parent's
MAX_DECAY = 512  # Settings' upper bound
SMOOTHING_WINDOW = 10  # ts_decay_linear(x, 10): about two weeks of linear memory
LONGER_WINDOWS = 2.0  # LOW_FITNESS: every signal window doubled trades less
TRUNCATION_FACTOR = 0.5  # a truncation repair halves the cap ...
MIN_TRUNCATION = 0.01  # ... but never below 1 % per name
UNTRUNCATED_REPAIR = 0.05  # a parent without truncation (0) gets this cap
LIQUID_RANK = 0.25  # the liquidity filter keeps names above this cross-sectional liquidity rank
LIQUIDITY = (  # (field, reading) — the first field the catalogue has; TOP<N> ranks by 20-day mean $ volume
    ("dollar_volume", "ts_mean({f}, 20)"),
    ("adv20", "{f}"),
    ("cap", "{f}"),
    ("volume", "ts_mean({f}, 20)"),
)
VOLUME_MEAN_DAYS = 20  # trade_when trigger without adv20: volume above its 20-day mean

Proposal = tuple[Node | None, Settings | None, dict[str, Any]]  # None expression: the parent's


@dataclass(frozen=True)
class RepairInput:
    """What a move reads: the parent's inlined tree, the parent, its evidence, the context, and the
    expression of the ready alpha it correlates with (parsed and lint clean), when known."""

    node: Node
    parent: Candidate
    evidence: Evidence
    ctx: GenerationContext
    correlated: Node | None = None


@dataclass(frozen=True)
class Move:
    """One named repair: `propose` returns its proposals (possibly none) for one parent."""

    name: str
    description: str
    propose: Callable[[RepairInput], list[Proposal]]


# ------------------------------------------------------------------------------------------ settings moves
def _larger_decay(inp: RepairInput) -> list[Proposal]:
    s = inp.parent.settings
    new = min(MAX_DECAY, max(MIN_REPAIR_DECAY, 2 * s.decay))
    return [] if new <= s.decay else [(None, s.with_(decay=new), {"decay": [s.decay, new]})]


def _lower_truncation(inp: RepairInput) -> list[Proposal]:
    s = inp.parent.settings
    old = s.truncation
    new = UNTRUNCATED_REPAIR if old <= 0 else max(MIN_TRUNCATION, round(old * TRUNCATION_FACTOR, 4))
    if old > 0 and new >= old:
        return []
    return [(None, s.with_(truncation=new), {"truncation": [old, new]})]


def offered_universes(ctx: GenerationContext) -> list[tuple[int, str]]:
    """(size, name) of the TOP<N> universes the catalogue offers, smallest first."""
    out = []
    for name, info in ctx.catalogue.items():
        size = universe_size(name) if info.type == FieldType.UNIVERSE else None
        if size is not None:
            out.append((size, name.upper()))
    return sorted(out)


def _smaller_universe(inp: RepairInput) -> list[Proposal]:
    """The next more liquid universe the data offers (the one the sub-universe test reads)."""
    s = inp.parent.settings
    size = universe_size(s.universe)
    smaller = [u for u in offered_universes(inp.ctx) if size is not None and u[0] < size]
    if not smaller:
        return []
    new = smaller[-1][1]
    return [(None, s.with_(universe=new), {"universe": [s.universe, new]})]


def _other_neutralization(inp: RepairInput) -> list[Proposal]:
    s = inp.parent.settings
    return [
        (None, s.with_(neutralization=n), {"neutralization": [s.neutralization.value, n.value]})
        for n in allowed_neutralizations(inp.ctx)
        if n != s.neutralization
    ]


# ------------------------------------------------------------------------------------------ expression moves
def _decay_linear(inp: RepairInput) -> list[Proposal]:
    k = SMOOTHING_WINDOW
    return [(call("ts_decay_linear", inp.node, float(k)), None, {"wrapper": "ts_decay_linear", "k": k})]


def _hump(inp: RepairInput) -> list[Proposal]:
    return [(call("hump", inp.node, hump=0.01), None, {"wrapper": "hump", "hump": 0.01})]


def _longer_windows(inp: RepairInput) -> list[Proposal]:
    scaled = scale_lookbacks(inp.node, LONGER_WINDOWS, n_days=inp.ctx.n_days)
    return [] if scaled is None else [(scaled, None, {"windows": LONGER_WINDOWS})]


def _matrix(ctx: GenerationContext, name: str) -> bool:
    info = ctx.catalogue.get(name)
    return info is not None and info.type == FieldType.MATRIX


def _volume_trigger(inp: RepairInput) -> list[Proposal]:
    """Trade only on heavy-volume days, hold the position otherwise (BRAIN's classic turnover cut)."""
    if not _matrix(inp.ctx, "volume"):
        return []
    text = "volume > adv20" if _matrix(inp.ctx, "adv20") else f"volume > ts_mean(volume, {VOLUME_MEAN_DAYS})"
    wrapped = call("trade_when", as_node(text), inp.node, -1.0)
    return [(wrapped, None, {"wrapper": "trade_when", "trigger": text})]


def liquidity_ref(ctx: GenerationContext) -> str | None:
    """A liquidity measure from the first `LIQUIDITY` field the catalogue has (None: none has)."""
    for name, reading in LIQUIDITY:
        if _matrix(ctx, name):
            return reading.format(f=field_ref(ctx.catalogue[name]))
    return None


def _liquidity_filter(inp: RepairInput) -> list[Proposal]:
    """Hold only names above the liquidity rank cut; exit the rest (trade_when's exit clause)."""
    ref = liquidity_ref(inp.ctx)
    if ref is None:
        return []
    keep, drop = f"rank({ref}) >= {LIQUID_RANK}", f"rank({ref}) < {LIQUID_RANK}"
    wrapped = call("trade_when", as_node(keep), inp.node, as_node(drop))
    return [(wrapped, None, {"wrapper": "trade_when", "filter": keep})]


def _liquidity_weight(inp: RepairInput) -> list[Proposal]:
    """Tilt the book toward liquid names: the sub-universe holds the same bet with more weight."""
    ref = liquidity_ref(inp.ctx)
    if ref is None:
        return []
    weight = f"rank({ref})"
    return [(Binary("*", inp.node, as_node(weight)), None, {"wrapper": "multiply", "weight": weight})]


def _rank(inp: RepairInput) -> list[Proposal]:
    if isinstance(inp.node, Call) and inp.node.func == "rank":
        return []
    return [(call("rank", inp.node), None, {"wrapper": "rank"})]


def _backfill(inp: RepairInput) -> list[Proposal]:
    """More names with a value spread the book: concentration is often a coverage problem (only
    sparse inputs are worth it; backfilling a dense field changes nothing)."""
    cat = inp.ctx.catalogue
    if not any(f in cat and is_sparse(cat[f]) for f in fields_used(inp.node)):
        return []
    filled = backfill_inputs(inp.node, inp.ctx.catalogue, SPARSE_BACKFILL)
    return [] if filled is None else [(filled, None, {"wrapper": "ts_backfill", "lookback": SPARSE_BACKFILL})]


def _orthogonalize(inp: RepairInput) -> list[Proposal]:
    if inp.correlated is None:
        return []
    against = canonical(inp.correlated)
    return [
        (call("regression_neut", inp.node, inp.correlated), None, {"wrapper": "regression_neut", "against": against})
    ]


def _orthogonalize_common(inp: RepairInput) -> list[Proposal]:
    out: list[Proposal] = []
    for text in COMMON_FACTORS:
        factor = as_node(text)
        if inp.correlated is None or canonical(factor) != canonical(inp.correlated):
            out.append(
                (
                    call("regression_neut", inp.node, factor),
                    None,
                    {"wrapper": "regression_neut", "against": canonical(factor)},
                )
            )
    return out


# ------------------------------------------------------------------------------------------ the table
_DECAY = Move("decay", "a larger decay setting (at least 4, else double)", _larger_decay)
_SMOOTH = Move("ts_decay_linear", "wrap in ts_decay_linear(x, 10)", _decay_linear)

REPAIRS: Mapping[str, tuple[Move, ...]] = MappingProxyType(
    {
        "HIGH_TURNOVER": (
            _DECAY,
            _SMOOTH,
            Move("trade_when", "trade only on heavy-volume days, hold otherwise", _volume_trigger),
        ),
        "LOW_SUB_UNIVERSE_SHARPE": (
            Move("universe", "the next smaller universe the data offers", _smaller_universe),
            Move("liquidity_filter", "exit names below the liquidity rank cut", _liquidity_filter),
            Move("liquidity_weight", "multiply by the rank of a liquidity field", _liquidity_weight),
        ),
        "CONCENTRATED_WEIGHT": (
            Move("truncation", "halve the truncation (at least 1 %)", _lower_truncation),
            Move("rank", "wrap in rank: bounded, evenly spread weights", _rank),
            Move("backfill", "backfill the inputs so more names hold a position", _backfill),
        ),
        "LOW_FITNESS": (
            _DECAY,
            _SMOOTH,
            Move("hump", "rate-limit the signal with hump(x, 0.01)", _hump),
            Move("windows", "double every signal window", _longer_windows),
        ),
        "SELF_CORRELATION": (
            Move("orthogonalize", "regression_neut against the correlated ready alpha", _orthogonalize),
            Move("neutralization", "another neutralization the data supports", _other_neutralization),
            Move("orthogonalize_common", "regression_neut against a common factor", _orthogonalize_common),
        ),
    }
)


def _fitness_repairable(ev: Evidence) -> bool:
    """Trading less raises fitness only for a good Sharpe with turnover above fitness' floor."""
    return ev.sharpe >= LOW_FITNESS_MIN_SHARPE and ev.turnover > FITNESS_TURNOVER_FLOOR


REPAIR_WHEN: Mapping[str, Callable[[Evidence], bool]] = MappingProxyType({"LOW_FITNESS": _fitness_repairable})


def repairable_failures(evidence: Evidence) -> list[str]:
    """The checks `evidence` fails that have repairs here (and whose `REPAIR_WHEN` holds), in
    `REPAIRS` order: what the ENHANCE stage passes as `failed_checks`."""
    return [c for c in REPAIRS if evidence.failed(c) and REPAIR_WHEN.get(c, _always)(evidence)]


def _always(_: Evidence) -> bool:
    return True


# ------------------------------------------------------------------------------------------ proposing
def propose_repairs(
    parent: Candidate,
    failed_checks: Sequence[str],
    evidence: Evidence,
    ctx: GenerationContext,
    max_n: int,
    correlated_expression: str | None = None,
) -> list[Candidate]:
    """Up to `max_n` repairs of `parent` for the `failed_checks` (see the module docstring).

    `correlated_expression` is the ready alpha SELF_CORRELATION named; without it (or when it does not
    lint clean here) `evidence.correlated_with` is tried as an expression, then only the other moves."""
    if max_n <= 0:
        return []
    failed = set(failed_checks)
    checks = [c for c in REPAIRS if c in failed and REPAIR_WHEN.get(c, _always)(evidence)]
    node = as_node(parent.expression)
    inp = RepairInput(
        node, parent, evidence, ctx, _correlated(node, ctx, correlated_expression, evidence.correlated_with)
    )
    queues = [_queue(c, inp) for c in checks]
    seen = {candidate_key(parent)}
    out: list[Candidate] = []
    while len(out) < max_n and any(queues):
        for queue in queues:
            while queue and len(out) < max_n:
                child = queue.pop(0)
                key = candidate_key(child)
                if key not in seen:
                    seen.add(key)
                    out.append(child)
                    break
    return out


def _queue(check: str, inp: RepairInput) -> list[Candidate]:
    """One check's children, round-robin over its moves (a move with several proposals, such as the
    neutralizations, does not crowd out the next move); those that do not lint clean dropped."""
    per_move = []
    for move in REPAIRS[check]:
        made = [_child(check, move.name, p, inp) for p in move.propose(inp)]
        per_move.append([c for c in made if c is not None])
    out: list[Candidate] = []
    while any(per_move):
        for kids in per_move:
            if kids:
                out.append(kids.pop(0))
    return out


def _child(check: str, move: str, proposal: Proposal, inp: RepairInput) -> Candidate | None:
    expr, settings, change = proposal
    return make_candidate(
        inp.node if expr is None else expr,
        inp.ctx,
        generator=f"repair:{check}",
        thesis=inp.parent.thesis,
        settings=settings or inp.parent.settings,
        strategy=f"{check}:{move}",
        params={"repairs": check, "move": move, **change},
        tags=inp.parent.tags,
    )


def _correlated(node: Node, ctx: GenerationContext, *texts: str | None) -> Node | None:
    """The first text that parses, lints clean and is not the parent itself."""
    for text in texts:
        if not text:
            continue
        try:
            other = as_node(text)
            same = canonical(other) == canonical(node)
        except Exception:  # a pool name such as "#12", not an expression
            continue
        if not same and lint_clean(other, ctx):
            return other
    return None
