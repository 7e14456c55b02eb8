"""Template families and the template generator: coverage of the library, catalogue discipline."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from alphamine.data.fields import FieldInfo, FieldType
from alphamine.data.panel import Panel
from alphamine.expr import Call, check, fields_used, parse, walk
from alphamine.generate import TEMPLATE_FAMILIES, THESIS_TYPES, TemplateFamily, TemplateGenerator
from alphamine.generate.mutate import is_fundamental

from .conftest import make_ctx


def _errors(expr: str, panel: Panel) -> list[str]:
    return [d.code for d in check(expr, panel.catalogue, n_days=panel.n_days) if d.severity == "error"]


def _backfilled_names(expr: str) -> set[str]:
    """Field names that appear (somewhere) inside a ts_backfill call."""
    out: set[str] = set()
    for n in walk(parse(expr)):
        if isinstance(n, Call) and n.func == "ts_backfill":
            out.update(fields_used(n.args[0]))
    return out


def test_at_least_30_families_with_distinct_names_and_valid_theses() -> None:
    assert len(TEMPLATE_FAMILIES) >= 30
    assert len({f.name for f in TEMPLATE_FAMILIES}) == len(TEMPLATE_FAMILIES)
    for fam in TEMPLATE_FAMILIES:
        assert fam.thesis_type in THESIS_TYPES
        assert fam.thesis.rationale and fam.thesis.failure_mode
        assert fam.slots, fam.name
    kinds = {f.thesis_type for f in TEMPLATE_FAMILIES}
    assert {"reversal", "momentum", "volatility", "volume_price", "value", "quality", "group_relative"} <= kinds


@pytest.mark.parametrize("fam", TEMPLATE_FAMILIES, ids=lambda f: f.name)
def test_every_family_fills_lint_clean_on_sample_or_synthetic(fam: TemplateFamily, sample: Panel, syn: Panel) -> None:
    filled = 0
    for panel in (sample, syn):
        choice = fam.first_fill(panel.catalogue)
        if choice is None:
            continue
        expr = fam.render(choice, panel.catalogue)
        assert _errors(expr, panel) == [], expr
        filled += 1
    assert filled >= 1, f"{fam.name} fills on neither catalogue"


def test_most_families_fill_on_the_sample(sample: Panel) -> None:
    assert sum(f.can_fill(sample.catalogue) for f in TEMPLATE_FAMILIES) >= 30


def test_family_with_missing_fields_cannot_fill() -> None:
    cat: Mapping[str, FieldInfo] = {"close": FieldInfo("close", FieldType.MATRIX)}
    fam = next(f for f in TEMPLATE_FAMILIES if f.name == "quality_accruals")
    assert not fam.can_fill(cat)


@pytest.mark.parametrize("which", ["sample", "syn"])
def test_generator_uses_only_catalogue_fields_and_backfills_fundamentals(
    which: str, request: pytest.FixtureRequest
) -> None:
    panel: Panel = request.getfixturevalue(which)
    ctx = make_ctx(panel, seed=3)
    cands = TemplateGenerator().generate(ctx, 60)
    assert len(cands) == 60
    assert len({(c.expression, c.settings.key()) for c in cands}) == 60
    cat = panel.catalogue
    for c in cands:
        assert c.generator.startswith("template:")
        assert c.thesis.type in THESIS_TYPES
        assert _errors(c.expression, panel) == []
        names = fields_used(parse(c.expression))
        assert all(n in cat for n in names), c.expression
        fundamentals = {n for n in names if is_fundamental(cat[n])}
        assert fundamentals <= _backfilled_names(c.expression), c.expression
    assert len({c.params["family"] for c in cands}) >= 20  # spread over many shapes


def test_group_fields_only_in_group_parameters(sample: Panel) -> None:
    cands = TemplateGenerator().generate(make_ctx(sample, seed=5), 80)
    for c in cands:
        # the checker flags a grouping field outside a group parameter as GROUP_MISUSE
        assert "GROUP_MISUSE" not in [d.code for d in check(c.expression, sample.catalogue)]


def test_generator_is_deterministic(sample: Panel) -> None:
    a = TemplateGenerator().generate(make_ctx(sample, seed=11), 25)
    b = TemplateGenerator().generate(make_ctx(sample, seed=11), 25)
    c = TemplateGenerator().generate(make_ctx(sample, seed=12), 25)
    assert a == b
    assert [x.expression for x in a] != [x.expression for x in c]
