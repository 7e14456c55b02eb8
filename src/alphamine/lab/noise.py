"""The judge's noise band: how much the objective moves when nothing changed.

Why: leanlab flags `best_so_far` on any improvement, however small; when the judge is noisy
(unseeded splits, timing-dependent models, a loaded machine) most "new bests" are luck.
`alphamine lab noise` runs the baseline experiment (`experiments/sample.*`) K times and records the
spread; a record is `significant_best` only when it beats the prior best by more than the band.
Load changes a judge's numbers (timeouts, thread contention), so the band is measured per level of
concurrency: the repeats run `workers` at a time, and `lab run --workers K` re-measures the baseline
under K-way load when only another level's band is recorded.

Contract:
- `NoiseBand.band` = 2 x the sample standard deviation (ddof=1) of the repeats' objective values
  (about a 95 % half-width for one measurement); 0 for a judge that repeats itself exactly.
- `measure_noise(cfg, judge, repeats, workers)` raises `LabError` when the lab has no baseline or
  a repeat is not scored (the message quotes the judge's error).
- `band_for(state, workers)` is the band measured at that concurrency, or None.
"""

from __future__ import annotations

import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from alphamine.lab.config import LabConfig, LabError
from alphamine.lab.judge import Judge, Verdict
from alphamine.lab.ledger import timestamp
from alphamine.lab.state import LabState

BAND_SIGMAS = 2.0


@dataclass(frozen=True)
class NoiseBand:
    metric: str
    workers: int
    repeats: int
    values: tuple[float, ...]
    mean: float
    std: float
    band: float
    measured_at: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["values"] = list(self.values)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NoiseBand:
        return cls(**{**data, "values": tuple(float(v) for v in data.get("values", ()))})

    @classmethod
    def from_values(cls, metric: str, workers: int, values: list[float]) -> NoiseBand:
        std = statistics.stdev(values) if len(values) >= 2 else 0.0
        return cls(metric, workers, len(values), tuple(values), statistics.fmean(values), std, BAND_SIGMAS * std,
                   timestamp())


def measure_noise(cfg: LabConfig, judge: Judge, repeats: int, workers: int = 1) -> NoiseBand:
    """Score the baseline `repeats` times, `workers` at a time (module doc)."""
    if repeats < 2:
        raise LabError("--repeats must be at least 2 to measure a spread")
    sample = cfg.sample_file()
    if sample is None:
        raise LabError(f"no baseline to measure: {cfg.experiments_path}/sample.py is missing")
    judge.verify()
    rel = cfg.rel(sample)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        verdicts: list[Verdict] = list(pool.map(lambda _: judge.evaluate(rel), range(repeats)))
    failed = [v for v in verdicts if not v.ok]
    if failed:
        raise LabError(f"the baseline {rel} was not scored in {len(failed)} of {repeats} repeats: {failed[0].error}")
    return NoiseBand.from_values(cfg.metric, workers, [v.value for v in verdicts if v.value is not None])


def band_for(state: LabState | None, workers: int) -> NoiseBand | None:
    if state is None:
        return None
    data = state.noise.get(str(workers))
    return NoiseBand.from_json(data) if data else None


def any_band(state: LabState | None) -> NoiseBand | None:
    """Some recorded band (the one with the most repeats), to know a band is wanted at all."""
    if state is None or not state.noise:
        return None
    return max((NoiseBand.from_json(d) for d in state.noise.values()), key=lambda b: (b.repeats, -b.workers))
