"""What a batch is made of: `SimSpec` (an expression with its settings) and `SimFailure` (a located,
one-line reason an entry could not be simulated). Shared by the batch runner, its worker processes and
every backend (`alphamine.backends`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alphamine.sim.settings import Settings


@dataclass(frozen=True)
class SimSpec:
    expression: str
    settings: Settings


@dataclass(frozen=True)
class SimFailure:
    """One entry of a batch that could not be simulated: `error` is one readable line."""

    expression: str
    settings: Settings | None
    error: str

    @property
    def ok(self) -> bool:
        return False


def as_spec(item: SimSpec | str | tuple[str, Any], default: Settings) -> SimSpec:
    if isinstance(item, SimSpec):
        return item
    if isinstance(item, str):
        return SimSpec(item, default)
    expr, settings = item
    if settings is None:
        return SimSpec(expr, default)
    if isinstance(settings, Settings):
        return SimSpec(expr, settings)
    return SimSpec(expr, default.with_(**dict(settings)))
