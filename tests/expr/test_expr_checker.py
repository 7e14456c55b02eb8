"""The checker: every diagnostic code, type inference, lookbacks, units, the never-raise contract."""

from __future__ import annotations

import json

import pytest
from expr_fixtures import CATALOGUE, OPS

from alphamine.expr import CODES, Diagnostic, ValueType, check, infer, infer_type, parse
from alphamine.expr.diagnostics import caret


def codes(source: str, n_days: int | None = None) -> list[str]:
    return [d.code for d in check(source, CATALOGUE, operators=OPS, n_days=n_days)]


def only(source: str, n_days: int | None = None) -> Diagnostic:
    diags = check(source, CATALOGUE, operators=OPS, n_days=n_days)
    assert len(diags) == 1, diags
    return diags[0]


@pytest.mark.parametrize(
    "source",
    [
        "group_neutralize(rank(-ts_delta(close, 5)), industry)",
        "a = ts_mean(close, 20); rank(a - close)",
        "ts_rank(close, 20, constant=0)",
        'group_neutralize(close, bucket(rank(cap), range="0,1,0.1"))',
        "rank(-returns)",
        "close > open ? close - open : 0",
        "!(close > open) && volume > adv20",
        "vec_avg(news_vec) * 2",
        "d = 20; ts_mean(close, d)",
        "quantile(close, driver=uniform)",
        "rank(close) + rank(volume)",  # dimensionless: no UNITS
        "close * volume",  # combine: never warns
        "close + sentiment",  # Unit.NONE never warns
        "close + 1 + true",
        "ts_regression(close, open, 20, lag=1, rettype=2)",
        "max(close, open, vwap)",
        "-(5) + close",
    ],
)
def test_valid_programs_are_clean(source: str) -> None:
    assert check(source, CATALOGUE, operators=OPS, n_days=100) == []


def test_syntax() -> None:
    d = only("rank(close))")
    assert (d.code, d.severity, d.span.line, d.span.column) == ("SYNTAX", "error", 1, 12)  # type: ignore[union-attr]
    d = only("a = ts_mean(close,\n 20;\nrank(a)")
    assert d.code == "SYNTAX" and d.span is not None and (d.span.line, d.span.column) == (2, 4)
    assert d.hint is not None and "')'" in d.hint


def test_unknown_field_and_operator_with_suggestions() -> None:
    d = only("rank(clse)")
    assert d.code == "UNKNOWN_FIELD" and d.hint == "did you mean close?"
    assert d.span is not None and d.span.column == 6
    d = only("rnk(close)")
    assert d.code == "UNKNOWN_OPERATOR" and d.hint is not None and "rank" in d.hint
    assert d.span is not None and (d.span.column, d.span.end_column) == (1, 4)
    # errors inside an unknown operator's arguments are still found
    assert codes("rnk(clse)") == ["UNKNOWN_OPERATOR", "UNKNOWN_FIELD"]


def test_variables() -> None:
    d = only("b = 3; rank(close)")
    assert (d.code, d.severity) == ("UNUSED_VARIABLE", "warning")
    assert codes("x = y; y = close; x") == ["UNDEFINED_VARIABLE", "UNUSED_VARIABLE"]
    assert codes("a = close; a = open; a") == ["UNUSED_VARIABLE"]  # the first value is never read
    assert codes("a = close; a = a + 1; a") == []
    assert codes("close = rank(close); close") == ["SHADOWED_FIELD"]


def test_arity_and_keywords() -> None:
    assert codes("ts_mean(close)") == ["ARITY"]
    assert codes("rank(close, 1, 2)") == ["ARITY"]
    d = only("rank(close, foo=1)")
    assert d.code == "KEYWORD" and d.span is not None and d.span.column == 13
    assert codes("rank(close, rate=1, rate=0)") == ["KEYWORD"]
    assert codes("rank(close, 1, rate=0)") == ["KEYWORD"]  # given twice
    assert codes("add(x=close)") == ["KEYWORD"]  # variadic by keyword


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("ts_mean(close, 20.5)", "integer"),
        ("ts_mean(close, 0)", "positive"),
        ("ts_mean(close, close)", "constant"),
        ("ts_mean(close, open + 1)", "constant"),
        ("ts_mean(close, true)", "lookback"),
        ('ts_mean(close, "20")', "lookback"),
        ('quantile(close, driver="foo")', "one of"),
        ("quantile(close, driver=3)", "string"),
        ("quantile(close, driver=close)", "string"),
        ("rank(close, rate=-1)", "at least 0"),
        ("ts_decay_linear(close, 5, dense=2)", "true or false"),
        ('rank("abc")', "string"),
        ("vec_avg(close)", "VECTOR"),
        ('group_neutralize(close, "sector")', "grouping"),
        ("winsorize(close, std=-1)", "at least"),
    ],
)
def test_arg_kind(source: str, fragment: str) -> None:
    d = only(source)
    assert d.code == "ARG_KIND" and d.severity == "error"
    assert fragment in d.message


def test_lookahead() -> None:
    d = only("ts_delay(close, -1)")
    assert d.code == "LOOKAHEAD" and "future" in d.message
    assert d.span is not None and d.span.column == 17
    assert codes("ts_regression(close, open, 20, lag=-2)") == ["LOOKAHEAD"]
    assert codes("n = -5; ts_mean(close, n)") == ["LOOKAHEAD"]


