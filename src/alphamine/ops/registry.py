"""The operator registry: one declaration per FASTEXPR operator.

Why a registry: the parser/checker (arity, argument kinds, lookbacks, units), the evaluator (kernels),
the CLI (`alphamine ops list/show`), the generators and docs/operators.md all read the same declaration,
so an operator's contract is written exactly once.

Kernel calling contract (what `alphamine.sim.evaluate` guarantees and every kernel relies on):
- Arguments are bound to `params` in declaration order (positional first, then keywords, then defaults).
  The evaluator calls ``op.kernel(*positional, **keywords)`` where ``positional`` holds the values of all
  params up to and including a variadic param (the variadic values expanded in place) and ``keywords``
  holds the params after the variadic one. Without a variadic param, every param is passed positionally
  in declaration order.
- SERIES values are ``(T, N)`` float64 arrays, possibly read-only and possibly non-contiguous (a numeric
  literal arrives as ``np.broadcast_to(value, (T, N))``). GROUP values are ``(T, N)`` int32 code arrays,
  negative = no group. VECTOR values are ``(T, N, K)`` float64, NaN-padded.
- Constants arrive as Python scalars: LOOKBACK/INT as ``int``, NUMBER as ``float``, BOOL as ``bool``,
  STRING as ``str``. The checker has already validated them (e.g. LOOKBACK >= 1).
- A kernel never writes into its inputs (results are shared through the sub-expression cache) and
  returns a new, writable, C-contiguous array: ``(T, N)`` float64 for MATRIX output, ``(T, N)`` int32
  for GROUP output.
- Kernels with ``needs_context=True`` also get the keyword ``ctx: EvalContext``.
- IEEE rules hold inside (x/0 = ±inf, log(0) = -inf); ±inf becomes NaN only at the end of evaluation.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, TypeVar

import numpy as np

from alphamine.data.fields import FieldType

V = TypeVar("V")


class BindError(ValueError):
    """Call arguments do not fit an operator's signature."""


class ArgKind(str, Enum):
    """What an operator parameter accepts."""

    SERIES = "series"  # a (T, N) float64 expression; numeric literals broadcast
    GROUP = "group"  # a (T, N) int32 grouping (GROUP field or group-producing operator)
    VECTOR = "vector"  # a VECTOR field, (T, N, K)
    LOOKBACK = "lookback"  # a positive integer constant: a window length in days
    INT = "int"  # an integer constant
    NUMBER = "number"  # a numeric constant
    BOOL = "bool"  # true / false
    STRING = "string"  # a quoted string constant

    @property
    def is_constant(self) -> bool:
        return self in (ArgKind.LOOKBACK, ArgKind.INT, ArgKind.NUMBER, ArgKind.BOOL, ArgKind.STRING)


class Category(str, Enum):
    ARITHMETIC = "arithmetic"
    LOGICAL = "logical"
    TIME_SERIES = "time_series"
    CROSS_SECTIONAL = "cross_sectional"
    GROUP = "group"
    VECTOR = "vector"
    TRANSFORMATIONAL = "transformational"


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

UnitRule = Literal["same", "first", "dimensionless", "combine"]
"""How an operator's output unit follows from its SERIES inputs' units.

same: inputs must share a unit (UNITS warning otherwise) and the output keeps it (add, max, if_else
branches); first: the output has the first SERIES input's unit, others unchecked (ts_mean, ts_delay,
group_neutralize); dimensionless: the output is unitless (rank, zscore, ts_corr, comparisons);
combine: products/quotients/powers: output unit unknown (treated as none), never warns.
"""


@dataclass(frozen=True)
class Param:
    name: str
    kind: ArgKind
    default: Any = REQUIRED
    variadic: bool = False  # accepts one or more values (add(x, y, ...)); at most one per operator
    doc: str = ""
    choices: tuple[str, ...] | None = None  # allowed values of a STRING param (case-insensitive)
    minimum: float | None = None  # smallest allowed value of a numeric constant

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class EvalContext:
    """What a few kernels need beyond their arguments (pasteurize, ts_step, universe-aware ops)."""

    shape: tuple[int, int]
    universe: np.ndarray | None = None  # bool (T, N); None = every instrument is in the universe


def no_lookback(_consts: Mapping[str, Any]) -> int:
    return 0


def lookback_of(param: str, extra: int = 0) -> Callable[[Mapping[str, Any]], int]:
    """Cumulative-lookback contribution = the value of constant `param` (+ extra), BRAIN's counting
    (ts_rank(ts_mean(close, 20), 20) looks back 40 days)."""

    def _lb(consts: Mapping[str, Any]) -> int:
        return int(consts[param]) + extra

    return _lb


