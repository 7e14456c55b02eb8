"""The template library: 40+ proven alpha families (see `templates.py` for slots and filling).

Why these: each is a documented equity anomaly or a shape that BRAIN's community alphas use again and
again (reversal, momentum, low volatility, price-volume correlation, liquidity, value, quality, growth,
group-relative signals, sentiment), written so that the signal's sign matches its thesis (a positive
value = buy). Windows come from small grids around the horizons the literature uses; the optimizers
and the window sweep move them later.
"""

from __future__ import annotations

from alphamine.generate.templates import Slot, TemplateFamily

# ---- slot shorthands
P = Slot("price", names=("close", "vwap", "open"))
V = Slot("volume", names=("volume", "adv20"))
R = Slot("returns")
G = Slot("group", names=("industry", "subindustry", "sector", "industry_group"))
OPEN, CLOSE, HIGH, LOW = (Slot("named", names=(n,)) for n in ("open", "close", "high", "low"))
VWAP, CAP = Slot("named", names=("vwap",)), Slot("named", names=("cap",))
SHARES, DOLLAR_VOLUME, ADV = (Slot("named", names=(n,)) for n in ("sharesout", "dollar_volume", "adv20"))
BOOK_LIKE = ("bookvalue", "total_equity", "earnings", "net_income", "sales", "total_revenue",
             "operating_income", "gross_profit", "net_cash_flow_operating", "cash_and_cash_equivalents")
FUND_VALUE = Slot("fundamental", names=BOOK_LIKE, dollars=True)
PROFIT = Slot("fundamental", names=("gross_profit", "operating_income", "net_income", "earnings",
                                    "earnings_before_interest_and_tax"), strict=True)
ASSETS = Slot("fundamental", names=("total_assets", "assets"), strict=True)
DEBT = Slot("fundamental", names=("long_term_debt", "total_liabilities", "debt", "liabilities"), strict=True)
EQUITY_OR_ASSETS = Slot("fundamental", names=("total_assets", "assets", "total_equity", "bookvalue"), strict=True)
GROWING = Slot("fundamental", names=("total_revenue", "sales", "net_income", "earnings", "operating_income",
                                     "gross_profit", "bookvalue", "total_equity"), dollars=True)
NET_INCOME = Slot("fundamental", names=("net_income", "earnings"), strict=True)
CFO = Slot("fundamental", names=("net_cash_flow_operating",), strict=True)
EPS = Slot("fundamental", names=("earnings_per_share",), strict=True)
MARGIN = Slot("fundamental", names=("gross_margin", "operating_margin", "profit_margin", "after_tax_roe"), strict=True)
CASH = Slot("fundamental", names=("cash_and_cash_equivalents", "short_term_investments"), strict=True)
EVENTS = Slot("vector")
EVENT_COUNT = Slot("vector", vec_op="vec_count", backfill=False)


def W(*grid: int) -> Slot:
    return Slot("window", grid=grid)


SHORT, MID, LONG = W(3, 5, 10), W(10, 20, 60), W(60, 120, 252)


def F(name: str, kind: str, rationale: str, pattern: str, failure: str = "", **slots: Slot) -> TemplateFamily:
    return TemplateFamily(name, kind, rationale, pattern, slots, failure)


