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
  STRING as ``str``. They satisfy the declaration: every param's bounds (`Param.violation`: minimum,
  maximum or the default caps `MAX_LOOKBACK` / `MAX_INT`, choices) and the operator's `validate` rule.
  The checker reports a breach as a lint error at the argument; the evaluator calls
  `Operator.check_constants` before the kernel, so the rule is written once, in the declaration.
- A kernel never writes into its inputs (results are shared through the sub-expression cache) and
  returns a new, writable, C-contiguous array: ``(T, N)`` float64 for MATRIX output, ``(T, N)`` int32
  for GROUP output.
- Kernels with ``needs_context=True`` also get the keyword ``ctx: EvalContext``.
- An exception a kernel raises reaches the user as one line naming the operator and where it is in the
  source (`kernel_failure`: a kernel's own ValueError keeps its first line; JIT and allocator failures
  become a plain sentence). Kernels that guard their constants use `check_param` / the declared
  `validate`, so their message is the checker's.
- IEEE rules hold inside (x/0 = ±inf, log(0) = -inf); ±inf becomes NaN only at the end of evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable

from alphamine.infix import INFIX_OPERATORS
from alphamine.opspec import (
    MAX_INT,
    MAX_LOOKBACK,
    REQUIRED,
    ArgKind,
    BindError,
    Category,
    EvalContext,
    Operator,
    Param,
    ParamError,
    UnitRule,
    check_param,
    lookback_of,
    no_lookback,
)
from alphamine.opspec import suggest as _suggest

__all__ = [
    "MAX_INT",
    "MAX_LOOKBACK",
    "REGISTRY",
    "REQUIRED",
    "SYMBOLS",
    "ArgKind",
    "BindError",
    "Category",
    "EvalContext",
    "Operator",
    "Param",
    "ParamError",
    "UnitRule",
    "all_operators",
    "check_param",
    "get",
    "kernel_failure",
    "lookback_of",
    "no_lookback",
    "register",
    "suggest",
]


def kernel_failure(e: BaseException) -> str:
    """A one-line reason for an exception raised inside a kernel. Our own rejections (ValueError and
    friends raised by alphamine code) keep their first line; anything from the JIT compiler or the
    allocator becomes a plain sentence (no numba pipeline text reaches the user)."""
    if isinstance(e, MemoryError):
        return "not enough memory for this input (a parameter sizes a buffer too large)"
    text = str(e).strip()
    first = text.splitlines()[0] if text else ""
    internal = type(e).__module__.split(".")[0] == "numba" or "nopython" in text or "numba" in text.lower()
    if internal or not first or not isinstance(e, ValueError | TypeError | ArithmeticError | IndexError):
        return f"the kernel failed on this input ({type(e).__name__}); please report the expression"
    return first


REGISTRY: dict[str, Operator] = {}
SYMBOLS: dict[str, str] = {}  # infix symbol -> operator name


def register(op: Operator) -> Operator:
    """Add an operator; names and symbols are unique."""
    if op.name in REGISTRY:
        raise ValueError(f"operator {op.name!r} is registered twice")
    if op.symbol is not None:
        if INFIX_OPERATORS.get(op.symbol) != op.name:
            raise ValueError(
                f"operator {op.name!r} declares symbol {op.symbol!r}, which alphamine.infix maps to "
                f"{INFIX_OPERATORS.get(op.symbol)!r}"
            )
        if op.symbol in SYMBOLS:
            raise ValueError(f"symbol {op.symbol!r} is registered twice")
        SYMBOLS[op.symbol] = op.name
    REGISTRY[op.name] = op
    return op


def suggest(name: str, candidates: Iterable[str] | None = None, n: int = 3) -> list[str]:
    """Did-you-mean candidates for an unknown operator or field name (default: the operator names)."""
    return _suggest(name, REGISTRY if candidates is None else candidates, n)


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