@dataclass(frozen=True)
class Operator:
    """One operator.

    `lookback(consts)` gives the operator's contribution to the cumulative lookback from its bound
    constant arguments (by param name). `symbol` is the infix spelling when the operator has one
    ("+", "<", "&&", "!", "?:"; unary minus is "neg"). `assumptions` lists the semantic choices made
    where brain.md marks a behaviour unknown or conflicting; they feed docs/operators.md.
    """

    name: str
    category: Category
    params: tuple[Param, ...]
    kernel: Callable[..., np.ndarray]
    doc: str
    output: FieldType = FieldType.MATRIX
    lookback: Callable[[Mapping[str, Any]], int] = no_lookback
    unit_rule: UnitRule = "dimensionless"
    needs_context: bool = False
    symbol: str | None = None
    assumptions: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    time_series: bool = field(default=False)  # reads past rows (used by the no-look-ahead tests)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"operator {self.name}: duplicate parameter names {names}")
        if sum(p.variadic for p in self.params) > 1:
            raise ValueError(f"operator {self.name}: more than one variadic parameter")
        seen_optional = False
        for p in self.params:
            if p.variadic:
                continue
            if not p.required:
                seen_optional = True
            elif seen_optional:
                raise ValueError(f"operator {self.name}: required param {p.name} after an optional one")

    @property
    def signature(self) -> str:
        parts = []
        for p in self.params:
            if p.variadic:
                parts.append(f"{p.name}...")
            elif p.required:
                parts.append(p.name)
            else:
                parts.append(f"{p.name}={_fmt_default(p.default)}")
        return f"{self.name}({', '.join(parts)})"

    @property
    def variadic_index(self) -> int | None:
        for i, p in enumerate(self.params):
            if p.variadic:
                return i
        return None

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def bind(self, args: Sequence[V], kwargs: Mapping[str, V]) -> dict[str, V | list[V]]:
        """Map call arguments to parameter names (defaults are NOT filled in).

        A variadic param binds a list of every remaining positional value (at least one). Raises
        `BindError` naming the problem (too many/few arguments, unknown or repeated keyword).
        """
        bound: dict[str, V | list[V]] = {}
        params = list(self.params)
        vi = self.variadic_index
        positional_params = params if vi is None else params[: vi + 1]
        args = list(args)
        if vi is not None:
            # BRAIN writes required params after a variadic one positionally at the end
            # (ts_rank_gmean_amean_diff(x1, x2, 20)): peel them off the tail, right to left.
            tail = [p for p in params[vi + 1 :] if p.required and p.name not in kwargs]
            for p in reversed(tail):
                if len(args) > vi + 1:
                    bound[p.name] = args.pop()
        i = 0
        for _j, p in enumerate(positional_params):
            if p.variadic:
                rest = list(args[i:])
                if rest:
                    bound[p.name] = rest
                i = len(args)
                break
            if i < len(args):
                bound[p.name] = args[i]
                i += 1
            else:
                break
        if i < len(args):
            raise BindError(
                f"{self.name} takes at most {len(positional_params)} positional argument"
                f"{'s' if len(positional_params) != 1 else ''} ({self.signature}), got {len(args)}"
            )
        for key, value in kwargs.items():
            found = self.param(key)
            if found is None:
                names = [q.name for q in self.params if not q.variadic]
                close = suggest(key, names)
                hint = f"; did you mean {close[0]}?" if close else f"; parameters: {', '.join(names)}"
                raise BindError(f"{self.name} has no parameter {key!r}{hint}")
            if found.variadic:
                raise BindError(f"{self.name}: {key!r} cannot be given by keyword")
            if key in bound:
                raise BindError(f"{self.name}: argument {key!r} given twice")
            bound[key] = value
        missing = [p.name for p in self.params if p.required and p.name not in bound]
        if missing:
            raise BindError(f"{self.name} is missing required argument{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)} ({self.signature})")
        return bound


def _fmt_default(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


REGISTRY: dict[str, Operator] = {}
SYMBOLS: dict[str, str] = {}  # infix symbol -> operator name


def register(op: Operator) -> Operator:
    """Add an operator; names and symbols are unique."""
    if op.name in REGISTRY:
        raise ValueError(f"operator {op.name!r} is registered twice")
    if op.symbol is not None:
        if op.symbol in SYMBOLS:
            raise ValueError(f"symbol {op.symbol!r} is registered twice")
        SYMBOLS[op.symbol] = op.name
    REGISTRY[op.name] = op
    return op


def suggest(name: str, candidates: Iterable[str] | None = None, n: int = 3) -> list[str]:
    """Did-you-mean candidates for an unknown operator or field name."""
    pool = list(REGISTRY) if candidates is None else list(candidates)
    return difflib.get_close_matches(name, pool, n=n, cutoff=0.6)


def get(name: str) -> Operator:
    """The operator called `name`; KeyError naming close matches otherwise."""
    _ensure_loaded()
    try:
        return REGISTRY[name]
    except KeyError:
        close = suggest(name)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"unknown operator {name!r}{hint}") from None


def all_operators() -> list[Operator]:
    _ensure_loaded()
    return sorted(REGISTRY.values(), key=lambda o: (o.category.value, o.name))


def _ensure_loaded() -> None:
    # Importing the package registers every operator module (declarations live beside their kernels).
    import alphamine.ops  # noqa: F401
