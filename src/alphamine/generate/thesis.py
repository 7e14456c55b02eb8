"""Infer a factor thesis (type, rationale, expected failure mode) from an expression's structure.

Why: every candidate must say why it should work and how it is expected to fail, so that a
researcher reading a report (and the optimizers choosing a repair) knows what to watch. Templates and
optimizers supply their own thesis; anything else (field factory, variants, LLM output, user input)
gets one inferred here from what the tree reads and how.

Rules, first match wins:
1. a VECTOR field, or a field whose dataset/category mentions sentiment/news -> `sentiment`;
2. fundamental fields -> `growth` when they are differenced over time (ts_delta, ts_delay, ts_zscore,
   ts_rank, ts_returns), `quality` when two fundamentals are divided (profitability, leverage),
   `value` otherwise (a fundamental over price/cap, or a level);
3. volume-like fields (unit volume, dollar volume, sharesout): with a price/returns input ->
   `volume_price`, alone -> `liquidity`;
4. dispersion operators (ts_std_dev, ts_skewness, ts_kurtosis, ...) or a high-low range -> `volatility`;
5. a group_* operator -> `group_relative`;
6. price changes (returns, ts_delta/ts_returns/ts_zscore/ts_rank of a price, price / ts_delay(price))
   by their sign relative to the output: negative -> `reversal`, positive -> `momentum`;
7. otherwise `other`.
Always returns one of `THESIS_TYPES`; never raises (unparsable text gives `other`).
"""

from __future__ import annotations

from collections.abc import Mapping

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.expr import Binary, Call, Keyword, Name, Node, Number, Unary, children, fields_used, operators_used
from alphamine.generate.candidate import THESIS_TYPES, Thesis
from alphamine.generate.mutate import as_node, is_fundamental

MOMENTUM_MIN_WINDOW = 20  # a positive price change over a shorter window is short-term continuation
VOLATILITY_OPS = frozenset({"ts_std_dev", "ts_skewness", "ts_kurtosis", "ts_moment", "ts_entropy", "ts_ir"})
GROWTH_OPS = frozenset({"ts_delta", "ts_delay", "ts_zscore", "ts_rank", "ts_returns", "ts_av_diff"})
CHANGE_OPS = frozenset({"ts_delta", "ts_returns", "ts_zscore", "ts_rank", "ts_av_diff", "ts_scale"})
# Operators increasing in their first argument: the sign of a term passes through them.
MONOTONE_OPS = frozenset({
    "rank", "zscore", "scale", "normalize", "quantile", "winsorize", "truncate", "signed_power", "tanh",
    "sigmoid", "s_log_1p", "ts_mean", "ts_sum", "ts_zscore", "ts_rank", "ts_decay_linear",
    "ts_decay_exp_window", "ts_backfill", "ts_delay", "ts_av_diff", "ts_scale", "ts_median", "hump",
    "group_rank", "group_zscore", "group_neutralize", "group_scale", "group_normalize", "group_backfill",
    "regression_neut", "vector_neut", "add", "ts_ir", "jump_decay", "ts_target_tvr_decay", "pasteurize",
})
RETURN_FIELDS = frozenset({"returns"})

