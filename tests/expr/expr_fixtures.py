"""Shared helpers for the expression-layer tests: a small local operator table and catalogue, so the
tests do not depend on the state of the global registry (being filled in parallel)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.ops.registry import ArgKind, Category, Operator, Param, lookback_of

# Deterministic hypothesis settings used by every property test in this folder (decorator, not a
# global profile, so other folders' tests are unaffected).
PROPERTY = settings(derandomize=True, max_examples=120, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

S, G, V = ArgKind.SERIES, ArgKind.GROUP, ArgKind.VECTOR
LB, INT, NUM, BOOL, STR = ArgKind.LOOKBACK, ArgKind.INT, ArgKind.NUMBER, ArgKind.BOOL, ArgKind.STRING


def _kernel(*args: Any, **kwargs: Any) -> np.ndarray:  # never evaluated here
    raise NotImplementedError


def op(name: str, *params: Param, category: Category = Category.ARITHMETIC, **kw: Any) -> Operator:
    return Operator(name=name, category=category, params=params, kernel=_kernel, doc=name, **kw)


def _ops() -> dict[str, Operator]:
    x = Param("x", S)
    y = Param("y", S)
    d = Param("d", LB)
    table = [
        op("add", Param("x", S, variadic=True), Param("filter", BOOL, False), unit_rule="same", symbol="+"),
        op("subtract", Param("x", S, variadic=True), Param("filter", BOOL, False), unit_rule="same",
           symbol="-"),
        op("multiply", Param("x", S, variadic=True), Param("filter", BOOL, False), unit_rule="combine",
           symbol="*"),
        op("divide", x, y, unit_rule="combine", symbol="/"),
        op("power", x, y, unit_rule="combine", symbol="^"),
        op("less", x, y, symbol="<"), op("less_equal", x, y, symbol="<="),
        op("greater", x, y, symbol=">"), op("greater_equal", x, y, symbol=">="),
        op("equal", x, y, symbol="=="), op("not_equal", x, y, symbol="!="),
        op("and", x, y, symbol="&&"), op("or", x, y, symbol="||"), op("not", x, symbol="!"),
        op("reverse", x, unit_rule="first", symbol="neg"),
        op("if_else", Param("cond", S), Param("a", S), Param("b", S), unit_rule="same", symbol="?:"),
        op("max", Param("x", S, variadic=True), unit_rule="same"),
        op("min", Param("x", S, variadic=True), unit_rule="same"),
        op("abs", x, unit_rule="first"),
        op("ts_mean", x, d, category=Category.TIME_SERIES, lookback=lookback_of("d"), unit_rule="first",
           time_series=True),
        op("ts_delay", x, d, category=Category.TIME_SERIES, lookback=lookback_of("d"), unit_rule="first",
           time_series=True),
        op("ts_delta", x, d, category=Category.TIME_SERIES, lookback=lookback_of("d"), unit_rule="first",
           time_series=True),
        op("ts_rank", x, d, Param("constant", NUM, 0), category=Category.TIME_SERIES,
           lookback=lookback_of("d"), time_series=True),
        op("ts_corr", x, y, d, category=Category.TIME_SERIES, lookback=lookback_of("d"), time_series=True),
        op("ts_regression", y, x, d, Param("lag", INT, 0, minimum=0), Param("rettype", INT, 0, minimum=0),
           category=Category.TIME_SERIES, lookback=lookback_of("d"), time_series=True),
        op("ts_decay_linear", x, d, Param("dense", BOOL, False), category=Category.TIME_SERIES,
           lookback=lookback_of("d"), unit_rule="first", time_series=True),
        op("rank", x, Param("rate", INT, 2, minimum=0), category=Category.CROSS_SECTIONAL),
        op("zscore", x, category=Category.CROSS_SECTIONAL),
        op("winsorize", x, Param("std", NUM, 4.0, minimum=0), category=Category.CROSS_SECTIONAL,
           unit_rule="first"),
        op("quantile", x, Param("driver", STR, "gaussian", choices=("gaussian", "uniform", "cauchy")),
           Param("sigma", NUM, 1.0), category=Category.CROSS_SECTIONAL),
        op("group_neutralize", x, Param("group", G), category=Category.GROUP, unit_rule="first"),
        op("group_rank", x, Param("group", G), category=Category.GROUP),
        op("bucket", x, Param("range", STR, "0,1,0.1"), category=Category.TRANSFORMATIONAL,
           output=FieldType.GROUP),
        op("densify", x, category=Category.ARITHMETIC, output=FieldType.GROUP),
        op("vec_avg", Param("x", V), category=Category.VECTOR),
        op("vec_sum", Param("x", V), category=Category.VECTOR),
    ]
    return {o.name: o for o in table}


OPS = _ops()

CATALOGUE: dict[str, FieldInfo] = {
    **{n: FieldInfo(n, FieldType.MATRIX, unit=Unit.PRICE) for n in ("open", "high", "low", "close", "vwap")},
    "volume": FieldInfo("volume", FieldType.MATRIX, unit=Unit.VOLUME),
    "adv20": FieldInfo("adv20", FieldType.MATRIX, unit=Unit.VOLUME),
    "cap": FieldInfo("cap", FieldType.MATRIX, unit=Unit.DOLLARS),
    "returns": FieldInfo("returns", FieldType.MATRIX, unit=Unit.RATIO),
    "sentiment": FieldInfo("sentiment", FieldType.MATRIX),  # Unit.NONE: never warns
    **{n: FieldInfo(n, FieldType.GROUP, dataset="pv13") for n in ("sector", "industry", "subindustry", "market")},
    "news_vec": FieldInfo("news_vec", FieldType.VECTOR, dataset="news12", category="news"),
}
