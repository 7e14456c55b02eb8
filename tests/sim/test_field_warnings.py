"""A field the alpha reads that is (mostly) without finite values is named in `SimResult.warnings`
(issue #11 F), instead of silently giving an empty book."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alphamine.data.panel import Panel
from alphamine.sim.checks import FIELD_GAP_FRACTION, field_gaps, field_warnings
from alphamine.sim.simulate import simulate
from tests.sim.conftest import small_market

SETTINGS = {"universe": "TOP24", "neutralization": "MARKET"}


@pytest.fixture(scope="module")
def panel() -> Panel:
    return small_market(seed=2)


def _counts(panel: Panel) -> tuple[int, int]:
    members = panel.universe("TOP24")
    return int(members.any(axis=1).sum()), int(members.any(axis=0).sum())


@pytest.mark.parametrize("fill", [np.nan, np.inf, -np.inf])
def test_an_all_missing_field_is_named_with_its_counts(panel: Panel, fill: float) -> None:
    broken = panel.with_fields(matrices={"open": np.full(panel.shape, fill)})
    days, names = _counts(broken)
    res = simulate("rank(open)", broken, SETTINGS)
    assert not res.has_positions
    assert res.warnings == [f"field open has no finite value on {days} of {days} days / {names} of {names} "
                            "instruments of TOP24"]
    assert json.loads(res.to_json_text())["warnings"] == res.warnings


def test_only_fields_the_alpha_reads_are_reported(panel: Panel) -> None:
    broken = panel.with_fields(matrices={"open": np.full(panel.shape, np.nan)})
    assert simulate("rank(close)", broken, SETTINGS).warnings == []
    both = simulate("v = open; rank(close) + rank(v)", broken, SETTINGS)
    assert len(both.warnings) == 1 and both.warnings[0].startswith("field open ")
    assert simulate("rank(close)", panel, SETTINGS).warnings == []
    assert simulate("rank(close)", panel, SETTINGS).to_json()["warnings"] == []


def test_partial_gaps_warn_from_the_threshold_on(panel: Panel) -> None:
    days, names = _counts(panel)
    members = panel.universe("TOP24")
    ever = np.flatnonzero(members.any(axis=0))
    cut = int(np.ceil(FIELD_GAP_FRACTION * names))
    few = panel.matrices["open"].copy()
    few[:, ever[: cut - 1]] = np.nan  # just below the threshold: no warning
    many = panel.matrices["open"].copy()
    many[:, ever[:cut]] = np.nan
    assert simulate("rank(open)", panel.with_fields(matrices={"open": few}), SETTINGS).warnings == []
    (line,) = simulate("rank(open)", panel.with_fields(matrices={"open": many}), SETTINGS).warnings
    assert f"/ {cut} of {names} instruments" in line
    late = panel.matrices["open"].copy()
    late[: days // 2 + 40] = np.nan  # no value on more than half of the universe's days
    (line,) = simulate("rank(open)", panel.with_fields(matrices={"open": late}), SETTINGS).warnings
    assert line.startswith("field open has no finite value on ") and f" of {days} days" in line


def test_gaps_are_counted_inside_the_universe_and_memoized(panel: Panel) -> None:
    members = panel.universe("TOP24")
    outside = panel.matrices["open"].copy()
    outside[~members] = np.nan  # missing only where nothing is held
    shaped = panel.with_fields(matrices={"open": outside})
    assert field_gaps(shaped, "open", "TOP24")[::2] == (0, 0)
    assert field_gaps(shaped, "open", "TOP24") is field_gaps(shaped, "open", "TOP24")
    assert field_warnings(shaped, ["open", "sector", "TOP24", "nan"], "TOP24") == []


def test_vector_fields_count_any_finite_element() -> None:
    from alphamine.data.synthetic import synthetic

    market = synthetic(30, 300)
    name = next(iter(market.vectors))
    bad_days, days, _, _ = field_gaps(market, name, "TOP30")
    assert days > 0 and bad_days < days
    empty = market.with_fields(vectors={name: np.full(market.vectors[name].shape, np.nan)})
    (line,) = field_warnings(empty, [name], "TOP30")
    assert line.startswith(f"field {name} has no finite value on {days} of {days} days")
