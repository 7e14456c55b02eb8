"""Small deterministic markets for simulator tests (independent of the synthetic generator)."""

from __future__ import annotations

import numpy as np

from alphamine.data.derived import add_derived_fields
from alphamine.data.panel import Panel
from alphamine.data.universes import add_top_universes


def small_market(seed: int = 0, T: int = 320, N: int = 30, sizes: tuple[int, ...] = (24, 12)) -> Panel:
    """Random-walk prices with late entrants, a gap, NaN rows, static sector/industry groups and
    TOP<N> universes built by the data layer."""
    rng = np.random.default_rng(seed)
    ret = rng.standard_t(4, (T, N)) * 0.012
    close = 40 * np.exp(np.cumsum(ret, axis=0))
    volume = rng.lognormal(12, 0.6, (T, N)) * np.linspace(0.3, 3, N)
    close[: T // 4, 1] = np.nan  # enters late
    volume[: T // 4, 1] = np.nan
    gaps = rng.random((T, N)) < 0.01
    close[gaps] = np.nan
    volume[gaps] = np.nan
    open_ = close * (1 + rng.normal(0, 0.003, (T, N)))
    sector = np.broadcast_to(np.arange(N) % 3, (T, N)).astype(np.int32)
    industry = np.broadcast_to(np.arange(N) % 6, (T, N)).astype(np.int32)
    dates = np.datetime64("2015-01-01") + np.arange(T) * 1  # calendar days are fine as trading days
    panel = Panel(
        dates,
        [f"I{j:02d}" for j in range(N)],
        matrices={"close": close, "open": open_, "volume": volume},
        groups={"sector": sector, "industry": industry, "subindustry": industry},
        group_labels={"sector": ["a", "b", "c"], "industry": list("uvwxyz"), "subindustry": list("uvwxyz")},
    )
    return add_top_universes(add_derived_fields(panel), sizes)
