"""Checker rules read from the real registry: groups, universes, variadic counts, and every declared
parameter rule reported as a located lint error (issue #11 A-C)."""

from __future__ import annotations

import pytest
from expr_fixtures import CATALOGUE

from alphamine.data.fields import FieldInfo, FieldType
from alphamine.expr import Diagnostic, check

CAT = {**CATALOGUE, "TOP500": FieldInfo("TOP500", FieldType.UNIVERSE)}


def errors(source: str, n_days: int | None = None) -> list[Diagnostic]:
    return [d for d in check(source, CAT, n_days=n_days) if d.is_error]


def only_error(source: str, n_days: int | None = None) -> Diagnostic:
    errs = errors(source, n_days)
    assert len(errs) == 1, errs
    return errs[0]


def marked(source: str, d: Diagnostic) -> str:
    assert d.span is not None
    return source[d.span.start : d.span.end]


@pytest.mark.parametrize(
    ("source", "argument", "got"),
    [
        ("group_neutralize(close, close)", "close", "the MATRIX field close"),
        ("group_rank(close, rank(volume))", "rank(volume)", "a numeric expression"),
        ("group_zscore(close, 1)", "1", "a constant"),
        ("densify(close)", "close", "the MATRIX field close"),
        ("a = close * 2; group_mean(close, volume, a)", "a", "a numeric expression"),
    ],
)
def test_a_non_group_in_a_group_parameter_is_an_error(source: str, argument: str, got: str) -> None:
    d = only_error(source)
    assert d.code == "GROUP_MISUSE" and f"expects a grouping, got {got}" in d.message
    assert marked(source, d) == argument
    assert d.hint is not None
    assert "sector, industry, subindustry, market" in d.hint and "bucket(" in d.hint and "densify(" in d.hint


@pytest.mark.parametrize(
    "source",
    [
        "group_neutralize(close, sector)",
        'group_neutralize(close, bucket(rank(cap), range="0,1,0.1"))',
        "group_rank(close, densify(industry))",
        'group_zscore(close, densify(bucket(rank(volume), buckets="0.2,0.5,0.8")))',
        "g = subindustry; group_rank(close, g)",
        "group_rank(close, group_cartesian_product(sector, industry))",
        "group_rank(close, group_coalesce(subindustry, industry, sector))",
        "group_mean(close, volume, market)",
    ],
)
def test_group_producers_are_accepted(source: str) -> None:
    assert errors(source) == []


def test_a_universe_is_not_a_field() -> None:
    d = only_error("rank(TOP500) + 1")
    assert d.code == "UNKNOWN_FIELD" and d.message == "'TOP500' is a universe, not a data field"
    assert d.hint == "choose the universe in the simulation settings (universe=TOP500)"
    assert marked("rank(TOP500) + 1", d) == "TOP500"
    assert errors("TOP500 = rank(close); TOP500") == []  # a variable of that name is a variable


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "max", "min"])
def test_one_argument_variadics_are_arity_errors(name: str) -> None:
    d = only_error(f"{name}(close)")
    assert d.code == "ARITY" and "at least 2 inputs" in d.message and "got 1" in d.message
    assert errors(f"{name}(close, open)") == []


@pytest.mark.parametrize(
    ("source", "argument", "message"),
    [
        ("clamp(close, lower=2, upper=1)", "1", "clamp needs lower <= upper, got lower=2.0, upper=1.0"),
        ("vec_percentage(news_vec, percentage=1.5)", "1.5", "vec_percentage's percentage must be at most 1"),
        ("rank(bucket(close))", "bucket", 'bucket needs exactly one of range="start,end,step"'),
        ('rank(bucket(close, range="1,0,0.1"))', '"1,0,0.1"', "bucket range needs finite start < end"),
        ("replace(close)", "replace", "replace: target is empty"),
        ('replace(close, target="0 1", dest="1 2 3")', '"1 2 3"', "2 target values but 3 dest values"),
        ('filter(close, h="")', '""', "filter: h needs at least one coefficient"),
        ("kth_element(close, 10, k=11)", "11", "kth_element's k must be between 1 and the window d=10"),
        ("kth_element(close, 10, k=2147483648)", "2147483648", "kth_element's k must be at most"),
        ("ts_backfill(close, 5, k=6)", "6", "ts_backfill's k must be between 1 and the window lookback=5"),
        ("ts_entropy(close, 10, buckets=2147483648)", "2147483648", "ts_entropy's buckets must be at most 1000"),
        ("ts_moment(close, 10, k=1e308)", "1e308", "ts_moment's k must be at most 100"),
        ("ts_mean(close, 10001)", "10001", "ts_mean's d must be at most 10000"),
        ("ts_regression(close, open, 10, rettype=10)", "10", "ts_regression's rettype must be at most 9"),
        ("ts_returns(close, 5, mode=3)", "3", "ts_returns's mode must be at most 2"),
        ("round_down(close, f=0)", "0", "round_down's f must be > 0"),
    ],
)
def test_declared_parameter_rules_are_located_lint_errors(source: str, argument: str, message: str) -> None:
    d = only_error(source)
    assert d.code == "ARG_KIND" and message in d.message, d
    assert marked(source, d) == argument  # the argument, or the operator's name for a left-out default


def test_valid_parameters_stay_clean() -> None:
    for source in ["clamp(close, lower=-1, upper=1)", "clamp(close, lower=1, upper=1)",
                   "vec_percentage(news_vec, percentage=1)", 'rank(bucket(close, range="0,1,0.1"))',
                   'replace(close, target="0 nan", dest="1")', "kth_element(close, 10, k=10)",
                   "ts_entropy(close, 10, buckets=1000)", "ts_moment(close, 10, k=100)", "ts_mean(close, 10000)",
                   'filter(close, h="0.5,0.5", t="0.1")', "round_down(close, f=0.5)"]:
        assert errors(source) == [], source


def test_window_beyond_the_history_is_reported_when_it_is_known() -> None:
    assert errors("ts_mean(close, 300)", n_days=300) == []
    assert only_error("ts_mean(close, 301)", n_days=300).code == "LOOKBACK_TOO_LONG"
