"""Evaluate FASTEXPR programs over a Panel, sharing sub-expressions through one cache.

Why: a batch of alphas repeats the same pieces (`rank(close)`, `ts_mean(volume, 20)`, the pasteurized
fields themselves). Like a query plan, every sub-expression is keyed by the structural hash of its
canonical form and computed once per (panel, pasteurization universe); the cache is an LRU bounded
by bytes so a long batch never grows without limit.

Contract: `Evaluator(panel, universe=None, shift=0).evaluate(expr)` returns a new, writable (T, N) float64
array with ±inf turned into NaN (simulation.md step 2 / P7) and GROUP results turned into float codes
(-1 -> NaN). With `universe` (bool (T, N)) every input field is pasteurized first: NaN (GROUP: -1)
outside the universe. With `shift = d` every input field is first moved down d rows (row p holds
data of row p - d, the first d rows are missing): the "position frame" of a delay-d simulation, where
inputs are pasteurized with the universe of the day that uses them (simulation.md P1).
Sub-results in the cache are read-only; kernels never write into their inputs.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from alphamine.data.panel import Panel, mask_key
from alphamine.expr import ast as A
from alphamine.expr import inline, normalize, parse, to_source
from alphamine.expr.checker import NAMED_CONSTANTS
from alphamine.expr.literals import literal_value
from alphamine.ops.registry import (
    SYMBOLS,
    ArgKind,
    BindError,
    EvalContext,
    Operator,
    Param,
    ParamError,
    get,
    kernel_failure,
)
from alphamine.sim.fields import clean_copy, frame_field
from alphamine.sim.nan_handling import apply_nan_handling

KERNEL_TIMINGS: dict[str, list[float]] | None = None
"""When set to a dict (the benchmark does), every kernel call appends its seconds under the operator's
name. None (the default) costs one check per call."""


class EvaluationError(ValueError):
    """An expression cannot be evaluated on this panel (unknown name, bad argument, kernel failure).

    `span` locates the offending node in the source (None when unknown); the message then ends with
    "(at line:column)", so one line says what failed and where."""

    def __init__(self, message: str, span: A.Span | None = None) -> None:
        self.span = span
        self.reason = message
        super().__init__(f"{message} (at {span.line}:{span.column})" if span is not None else message)


_UNARY = {"-": "neg", "!": "!"}


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class SubexpressionCache:
    """LRU map from structural hash to a read-only array, bounded by total bytes."""

    def __init__(self, max_bytes: int = 2 * 1024**3) -> None:
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> np.ndarray | None:
        a = self._data.get(key)
        if a is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return a

    def put(self, key: str, value: np.ndarray) -> None:
        size = int(value.nbytes) if value.base is None or value.flags.owndata else 0
        if key in self._data:
            return
        self._data[key] = value
        self.bytes += size
        while self.bytes > self.max_bytes and len(self._data) > 1:
            _, old = self._data.popitem(last=False)
            self.bytes -= int(old.nbytes) if old.base is None or old.flags.owndata else 0

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()
        self.bytes = 0


def _universe_key(panel: Panel, universe: np.ndarray) -> str:
    """Content hash of a universe mask for the cache keys; one of the panel's own universes reuses the
    panel's memo (hashing a 3000 x 2520 mask costs ~1 ms, once per simulated alpha otherwise)."""
    for name, mask in panel.universes.items():
        if mask is universe:
            return panel.universe_key(name)
    return mask_key(universe)


