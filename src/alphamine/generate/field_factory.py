"""The field factory: one-field alphas for every usable catalogue field.

Why: a new dataset is explored fastest by asking, field by field, "does its level, its change or its
position within its own history or its peers predict returns?". The factory turns each field into a
small set of standard transforms, so a catalogue with hundreds of fields is covered without a person
writing a template for each.

How fields are read (`mutate.field_ref`): MATRIX fields directly; VECTOR fields through `vec_avg`
(and the other reductions in `VECTOR_REDUCTIONS`); fundamentals through `ts_backfill(f, 252)` and
other sparse fields (coverage < 0.7 or date coverage < 0.9) through `ts_backfill(f, 60)`. GROUP
fields appear only as the group argument of group_* transforms; UNIVERSE fields never.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alphamine.data.fields import FieldInfo, FieldType
from alphamine.generate.candidate import Candidate, GenerationContext
from alphamine.generate.mutate import dedup, field_ref, group_fields, make_candidate

# `{x}` = the field's series reading, `{d}` = a window, `{g}` = a group field.
TRANSFORMS: tuple[tuple[str, str], ...] = (
    ("ts_zscore", "rank(ts_zscore({x}, {d}))"),
    ("ts_delta_in_group", "group_rank(ts_delta({x}, {d}), {g})"),
    ("ts_rank", "rank(ts_rank({x}, {d}))"),
    ("level_in_group", "group_zscore({x}, {g})"),
    ("ts_av_diff", "rank(ts_av_diff({x}, {d}))"),
    ("neg_ts_delta", "-rank(ts_delta({x}, {d}))"),
    ("level", "rank({x})"),
)
WINDOWS = (5, 20, 60, 120, 252)
VECTOR_REDUCTIONS = ("vec_avg", "vec_sum", "vec_max", "vec_min")
EXCLUDED_FIELDS: frozenset[str] = frozenset()  # names never used on their own (none by default)


class FieldFactory:
    """One-field candidates: fields in an rng-shuffled order, each with transforms, windows and groups
    drawn by `ctx.rng`; `generator="field_factory"`, the thesis inferred from the structure, and
    `params = {"field", "transform", "window", "group", "reduction"}`."""

    name = "field_factory"

    def __init__(self, transforms: Sequence[tuple[str, str]] = TRANSFORMS, windows: Sequence[int] = WINDOWS) -> None:
        self.transforms = tuple(transforms)
        self.windows = tuple(windows)

    @staticmethod
    def usable_fields(catalogue: Mapping[str, FieldInfo]) -> list[str]:
        """MATRIX and VECTOR fields (sorted): the ones a one-field alpha can be built on."""
        return sorted(
            k for k, v in catalogue.items()
            if v.type in (FieldType.MATRIX, FieldType.VECTOR) and k not in EXCLUDED_FIELDS
        )

    def generate(self, ctx: GenerationContext, n: int) -> list[Candidate]:
        fields = self.usable_fields(ctx.catalogue)
        if not fields or n <= 0:
            return []
        groups = group_fields(ctx.catalogue) or group_fields(ctx.catalogue, include_market=True)
        order = [fields[int(i)] for i in ctx.rng.permutation(len(fields))]
        out: list[Candidate] = []
        seen: set[tuple[str, str]] = set()
        rounds = 0
        while len(out) < n and rounds < 4 * len(self.transforms):
            before = len(out)
            for name in order:
                if len(out) >= n:
                    break
                out.extend(dedup([self._one(name, ctx, groups)], seen))
            rounds += 1
            if len(out) == before and rounds >= len(self.transforms):
                break
        return out

    def _one(self, name: str, ctx: GenerationContext, groups: Sequence[str]) -> Candidate | None:
        info = ctx.catalogue[name]
        label, pattern = self.transforms[int(ctx.rng.integers(len(self.transforms)))]
        if "{g}" in pattern and not groups:
            return None
        reduction = None
        if info.type == FieldType.VECTOR:
            reduction = VECTOR_REDUCTIONS[int(ctx.rng.integers(len(VECTOR_REDUCTIONS)))]
        window = self.windows[int(ctx.rng.integers(len(self.windows)))]
        group = groups[int(ctx.rng.integers(len(groups)))] if groups else ""
        expr = pattern.format(x=field_ref(info, reduction or "vec_avg"), d=window, g=group)
        params: dict[str, object] = {"field": name, "transform": label}
        if "{d}" in pattern:
            params["window"] = window
        if "{g}" in pattern:
            params["group"] = group
        if reduction:
            params["reduction"] = reduction
        return make_candidate(expr, ctx, generator=self.name, params=params, tags=("field_factory", name))
