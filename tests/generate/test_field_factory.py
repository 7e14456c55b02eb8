"""The field factory: one-field alphas, VECTOR via vec_*, sparse fields backfilled, groups in place."""

from __future__ import annotations

import numpy as np

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel
from alphamine.expr import Call, Name, check, fields_used, parse, walk
from alphamine.generate import THESIS_TYPES, FieldFactory
from alphamine.generate.mutate import field_ref, is_sparse

from .conftest import make_ctx


def _parents_of(expr: str, name: str) -> list[str]:
    """The operator directly applied to each occurrence of field `name`."""
    out = []
    for n in walk(parse(expr)):
        if isinstance(n, Call):
            out.extend(n.func for a in n.args if isinstance(a, Name) and a.id == name)
    return out


def test_field_ref_rules() -> None:
    dense = FieldInfo("x", FieldType.MATRIX)
    sparse = FieldInfo("y", FieldType.MATRIX, coverage=0.3)
    patchy = FieldInfo("z", FieldType.MATRIX, date_coverage=0.5)
    fund = FieldInfo("f", FieldType.MATRIX, dataset="fundamental", category="fundamental", unit=Unit.DOLLARS)
    vec = FieldInfo("v", FieldType.VECTOR, coverage=0.05)
    assert field_ref(dense) == "x"
    assert field_ref(sparse) == "ts_backfill(y, 60)" and is_sparse(sparse)
    assert field_ref(patchy) == "ts_backfill(z, 60)"
    assert field_ref(fund) == "ts_backfill(f, 252)"
    assert field_ref(vec) == "ts_backfill(vec_avg(v), 60)"
    assert field_ref(vec, "vec_max") == "ts_backfill(vec_max(v), 60)"


def test_synthetic_fields_vector_through_vec_and_lint_clean(syn: Panel) -> None:
    ctx = make_ctx(syn, seed=1)
    cands = FieldFactory().generate(ctx, 80)
    assert len(cands) == 80
    cat = syn.catalogue
    seen_fields = set()
    for c in cands:
        assert c.generator == "field_factory" and c.thesis.type in THESIS_TYPES
        assert not [d for d in check(c.expression, cat, n_days=syn.n_days) if d.severity == "error"]
        used = fields_used(parse(c.expression))
        assert all(u in cat for u in used)
        seen_fields.add(c.params["field"])
        for u in used:
            info = cat[u]
            if info.type == FieldType.VECTOR:
                assert all(p.startswith("vec_") for p in _parents_of(c.expression, u)), c.expression
            if info.type == FieldType.GROUP:
                assert all(p.startswith("group_") for p in _parents_of(c.expression, u)), c.expression
            if (info.type == FieldType.MATRIX and is_sparse(info)) or info.dataset == "fundamental":
                assert "ts_backfill" in _parents_of(c.expression, u), c.expression
    usable = set(FieldFactory.usable_fields(cat))
    assert seen_fields == usable  # every MATRIX / VECTOR field is covered
    assert "sentiment_events" in usable and "sector" not in usable


def test_sparse_planted_field_is_backfilled(syn: Panel) -> None:
    T = syn.n_days
    sparse = np.where((np.arange(T) % 7 == 0)[:, None], syn["close"], np.nan)
    panel = syn.with_fields(matrices={"rare": sparse})
    assert is_sparse(panel.catalogue["rare"])
    ctx = make_ctx(panel, seed=2)
    cands = [c for c in FieldFactory().generate(ctx, 200) if c.params["field"] == "rare"]
    assert cands
    for c in cands:
        assert _parents_of(c.expression, "rare") == ["ts_backfill"]


def test_sample_fundamentals_backfilled_and_deterministic(sample: Panel) -> None:
    a = FieldFactory().generate(make_ctx(sample, seed=4), 40)
    b = FieldFactory().generate(make_ctx(sample, seed=4), 40)
    assert a == b
    for c in a:
        info = sample.catalogue[c.params["field"]]
        if info.dataset == "fundamental":
            assert _parents_of(c.expression, info.name) == ["ts_backfill"]
