"""The outcome of one simulation, with BRAIN's field names (`is`/`os`/`train`/`test`, checks, yearly)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphamine.sim.periods import Periods
from alphamine.sim.settings import Settings


@dataclass
class SimResult:
    """Arrays are on the panel's dates (T,): daily pnl and traded dollars, long/short counts; days before
    `periods.first` are outside every statistic. `weights` (T, N) fractions of the book on the PnL days,
    kept when requested. `warnings`: one line per problem with the data the alpha reads (e.g. a field
    with no finite value on most days), for the CLI and reports; empty when there is none."""

    expression: str
    settings: Settings
    dates: np.ndarray
    daily_pnl: np.ndarray
    traded: np.ndarray
    long_counts: np.ndarray
    short_counts: np.ndarray
    periods: Periods
    metrics: dict[str, dict[str, Any]]
    yearly_rows: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    truncation_rounds: int = 0
    data_fingerprint: str = ""
    weights: np.ndarray | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ views
    @property
    def is_metrics(self) -> dict[str, Any]:
        return self.metrics["is"]

    @property
    def os_metrics(self) -> dict[str, Any]:
        return self.metrics["os"]

    @property
    def has_positions(self) -> bool:
        return self.periods.first < self.dates.size

    @property
    def pnl(self) -> Any:
        """Daily PnL (dollars) as a pandas Series from the first position day to the panel end (P25)."""
        import pandas as pd

        f = self.periods.first
        return pd.Series(
            self.daily_pnl[f:], index=pd.DatetimeIndex(self.dates[f:], name="date"), name="pnl", dtype=float
        )

    @property
    def yearly(self) -> Any:
        import pandas as pd

        cols = [
            "year",
            "pnl",
            "bookSize",
            "longCount",
            "shortCount",
            "turnover",
            "sharpe",
            "returns",
            "drawdown",
            "margin",
            "fitness",
            "stage",
        ]
        return pd.DataFrame(self.yearly_rows, columns=cols)

    def failed_checks(self) -> list[str]:
        return [c["name"] for c in self.checks if c["result"] == "FAIL"]

    # ------------------------------------------------------------------ serialization
    def to_json(self) -> dict[str, Any]:
        """BRAIN-shaped: settings, regular code, is/os/train/test blocks (checks inside `is`), yearly."""
        is_block = {**self.metrics["is"], "checks": self.checks}
        return {
            "type": "REGULAR",
            "settings": self.settings.to_brain(),
            "regular": {"code": self.expression},
            "is": is_block,
            "os": self.metrics["os"],
            "train": self.metrics["train"],
            "test": self.metrics["test"],
            "yearly": self.yearly_rows,
            "truncationRounds": self.truncation_rounds,
            "dataFingerprint": self.data_fingerprint,
            "warnings": list(self.warnings),
        }

    def to_json_text(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_json(), indent=indent, default=json_default)

    def write_pnl_csv(self, path: str | Path) -> None:
        """date,pnl for every day from the first position to the end (IS and OS)."""
        f = self.periods.first
        days = self.dates[f:].astype("datetime64[D]").astype(str).tolist()  # ISO yyyy-mm-dd
        values = self.daily_pnl[f:].tolist()  # plain floats: repr is the shortest exact decimal
        lines = ["date,pnl"] + [f"{d},{v!r}" for d, v in zip(days, values, strict=True)]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    def plot(self, path: str | Path | None = None, title: str | None = None) -> Any:
        """Cumulative PnL with the IS/OS boundary marked; saves a PNG when `path` is given."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 4))
        s = self.pnl.cumsum() / 1e6
        is_hi = self.periods.is_range[1]
        os_start = self.dates[is_hi] if is_hi < self.dates.size else None
        ax.plot(s.index, s.to_numpy(), color="#1f77b4", lw=1.2, label="cumulative PnL ($M)")
        if os_start is not None:
            import matplotlib.dates as mdates
            import pandas as pd

            x0 = float(mdates.date2num(pd.Timestamp(os_start)))
            x1 = float(mdates.date2num(s.index[-1]))
            ax.axvspan(x0, x1, color="#ff7f0e", alpha=0.12, label="out of sample")
            ax.axvline(x0, color="#ff7f0e", lw=1)
        m_is, m_os = self.metrics["is"], self.metrics["os"]
        ax.set_title(title or self.expression, fontsize=9)
        ax.text(
            0.01,
            0.97,
            f"IS Sharpe {m_is['sharpe']:.2f}  OS Sharpe {m_os['sharpe']:.2f}  turnover {m_is['turnover']:.1%}",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
        )
        ax.set_ylabel("$M")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
            plt.close(fig)
        return fig


def json_default(o: Any) -> Any:
    """`json.dumps(default=...)` for results: numpy scalars and arrays as plain numbers and lists."""
    if isinstance(o, np.floating | np.integer):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
