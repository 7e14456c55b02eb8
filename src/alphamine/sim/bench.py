"""The simulator benchmark (`alphamine bench`): a script, never a timed test.

A fixed list of alphas, from plain reversals to 101-alphas-style compositions, is simulated on
synthetic panels S = 500 x 1260 and L = 3000 x 2520 with default settings: on one core (one process,
one shared sub-expression cache, the way a batch runs) and on all cores (`simulate_many`). Reported:
alphas per second, where the time goes (evaluation vs. the settings pipeline), milliseconds per
operator kernel, and peak memory. Numba compilation is excluded by a warm-up on a small panel.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from alphamine.data.panel import Panel
from alphamine.sim import evaluate as evaluate_module
from alphamine.sim.batch import SimFailure, simulate_many

BENCH_EXPRESSIONS: tuple[str, ...] = (
    "-returns",
    "rank(-returns)",
    "rank(-ts_delta(close, 5))",
    "group_neutralize(rank(-ts_delta(close, 5)), industry)",
    "-ts_zscore(close, 20)",
    "-ts_decay_linear(rank(returns), 10)",
    "rank(ts_mean(returns, 250) - ts_mean(returns, 20))",
    "-rank(ts_std_dev(returns, 60))",
    "ts_rank(volume / adv20, 10) * rank(-returns)",
    "zscore(-(close - ts_mean(close, 20)) / ts_std_dev(close, 20))",
    "-ts_corr(rank(open), rank(volume), 10)",
    "-ts_corr(rank(ts_delta(log(volume), 2)), rank((close - open) / open), 6)",
    "-ts_rank(rank(low), 9)",
    "rank(open - ts_mean(vwap, 10)) * -abs(rank(close - vwap))",
    "-ts_delta(ts_corr(high, volume, 5), 5) * rank(ts_std_dev(close, 20))",
    "group_rank(ts_decay_linear(-returns, 5), subindustry)",
    "ts_regression(returns, ts_delay(returns, 1), 60, rettype=2)",
    "rank(-ts_covariance(rank(close), rank(volume), 5))",
    "-ts_max(rank(ts_corr(rank(volume), rank(vwap), 5)), 5)",
    "group_zscore(-ts_delta(close, 3), sector)",
    "trade_when(volume > adv20, -returns, -1)",
    "rank(ts_backfill(vwap, 5) / close)",
    "scale(-ts_delta(close, 1)) + scale(ts_rank(volume, 20))",
    "if_else(ts_delta(close, 1) > 0, -ts_delta(close, 1), ts_delta(close, 1))",
    "rank(ts_min(low, 10) / close)",
    "-group_neutralize(ts_skewness(returns, 20), industry)",
    "rank(ts_arg_max(close, 30)) - 0.5",
    "a = rank(ts_sum(returns, 5)); b = rank(volume / adv20); b - a",
    "group_neutralize(rank(bookvalue / cap), sector)",
    "-ts_rank(ts_decay_linear(ts_corr(rank(vwap), rank(adv20), 7), 4), 10)",
)

SIZES = {"S": (500, 1260), "L": (3000, 2520)}
BENCH_SETTINGS = {"neutralization": "INDUSTRY", "decay": 0, "truncation": 0.08}


@dataclass
class BenchRun:
    size: str
    shape: tuple[int, int]
    n_alphas: int
    failures: int
    one_core_seconds: float
    all_cores_seconds: float
    workers: int
    eval_seconds: float
    kernel_ms: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    build_seconds: float = 0.0

    @property
    def one_core_rate(self) -> float:
        return self.n_alphas / self.one_core_seconds

    @property
    def all_cores_rate(self) -> float:
        return self.n_alphas / self.all_cores_seconds


def _peak_rss_mb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(self_kb, child_kb) / 1024


def warm_up(expressions: Sequence[str]) -> None:
    """Compile every kernel the list uses on a tiny panel so no timing includes numba compilation."""
    from alphamine.data.synthetic import synthetic

    tiny = synthetic(60, 300, seed=1)
    simulate_many(expressions, tiny, {**BENCH_SETTINGS, "universe": _universe(tiny)}, workers=1)


def _universe(panel: Panel) -> str:
    return max(panel.universes, key=lambda u: int(u[3:]))


def run_size(panel: Panel, expressions: Sequence[str], workers: int, label: str, build_seconds: float) -> BenchRun:
    settings = {**BENCH_SETTINGS, "universe": _universe(panel)}
    panel.fingerprint()
    evaluate_module.KERNEL_TIMINGS = {}
    try:
        t0 = time.perf_counter()
        one = simulate_many(expressions, panel, settings, workers=1)
        one_core = time.perf_counter() - t0
        timings = evaluate_module.KERNEL_TIMINGS
    finally:
        evaluate_module.KERNEL_TIMINGS = None
    t1 = time.perf_counter()
    simulate_many(expressions, panel, settings, workers=workers)
    all_cores = time.perf_counter() - t1
    kernel_ms = {name: 1e3 * float(np.mean(v)) for name, v in timings.items()}
    eval_seconds = float(sum(sum(v) for v in timings.values()))
    return BenchRun(
        size=label,
        shape=panel.shape,
        n_alphas=len(expressions),
        failures=sum(isinstance(r, SimFailure) for r in one),
        one_core_seconds=one_core,
        all_cores_seconds=all_cores,
        workers=workers,
        eval_seconds=eval_seconds,
        kernel_ms=kernel_ms,
        peak_rss_mb=_peak_rss_mb(),
        build_seconds=build_seconds,
    )


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM, Python {platform.python_version()}"


def markdown(runs: Sequence[BenchRun], date: str) -> str:
    lines = [
        f"### {date} — {machine_description()}",
        "",
        "| panel | alphas | 1 core: s | 1 core: alphas/s | all cores: alphas/s (workers) | kernels: s | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.size} {r.shape[1]}x{r.shape[0]} | {r.n_alphas} ({r.failures} failed) "
            f"| {r.one_core_seconds:.2f} | {r.one_core_rate:.1f} | {r.all_cores_rate:.1f} ({r.workers}) "
            f"| {r.eval_seconds:.2f} | {r.peak_rss_mb:.0f} |"
        )
    for r in runs:
        top = sorted(r.kernel_ms.items(), key=lambda kv: -kv[1])[:12]
        lines += ["", f"Slowest kernels at {r.size} (ms per call): " + ", ".join(f"{k} {v:.1f}" for k, v in top)]
    return "\n".join(lines) + "\n"
