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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from alphamine.data.panel import Panel, mask_key
from alphamine.expr import ast as A
from alphamine.expr import inline, normalize, parse, to_source
from alphamine.expr.checker import NAMED_CONSTANTS
from alphamine.ops.registry import SYMBOLS, ArgKind, BindError, EvalContext, Operator, Param, get
from alphamine.sim.fields import clean_copy, shift_mask_f64, shift_mask_i32
from alphamine.sim.nan_handling import GROUP_VALUE_OPERATORS, empty_window_to_zero, group_value_to_nan_members

KERNEL_TIMINGS: dict[str, list[float]] | None = None
"""When set to a dict (the benchmark does), every kernel call appends its seconds under the operator's
name. None (the default) costs one check per call."""


class EvaluationError(ValueError):
    """An expression cannot be evaluated on this panel (unknown name, bad argument, kernel failure)."""


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

    def _eval(self, node: A.Node) -> np.ndarray:
        """Value of a non-constant node: (T, N) float64, (T, N) int32 (GROUP) or (T, N, K) (VECTOR)."""
        if isinstance(node, A.Number | A.Bool):
            return np.broadcast_to(np.float64(float(node.value)), self.panel.shape)
        key = self._frame + to_source(node)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        value = _readonly(self._compute(node))
        self.cache.put(key, value)
        return value

    def _compute(self, node: A.Node) -> np.ndarray:
        if isinstance(node, A.Name):
            return self._field(node.id)
        if isinstance(node, A.Call):
            return self._call(get_operator(node.func), list(node.args), {k.name: k.value for k in node.kwargs})
        if isinstance(node, A.Binary):
            return self._call(get_operator(SYMBOLS.get(node.op, node.op)), [node.left, node.right], {})
        if isinstance(node, A.Unary):
            if node.op == "+":
                return np.array(self._eval(node.operand), copy=True)
            return self._call(get_operator(SYMBOLS.get(_UNARY[node.op], node.op)), [node.operand], {})
        if isinstance(node, A.Ternary):
            return self._call(get_operator(SYMBOLS.get("?:", "if_else")), [node.cond, node.then, node.otherwise], {})
        if isinstance(node, A.String):
            raise EvaluationError(f'a string ("{node.value}") cannot be used as a value')
        raise EvaluationError(f"cannot evaluate node {type(node).__name__}")

    def _field(self, name: str) -> np.ndarray:
        p = self.panel
        u = self.universe
        if name in p.matrices:
            a = p.matrices[name]
            if u is None and self.shift == 0:
                return a
            if a.dtype == np.float64 and a.ndim == 2:  # one fused pass: shift + pasteurize
                return shift_mask_f64(a, self.shift, u if u is not None else _NO_MASK)
            a = _shifted(a, self.shift, np.nan)
            return a if u is None else np.where(u, a, np.nan)
        if name in p.groups:
            g = p.groups[name]
            if u is None and self.shift == 0:
                return g
            if g.dtype == np.int32 and g.ndim == 2:
                return shift_mask_i32(g, self.shift, u if u is not None else _NO_MASK)
            g = _shifted(g, self.shift, -1)
            return g if u is None else np.where(u, g, np.int32(-1)).astype(np.int32)
        if name in p.vectors:
            v = _shifted(p.vectors[name], self.shift, np.nan)
            return v if u is None else np.where(u[:, :, None], v, np.nan)
        if name in p.universes:
            raise EvaluationError(f"{name!r} is a universe, not a data field")
        if name in NAMED_CONSTANTS:  # `nan` / `inf` when no field has that name
            return np.broadcast_to(np.float64(NAMED_CONSTANTS[name]), p.shape)
        close = _close(name, p.catalogue)
        raise EvaluationError(f"unknown field {name!r}{close}")

    def _call(self, op: Operator, args: Sequence[A.Node], kwargs: Mapping[str, A.Node]) -> np.ndarray:
        try:
            bound = op.bind(args, kwargs)
        except BindError as e:
            raise EvaluationError(str(e)) from None
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        values: dict[str, Any] = {}
        vi = op.variadic_index
        for i, p in enumerate(op.params):
            if p.name in bound:
                raw = bound[p.name]
                if p.variadic:
                    assert isinstance(raw, list)
                    value: Any = [self._arg(op, p, n) for n in raw]
                else:
                    value = self._arg(op, p, raw)  # type: ignore[arg-type]
            else:
                value = p.default
            values[p.name] = value
            if vi is None or i < vi:
                positional.append(value)
            elif i == vi:
                positional.extend(value if isinstance(value, list) else [])
            else:
                keywords[p.name] = value
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
        except Exception as e:  # a kernel rejecting a value (e.g. a bad bucket range string)
            raise EvaluationError(f"{op.name}: {e}") from e
        out = np.asarray(out)
        if self.nan_handling and out.dtype == np.float64 and out.ndim == 2:
            out = self._nan_handling(op, values, out)
        return out

    @staticmethod
    def _nan_handling(op: Operator, values: Mapping[str, Any], out: np.ndarray) -> np.ndarray:
        """nanHandling ON: an all-NaN window gives 0 (time-series operators with a window on their first
        input); NaN members get their group's value (one-value-per-group operators)."""
        window = next((p for p in op.params if p.kind == ArgKind.LOOKBACK), None)
        first = next((p for p in op.params if p.kind == ArgKind.SERIES and not p.variadic), None)
        if op.time_series and window is not None and first is not None:
            return empty_window_to_zero(out, values[first.name], int(values[window.name]))
        if op.name in GROUP_VALUE_OPERATORS:
            group = next((p for p in op.params if p.kind == ArgKind.GROUP), None)
            if group is not None:
                return group_value_to_nan_members(out, np.ascontiguousarray(values[group.name]))
        return out

    def _arg(self, op: Operator, p: Param, node: A.Node) -> Any:
        kind = p.kind
        if kind.is_constant:
            return _constant(op, p, node)
        value = self._eval(node)
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


