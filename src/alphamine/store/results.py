"""Simulation results (a content-keyed cache shared by all runs) and gate decisions.

A result is keyed by (expr_hash, settings key, data fingerprint, backend): the same alpha on the same
data is simulated once, ever, per backend; `put_result` of an existing key is a no-op returning the
stored id (the first result wins, so a resumed stage that simulates again cannot change history).
Results belong to no run; a candidate finds its result through its run's data fingerprint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from alphamine.sim.result import SimResult
from alphamine.store.base import StoreBase, chunks, savepoint, utcnow
from alphamine.store.clean import clean, jsonable
from alphamine.store.codec import pack_array, pack_dates
from alphamine.store.errors import NotFoundError, StoreError
from alphamine.store.rows import CandidateRow, GateRow, ResultRow, candidate_row, gate_row, result_row
from alphamine.store.schema import CANDIDATES, GATE_CHECKS, RUNS, SIM_RESULTS
from alphamine.store.status import CandidateStatus

R = SIM_RESULTS.c
C = CANDIDATES.c


def _key(expr_hash: str, settings_key: str, data_fingerprint: str, backend: str) -> Any:
    return (
        (R.expr_hash == expr_hash)
        & (R.settings_key == settings_key)
        & (R.data_fingerprint == data_fingerprint)
        & (R.backend == backend)
    )


def _num(value: Any) -> float | None:
    v = jsonable(value)
    return float(v) if isinstance(v, int | float) else None


class ResultsMixin(StoreBase):
    # ------------------------------------------------------------------ results
    def get_result(
        self,
        expr_hash: str,
        settings_key: str,
        data_fingerprint: str,
        *,
        backend: str = "local",
        conn: Connection | None = None,
    ) -> ResultRow | None:
        with self._read(conn) as c:
            m = c.execute(select(SIM_RESULTS).where(_key(expr_hash, settings_key, data_fingerprint, backend)))
            row = m.mappings().first()
        return None if row is None else result_row(row)

    def stored_result_keys(
        self,
        keys: Iterable[tuple[str, str]],
        data_fingerprint: str,
        *,
        backend: str = "local",
        conn: Connection | None = None,
    ) -> set[tuple[str, str]]:
        """The (expr_hash, settings key) pairs among `keys` with a stored result on this data and backend:
        `has_result` for a whole batch in one query per 500 hashes."""
        wanted = set(keys)
        found: set[tuple[str, str]] = set()
        with self._read(conn) as c:
            for part in chunks(sorted({h for h, _ in wanted})):
                q = select(R.expr_hash, R.settings_key).where(
                    R.expr_hash.in_(part) & (R.data_fingerprint == data_fingerprint) & (R.backend == backend)
                )
                found.update(k for h, s in c.execute(q) if (k := (str(h), str(s))) in wanted)
        return found

    def has_result(
        self,
        expr_hash: str,
        settings_key: str,
        data_fingerprint: str,
        *,
        backend: str = "local",
        conn: Connection | None = None,
    ) -> bool:
        """Cheaper than `get_result` (no arrays decoded): is this key already simulated?"""
        with self._read(conn) as c:
            q = select(R.id).where(_key(expr_hash, settings_key, data_fingerprint, backend))
            return c.execute(q).first() is not None

    def put_result(
        self, result: SimResult, *, expr_hash: str, backend: str = "local", conn: Connection | None = None
    ) -> int:
        """Store a simulation (idempotent: an existing key keeps its first result) and return its id.

        The key's settings and fingerprint come from the result itself; an empty data fingerprint is
        refused because it would match any data. Two writers racing on one key (workers on several
        machines) both get the id of the one that committed first, inside a caller's transaction too."""
        if not result.data_fingerprint:
            raise StoreError("a result without a data fingerprint cannot be keyed; set SimResult.data_fingerprint")
        settings_key = result.settings.key()
        key = _key(expr_hash, settings_key, result.data_fingerprint, backend)
        p = result.periods
        is_block = result.metrics.get("is", {})
        values = {
            "expr_hash": expr_hash,
            "settings_key": settings_key,
            "data_fingerprint": result.data_fingerprint,
            "backend": backend,
            "expression": result.expression,
            "settings": clean(result.settings.to_brain()),
            "metrics": clean({k: result.metrics.get(k, {}) for k in ("is", "os", "train", "test")}),
            "yearly": clean(result.yearly_rows),
            "checks": clean(result.checks),
            "periods": {
                "first": int(p.first),
                "is": list(p.is_range),
                "os": list(p.os_range),
                "train": list(p.train_range),
                "test": list(p.test_range),
            },
            "truncation_rounds": int(result.truncation_rounds),
            "sharpe": _num(is_block.get("sharpe")),
            "fitness": _num(is_block.get("fitness")),
            "turnover": _num(is_block.get("turnover")),
            "dates": pack_dates(result.dates),
            "pnl": pack_array(result.daily_pnl.astype(float, copy=False)),
            "created_at": utcnow(),
        }
        with self._write(conn) as c:  # no look first: a new key is the common case, the index catches the rest
            try:
                with savepoint(c):
                    return int(c.execute(insert(SIM_RESULTS).values(**values)).inserted_primary_key[0])  # type: ignore[index]
            except IntegrityError as e:  # another writer stored the same key since the check: it wins
                winner = c.execute(select(R.id).where(key)).scalar()
                if winner is None:
                    raise StoreError("result insert failed and no stored result has its key") from e
                return int(winner)

    def results_for(
        self, candidate_ids: Sequence[int], *, backend: str | None = None, conn: Connection | None = None
    ) -> dict[int, ResultRow]:
        """{candidate id: result} through each candidate's (expr_hash, settings key) and its run's data
        fingerprint; candidates without a result are absent. With several backends' results for one key,
        the one stored first wins unless `backend` picks one."""
        out: dict[int, ResultRow] = {}
        ids = list(dict.fromkeys(int(i) for i in candidate_ids))
        with self._read(conn) as c:
            for part in chunks(ids):
                q = (
                    select(C.id.label("candidate_id"), SIM_RESULTS)
                    .select_from(CANDIDATES)
                    .join(RUNS, RUNS.c.run_id == C.run_id)
                    .join(
                        SIM_RESULTS,
                        (R.expr_hash == C.expr_hash)
                        & (R.settings_key == C.settings_key)
                        & (R.data_fingerprint == RUNS.c.data_fingerprint),
                    )
                    .where(C.id.in_(part))
                    .order_by(R.id)
                )
                if backend is not None:
                    q = q.where(R.backend == backend)
                for m in c.execute(q).mappings():
                    cid = int(m["candidate_id"])
                    if cid not in out:
                        out[cid] = result_row(m)
        return out

    # ------------------------------------------------------------------ gate
    def record_gate(
        self,
        candidate_id: int,
        run_id: str,
        *,
        checks: list[dict[str, Any]],
        verdict: str,
        reasons: Sequence[str],
        conn: Connection | None = None,
    ) -> int:
        """Record one gate decision (the checks it ran, its verdict, why). It does not change the
        candidate's status: do that with `set_candidate_status` in the same `transaction()`."""
        with self._write(conn) as c:
            if c.execute(select(C.id).where(C.id == candidate_id)).first() is None:
                raise NotFoundError(f"no candidate {candidate_id}")
            res = c.execute(
                insert(GATE_CHECKS).values(
                    candidate_id=int(candidate_id),
                    run_id=run_id,
                    checks=clean(checks),
                    verdict=verdict,
                    reasons=[str(r) for r in reasons],
                    created_at=utcnow(),
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def gate_history(self, candidate_id: int, *, conn: Connection | None = None) -> list[GateRow]:
        """Every gate decision on the candidate, oldest first."""
        with self._read(conn) as c:
            q = select(GATE_CHECKS).where(GATE_CHECKS.c.candidate_id == candidate_id).order_by(GATE_CHECKS.c.id)
            return [gate_row(m) for m in c.execute(q).mappings()]

    def ready_pool(
        self,
        *,
        region: str | None = None,
        data_fingerprint: str | None = None,
        conn: Connection | None = None,
    ) -> list[tuple[CandidateRow, ResultRow]]:
        """Candidates in status `ready`, across runs, with their results: the pool a new candidate is
        compared with (self-correlation) before it may join it.

        Each result is looked up with `data_fingerprint` when given (so every PnL in the pool is on the
        same data), else with the candidate's run's fingerprint; ready candidates without such a result
        are left out. One entry per distinct (expr_hash, settings key): the earliest candidate."""
        fp = RUNS.c.data_fingerprint if data_fingerprint is None else data_fingerprint
        same = (R.expr_hash == C.expr_hash) & (R.settings_key == C.settings_key) & (R.data_fingerprint == fp)
        q = (
            select(CANDIDATES, R.id.label("result_id"))
            .select_from(CANDIDATES)
            .join(RUNS, RUNS.c.run_id == C.run_id)
            .join(SIM_RESULTS, same)
            .where(C.status == CandidateStatus.READY)
            .order_by(C.id, R.id)
        )
        if region is not None:
            q = q.where(C.region == region.strip().upper())
        pairs: dict[tuple[str, str], tuple[CandidateRow, int]] = {}
        with self._read(conn) as c:
            for m in c.execute(q).mappings():
                key = (m["expr_hash"], m["settings_key"])
                if key not in pairs:
                    pairs[key] = (candidate_row(m), int(m["result_id"]))
            results: dict[int, ResultRow] = {}
            rids = [rid for _, rid in pairs.values()]
            for part in chunks(rids):
                for m in c.execute(select(SIM_RESULTS).where(R.id.in_(part))).mappings():
                    results[int(m["id"])] = result_row(m)
        return [(cand, results[rid]) for cand, rid in pairs.values()]