TEMPLATE_FAMILIES: tuple[TemplateFamily, ...] = (
    # ---------------------------------------------------------------- reversal
    F("reversal_returns_sum", "reversal", "Sell the last few days' winners, buy the losers: liquidity "
      "provision is paid as order-flow imbalances revert.", "rank(-ts_sum({r}, {d}))", r=R, d=W(2, 3, 5)),
    F("reversal_price_delta", "reversal", "Short-horizon price changes revert as temporary price pressure fades.",
      "-rank(ts_delta({p}, {d}))", p=P, d=SHORT),
    F("reversal_price_zscore", "reversal", "A price stretched far from its recent mean (in its own volatility "
      "units) tends to come back.", "-rank(ts_zscore({p}, {d}))", p=P, d=W(5, 10, 20)),
    F("reversal_intraday", "reversal", "A close far below the open within the day's range marks selling "
      "pressure that reverts overnight.", "rank(({o} - {c}) / ({h} - {lo} + 0.001))", o=OPEN, c=CLOSE, h=HIGH, lo=LOW),
    F("reversal_range_position", "reversal", "Stocks trading near the bottom of their recent range bounce; "
      "near the top they give back.", "rank((ts_max({h}, {d}) - {c}) / (ts_max({h}, {d}) - ts_min({lo}, {d}) + 0.001))",
      h=HIGH, c=CLOSE, lo=LOW, d=MID),
    F("reversal_vwap_gap", "reversal", "A close below the day's volume-weighted price shows a temporary "
      "discount that the next sessions close.", "rank(({vw} - {c}) / {c})", vw=VWAP, c=CLOSE),
    F("reversal_decayed_returns", "reversal", "Linearly decayed recent returns: the freshest moves revert "
      "most, older ones are smoothed in to cut turnover.", "rank(-ts_decay_linear({r}, {d}))", r=R, d=SHORT),
    # ---------------------------------------------------------------- momentum
    F("momentum_12_1", "momentum", "Twelve-month price momentum skipping the last month (which reverts): "
      "investors under-react to news.", "rank(ts_delay({p}, 21) / ts_delay({p}, {d}) - 1)", p=P, d=W(126, 252)),
    F("momentum_mean_return", "momentum", "Average daily return over months: persistent winners keep winning.",
      "rank(ts_mean({r}, {d}))", r=R, d=LONG),
    F("momentum_ts_rank", "momentum", "A price at the top of its own history signals a trend investors "
      "have not fully priced.", "rank(ts_rank({p}, {d}))", p=P, d=LONG),
    F("momentum_risk_adjusted", "momentum", "Momentum per unit of volatility (information ratio of returns) "
      "favours smooth trends, which persist longer.", "rank(ts_ir({r}, {d}))", r=R, d=LONG),
    F("momentum_in_group", "momentum", "Momentum measured against industry peers avoids momentum crashes "
      "driven by industry rotation.", "group_rank(ts_sum({r}, {d}), {g})", r=R, d=LONG, g=G),
    # ---------------------------------------------------------------- volatility
    F("low_volatility", "volatility", "Low-volatility stocks earn more per unit of risk than volatile ones.",
      "-rank(ts_std_dev({r}, {d}))", r=R, d=W(20, 60, 120)),
    F("volatility_ratio", "volatility", "A recent jump in volatility relative to its norm marks uncertainty "
      "that is priced with a discount, then over-shoots.", "-rank(ts_std_dev({r}, {d}) / ts_std_dev({r}, {d2}))",
      r=R, d=W(5, 10, 20), d2=W(60, 120)),
    F("low_range", "volatility", "A narrow average daily range (high-low over close) is the intraday face "
      "of the low-volatility premium.", "-rank(ts_mean(({h} - {lo}) / {c}, {d}))", h=HIGH, lo=LOW, c=CLOSE, d=MID),
    F("negative_skewness", "volatility", "Lottery-like positively skewed stocks are over-priced by "
      "investors who like skewness.", "-rank(ts_skewness({r}, {d}))", r=R, d=W(20, 60, 120)),
    F("idiosyncratic_volatility", "volatility", "High idiosyncratic (peer-relative) volatility predicts low "
      "future returns (the idiosyncratic volatility puzzle).", "-rank(ts_std_dev(group_neutralize({r}, {g}), {d}))",
      r=R, g=G, d=W(20, 60)),
    F("max_return_lottery", "volatility", "Stocks with extreme recent daily gains are bought as lotteries "
      "and under-perform (the MAX effect).", "-rank(ts_max({r}, {d}))", r=R, d=MID),
    # ---------------------------------------------------------------- volume-price
    F("price_volume_corr", "volume_price", "When price and volume rise together the move is crowded and "
      "reverts; negative co-movement is the better bet.", "-rank(ts_corr(rank({p}), rank({v}), {d}))",
      p=P, v=V, d=W(5, 10, 20)),
    F("returns_volume_corr", "volume_price", "Returns that come with rising volume are information-driven; "
      "the opposite is noise that reverts.", "-rank(ts_corr({r}, {v}, {d}))", r=R, v=V, d=MID),
    F("volume_surge_reversal", "volume_price", "Reversal is strongest where the move came on abnormal volume "
      "(liquidity shocks).", "rank(-{r} * rank({v} / ts_mean({v}, {d})))", r=R, v=V, d=MID),
    F("price_volume_divergence", "volume_price", "Price up on falling volume lacks conviction and fades.",
      "-rank(ts_delta({p}, {d})) * rank(ts_delta({v}, {d}))", p=P, v=V, d=SHORT),
    F("high_volume_premium", "volume_price", "A rise in trading activity raises visibility and demand "
      "(the high-volume return premium).", "rank(ts_mean({v}, {d}) / ts_mean({v}, {d2}))", v=V, d=W(5, 10),
      d2=W(60, 120)),
    # ---------------------------------------------------------------- liquidity / size
    F("low_share_turnover", "liquidity", "Stocks that trade little relative to their float carry an "
      "illiquidity premium.", "-rank(ts_mean({v}, {d}) / {so})", v=V, so=SHARES, d=W(20, 60)),
    F("amihud_illiquidity", "liquidity", "Price impact per dollar traded (Amihud) is compensated.",
      "rank(ts_mean(abs({r}) / {dv}, {d}))", r=R, dv=DOLLAR_VOLUME, d=W(20, 60)),
    F("small_size", "liquidity", "Small firms carry a size premium for their risk and neglect.",
      "-rank(log({cap}))", cap=CAP),
    F("liquidity_trend", "liquidity", "Falling average dollar volume marks fading interest and a rising "
      "liquidity premium.", "-rank(ts_delta(log({adv}), {d}))", adv=ADV, d=W(20, 60)),
    # ---------------------------------------------------------------- value
    F("value_yield", "value", "Fundamentals per dollar of market value: cheap stocks beat expensive ones.",
      "rank({f} / {cap})", f=FUND_VALUE, cap=CAP),
    F("value_in_group", "value", "Cheapness measured within the industry, where valuations are comparable.",
      "group_rank({f} / {cap}, {g})", f=FUND_VALUE, cap=CAP, g=G),
    F("earnings_to_price", "value", "Earnings yield: a high E/P means the market prices the earnings cheaply.",
      "rank({eps} / {c})", eps=EPS, c=CLOSE),
    F("cash_to_market", "value", "Cash-rich firms relative to their market value are under-priced.",
      "rank({cash} / {cap})", cash=CASH, cap=CAP),
    # ---------------------------------------------------------------- quality
    F("quality_profitability", "quality", "Profitable firms (profits over assets) earn more than the "
      "market expects.", "rank({num} / {den})", num=PROFIT, den=ASSETS),
    F("quality_low_leverage", "quality", "Conservatively financed firms are safer and under-priced.",
      "-rank({debt} / {den})", debt=DEBT, den=EQUITY_OR_ASSETS),
    F("quality_accruals", "quality", "Earnings backed by cash beat accrual-driven earnings, which reverse.",
      "-rank(({ni} - {cfo}) / {ta})", ni=NET_INCOME, cfo=CFO, ta=ASSETS),
    F("quality_margin", "quality", "High and stable margins mark a competitive moat.",
      "group_rank({m}, {g})", m=MARGIN, g=G),
    # ---------------------------------------------------------------- growth
    F("growth_fundamental", "growth", "Fundamental growth over a year is under-reacted to.",
      "rank({f} / ts_delay({f}, {d}) - 1)", f=GROWING, d=W(63, 126, 252)),
    F("growth_surprise", "growth", "A fundamental far above its own recent history (a surprise) drifts up, "
      "compared within the industry.", "group_rank(ts_zscore({f}, {d}), {g})", f=GROWING, d=W(63, 126, 252), g=G),
    F("asset_growth", "growth", "Fast asset growth (aggressive investment) predicts low returns: the "
      "investment factor.", "-rank(ts_delta({ta}, {d}) / ts_delay({ta}, {d}))", ta=ASSETS, d=W(126, 252)),
    # ---------------------------------------------------------------- group-relative
    F("group_reversal", "group_relative", "Short-term moves relative to industry peers revert; the common "
      "industry move is left out.", "-group_rank(ts_delta({p}, {d}), {g})", p=P, d=SHORT, g=G),
    F("group_neutral_reversal", "group_relative", "Reversal neutralized within groups isolates the "
      "stock-specific overreaction.", "group_neutralize(rank(-ts_sum({r}, {d})), {g})", r=R, d=W(3, 5, 10), g=G),
    F("group_laggard_catch_up", "group_relative", "A stock that lagged its group's return catches up "
      "(lead-lag within industries).", "rank(group_mean(ts_sum({r}, {d}), 1, {g}) - ts_sum({r}, {d}))",
      r=R, d=MID, g=G),
    F("group_volume_shock", "group_relative", "Abnormal volume versus peers, on a down day, marks a "
      "liquidity shock that reverts.", "group_rank({v} / ts_mean({v}, {d}), {g}) * rank(-{r})", v=V, r=R, d=MID, g=G),
    # ---------------------------------------------------------------- sentiment
    F("sentiment_tone", "sentiment", "The average tone of recent news events predicts a drift as "
      "attention spreads.", "rank(ts_decay_linear({e}, {d}))", e=EVENTS, d=W(5, 10, 20)),
    F("sentiment_attention", "sentiment", "A burst of news events draws attention and buying pressure.",
      "rank(ts_sum({e}, {d}))", e=EVENT_COUNT, d=W(5, 20, 60)),
    F("sentiment_in_group", "sentiment", "News tone relative to industry peers, which share the "
      "same macro news.", "group_rank(ts_mean({e}, {d}), {g})", e=EVENTS, d=W(10, 20), g=G),
)