TEXT: dict[str, tuple[str, str]] = {
    "reversal": (
        "Recent losers outperform recent winners: liquidity providers are paid for absorbing "
        "short-term order-flow imbalances, so prices partially revert.",
        "High turnover eats the edge after costs; fails in trending markets and when news drives the move.",
    ),
    "momentum": (
        "Past winners keep winning: investors under-react to information, so price trends persist over "
        "months.",
        "Momentum crashes at sharp market rebounds; short windows are dominated by reversal instead.",
    ),
    "volatility": (
        "Low-risk anomaly: volatile, lottery-like stocks are over-priced by constrained and "
        "attention-driven investors, so low volatility earns more per unit of risk.",
        "Loads on market beta and size; suffers in risk-on rallies led by volatile names.",
    ),
    "liquidity": (
        "Illiquid or neglected stocks pay a premium for the cost and risk of trading them.",
        "Concentrates in small, hard-to-trade names; capacity and sub-universe Sharpe are weak.",
    ),
    "volume_price": (
        "Volume tells how informed a price move is: moves on heavy volume persist, moves on light "
        "volume revert (and price-volume co-movement marks crowded trading).",
        "Noisy day to day (high turnover); the sign can flip between regimes of news and liquidity shocks.",
    ),
    "value": (
        "Cheap stocks (high fundamentals per dollar of market value) outperform expensive ones: "
        "investors over-extrapolate growth and over-pay for glamour.",
        "Long value droughts (years); loads on distressed names; stale data around report dates.",
    ),
    "quality": (
        "Profitable, conservatively financed firms are under-priced relative to their cash flows.",
        "Slow and crowded; low turnover with modest Sharpe; can lag in junk rallies.",
    ),
    "growth": (
        "Improving fundamentals are under-reacted to (post-earnings drift): the change of a "
        "fundamental predicts returns beyond its level.",
        "Reporting lags and restatements; signal only updates quarterly, so turnover and coverage dip.",
    ),
    "group_relative": (
        "Comparing a stock to its industry peers removes common shocks, isolating the stock-specific "
        "mispricing the signal is about.",
        "Small groups make ranks noisy; fails when the effect is industry-wide rather than within-group.",
    ),
    "sentiment": (
        "News and sentiment events move prices with a delay as attention spreads; the average event "
        "tone predicts the drift.",
        "Sparse events give low coverage and lumpy turnover; the edge decays quickly after publication.",
    ),
    "other": (
        "A structural combination of data fields with no named factor behind it; kept for exploration.",
        "Likely overfit or noise: check the out-of-sample decay and the sub-universe Sharpe.",
    ),
}


def thesis_for(kind: str, detail: str = "") -> Thesis:
    """The standard thesis text of a type, with an optional detail sentence appended to the rationale."""
    t = kind if kind in THESIS_TYPES else "other"
    rationale, failure = TEXT[t]
    return Thesis(t, f"{rationale} {detail}".strip(), failure)


def infer_thesis(expression: str, catalogue: Mapping[str, FieldInfo]) -> Thesis:
    """The thesis of `expression` by the module's rules (see the docstring)."""
    try:
        node = as_node(expression)
        kind, detail = _classify(node, catalogue)
    except Exception:
        kind, detail = "other", ""
    return thesis_for(kind, detail)


def _classify(node: Node, catalogue: Mapping[str, FieldInfo]) -> tuple[str, str]:
    names = fields_used(node, catalogue)
    infos = [catalogue[n] for n in names]
    ops = set(operators_used(node))
    series = [i for i in infos if i.type in (FieldType.MATRIX, FieldType.VECTOR)]
    if any(i.type == FieldType.VECTOR or _is_sentiment(i) for i in series):
        return "sentiment", "Reads event data through vec_* reductions."
    fundamentals = [i for i in series if is_fundamental(i)]
    if fundamentals:
        label = ", ".join(i.name for i in fundamentals)
        if ops & GROWTH_OPS and _fundamental_in_change(node, catalogue):
            return "growth", f"Uses the change over time of {label}."
        if len(fundamentals) >= 2 and "divide" in ops:
            return "quality", f"Ratio of fundamentals: {label}."
        return "value", f"Fundamental level(s) {label}, scaled by size or ranked."
    volume_like = [i for i in series if _is_volume(i)]
    pricey = [i for i in series if not _is_volume(i)]
    if volume_like:
        if pricey:
            return "volume_price", "Combines price/returns with volume."
        return "liquidity", "Reads trading volume / size / market value only."
    if ops & VOLATILITY_OPS or {"high", "low"} <= set(names):
        return "volatility", "Measures dispersion of returns or the trading range."
    if any(o.startswith("group_") for o in ops):
        return "group_relative", "Measured within groups of peers."
    terms = _price_change_terms(node, catalogue)
    signs = {s for s, _ in terms if s != 0}
    if signs == {-1}:
        return "reversal", f"Sells recent price gains over {_days(max(w for _, w in terms))}."
    if signs == {1}:
        window = max(w for _, w in terms)
        if window >= MOMENTUM_MIN_WINDOW:
            return "momentum", f"Buys price gains over {_days(window)}."
        return "momentum", f"Buys short-term gains ({_days(window)}): if it loses, reversal dominates - flip it."
    return "other", ""