class Evaluator:
    """Evaluates expressions on one panel (optionally pasteurized to one universe) with a shared cache."""

    def __init__(
        self,
        panel: Panel,
        *,
        universe: np.ndarray | None = None,
        shift: int = 0,
        cache: SubexpressionCache | None = None,
        max_cache_bytes: int = 2 * 1024**3,
        nan_handling: bool = False,
    ) -> None:
        self.panel = panel
        if shift < 0:
            raise EvaluationError("shift must be >= 0 (a negative shift would read the future)")
        self.shift = int(shift)
        if universe is not None:
            universe = np.asarray(universe, dtype=bool)
            if universe.shape != panel.shape:
                raise EvaluationError(f"universe mask has shape {universe.shape}, panel is {panel.shape}")
        self.universe = universe
        self.cache = cache if cache is not None else SubexpressionCache(max_cache_bytes)
        # Cache keys carry the frame (panel, shift, universe) so one cache can serve several evaluators.
        uni = "all" if universe is None else _universe_key(panel, universe)
        self.nan_handling = bool(nan_handling)  # settings nanHandling ON (see sim/nan_handling.py)
        self._frame = f"{panel.fingerprint()[:16]}|s{self.shift}|u{uni}|n{int(self.nan_handling)}|"
        self.ctx = EvalContext(shape=panel.shape, universe=universe)

    # ------------------------------------------------------------------ public
    def evaluate(self, expr: str | A.Program | A.Node) -> np.ndarray:
        node = self._to_node(expr)
        out = self._eval(node)
        if out.dtype != np.float64:  # a GROUP result: codes as floats, no group -> NaN
            res = out.astype(np.float64)
            res[out < 0] = np.nan
            return res
        return clean_copy(out)

    def evaluate_raw(self, expr: str | A.Program | A.Node) -> np.ndarray:
        """The value of `expr` without the final copy: the cached, READ-ONLY (T, N) float64 array, which
        may hold ±inf (step 2's ±inf -> NaN is left to the caller; `build_weights` treats ±inf as no
        opinion and `decay.decay_finite` as absent terms). GROUP results are converted as in
        `evaluate` (a new array). A constant expression gives a broadcast read-only view. For the
        simulation pipeline, which only reads the alpha: it saves a (T, N) copy per alpha."""
        node = self._to_node(expr)
        out = self._eval(node)
        if out.dtype != np.float64:
            res = out.astype(np.float64)
            res[out < 0] = np.nan
            return _readonly(res)
        return out

    def evaluate_many(self, exprs: Iterable[str | A.Program | A.Node]) -> list[np.ndarray]:
        return [self.evaluate(e) for e in exprs]

    def prefetch(self, names: Iterable[str]) -> int:
        """Put the frame's (shifted, pasteurized) version of these panel fields into the cache, so that
        processes forked afterwards inherit them instead of each building its own. Unknown names are
        skipped (the expressions that use them fail on their own). Returns how many were added."""
        added = 0
        for name in names:
            if name in self.panel.catalogue and name not in self.panel.universes:
                key = self._frame + name
                if self.cache.get(key) is None:
                    self.cache.put(key, _readonly(self._field(name)))
                    added += 1
        return added

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _to_node(expr: str | A.Program | A.Node) -> A.Node:
        """Inline variables and normalize (argument order, defaults, bare-word strings, commutative
        operand order), so every sub-tree is in canonical form and its exact source is its cache key."""
        if isinstance(expr, str):
            expr = parse(expr)
        if isinstance(expr, A.Program):
            expr = inline(expr)
        return normalize(expr)

    def _eval(self, root: A.Node) -> np.ndarray:
        """Value of a node: (T, N) float64, (T, N) int32 (GROUP) or (T, N, K) (VECTOR).

        Iterative post-order over the nodes whose values are needed, so no depth of nesting can exhaust
        the interpreter's stack (the checker's TOO_COMPLEX limit is the only bound, `expr.limits`). A
        node is looked up in the cache before its inputs are planned; a computed input is dropped from
        the local table once every node that consumes it has run, so no more values are alive than a
        recursive evaluation would hold."""
        if isinstance(root, A.Number | A.Bool):
            return self._literal(root)
        values: dict[int, np.ndarray] = {}
        texts: dict[int, str] = {}  # canonical text per node: every sub-tree is printed once
        plans: dict[int, tuple[str, Operator | None, dict[str, Any], list[A.Node]]] = {}
        uses: dict[int, int] = {}
        stack: list[tuple[A.Node, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            nid = id(node)
            if not ready:
                if nid in values or nid in plans:
                    continue
                if isinstance(node, A.Number | A.Bool):
                    values[nid] = self._literal(node)
                    continue
                key = self._frame + to_source(node, texts)
                hit = self.cache.get(key)
                if hit is not None:
                    values[nid] = hit
                    continue
                op, bound, inputs = self._plan(node)
                plans[nid] = (key, op, bound, inputs)
                stack.append((node, True))
                for child in inputs:
                    uses[id(child)] = uses.get(id(child), 0) + 1
                    if id(child) not in values:
                        stack.append((child, False))
                continue
            key, op, bound, inputs = plans.pop(nid)
            value = _readonly(self._compute(node, op, bound, values))
            self.cache.put(key, value)
            values[nid] = value
            for child in inputs:  # release inputs no pending node still needs
                cid = id(child)
                uses[cid] -= 1
                if uses[cid] == 0 and cid != id(root):
                    values.pop(cid, None)
        return values[id(root)]

    def _literal(self, node: A.Number | A.Bool) -> np.ndarray:
        return np.broadcast_to(np.float64(float(node.value)), self.panel.shape)

    def _plan(self, node: A.Node) -> tuple[Operator | None, dict[str, Any], list[A.Node]]:
        """(operator, bound arguments, the child nodes whose values the operator needs) of a node.
        Names need nothing; constant arguments are read from the tree, not evaluated."""
        if isinstance(node, A.Name):
            return None, {}, []
        if isinstance(node, A.Unary) and node.op == "+":
            return None, {}, [node.operand]
        span = node.span
        if isinstance(node, A.Call):
            op, args, kwargs = get_operator(node.func, span), list(node.args), {k.name: k.value for k in node.kwargs}
        elif isinstance(node, A.Binary):
            op, args, kwargs = get_operator(SYMBOLS.get(node.op, node.op), span), [node.left, node.right], {}
        elif isinstance(node, A.Unary):
            op, args, kwargs = get_operator(SYMBOLS.get(_UNARY[node.op], node.op), span), [node.operand], {}
        elif isinstance(node, A.Ternary):
            op = get_operator(SYMBOLS.get("?:", "if_else"), span)
            args, kwargs = [node.cond, node.then, node.otherwise], {}
        elif isinstance(node, A.String):
            raise EvaluationError(f'a string ("{node.value}") cannot be used as a value', node.span)
        else:
            raise EvaluationError(f"cannot evaluate node {type(node).__name__}", node.span)
        try:
            bound: dict[str, Any] = op.bind(args, kwargs)
        except BindError as e:
            raise EvaluationError(str(e), node.span) from None
        inputs: list[A.Node] = []
        for p in op.params:
            if p.name in bound and not p.kind.is_constant:
                raw = bound[p.name]
                inputs.extend(raw if isinstance(raw, list) else [raw])
        return op, bound, inputs

    def _compute(self, node: A.Node, op: Operator | None, bound: dict[str, Any],
                 values: Mapping[int, np.ndarray]) -> np.ndarray:
        if isinstance(node, A.Name):
            try:
                return self._field(node.id)
            except EvaluationError as e:
                raise EvaluationError(e.reason, node.span) from None
        if op is None:  # unary plus
            assert isinstance(node, A.Unary)
            return np.array(values[id(node.operand)], copy=True)
        return self._call(op, bound, node, values)

    def _field(self, name: str) -> np.ndarray:
        p = self.panel
        value = frame_field(p, name, self.shift, self.universe)
        if value is not None:
            return value
        if name in p.universes:
            raise EvaluationError(f"{name!r} is a universe, not a data field")
        if name in NAMED_CONSTANTS:  # `nan` / `inf` when no field has that name
            return np.broadcast_to(np.float64(NAMED_CONSTANTS[name]), p.shape)
        close = _close(name, p.catalogue)
        raise EvaluationError(f"unknown field {name!r}{close}")

    def _call(self, op: Operator, bound: Mapping[str, Any], node: A.Node,
              inputs: Mapping[int, np.ndarray]) -> np.ndarray:
        """Run `op`'s kernel on the bound arguments (constants checked against the declaration first).
        Any failure is an EvaluationError naming the operator and where it is in the source."""
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        values: dict[str, Any] = {}
        vi = op.variadic_index
        for i, p in enumerate(op.params):
            if p.name in bound:
                raw = bound[p.name]
                if p.variadic:
                    assert isinstance(raw, list)
                    value: Any = [self._arg(op, p, n, inputs) for n in raw]
                else:
                    value = self._arg(op, p, raw, inputs)
            else:
                value = p.default
            values[p.name] = value
            if vi is None or i < vi:
                positional.append(value)
            elif i == vi:
                positional.extend(value if isinstance(value, list) else [])
            else:
                keywords[p.name] = value
        try:
            op.check_constants(values)  # the declaration's rules, the ones the checker reports
        except ParamError as e:
            at = bound.get(e.param) if e.param is not None else None
            raise EvaluationError(str(e), at.span if isinstance(at, A.Node) and at.span else node.span) from None
        if op.needs_context:
            keywords["ctx"] = self.ctx
        try:
            with np.errstate(all="ignore"):
                if KERNEL_TIMINGS is None:
                    out = op.kernel(*positional, **keywords)
                else:
                    t0 = time.perf_counter()
                    out = op.kernel(*positional, **keywords)
                    KERNEL_TIMINGS.setdefault(op.name, []).append(time.perf_counter() - t0)
        except EvaluationError:
            raise
        except Exception as e:  # a kernel rejecting a value, or failing: one readable line, located
            raise EvaluationError(f"{op.name}: {kernel_failure(e)}", node.span) from e
        out = np.asarray(out)
        if self.nan_handling and out.dtype == np.float64 and out.ndim == 2:
            out = apply_nan_handling(op, values, out)
        return out

    def _arg(self, op: Operator, p: Param, node: A.Node, inputs: Mapping[int, np.ndarray]) -> Any:
        kind = p.kind
        if kind.is_constant:
            try:
                return literal_value(op, p, node)
            except ValueError as e:
                raise EvaluationError(str(e), node.span) from None
        value = inputs[id(node)]
        if kind == ArgKind.GROUP:
            if value.dtype == np.int32:
                return value
            codes = np.full(value.shape, -1, dtype=np.int32)
            ok = np.isfinite(value)
            codes[ok] = np.floor(value[ok]).astype(np.int32)
            return codes
        if kind == ArgKind.VECTOR:
            if value.ndim != 3:
                raise EvaluationError(f"{op.name}: parameter {p.name!r} needs a VECTOR field")
            return value
        if value.ndim == 3:
            raise EvaluationError(f"{op.name}: a VECTOR field must be reduced with a vec_* operator before {op.name}")
        if value.dtype != np.float64:  # GROUP codes used as numbers
            f = value.astype(np.float64)
            f[value < 0] = np.nan
            return f
        return value


def get_operator(name: str, span: A.Span | None = None) -> Operator:
    try:
        return get(name)
    except KeyError as e:
        raise EvaluationError(str(e.args[0]), span) from None


def _close(name: str, catalogue: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(catalogue), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def evaluate(
    expr: str | A.Program | A.Node,
    panel: Panel,
    *,
    universe: np.ndarray | None = None,
    shift: int = 0,
    cache: SubexpressionCache | None = None,
) -> np.ndarray:
    """One-shot evaluation (see `Evaluator` for batches that share sub-expressions)."""
    return Evaluator(panel, universe=universe, shift=shift, cache=cache).evaluate(expr)
