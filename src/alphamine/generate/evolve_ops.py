"""Typed genetic operators on FASTEXPR trees: crossover, mutations and a structural distance.

Why typed: a blind subtree swap or rename mostly yields expressions the checker rejects (a grouping fed
to a SERIES parameter, a constant where a window must be, a vector left unreduced), so an evolutionary
search built on untyped moves spends its budget on lint failures. Every move here reads the operator
declarations (`opspec.Operator.params`, their `ArgKind`s) and the field catalogue, so its offspring are
well-typed by construction; the generator (`generate.evolve`) still lints each one (history length,
declared bounds) and keeps only clean ones.

Contracts (all functions are pure; `rng` is the only source of randomness, so a seed fixes the result):
- a move returns a new tree, or None when it has nothing to change (no eligible site);
- `subtree_crossover` replaces one non-root, non-constant argument of `a` by a subtree of `b` of the same
  value type: MATRIX into SERIES params, GROUP into GROUP params, VECTOR into VECTOR params; constants
  are never donated (windows and options are `mutate_window`'s business);
- `mutate_operator` renames one operator within its signature class (`signature_classes`);
- `mutate_window` moves one signal window (fill windows of `BACKFILL_OPS` untouched) to a neighbouring
  value of `WINDOW_GRID`, within the declared bounds and, given a catalogue, the cumulative history;
- `mutate_field` swaps every read of one field for another of the same type, unit and fundamental-ness;
- `add_wrapper` / `remove_wrapper` add or drop one `WRAPPERS` call without stacking cross-sectional
  normalizers (no `rank(rank(x))`, `rank(zscore(x))`, ...: `double_wraps` counts them);
- `structural_distance(a, b)` in [0, 1]: 0 for canonically equal trees, 1 when no subtree is shared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from alphamine.data.fields import FieldInfo, FieldType
from alphamine.expr import (
    Binary,
    Call,
    Keyword,
    Name,
    Node,
    Number,
    Ternary,
    Unary,
    ValueType,
    children,
    fields_used,
    infer,
    lookbacks,
    map_nodes,
    normalize,
    replace,
    to_source,
    walk,
    walk_paths,
)
from alphamine.expr.operators import default_operators, symbol_table
from alphamine.expr.walk import Path, get, operator_name
from alphamine.generate.mutate import BACKFILL_OPS, as_node, call, group_fields, is_fundamental
from alphamine.opspec import ArgKind, BindError, Operator

Operators = Mapping[str, Operator]

WINDOW_GRID = (3, 5, 10, 20, 40, 60, 120, 250)
"""The log-spaced windows a mutated lookback moves along (about a doubling per step: a week to a year)."""

NOT_SWAPPED = BACKFILL_OPS | {"reverse", "pasteurize", "purify"}
"""Operators never renamed: fill plumbing (their windows are data repair, not signal), the sign (flipping
it is the variants' sign_flip and would invert the thesis) and data hygiene."""

NORMALIZERS = frozenset({"rank", "zscore", "scale", "normalize", "quantile", "group_rank", "group_zscore"})
"""Cross-sectional normalizers: one directly on another adds nothing but an operator (and a lint-clean
`rank(rank(x))` wastes a simulation), so no move may stack them."""

WRAPPERS = ("rank", "zscore", "ts_decay_linear", "ts_mean", "group_neutralize", "group_rank", "group_zscore")
"""What `add_wrapper` puts around a subtree and `remove_wrapper` takes away (also `NORMALIZERS`)."""

WRAPPER_WINDOWS = (5, 10)  # smoothing windows of an added ts_decay_linear / ts_mean (on WINDOW_GRID)
VALUE_SLOTS = {ArgKind.SERIES: ValueType.MATRIX, ArgKind.GROUP: ValueType.GROUP, ArgKind.VECTOR: ValueType.VECTOR}


# ------------------------------------------------------------------------------------- registry views
def signature_key(op: Operator) -> tuple[object, ...]:
    """What must agree for a rename to keep a call well-typed and its meaning of the same kind: category,
    output type, unit rule, and the shape of the params (kind, variadic, min count of each required
    param; name and kind of each optional one, since calls pass optional params by keyword)."""
    shape = tuple(
        (p.kind, p.variadic, p.min_count) if p.required or p.variadic else (p.name, p.kind) for p in op.params
    )
    return op.category, op.output, op.unit_rule, shape


def signature_classes(operators: Operators | None = None) -> dict[str, tuple[str, ...]]:
    """operator -> the other operators of its signature class (`signature_key`), sorted; operators in
    `NOT_SWAPPED` and operators alone in their class are absent. With today's registry: ts_mean <->
    ts_median, ts_sum, ts_std_dev, ts_delta, ts_max... (time series `(x, d)` keeping the unit); ts_zscore
    <-> ts_skewness, ts_ir, ts_arg_max... (unitless); group_rank <-> group_zscore, group_scale; `+` <-> `-`;
    `<` <-> `>`, `==`, `&&`...; log <-> tanh, sigmoid... The declarations only promise well-typed
    results, not similar meaning (ts_mean <-> ts_delta is a different bet): the simulation judges."""
    ops = default_operators() if operators is None else operators
    by_key: dict[tuple[object, ...], list[str]] = {}
    for name, op in ops.items():
        if name not in NOT_SWAPPED:
            by_key.setdefault(signature_key(op), []).append(name)
    out: dict[str, tuple[str, ...]] = {}
    for names in by_key.values():
        for name in names:
            others = tuple(sorted(n for n in names if n != name))
            if others:
                out[name] = others
    return out


def _bound_children(node: Call, op: Operator | None) -> list[tuple[int, ArgKind]]:
    """(child index, param kind) of every argument of a call; empty when the operator is unknown or
    the call does not bind."""
    n = len(node.args)
    try:
        bound = {} if op is None else op.bind(list(range(n)), {k.name: n + j for j, k in enumerate(node.kwargs)})
    except BindError:
        return []
    params = {} if op is None else {p.name: p.kind for p in op.params}
    return [(int(i), params[name]) for name, idx in bound.items() for i in (idx if isinstance(idx, list) else [idx])]


def typed_slots(node: Node, operators: Operators | None = None) -> list[tuple[Path, ArgKind]]:
    """(path, expected kind) of every argument position of the tree, pre-order, the root included as
    SERIES (an alpha is a MATRIX). Keyword arguments give the path of their value. Calls of unknown
    operators, or that do not bind, contribute no slots of their own."""
    ops = default_operators() if operators is None else operators
    out: list[tuple[Path, ArgKind]] = [((), ArgKind.SERIES)]
    for path, n in walk_paths(node):
        if isinstance(n, Call):
            kids = children(n)
            for i, kind in _bound_children(n, ops.get(n.func)):
                out.append(((*path, i, 0) if isinstance(kids[i], Keyword) else (*path, i), kind))
        elif isinstance(n, Binary | Unary | Ternary):
            out.extend(((*path, i), ArgKind.SERIES) for i in range(len(children(n))))
    return out


def _value_type(node: Node, catalogue: Mapping[str, FieldInfo], ops: Operators) -> ValueType | None:
    """The subtree's value type, None when the checker found it broken."""
    info = infer(node, catalogue, operators=ops)
    return None if info.bad else info.type


# ------------------------------------------------------------------------------------- crossover
def subtree_crossover(
    a: Node | str, b: Node | str, rng: np.random.Generator, catalogue: Mapping[str, FieldInfo],
    operators: Operators | None = None,
) -> Node | None:
    """`a` with one argument replaced by a type-compatible subtree of `b` (module contract). The slot is
    drawn first (uniformly among the non-root, non-constant value slots of `a` that some subtree of `b`
    fits), then the donor (uniformly among the fitting subtrees that differ from the slot's content)."""
    ops = default_operators() if operators is None else operators
    ta, tb = as_node(a), as_node(b)
    donors: dict[ValueType, list[Node]] = {}
    for n in walk(tb):
        if not isinstance(n, Keyword):
            vt = _value_type(n, catalogue, ops)
            if vt is not None and vt is not ValueType.CONSTANT:
                donors.setdefault(vt, []).append(n)
    slots: list[tuple[Path, list[Node]]] = []
    for path, kind in typed_slots(ta, ops):
        want = VALUE_SLOTS.get(kind)
        if not path or want is None:
            continue
        current = get(ta, path)
        if _value_type(current, catalogue, ops) in (None, ValueType.CONSTANT):
            continue
        fits = [d for d in donors.get(want, []) if d != current]
        if fits:
            slots.append((path, fits))
    if not slots:
        return None
    path, fits = slots[int(rng.integers(len(slots)))]
    return replace(ta, path, fits[int(rng.integers(len(fits)))])


# ------------------------------------------------------------------------------------- mutations
def mutate_operator(
    node: Node | str, rng: np.random.Generator, operators: Operators | None = None,
    classes: Mapping[str, Sequence[str]] | None = None,
) -> Node | None:
    """One operator application (call or infix) renamed to another member of its signature class that
    binds the same arguments. `classes` defaults to `signature_classes(operators)` (pass it to avoid
    recomputing). Infix results come back as calls; `canonical` prints them infix again."""
    ops = default_operators() if operators is None else operators
    table = classes if classes is not None else signature_classes(ops)
    symbols = symbol_table(ops)
    tree = as_node(node)
    sites: list[tuple[Path, Node, list[str]]] = []
    for path, n in walk_paths(tree):
        name = operator_name(n, symbols)
        if name is None or name not in table:
            continue
        args = list(n.args) if isinstance(n, Call) else list(children(n))
        kwargs = {k.name: k.value for k in n.kwargs} if isinstance(n, Call) else {}
        alts = [alt for alt in table[name] if alt in ops and _binds(ops[alt], args, kwargs)]
        if alts:
            sites.append((path, n, alts))
    if not sites:
        return None
    path, n, alts = sites[int(rng.integers(len(sites)))]
    alt = alts[int(rng.integers(len(alts)))]
    new: Node = Call(alt, n.args, n.kwargs) if isinstance(n, Call) else Call(alt, children(n))
    return replace(tree, path, new)


def _binds(op: Operator, args: list[Node], kwargs: Mapping[str, Node]) -> bool:
    try:
        op.bind(args, kwargs)
    except BindError:
        return False
    return True


def grid_neighbours(value: float, grid: Sequence[int] = WINDOW_GRID) -> list[int]:
    """The grid values next to `value`: the largest below and the smallest above (one or two)."""
    below = [g for g in grid if g < value]
    above = [g for g in grid if g > value]
    return ([below[-1]] if below else []) + ([above[0]] if above else [])


def mutate_window(
    node: Node | str, rng: np.random.Generator, *, n_days: int | None = None,
    catalogue: Mapping[str, FieldInfo] | None = None, operators: Operators | None = None,
    grid: Sequence[int] = WINDOW_GRID,
) -> Node | None:
    """One signal window moved to a neighbouring grid value (`grid_neighbours`): never above `n_days`,
    never outside the param's declared bounds, and, with a catalogue, never making the cumulative
    lookback exceed `n_days`. Windows are tried in an rng order until one can move."""
    ops = default_operators() if operators is None else operators
    tree = as_node(node)
    uses = [u for u in lookbacks(tree, ops) if u.operator not in BACKFILL_OPS]
    for i in rng.permutation(len(uses)):
        use = uses[int(i)]
        param = ops[use.operator].param(use.param)
        options = [g for g in grid_neighbours(use.value, grid)
                   if (n_days is None or g <= n_days) and (param is None or param.violation(g) is None)]
        for j in rng.permutation(len(options)):
            new = replace(tree, use.path, Number(float(options[int(j)])))
            if catalogue is None or n_days is None or infer(new, catalogue, operators=ops).lookback <= n_days:
                return new
    return None


def field_swaps(name: str, catalogue: Mapping[str, FieldInfo]) -> list[str]:
    """Fields that may replace `name`: same `FieldType`, same unit, same fundamental-ness (so the
    `ts_backfill(f, 252)` reading of fundamentals stays right), never UNIVERSE or the trivial `market`
    grouping; sorted."""
    info = catalogue.get(name)
    if info is None or info.type is FieldType.UNIVERSE:
        return []
    if info.type is FieldType.GROUP:
        return [g for g in group_fields(catalogue) if g != name]
    return sorted(k for k, v in catalogue.items() if k != name and v.type is info.type and v.unit is info.unit
                  and is_fundamental(v) == is_fundamental(info))


def mutate_field(
    node: Node | str, rng: np.random.Generator, catalogue: Mapping[str, FieldInfo], *,
    avoid: Collection[str] = (),
) -> Node | None:
    """Every read of one field replaced by a `field_swaps` alternative the tree does not read already
    (so `close - open` never becomes `close - close`) and not in `avoid` (e.g. stale fields)."""
    tree = as_node(node)
    used = fields_used(tree, catalogue)
    sites = [(f, alts) for f in used
             if (alts := [g for g in field_swaps(f, catalogue) if g not in used and g not in avoid])]
    if not sites:
        return None
    old, alts = sites[int(rng.integers(len(sites)))]
    new = alts[int(rng.integers(len(alts)))]
    return replace(tree, lambda n: isinstance(n, Name) and n.id == old, Name(new))


def unsigned(node: Node) -> Node:
    """`node` without its outer sign layers (unary +/-, `reverse`)."""
    while True:
        if isinstance(node, Unary) and node.op in "+-":
            node = node.operand
        elif isinstance(node, Call) and node.func == "reverse" and len(node.args) == 1 and not node.kwargs:
            node = node.args[0]
        else:
            return node


def tidy(node: Node) -> Node:
    """Double negations collapsed (`--x` -> `x`): a crossover that puts a negated subtree under a sign
    would otherwise breed a spelling nobody writes (and `canonical` keeps)."""
    def fn(n: Node) -> Node:
        if isinstance(n, Unary) and n.op == "-" and isinstance(n.operand, Unary) and n.operand.op == "-":
            return n.operand.operand
        return n

    return map_nodes(node, fn)


def is_trivial(node: Node | str) -> bool:
    """A bare field or constant, up to its sign (`-close`): not an alpha worth a simulation."""
    return not children(unsigned(as_node(node)))


def repeated_operands(node: Node | str) -> bool:
    """Whether some operator gets the same non-constant subtree twice (`x - x`, `ts_corr(x, x, 10)`):
    a crossover can breed that, and the result is constant or degenerate."""
    for n in walk(as_node(node)):
        if isinstance(n, Call | Binary | Ternary):
            args = [a for a in (n.args if isinstance(n, Call) else children(n)) if children(a) or isinstance(a, Name)]
            if len(args) != len(set(args)):
                return True
    return False


def double_wraps(node: Node | str) -> int:
    """How many calls sit directly (signs ignored) on a call of the same wrapper or normalizer family: a
    normalizer on a normalizer (`rank(-zscore(x))`) or a wrapper on itself (`ts_mean(ts_mean(x, 5), 10)`)."""
    pairs = [(n.func, unsigned(n.args[0])) for n in walk(as_node(node)) if isinstance(n, Call) and n.args]
    return sum(1 for outer, inner in pairs if isinstance(inner, Call) and (
        (outer in NORMALIZERS and inner.func in NORMALIZERS) or (outer in WRAPPERS and inner.func == outer)))


def _wrap(kind: str, x: Node, rng: np.random.Generator, groups: Sequence[str]) -> Node:
    if kind in ("ts_decay_linear", "ts_mean"):
        return call(kind, x, float(WRAPPER_WINDOWS[int(rng.integers(len(WRAPPER_WINDOWS)))]))
    if kind.startswith("group_"):
        return call(kind, x, Name(groups[int(rng.integers(len(groups)))]))
    return call(kind, x)


def add_wrapper(
    node: Node | str, rng: np.random.Generator, catalogue: Mapping[str, FieldInfo],
    operators: Operators | None = None,
) -> Node | None:
    """One `WRAPPERS` call put around the root or a non-constant SERIES argument (drawn uniformly), the
    wrapper drawn among those that add no `double_wraps` (group ones need a GROUP field)."""
    ops = default_operators() if operators is None else operators
    tree = as_node(node)
    groups = group_fields(catalogue)
    kinds = [k for k in WRAPPERS if k in ops and (groups or not k.startswith("group_"))]
    sites = [p for p, kind in typed_slots(tree, ops) if kind is ArgKind.SERIES
             and _value_type(get(tree, p), catalogue, ops) is ValueType.MATRIX]
    before = double_wraps(tree)
    for i in rng.permutation(len(sites)):
        path = sites[int(i)]
        for j in rng.permutation(len(kinds)):
            new = replace(tree, path, _wrap(kinds[int(j)], get(tree, path), rng, groups))
            if double_wraps(new) <= before:
                return new
    return None


def remove_wrapper(node: Node | str, rng: np.random.Generator) -> Node | None:
    """One `WRAPPERS` / `NORMALIZERS` call replaced by its first argument, unless that leaves a trivial
    alpha (`is_trivial`) or stacks normalizers (`double_wraps` grows)."""
    tree = as_node(node)
    removable = set(WRAPPERS) | NORMALIZERS
    sites = [p for p, n in walk_paths(tree) if isinstance(n, Call) and n.func in removable and n.args]
    before = double_wraps(tree)
    for i in rng.permutation(len(sites)):
        path = sites[int(i)]
        target = get(tree, path)
        assert isinstance(target, Call)
        new = replace(tree, path, target.args[0])
        if not is_trivial(new) and double_wraps(new) <= before:
            return new
    return None


# ------------------------------------------------------------------------------------- distance
def subtree_profile(node: Node | str, operators: Operators | None = None) -> Counter[str]:
    """The multiset of canonical texts of every subtree (leaves included, keyword wrappers not) of the
    normalized tree: equivalent spellings give equal profiles."""
    tree = normalize(as_node(node), operators)
    memo: dict[int, str] = {}
    return Counter(to_source(n, memo) for n in walk(tree) if not isinstance(n, Keyword))


def profile_distance(p: Counter[str], q: Counter[str]) -> float:
    """1 - |p ∩ q| / |p ∪ q| on multisets (the weighted Jaccard distance), in [0, 1]."""
    union = sum((p | q).values())
    return 1.0 - sum((p & q).values()) / union if union else 0.0


def structural_distance(a: Node | str, b: Node | str, operators: Operators | None = None) -> float:
    """Weighted Jaccard distance between the subtree multisets of `a` and `b` (`subtree_profile`).

    Why this and not a tree edit distance: it is linear, needs no alignment, and still grades what
    matters here: a changed window shares everything but the windowed call and its ancestors (close
    to 0 for a deep change, larger near the root), a swapped field changes every subtree reading it,
    two unrelated alphas share at most a few leaves (close to 1). 0 iff the canonical trees are equal."""
    return profile_distance(subtree_profile(a, operators), subtree_profile(b, operators))


MOVES: dict[str, Callable[..., Node | None]] = {
    "crossover": subtree_crossover, "mutate_operator": mutate_operator, "mutate_window": mutate_window,
    "mutate_field": mutate_field, "add_wrapper": add_wrapper, "remove_wrapper": remove_wrapper,
}
"""The moves by the name the generator records (`generator = "evolve:<name>"`)."""
