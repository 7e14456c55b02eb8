"""Reports read gate records incrementally; a record committed late with a lower id (PostgreSQL's
concurrent writers) is still read, once, and the latest decision is the highest id's."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from alphamine.generate.candidate import Candidate, Thesis
from alphamine.pipeline.reporting import _new_gate_records, _RunCache
from alphamine.sim.settings import make_settings
from alphamine.store import Store
from alphamine.store.base import utcnow
from alphamine.store.schema import GATE_CHECKS


def test_a_gate_record_committed_late_with_a_lower_id_is_read_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.sqlite3") as store:
        store.create_run("r", config={}, seed=1, data_fingerprint="fp", runtime_root=str(tmp_path))
        cand = Candidate("rank(close)", make_settings({}), "test", Thesis("t", "r", "f"))
        cid = store.add_candidate("r", 0, cand, canonical="rank(close)", expr_hash="h")
        first = store.record_gate(cid, "r", checks=[], verdict="promising", reasons=["first"])

        def late(gate_id: int, verdict: str) -> None:  # as a writer whose id was taken before its commit
            with store.transaction() as conn:
                conn.execute(insert(GATE_CHECKS).values(id=gate_id, candidate_id=cid, run_id="r", checks=[],
                                                        verdict=verdict, reasons=[verdict], created_at=utcnow()))

        late(first + 2, "rejected")
        cache = _RunCache()
        _new_gate_records(store, "r", cache)
        assert [g.id for g in cache.gates[cid]] == [first, first + 2]
        late(first + 1, "gate_pending")
        _new_gate_records(store, "r", cache)
        _new_gate_records(store, "r", cache)  # nothing new: nothing counted twice
        assert [g.id for g in cache.gates[cid]] == [first, first + 1, first + 2]
        assert cache.decisions[cid].verdict == "rejected"
