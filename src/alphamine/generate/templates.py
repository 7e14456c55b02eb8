"""Template families: proven alpha shapes with typed slots, filled from the catalogue.

Why: most alphas that survive BRAIN's checks are instances of a few dozen well-known shapes (short-term
reversal, 12-1 momentum, low volatility, price-volume correlation, value yields, quality ratios, ...).
A family fixes the shape and its thesis; its slots say which catalogue fields may fill it (price,
volume, returns, fundamental, vector, exact names), which windows (a small grid) and which groups, so
that one family yields many distinct, lint-clean candidates on any panel that has the fields.

Contract: a slot only takes fields present in the catalogue and of the right kind; fundamental fields
are read as `ts_backfill(f, 252)` and other sparse fields are backfilled too (`mutate.field_ref`);
VECTOR fields are reduced by the slot's vec_* operator; GROUP fields only fill group slots. The family
list itself lives in `families.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.generate.candidate import Candidate, GenerationContext, Thesis
from alphamine.generate.mutate import dedup, field_ref, group_fields, is_fundamental, make_candidate
from alphamine.generate.thesis import TEXT

ATTEMPTS_PER_CANDIDATE = 8  # sampling budget: a generator gives up after n * this many draws
SLOT_KINDS = ("price", "volume", "returns", "fundamental", "vector", "named", "group", "window")


@dataclass(frozen=True)
class Slot:
    """One hole of a pattern.

    kind: price (MATRIX price fields that are not fundamentals), volume (share/traded volume),
    returns, fundamental (dataset or category `fundamental`; `dollars=True` keeps dollar amounts
    only), vector (VECTOR fields, reduced by `vec_op`), named (exactly the fields in `names`),
    group (GROUP fields but `market`), window (one of `grid`).
    names: preferred fields; when any is in the catalogue only those are used, otherwise any field of
    the kind (or none when `strict`). `backfill=False` reads a sparse field raw (for counts).
    """

    kind: str
    names: tuple[str, ...] = ()
    grid: tuple[int, ...] = ()
    strict: bool = False
    dollars: bool = False
    vec_op: str = "vec_avg"
    backfill: bool = True

    def options(self, catalogue: Mapping[str, FieldInfo]) -> list[str]:
        """The values this slot can take on `catalogue`, in a stable order (windows as text)."""
        if self.kind == "window":
            return [str(d) for d in self.grid]
        if self.kind == "group":
            groups = group_fields(catalogue)
            preferred = [g for g in self.names if g in groups]
            return preferred or ([] if self.strict else groups)
        eligible = sorted(k for k, v in catalogue.items() if self._accepts(v))
        preferred = [n for n in self.names if n in eligible]
        if preferred or self.strict or self.kind == "named":
            return preferred
        return eligible

    def render(self, value: str, catalogue: Mapping[str, FieldInfo]) -> str:
        if self.kind in ("window", "group"):
            return value
        info = catalogue[value]
        if not self.backfill:
            return f"{self.vec_op}({value})" if info.type == FieldType.VECTOR else value
        return field_ref(info, self.vec_op)

    def _accepts(self, info: FieldInfo) -> bool:
        if self.kind == "vector":
            return info.type == FieldType.VECTOR
        if info.type != FieldType.MATRIX:
            return False
        fundamental = is_fundamental(info)
        if self.kind == "price":
            return info.unit == Unit.PRICE and not fundamental
        if self.kind == "volume":
            return not fundamental and (info.unit == Unit.VOLUME or info.name == "volume")
        if self.kind == "returns":
            return info.name == "returns"
        if self.kind == "fundamental":
            return fundamental and (not self.dollars or info.unit == Unit.DOLLARS)
        return self.kind == "named" and info.name in self.names


@dataclass(frozen=True)
class TemplateFamily:
    """A proven alpha shape: `pattern` is a FASTEXPR text with `{slot}` holes (str.format)."""

    name: str
    thesis_type: str
    rationale: str
    pattern: str
    slots: Mapping[str, Slot] = field(default_factory=dict)
    failure_mode: str = ""

    @property
    def thesis(self) -> Thesis:
        return Thesis(self.thesis_type, self.rationale, self.failure_mode or TEXT[self.thesis_type][1])

    def options(self, catalogue: Mapping[str, FieldInfo]) -> dict[str, list[str]]:
        return {k: s.options(catalogue) for k, s in self.slots.items()}

    def can_fill(self, catalogue: Mapping[str, FieldInfo]) -> bool:
        return self.first_fill(catalogue) is not None

    def render(self, choice: Mapping[str, str], catalogue: Mapping[str, FieldInfo]) -> str:
        """The pattern with every slot filled (`choice` maps slot -> field name / window / group)."""
        return self.pattern.format(**{k: s.render(choice[k], catalogue) for k, s in self.slots.items()})

    def sample(self, catalogue: Mapping[str, FieldInfo], rng: np.random.Generator,
               opts: Mapping[str, list[str]] | None = None) -> dict[str, str] | None:
        """A random fill (uniform per slot); None when the draw repeats a field in two field slots.
        `opts`: `options(catalogue)` computed once by the caller (it sorts the catalogue)."""
        opts = self.options(catalogue) if opts is None else opts
        choice = {k: v[int(rng.integers(len(v)))] for k, v in opts.items() if v}
        if len(choice) != len(self.slots) or not self._distinct(choice):
            return None
        return choice

    def first_fill(self, catalogue: Mapping[str, FieldInfo]) -> dict[str, str] | None:
        """The first valid fill in slot-option order (greedy, deterministic; used by tests and
        `can_fill`); None when a slot has no option or the field slots cannot be made distinct."""
        choice: dict[str, str] = {}
        for k, values in self.options(catalogue).items():
            pick = next((v for v in values if self._distinct({**choice, k: v})), None)
            if pick is None:
                return None
            choice[k] = pick
        return choice

    def _field_slots(self) -> list[str]:
        return [k for k, s in self.slots.items() if s.kind not in ("window", "group")]

    def _distinct(self, choice: Mapping[str, str]) -> bool:
        used = [choice[k] for k in self._field_slots() if k in choice]
        return len(used) == len(set(used))


class TemplateGenerator:
    """Fills template families with random slot values drawn by `ctx.rng`.

    Families are visited in an rng-shuffled round robin so a batch spreads over many shapes; a fill
    whose expression does not lint clean (e.g. a lookback longer than the history) is skipped and
    another is drawn, within `ATTEMPTS_PER_CANDIDATE * n` draws. Generator string
    `template:<family>`; `params` records the family and the slot fill.
    """

    name = "templates"

    def __init__(self, families: Sequence[TemplateFamily] | None = None) -> None:
        if families is None:
            from alphamine.generate.families import TEMPLATE_FAMILIES

            families = TEMPLATE_FAMILIES
        self.families = tuple(families)

    def generate(self, ctx: GenerationContext, n: int) -> list[Candidate]:
        usable = [f for f in self.families if f.can_fill(ctx.catalogue)]
        if not usable or n <= 0:
            return []
        order = [usable[int(i)] for i in ctx.rng.permutation(len(usable))]
        options = {f.name: f.options(ctx.catalogue) for f in usable}
        out: list[Candidate] = []
        seen: set[tuple[str, str]] = set()
        rendered: set[str] = set()  # a fill drawn again renders the same text: skip canonicalizing and linting it
        for attempt in range(n * ATTEMPTS_PER_CANDIDATE + len(order)):
            if len(out) >= n:
                break
            fam = order[attempt % len(order)]
            choice = fam.sample(ctx.catalogue, ctx.rng, options[fam.name])
            if choice is None:
                continue
            text = fam.render(choice, ctx.catalogue)
            if text in rendered:
                continue
            rendered.add(text)
            cand = make_candidate(
                text,
                ctx,
                generator=f"template:{fam.name}",
                thesis=fam.thesis,
                params={"family": fam.name, "slots": dict(choice)},
                tags=("template", fam.thesis_type),
            )
            out.extend(dedup([cand], seen))
        return out