_NO_MASK = np.ones((0, 0), dtype=bool)  # "no universe" for the fused shift/pasteurize kernels


def _shifted(a: np.ndarray, shift: int, fill: float) -> np.ndarray:
    """Rows moved down by `shift` (row p = a[p - shift]); the first rows get `fill`."""
    if shift == 0:
        return a
    out = np.empty_like(a)
    out[:shift] = fill
    out[shift:] = a[:-shift] if shift < a.shape[0] else a[:0]
    return out


def get_operator(name: str) -> Operator:
    try:
        return get(name)
    except KeyError as e:
        raise EvaluationError(str(e.args[0])) from None


def _close(name: str, catalogue: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(catalogue), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _constant(op: Operator, p: Param, node: A.Node) -> Any:
    """The Python value of a literal argument, typed by the parameter kind."""
    value: Any
    if isinstance(node, A.Unary) and node.op == "-" and isinstance(node.operand, A.Number):
        value = -float(node.operand.value)
    elif isinstance(node, A.Number | A.Bool | A.String):
        value = node.value
    else:
        raise EvaluationError(f"{op.name}: parameter {p.name!r} must be a constant, not an expression")
    kind = p.kind
    if kind == ArgKind.STRING:
        if not isinstance(value, str):
            raise EvaluationError(f"{op.name}: parameter {p.name!r} must be a string")
        return value
    if isinstance(value, str):
        raise EvaluationError(f"{op.name}: parameter {p.name!r} must be a number, got a string")
    if kind == ArgKind.BOOL:
        return bool(value)
    if kind in (ArgKind.LOOKBACK, ArgKind.INT):
        f = float(value)
        if f != int(f):
            raise EvaluationError(f"{op.name}: parameter {p.name!r} must be an integer, got {f:g}")
        i = int(f)
        if kind == ArgKind.LOOKBACK and i < 1:
            raise EvaluationError(f"{op.name}: lookback {p.name!r} must be a positive integer, got {i}")
        return i
    return float(value)


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
