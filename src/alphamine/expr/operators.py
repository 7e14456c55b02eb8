"""How the expression layer sees the operator registry.

Why a seam: `alphamine.expr` sits below `alphamine.ops` in the layer table, so every public function
takes an optional `operators: Mapping[str, Operator]` (tests pass a small local mapping) and only the
default reaches for the global operators. The default is the registry itself once the kernel modules are
imported (a simulation imported them anyway); before that it is the same declarations rebuilt from the
generated signature table (`alphamine.signatures`), so `alphamine lint` never imports numba. An
operator's kernel, custom lookback or `validate` rule loads the real registry on first call.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, cast

from alphamine.data.fields import FieldType
from alphamine.expr.walk import DEFAULT_SYMBOLS
from alphamine.opspec import REQUIRED, ArgKind, Category, Operator, Param, UnitRule, lookback_of, no_lookback

Operators = Mapping[str, Operator]


def default_operators() -> Operators:
    """The registry when its kernel modules are loaded, else the signature table's operators.

    An import failure in an operator module (work in progress elsewhere) leaves whatever did
    register; the checker then reports UNKNOWN_OPERATOR rather than crashing.
    """
    if "alphamine.ops.registry" in sys.modules and "alphamine.ops.ts" in sys.modules:
        return registry_operators()
    return signature_operators()


def registry_operators() -> Operators:
    """The global registry with every operator module imported (registration happens on import)."""
    with contextlib.suppress(Exception):
        import alphamine.ops  # noqa: F401
    from alphamine.ops.registry import REGISTRY

    return REGISTRY


def _real(name: str) -> Operator:
    return registry_operators()[name]


def _kernel(name: str) -> Callable[..., Any]:
    def kernel(*args: Any, **kwargs: Any) -> Any:
        return _real(name).kernel(*args, **kwargs)

    kernel.__name__ = name
    return kernel


def _lookback(name: str, spec: Any) -> Callable[[Mapping[str, Any]], int]:
    if spec is None:
        return no_lookback
    if isinstance(spec, tuple):
        return lookback_of(spec[0], spec[1])

    def custom(consts: Mapping[str, Any]) -> int:
        return _real(name).lookback(consts)

    return custom


def _validate(name: str) -> Callable[[Mapping[str, Any]], None]:
    def validate(values: Mapping[str, Any]) -> None:
        rule = _real(name).validate
        if rule is not None:
            rule(values)

    return validate


@lru_cache(maxsize=1)
def signature_operators() -> Operators:
    """`Operator`s rebuilt from the generated signature table (no kernel module is imported)."""
    from alphamine.signatures import REQUIRED_MARK, SIGNATURES

    ops: dict[str, Operator] = {}
    for row in SIGNATURES:
        (name, category, params, doc, output, lookback, unit_rule, needs_context, symbol, assumptions,
         examples, time_series, has_validate) = row
        ops[name] = Operator(
            name=name,
            category=Category(category),
            params=tuple(
                Param(p[0], ArgKind(p[1]), REQUIRED if p[2] == REQUIRED_MARK else p[2], p[3], p[4], p[5], p[6],
                      p[7], p[8])
                for p in params
            ),
            kernel=_kernel(name),
            doc=doc,
            output=FieldType(output),
            lookback=_lookback(name, lookback),
            unit_rule=cast(UnitRule, unit_rule),
            needs_context=needs_context,
            symbol=symbol,
            assumptions=assumptions,
            examples=examples,
            time_series=time_series,
            validate=_validate(name) if has_validate else None,
        )
    return ops


def symbol_table(operators: Operators) -> dict[str, str]:
    """Infix symbol -> operator name: the declared `symbol`s, falling back to the standard names."""
    table = dict(DEFAULT_SYMBOLS)
    for name, op in operators.items():
        if op.symbol is not None:
            table[op.symbol] = name
    return table


def infix_of(operators: Operators) -> dict[str, str]:
    """Operator name -> its infix symbol, for operators that declare one."""
    return {name: op.symbol for name, op in operators.items() if op.symbol is not None}
