"""Operator declarations: the types every layer reads (`Operator`, `Param`, `ArgKind`, the errors).

Why a module outside `alphamine.ops`: importing anything under `alphamine.ops` runs the package, which
imports every kernel module (numba, scipy). The expression layer (parser, checker, printer) only needs
the declarations, so `alphamine lint` and `--help` start without compiling or importing any kernel.
`alphamine.ops.registry` re-exports everything here; the kernel calling contract is documented there.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from alphamine.data.fields import FieldType

if TYPE_CHECKING:
    import numpy as np

V = TypeVar("V")


class BindError(ValueError):
    """Call arguments do not fit an operator's signature."""


class ParamError(ValueError):
    """A constant argument breaks its operator's declared rule (a bound, a choice, a parse, a relation
    between two arguments). `param` names the argument to blame (None: the call as a whole).

    Why one class: each rule is written once (a `Param` bound or an operator's `validate`) and read by
    the checker, which reports it as a lint error located at that argument, and by the evaluator (and
    kernels), which raise it before any work is done."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


MAX_LOOKBACK = 10_000
"""The largest window (in rows) any LOOKBACK param accepts unless its declaration says otherwise: about
40 years of trading days, longer than any panel; a larger value is a typo, and kernels size state by it."""

MAX_INT = 2**31 - 1
"""The largest value of an INT param without its own `maximum` (kernels compile ints as int64 and
some size loops or buffers by them, so an unbounded integer is never passed on)."""


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
    maximum: float | None = None  # largest allowed value (None: MAX_LOOKBACK / MAX_INT by kind, else none)
    min_count: int = 1  # a variadic param: the fewest values it accepts (max(x, y, ...) needs 2)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def upper_bound(self) -> float | None:
        """The declared maximum, or the kind's default cap (LOOKBACK: MAX_LOOKBACK, INT: MAX_INT)."""
        if self.maximum is not None:
            return self.maximum
        if self.kind is ArgKind.LOOKBACK:
            return MAX_LOOKBACK
        if self.kind is ArgKind.INT:
            return MAX_INT
        return None

    def violation(self, value: Any) -> str | None:
        """What `value` must be when it breaks this param's bounds or choices ("at least 1", "one of
        gaussian, uniform"), None when it is acceptable. Kinds (integer, string...) are the caller's
        business; this is the range part, shared by the checker and `Operator.check_constants`."""
        if self.kind is ArgKind.STRING:
            if self.choices and isinstance(value, str) and value.lower() not in {c.lower() for c in self.choices}:
                return f"one of {', '.join(self.choices)}"
            return None
        if self.kind is ArgKind.BOOL or isinstance(value, str | bool) or value is None:
            return None
        if self.minimum is not None and value < self.minimum:
            return f"at least {_fmt_num(self.minimum)}"
        hi = self.upper_bound
        if hi is not None and value > hi:
            return f"at most {_fmt_num(hi)}"
        return None


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
    validate: Callable[[Mapping[str, Any]], None] | None = field(default=None, repr=False, compare=False)
    """Rules that relate constants or parse a string (clamp's lower <= upper, bucket's range): called
    with every constant param's value (defaults filled in); raises `ParamError` naming the param."""

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
        if any(p.min_count != 1 and not p.variadic for p in self.params) or any(p.min_count < 1 for p in self.params):
            raise ValueError(f"operator {self.name}: min_count is for variadic params and must be >= 1")

    def check_constants(self, values: Mapping[str, Any]) -> None:
        """Raise `ParamError` when a constant argument breaks the declaration: its param's bounds or
        choices (`Param.violation`), then the operator's `validate` rule. `values` maps param names to
        the bound values (constants as Python scalars; other params are ignored)."""
        for p in self.params:
            if p.kind.is_constant and p.name in values:
                why = p.violation(values[p.name])
                if why is not None:
                    raise ParamError(f"{self.name}'s {p.name} must be {why}, got {_fmt_value(values[p.name])}",
                                     p.name)
        if self.validate is not None:
            self.validate(values)

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

        A variadic param binds a list of every remaining positional value (at least its `min_count`). Raises
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
                    if len(rest) < p.min_count:
                        raise BindError(f"{self.name} needs at least {p.min_count} inputs ({self.signature}), "
                                        f"got {len(rest)}")
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


def _fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e16 else repr(float(value))


def _fmt_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _fmt_num(value) if value == value and abs(value) != float("inf") else repr(value)
    return repr(value)


def _fmt_default(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def check_param(op: str, p: Param, value: Any) -> None:
    """Raise `ParamError` when `value` breaks `p`'s declared bounds: for kernels that guard their own
    constants against direct callers, reading the very `Param` the operator is declared with."""
    why = p.violation(value)
    if why is not None:
        raise ParamError(f"{op}'s {p.name} must be {why}, got {_fmt_value(value)}", p.name)


def suggest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Did-you-mean candidates for an unknown operator or field name."""
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)
