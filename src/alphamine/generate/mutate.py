"""AST helpers shared by the generators, variants and optimizers.

Why one module: every proposer ends the same way (rewrite a tree, print it canonically, lint it
against the catalogue, wrap it in a `Candidate`, drop duplicates), and the rewrites themselves (scale
the lookbacks, negate, wrap in a smoother, backfill inputs) are shared by the generic variants and the
named optimizers. Every function here is pure; nothing mutates a tree.

Contract: `make_candidate` returns None for an expression that does not pass
`check(expr, ctx.catalogue, n_days=ctx.n_days)` without errors, so no caller can emit one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from alphamine.data.fields import FieldInfo, FieldType
from alphamine.expr import (
    Call,
    Keyword,
    Name,
    Node,
    Number,
    String,
    Unary,
    canonical,
    check,
    inline,
    lookbacks,
    map_nodes,
    parse,
    replace,
    structural_hash,
)
from alphamine.generate.candidate import Candidate, GenerationContext, Thesis
from alphamine.sim.settings import Settings

FUNDAMENTAL_BACKFILL = 252  # quarterly data: carry the last report up to a year
SPARSE_BACKFILL = 60  # other sparse fields (events, patchy price data)
SPARSE_COVERAGE = 0.7  # below this mean coverage a field counts as sparse
SPARSE_DATE_COVERAGE = 0.9  # below this fraction of days with any value, too
BACKFILL_OPS = frozenset({"ts_backfill", "group_backfill", "kth_element"})  # fill windows, not signal windows
MIN_WINDOW = 2  # scaled signal windows never go below this


# ---------------------------------------------------------------------------------------- fields
def is_fundamental(info: FieldInfo) -> bool:
    return "fundamental" in (info.dataset.lower(), info.category.lower())


def is_sparse(info: FieldInfo) -> bool:
    return info.coverage < SPARSE_COVERAGE or info.date_coverage < SPARSE_DATE_COVERAGE


def field_ref(info: FieldInfo, vec_op: str = "vec_avg") -> str:
    """How a template or the field factory reads a catalogue field as a dense MATRIX series.

    Fundamentals are always `ts_backfill(f, 252)` (quarterly values with gaps); other sparse fields
    `ts_backfill(f, 60)`; VECTOR fields are reduced by `vec_op` first (and, being event data, usually
    sparse, then backfilled too). GROUP and UNIVERSE fields have no series reading: ValueError.
    """
    if info.type in (FieldType.GROUP, FieldType.UNIVERSE):
        raise ValueError(f"{info.name} is a {info.type.value} field; it can only feed a group parameter")
    text = f"{vec_op}({info.name})" if info.type == FieldType.VECTOR else info.name
    if is_fundamental(info):
        return f"ts_backfill({text}, {FUNDAMENTAL_BACKFILL})"
    if is_sparse(info):
        return f"ts_backfill({text}, {SPARSE_BACKFILL})"
    return text


def group_fields(catalogue: Mapping[str, FieldInfo], *, include_market: bool = False) -> list[str]:
    """GROUP fields usable as a group parameter (the all-one `market` grouping is trivial; left out)."""
    return sorted(
        k for k, v in catalogue.items() if v.type == FieldType.GROUP and (include_market or k != "market")
    )


# ---------------------------------------------------------------------------------------- trees
def as_node(expr: str | Node) -> Node:
    """The expression as one tree (a program's variables inlined)."""
    return inline(parse(expr)) if isinstance(expr, str) else inline(expr)


def lint_clean(expr: str | Node, ctx: GenerationContext) -> bool:
    return not any(d.severity == "error" for d in check(expr, ctx.catalogue, n_days=ctx.n_days))


def call(func: str, *args: Node | float | str, **kwargs: Node | float | str) -> Call:
    """Build `func(args..., k=v...)` from nodes or Python constants (floats -> Number, str -> String)."""

    def lit(v: Node | float | str) -> Node:
        if isinstance(v, Node):
            return v
        return String(v) if isinstance(v, str) else Number(float(v))

    return Call(func, tuple(lit(a) for a in args), tuple(Keyword(k, lit(v)) for k, v in kwargs.items()))


def negate(node: Node) -> Node:
    """`-x`, or `x` when the tree already is `-x` (so a double flip restores the parent)."""
    if isinstance(node, Unary) and node.op == "-":
        return node.operand
    if isinstance(node, Call) and node.func == "reverse" and len(node.args) == 1 and not node.kwargs:
        return node.args[0]
    return Unary("-", node)


def scale_lookbacks(node: Node, factor: float, *, n_days: int | None = None) -> Node | None:
    """Every constant signal window (not the fill windows of `BACKFILL_OPS`) times `factor`, rounded,
    at least `MIN_WINDOW` (1 for a `ts_delay`), at most `n_days`. None when nothing changes."""
    tree = as_node(node)
    changed = False
    for use in lookbacks(tree):
        if use.operator in BACKFILL_OPS:
            continue
        floor = 1 if use.operator == "ts_delay" else MIN_WINDOW
        new = max(floor, round(use.value * factor))
        if n_days is not None:
            new = min(new, n_days)
        if new != use.value:
            tree = replace(tree, use.path, Number(float(new)))
            changed = True
    return tree if changed else None


def signal_lookbacks(node: Node) -> list[tuple[str, float]]:
    """(operator, window) of the signal windows (fill windows excluded), pre-order."""
    return [(u.operator, u.value) for u in lookbacks(as_node(node)) if u.operator not in BACKFILL_OPS]


def swap_calls(node: Node, mapping: Mapping[str, str]) -> Node | None:
    """Rename calls by `mapping` (e.g. rank <-> zscore, group_rank <-> group_zscore), simultaneously
    (a swap never chains); calls with keywords are left alone. None when none matched."""
    hit = [False]

    def fn(n: Node) -> Node:
        if isinstance(n, Call) and n.func in mapping and not n.kwargs:
            hit[0] = True
            return Call(mapping[n.func], n.args)
        return n

    out = map_nodes(as_node(node), fn)
    return out if hit[0] else None


def backfill_inputs(
    node: Node, catalogue: Mapping[str, FieldInfo], lookback: int, group: str | None = None
) -> Node | None:
    """Wrap every MATRIX field read (and every vec_* reduction) not already inside a backfill in
    `ts_backfill(., lookback)`, or in `group_backfill(., group, lookback)` when a group is given.
    None when nothing changes."""
    tree = as_node(node)
    hit = [False]

    def pred(n: Node) -> bool:
        if isinstance(n, Call) and n.func in BACKFILL_OPS:
            return True  # stop: already filled
        if isinstance(n, Call) and n.func.startswith("vec_"):
            return True
        info = catalogue.get(n.id) if isinstance(n, Name) else None
        return info is not None and info.type == FieldType.MATRIX

    def make(n: Node) -> Node:
        if isinstance(n, Call) and n.func in BACKFILL_OPS:
            return n
        hit[0] = True
        if group is not None:
            return call("group_backfill", n, Name(group), float(lookback))
        return call("ts_backfill", n, float(lookback))

    out = replace(tree, pred, make)
    return out if hit[0] else None


# ---------------------------------------------------------------------------------------- candidates
def make_candidate(
    expr: str | Node,
    ctx: GenerationContext,
    *,
    generator: str,
    thesis: Thesis | None = None,
    settings: Settings | None = None,
    strategy: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    priority: float = 0.0,
) -> Candidate | None:
    """A candidate with the canonical text, or None when the expression does not lint clean.

    Without a thesis one is inferred from the structure (`infer_thesis`)."""
    try:
        text = canonical(expr)
    except Exception:  # unparsable text: a generator bug, never an emitted candidate
        return None
    if not lint_clean(text, ctx):
        return None
    if thesis is None:
        from alphamine.generate.thesis import infer_thesis

        thesis = infer_thesis(text, ctx.catalogue)
    return Candidate(
        expression=text,
        settings=settings if settings is not None else ctx.base_settings,
        generator=generator,
        thesis=thesis,
        strategy=strategy,
        params=dict(params or {}),
        tags=tuple(tags),
        priority=priority,
    )


def candidate_key(c: Candidate) -> tuple[str, str]:
    """Identity of a proposal: the canonical structure plus the settings."""
    return structural_hash(c.expression), c.settings.key()


def dedup(candidates: Iterable[Candidate | None], seen: set[tuple[str, str]] | None = None) -> list[Candidate]:
    """Drop Nones and repeats (first kept), also those already in `seen` (updated in place)."""
    keys = set() if seen is None else seen
    out: list[Candidate] = []
    for c in candidates:
        if c is None:
            continue
        k = candidate_key(c)
        if k not in keys:
            keys.add(k)
            out.append(c)
    return out


def interleave(groups: Mapping[str, list[Candidate]], order: list[str]) -> list[Candidate]:
    """Round-robin over the groups in `order`, so that a cut at max_n keeps every kind represented."""
    out: list[Candidate] = []
    queues = [list(groups[k]) for k in order if groups.get(k)]
    while queues:
        for q in queues:
            out.append(q.pop(0))
        queues = [q for q in queues if q]
    return out
