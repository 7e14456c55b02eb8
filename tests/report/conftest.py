"""A realistic `ReportData` built from real simulations on a small synthetic market.

Candidates: a parent and its decay variant, an OS collapse (momentum fights the planted reversal),
a FAST-neutralized one (risk-model approximation note), and an expression with `<`, `>` and `&&`
(escaping). Statuses and the ready set are chosen here the way a run controller would record them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from alphamine.report.model import CandidateReport, ReportData, from_sim_result

# (id, expression, settings, parent_id, strategy, params, thesis type)
SPECS: list[tuple[int, str, dict[str, Any], int | None, str | None, dict[str, Any], str]] = [
    (1, "rank(bookvalue/cap)+rank(-returns)", {"neutralization": "MARKET"}, None, None, {}, "value+reversal"),
    (2, "rank(bookvalue/cap)+rank(-returns)", {"neutralization": "MARKET", "decay": 4}, 1, "decay_sweep",
     {"decay": 4}, "value+reversal"),
    (3, "rank(ts_mean(returns,20))", {"neutralization": "SUBINDUSTRY", "decay": 4}, None, None, {}, "momentum"),
    (4, "rank(close)", {"neutralization": "FAST", "decay": 4}, None, None, {}, "price level"),
    (5, "rank(-returns) * (volume > adv20 && close < vwap)", {"neutralization": "MARKET"}, None, None, {},
     "reversal on volume"),
    (6, "ts_rank(-returns,5)", {"neutralization": "SUBINDUSTRY", "decay": 4}, None, None, {}, "reversal"),
    (7, "ts_rank(-returns,5)", {"neutralization": "SUBINDUSTRY", "decay": 8}, 6, "decay_sweep", {"decay": 8},
     "reversal"),
    (8, "rank(sales/assets)", {"neutralization": "INDUSTRY"}, None, None, {}, "efficiency"),
]  # fmt: skip
READY = [2, 5, 6]
ESCAPE_ID = 5
COLLAPSE_ID = 3
FAST_ID = 4


@pytest.fixture(scope="session")
def report_data() -> ReportData:
    from alphamine.data import synthetic
    from alphamine.sim.simulate import simulate, universe_size

    panel = synthetic(80, 600, seed=1)
    universe = max(panel.universes, key=lambda u: universe_size(u) or 0)
    cands: list[CandidateReport] = []
    full_pnl: dict[int, np.ndarray] = {}
    for cid, expr, settings, parent, strategy, params, kind in SPECS:
        res = simulate(expr, panel, {"universe": universe, **settings})
        failed = res.failed_checks()
        full_pnl[cid] = res.daily_pnl
        cands.append(
            from_sim_result(
                res,
                id=cid,
                generator="template" if parent is None else "optimizer",
                thesis={
                    "type": kind,
                    "rationale": f"{kind}: prices overshoot and revert <within days> & volume confirms",
                    "failure_mode": "crowding; regime change",
                },
                status="READY" if cid in READY else ("REJECTED" if failed else "PROMISING"),
                reasons=[f"failed {n}" for n in failed],
                parent_id=parent,
                strategy=strategy,
                params={**params, "api_key": "sk-should-never-show"} if parent == 6 else params,
            )
        )
    by_fitness = sorted(cands, key=lambda c: -c.is_metrics["fitness"])
    best = [c.id for c in by_fitness[:5]]
    lo = max(600 - c.pnl.size for c in cands if c.pnl is not None)  # days every candidate has a position
    corr = np.corrcoef(np.vstack([full_pnl[i][lo:] for i in READY]))
    index = {c.id: c for c in cands}
    improvements = [
        {
            "optimizer": "decay_sweep",
            "strategy": "decay_sweep",
            "parent_id": p,
            "child_id": ch,
            "before": {m: index[p].is_metrics[m] for m in ("sharpe", "fitness", "turnover")},
            "after": {m: index[ch].is_metrics[m] for m in ("sharpe", "fitness", "turnover")},
        }
        for p, ch in ((1, 2), (6, 7))
    ]
    stages = [
        {"iteration": 1, "stage": s, "status": "DONE", "started_at": f"2026-11-01T10:00:{10 * k:02d}+00:00",
         "finished_at": f"2026-11-01T10:00:{10 * k + 9:02d}+00:00", "summary": {"items": 8 - k}}
        for k, s in enumerate(["GENERATE", "INSPECT", "SIMULATE", "VARIANT_SEARCH", "DECIDE", "REPORT"])
    ]  # fmt: skip
    return ReportData(
        run_id="run-20261101-test",
        status="DONE",
        created_at="2026-11-01T10:00:00+00:00",
        finished_at="2026-11-01T10:01:00+00:00",
        seed=1,
        config={"budget": 40, "universe": universe, "llm": {"model": "local", "api_key": "sk-secret-value"}},
        data_description=f"synthetic(80, 600, seed=1), {universe}",
        data_fingerprint=cands[0].settings.get("universe", "") + "-fp0123456789",
        funnel={"generated": 40, "linted": 31, "simulated": len(cands), "promising": 5, "ready": len(READY)},
        candidates=cands,
        ready_ids=READY,
        best_ids=best,
        correlation_ids=READY,
        correlation=corr,
        improvements=improvements,
        stages=stages,
        notes=["The synthetic market is small: statistics are noisy."],
        stage_times=[{"stage": s["stage"], "seconds": 9.0, "count": 1, "share": 1 / len(stages)} for s in stages],
        artifacts={"ready_pnl": "artifacts/ready_pnl.csv"},
    )


@pytest.fixture()
def empty_data() -> ReportData:
    return ReportData(
        run_id="run-empty",
        status="FAILED",
        created_at="2026-11-01T10:00:00+00:00",
        finished_at=None,
        seed=0,
        config={},
        data_description="none",
        data_fingerprint="",
        funnel={},
        candidates=[],
        ready_ids=[],
        best_ids=[],
    )
