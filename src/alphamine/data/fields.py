"""The field catalogue: what a panel offers, described the way BRAIN's /data-fields describes it.

A `FieldInfo` is metadata only; the values live in the `Panel`. The catalogue is what the expression
checker (`alphamine.expr.check`) and the generators consult, so it must be cheap to build and hashable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FieldType(str, Enum):
    """BRAIN's data-field types. VECTOR = a variable-length list per (date, instrument), padded with NaN."""

    MATRIX = "MATRIX"
    VECTOR = "VECTOR"
    GROUP = "GROUP"
    UNIVERSE = "UNIVERSE"


class Unit(str, Enum):
    """Coarse physical unit of a field, used by the UNITS lint warning (e.g. price + volume)."""

    PRICE = "price"
    VOLUME = "volume"
    DOLLARS = "dollars"
    RATIO = "ratio"
    COUNT = "count"
    NONE = "none"


@dataclass(frozen=True)
class FieldInfo:
    """One catalogue entry.

    coverage: mean over days of the fraction of the day's universe (or of all instruments when no
    universe is known) that has a value. date_coverage: fraction of days with at least one value.
    Both in [0, 1]. `approximate` marks a derived field that stands in for the real one (vwap from
    (high+low+close)/3).
    """

    name: str
    type: FieldType
    dataset: str = "pv1"
    category: str = "pv"
    description: str = ""
    unit: Unit = Unit.NONE
    coverage: float = 1.0
    date_coverage: float = 1.0
    approximate: bool = False

    def to_json(self) -> dict[str, object]:
        """BRAIN-style spelling (`dateCoverage`)."""
        return {
            "id": self.name,
            "type": self.type.value,
            "dataset": self.dataset,
            "category": self.category,
            "description": self.description,
            "unit": self.unit.value,
            "coverage": self.coverage,
            "dateCoverage": self.date_coverage,
            "approximate": self.approximate,
        }