def _days(w: float) -> str:
    return "the last day" if w <= 1 else f"{w:g} days"


def _is_sentiment(info: FieldInfo) -> bool:
    text = f"{info.dataset} {info.category}".lower()
    return "sentiment" in text or "news" in text


def _is_volume(info: FieldInfo) -> bool:
    if is_fundamental(info):
        return False
    return info.unit in (Unit.VOLUME, Unit.COUNT, Unit.DOLLARS) or "volume" in info.name or info.name == "adv20"


def _is_price(name: str, catalogue: Mapping[str, FieldInfo]) -> bool:
    info = catalogue.get(name)
    return info is not None and info.unit == Unit.PRICE and not is_fundamental(info)


def _price_lag(n: Node, catalogue: Mapping[str, FieldInfo]) -> float | None:
    """0 for a price field, d for `ts_delay(price, d)`, None otherwise."""
    if isinstance(n, Name) and _is_price(n.id, catalogue):
        return 0.0
    if isinstance(n, Call) and n.func == "ts_delay" and len(n.args) == 2 and isinstance(n.args[1], Number):
        return n.args[1].value if _price_lag(n.args[0], catalogue) == 0.0 else None
    return None


def _fundamental_in_change(node: Node, catalogue: Mapping[str, FieldInfo]) -> bool:
    for n in _walk(node):
        if isinstance(n, Call) and n.func in GROWTH_OPS and n.args:
            inner = fields_used(n.args[0], catalogue)
            if any(is_fundamental(catalogue[f]) for f in inner):
                return True
    return False


def _walk(node: Node) -> list[Node]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(children(n))
    return out


def _price_change_terms(node: Node, catalogue: Mapping[str, FieldInfo]) -> list[tuple[int, float]]:
    """(sign relative to the output, window) of each price-change term; sign 0 = unknown direction."""
    out: list[tuple[int, float]] = []

    def window_of(n: Call) -> float:
        nums = [a.value for a in n.args[1:] if isinstance(a, Number)]
        return max(nums) if nums else 1.0

    def visit(n: Node, sign: int, window: float) -> None:
        if isinstance(n, Name):
            if n.id in RETURN_FIELDS:
                out.append((sign, window))
            return
        if isinstance(n, Unary):
            visit(n.operand, -sign if n.op == "-" else sign, window)
            return
        if isinstance(n, Binary):
            lags = (_price_lag(n.left, catalogue), _price_lag(n.right, catalogue))
            if n.op == "/" and lags[0] is not None and lags[1] is not None and lags[1] > lags[0]:
                out.append((sign, max(window, lags[1])))
                return
            if n.op == "-":
                visit(n.left, sign, window)
                visit(n.right, -sign, window)
            elif n.op in "*/" and isinstance(n.right, Number) and n.right.value < 0:
                visit(n.left, -sign, window)
            elif n.op in "*/" and isinstance(n.left, Number) and n.left.value < 0:
                visit(n.right, -sign, window)
            elif n.op == "/":
                visit(n.left, sign, window)
                visit(n.right, 0, window)
            elif n.op in "+*":
                visit(n.left, sign, window)
                visit(n.right, sign, window)
            return
        if isinstance(n, Call):
            w = max(window, window_of(n))
            if n.func in CHANGE_OPS and n.args and isinstance(n.args[0], Name) and _is_price(n.args[0].id, catalogue):
                out.append((sign, w))
                return
            for i, a in enumerate(n.args):
                if n.func == "reverse":
                    visit(a, -sign, w)
                else:
                    visit(a, sign if (i == 0 and n.func in MONOTONE_OPS) or n.func in ("add", "max", "min") else 0, w)
            for k in n.kwargs:
                visit(k, 0, w)
            return
        if isinstance(n, Keyword):
            visit(n.value, sign, window)

    visit(node, 1, 1.0)
    return out
