"""Generic variants: the evidence-free neighbourhood of a simulated alpha.

Why: a promising alpha is rarely at its best windows, decay or neutralization; BRAIN researchers sweep
these by hand. The generic variants make each move once, so the variant-search stage can simulate the
neighbourhood and keep the best child (the named optimizers in `optimizers.py` are the evidence-
driven repairs; these are the systematic sweep).

Strategies (the `strategy` field; `generator = "variant:<strategy>"`; `params` say what changed):
- window_sweep: every signal lookback times 0.5 or 2 (`{"factor": f}`); fill windows untouched;
- decay_sweep: settings decay in 0/2/4/8 other than the parent's (`{"decay": k}`);
- rank_zscore_swap: rank <-> zscore and group_rank <-> group_zscore (`{"swap": "rank->zscore"}`);
- neutralization_decay_cross: each other supported neutralization x decay 0/4;
- sign_flip: `-x` (`{}`), its thesis re-inferred (a flipped reversal is a momentum bet);
- turnover_control: `ts_decay_linear(x, k)`, `ts_mean(x, k)`, `hump(x, hump=0.01)`;
- coverage_repair: `ts_backfill` of the field inputs (`{"method": "ts_backfill", "lookback": d}`) or
  `group_backfill(x, g, 20)`.
Contract: children have `parent_id=None` (the controller links them to the stored parent), lint clean,
are unique by (canonical structure, settings) and differ from the parent; at most `max_n`, ordered by
an rng-shuffled round robin over the strategies (so a cut keeps every strategy), deterministic for a
given `ctx.rng` state.
"""

from __future__ import annotations

from collections.abc import Callable

from alphamine.expr import Name, Node, Number
from alphamine.generate.candidate import Candidate, Evidence, GenerationContext
from alphamine.generate.mutate import (
    as_node,
    backfill_inputs,
    call,
    candidate_key,
    dedup,
    group_fields,
    interleave,
    make_candidate,
    negate,
    scale_lookbacks,
    swap_calls,
)
from alphamine.generate.rotation import allowed_neutralizations
from alphamine.sim.settings import Settings

WINDOW_FACTORS = (0.5, 2.0)
DECAYS = (0, 2, 4, 8)
CROSS_DECAYS = (0, 4)
SMOOTHING_WINDOWS = (5, 10)
HUMP = 0.01
COVERAGE_LOOKBACKS = (20, 252)
GROUP_BACKFILL_DAYS = 20
RANK_ZSCORE = {"rank": "zscore", "zscore": "rank", "group_rank": "group_zscore", "group_zscore": "group_rank"}
STRATEGIES = (
    "window_sweep", "decay_sweep", "rank_zscore_swap", "neutralization_decay_cross", "sign_flip",
    "turnover_control", "coverage_repair",
)

Proposal = tuple[Node | str, Settings | None, dict[str, object]]


def generic_variants(
    parent: Candidate, evidence: Evidence | None, ctx: GenerationContext, max_n: int
) -> list[Candidate]:
    """Up to `max_n` children of `parent` (see the module docstring). `evidence` is accepted for the
    common signature and not used: these moves are made whatever the results said."""
    del evidence
    if max_n <= 0:
        return []
    node = as_node(parent.expression)
    seen = {candidate_key(parent)}
    groups: dict[str, list[Candidate]] = {}
    for strategy in STRATEGIES:
        made = []
        for expr, settings, params in _PROPOSERS[strategy](node, parent.settings, ctx):
            thesis = None if strategy == "sign_flip" else parent.thesis
            made.append(make_candidate(
                expr, ctx, generator=f"variant:{strategy}", thesis=thesis,
                settings=settings or parent.settings, strategy=strategy, params=params, tags=parent.tags,
            ))
        groups[strategy] = dedup(made, seen)
    order = [STRATEGIES[int(i)] for i in ctx.rng.permutation(len(STRATEGIES))]
    for k in order:
        groups[k] = [groups[k][int(i)] for i in ctx.rng.permutation(len(groups[k]))]
    return interleave(groups, order)[:max_n]


def window_sweep(node: Node, settings: Settings, ctx: GenerationContext) -> list[Proposal]:
    out: list[Proposal] = []
    for f in WINDOW_FACTORS:
        scaled = scale_lookbacks(node, f, n_days=ctx.n_days)
        if scaled is not None:
            out.append((scaled, None, {"factor": f}))
    return out


def decay_sweep(node: Node, settings: Settings, ctx: GenerationContext) -> list[Proposal]:
    return [(node, settings.with_(decay=k), {"decay": k}) for k in DECAYS if k != settings.decay]


def rank_zscore_swap(node: Node, settings: Settings, ctx: GenerationContext) -> list[Proposal]:
    swapped = swap_calls(node, RANK_ZSCORE)
    if swapped is not None:
        return [(swapped, None, {"swap": "rank<->zscore"})]
    return [(call("rank", node), None, {"swap": "wrap_rank"})]


def neutralization_decay_cross(node: Node, settings: Settings, ctx: GenerationContext) -> list[Proposal]:
    out: list[Proposal] = []
    for neut in allowed_neutralizations(ctx):
        if neut == settings.neutralization:
            continue
        for k in CROSS_DECAYS:
            out.append((node, settings.with_(neutralization=neut, decay=k), {"neutralization": neut.value, "decay": k}))
    return out


def sign_flip(node: Node, settings: Settings, ctx: GenerationContext) -> list[Proposal]:
    return [(negate(node), None, {})]


def turnover_control(node: Node, settings: Settings, ctx: GenerationContext) -> list[Proposal]:
    out: list[Proposal] = []
    for k in SMOOTHING_WINDOWS:
        out.append((call("ts_decay_linear", node, float(k)), None, {"wrapper": "ts_decay_linear", "k": k}))
    k0 = SMOOTHING_WINDOWS[0]
    out.append((call("ts_mean", node, float(k0)), None, {"wrapper": "ts_mean", "k": k0}))
    out.append((call("hump", node, hump=HUMP), None, {"wrapper": "hump", "hump": HUMP}))
    return out


def coverage_repair(node: Node, settings: Settings, ctx: GenerationContext) -> list[Proposal]:
    out: list[Proposal] = []
    for d in COVERAGE_LOOKBACKS:
        filled = backfill_inputs(node, ctx.catalogue, d)
        if filled is not None:
            out.append((filled, None, {"method": "ts_backfill", "lookback": d}))
    groups = group_fields(ctx.catalogue)
    if groups:
        g = "industry" if "industry" in groups else groups[0]
        out.append((call("group_backfill", node, Name(g), Number(float(GROUP_BACKFILL_DAYS))), None,
                    {"method": "group_backfill", "group": g, "lookback": GROUP_BACKFILL_DAYS}))
    return out


_PROPOSERS: dict[str, Callable[[Node, Settings, GenerationContext], list[Proposal]]] = {
    "window_sweep": window_sweep,
    "decay_sweep": decay_sweep,
    "rank_zscore_swap": rank_zscore_swap,
    "neutralization_decay_cross": neutralization_decay_cross,
    "sign_flip": sign_flip,
    "turnover_control": turnover_control,
    "coverage_repair": coverage_repair,
}