def test_cumulative_lookback() -> None:
    assert infer("ts_rank(ts_mean(close, 20), 20)", CATALOGUE, operators=OPS).lookback == 40
    assert infer("ts_mean(close, 5) + ts_delay(ts_delta(open, 3), 10)", CATALOGUE, operators=OPS).lookback == 13
    assert codes("ts_rank(ts_mean(close, 20), 20)", n_days=40) == []
    d = only("rank(ts_rank(ts_mean(close, 20), 20))", n_days=39)
    assert d.code == "LOOKBACK_TOO_LONG" and "40" in d.message
    assert d.span is not None and d.span.column == 6  # reported once, where the limit is first exceeded
    assert codes("a = ts_mean(close, 30); ts_delay(a, 30)", n_days=50) == ["LOOKBACK_TOO_LONG"]


def test_group_misuse() -> None:
    d = only("rank(sector)")
    assert (d.code, d.severity) == ("GROUP_MISUSE", "error")
    d = only("group_neutralize(close, close)")  # BRAIN rejects a non-group input to a group operator
    assert (d.code, d.severity) == ("GROUP_MISUSE", "error") and "MATRIX field close" in d.message
    assert d.span is not None and (d.span.column, d.span.end_column) == (25, 30)  # at the argument
    assert d.hint is not None and "sector, industry, subindustry" in d.hint and "bucket(" in d.hint
    assert codes("sector") == ["GROUP_MISUSE"]
    assert codes("sector + 1") == ["GROUP_MISUSE"]
    d = only("rank(bucket(close))")  # a computed grouping used as numbers: warning only
    assert d.severity == "warning"


def test_vector_unreduced() -> None:
    assert codes("news_vec + 1") == ["VECTOR_UNREDUCED"]
    assert codes("ts_mean(news_vec, 5)") == ["VECTOR_UNREDUCED"]
    assert codes("news_vec") == ["VECTOR_UNREDUCED"]
    assert codes("group_neutralize(close, news_vec)") == ["VECTOR_UNREDUCED"]
    assert codes("rank(vec_sum(news_vec))") == []


def test_units() -> None:
    d = only("close + volume")
    assert (d.code, d.severity) == ("UNITS", "warning")
    assert "price" in d.message and "volume" in d.message
    assert codes("ts_mean(close, 5) - volume") == ["UNITS"]  # "first" keeps close's unit
    assert codes("max(close, cap)") == ["UNITS"]
    assert codes("a = close; a + volume") == ["UNITS"]  # units flow through variables
    assert codes("close > open ? close : volume") == ["UNITS"]  # if_else branches
    assert codes("volume > 0 ? close : open") == []  # the condition is not compared
    assert codes("rank(close) + volume") == []
    assert codes("close + open") == []
    assert codes("abs(close) - low") == []


def test_infix_works_without_registered_operators() -> None:
    ops = {k: v for k, v in OPS.items() if k in ("ts_mean", "rank")}
    assert check("rank(close) + ts_mean(open, 5) > 0 ? 1 : -1", CATALOGUE, operators=ops) == []
    assert [d.code for d in check("close + volume", CATALOGUE, operators=ops)] == ["UNITS"]


def test_infer_type() -> None:
    def t(s: str) -> ValueType:
        return infer_type(s, CATALOGUE, operators=OPS)

    assert t("close") is ValueType.MATRIX
    assert t("sector") is ValueType.GROUP
    assert t("news_vec") is ValueType.VECTOR
    assert t("vec_avg(news_vec)") is ValueType.MATRIX
    assert t("bucket(rank(cap))") is ValueType.GROUP
    assert t("3") is ValueType.CONSTANT
    assert t('"s"') is ValueType.CONSTANT
    assert t("g = sector; g") is ValueType.GROUP
    assert infer("ts_mean(close, 3)", CATALOGUE, operators=OPS).unit is not None


def test_accepts_program_and_node_objects() -> None:
    program = parse("close + volume")
    assert [d.code for d in check(program, CATALOGUE, operators=OPS)] == ["UNITS"]
    assert [d.code for d in check(program.result, CATALOGUE, operators=OPS)] == ["UNITS"]


def test_diagnostics_sorted_and_serializable() -> None:
    diags = check("a = 1; rank(clse) + rnk(volume)", CATALOGUE, operators=OPS)
    starts = [d.span.start for d in diags if d.span]
    assert starts == sorted(starts)
    payload = json.loads(json.dumps([d.to_json() for d in diags]))
    assert {p["code"] for p in payload} == {"UNUSED_VARIABLE", "UNKNOWN_FIELD", "UNKNOWN_OPERATOR"}
    assert all(set(p) >= {"code", "severity", "message", "hint", "line", "column"} for p in payload)
    assert all(d.code in CODES for d in diags)


def test_format_and_caret() -> None:
    source = "rank(clse)"
    d = only(source)
    text = d.format(source)
    assert text.startswith("1:6: error UNKNOWN_FIELD")
    assert text.splitlines()[-1] == "       ^~~~"
    assert d.span is not None and caret(source, d.span).splitlines()[0] == "  rank(clse)"


def test_never_raises_on_odd_inputs() -> None:
    deep = "(" * 5000 + "1" + ")" * 5000
    for source in ["", ";", "\x00", "a" * 10000, deep, "-" * 3000 + "1", "rank(" * 400 + "close" + ")" * 400,
                   '"\\', "/*", "1e99999999", "f(" + ",".join(["1"] * 500) + ")"]:
        diags = check(source, CATALOGUE, operators=OPS)
        assert isinstance(diags, list)
        assert all(d.code != "INTERNAL" for d in diags), (source[:30], diags)
