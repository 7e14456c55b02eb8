"""Candidate statuses: one enum, sets that agree with each other and with the stored strings."""

from __future__ import annotations

from alphamine.store.status import (
    LINTED_STATUSES,
    PROMISING_STATUSES,
    SIMULATED_STATUSES,
    TERMINAL_STATUSES,
    UNSIMULATED_STATUSES,
    CandidateStatus,
)


def test_every_status_is_simulated_unsimulated_or_failed() -> None:
    assert not SIMULATED_STATUSES & UNSIMULATED_STATUSES
    assert SIMULATED_STATUSES | UNSIMULATED_STATUSES | {CandidateStatus.FAILED} == set(CandidateStatus)


def test_sets_nest() -> None:
    assert PROMISING_STATUSES <= SIMULATED_STATUSES <= LINTED_STATUSES
    assert CandidateStatus.READY not in TERMINAL_STATUSES  # readiness can be revoked
    assert CandidateStatus.REJECTED in SIMULATED_STATUSES  # a rejected candidate was simulated


def test_values_are_the_stored_strings() -> None:
    assert CandidateStatus.GATE_PENDING == "gate_pending" and f"{CandidateStatus.READY}" == "ready"
    assert {s.value for s in CandidateStatus} == {
        "generated", "queued", "invalid", "duplicate", "simulated", "failed", "promising", "gate_pending",
        "ready", "rejected",
    }  # fmt: skip


def test_rejected_candidates_count_as_explored(tmp_path) -> None:
    from alphamine.generate.candidate import Candidate, Thesis
    from alphamine.sim.settings import make_settings
    from alphamine.store import Store

    with Store.open(tmp_path / "s.sqlite3") as store:
        store.create_run("r", config={}, seed=0, data_fingerprint="f", runtime_root=str(tmp_path))
        cand = Candidate("rank(volume)", make_settings(), "t", Thesis("volume", "why", "how"))
        cid = store.add_candidate(
            "r", 0, cand, canonical="rank(volume)", expr_hash="h", fields=["volume"], operators=["rank"]
        )
        store.set_candidate_status([cid], CandidateStatus.REJECTED)
        fields, _ = store.exploration_counts()
    assert fields == {"volume": 1}
