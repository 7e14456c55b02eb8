"""Candidates: every proposed alpha with its provenance, lineage, status history and queue priority.

Identity: a candidate is (run, canonical expression hash, settings key); the same alpha proposed twice
in one run is refused (`DuplicateCandidateError`, carrying the existing id) by a unique constraint, while
`find_candidate` looks across runs so the pipeline can reuse earlier work. Lineage: `parent_id` (any
run) plus `root_id`/`depth` computed at insert, so a variant tree is walked without recursion in SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from alphamine.generate.candidate import Candidate
from alphamine.store.base import StoreBase, chunks, savepoint, utcnow
from alphamine.store.clean import clean
from alphamine.store.errors import DuplicateCandidateError, NotFoundError, StoreError
from alphamine.store.rows import CandidateRow, candidate_row
from alphamine.store.schema import CANDIDATES
from alphamine.store.status import UNSIMULATED_STATUSES, CandidateStatus

UNSIMULATED = tuple(sorted(UNSIMULATED_STATUSES))  # statuses that never reached a simulation (store.status)
C = CANDIDATES.c


class CandidatesMixin(StoreBase):
    def add_candidate(
        self,
        run_id: str,
        iteration: int,
        candidate: Candidate,
        *,
        canonical: str,
        expr_hash: str,
        status: str = CandidateStatus.GENERATED,
        fields: Sequence[str] = (),
        operators: Sequence[str] = (),
        conn: Connection | None = None,
    ) -> int:
        """Insert a candidate and return its id.

        `canonical`/`expr_hash` come from `alphamine.expr` (the store does not parse); `fields` and
        `operators` feed `exploration_counts`. Raises `DuplicateCandidateError` when the run already has
        (expr_hash, settings key), also when a concurrent writer got there first (the caller's
        transaction stays usable), `NotFoundError` when `candidate.parent_id` does not exist. The first
        status-history entry is written here."""
        settings_key = candidate.settings.key()
        now = utcnow()
        with self._write(conn) as c:
            same = (C.run_id == run_id) & (C.expr_hash == expr_hash) & (C.settings_key == settings_key)
            existing = c.execute(select(C.id).where(same)).scalar()
            if existing is not None:
                raise _duplicate(run_id, canonical, int(existing))
            root_id: int | None = None
            depth = 0
            if candidate.parent_id is not None:
                parent = c.execute(select(C.root_id, C.depth).where(C.id == candidate.parent_id)).first()
                if parent is None:
                    raise NotFoundError(f"parent candidate {candidate.parent_id} does not exist")
                root_id, depth = int(parent.root_id), int(parent.depth) + 1
            values: dict[str, Any] = {
                "run_id": run_id,
                "iteration": int(iteration),
                "expression": canonical,
                "source": candidate.expression,
                "expr_hash": expr_hash,
                "settings": clean(candidate.settings.to_brain()),
                "settings_key": settings_key,
                "region": candidate.settings.region,
                "generator": candidate.generator,
                "thesis_type": candidate.thesis.type,
                "thesis_rationale": candidate.thesis.rationale,
                "thesis_failure_mode": candidate.thesis.failure_mode,
                "parent_id": candidate.parent_id,
                "root_id": root_id,
                "depth": depth,
                "strategy": candidate.strategy,
                "params": clean(dict(candidate.params)),
                "tags": [str(t) for t in candidate.tags],
                "priority": float(candidate.priority),
                "status": status,
                "reasons": [{"at": now, "status": status, "reason": None}],
                "fields": [str(f) for f in fields],
                "operators": [str(o) for o in operators],
                "created_at": now,
                "updated_at": now,
            }
            try:
                with savepoint(c):
                    new_id = int(c.execute(insert(CANDIDATES).values(**values)).inserted_primary_key[0])  # type: ignore[index]
            except IntegrityError:  # another writer committed the same alpha since the check above
                existing = c.execute(select(C.id).where(same)).scalar()
                if existing is None:
                    raise
                raise _duplicate(run_id, canonical, int(existing)) from None
            if root_id is None:
                c.execute(update(CANDIDATES).where(C.id == new_id).values(root_id=new_id))
            return new_id

    def find_candidate(
        self, expr_hash: str, settings_key: str, *, run_id: str | None = None, conn: Connection | None = None
    ) -> CandidateRow | None:
        """The earliest candidate with this (expr_hash, settings key), in `run_id` or in any run."""
        q = select(CANDIDATES).where((C.expr_hash == expr_hash) & (C.settings_key == settings_key))
        if run_id is not None:
            q = q.where(C.run_id == run_id)
        with self._read(conn) as c:
            m = c.execute(q.order_by(C.id).limit(1)).mappings().first()
        return None if m is None else candidate_row(m)

    def existing_keys(
        self, run_id: str, expr_hashes: Iterable[str], *, conn: Connection | None = None
    ) -> set[tuple[str, str]]:
        """The (expr_hash, settings key) pairs `run_id` already has among `expr_hashes` (one query per
        500 hashes: a refill checks hundreds of proposals at once)."""
        wanted = sorted(set(expr_hashes))
        found: set[tuple[str, str]] = set()
        with self._read(conn) as c:
            for part in chunks(wanted):
                q = select(C.expr_hash, C.settings_key).where((C.run_id == run_id) & C.expr_hash.in_(part))
                found.update((str(h), str(k)) for h, k in c.execute(q))
        return found

    def earliest_candidates(
        self, keys: Iterable[tuple[str, str]], *, conn: Connection | None = None
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """{(expr_hash, settings key): (id, run_id) of its earliest candidate in any run} for the keys any
        run has: `find_candidate` for many keys in one query per 500 hashes."""
        wanted = set(keys)
        out: dict[tuple[str, str], tuple[int, str]] = {}
        with self._read(conn) as c:
            for part in chunks(sorted({h for h, _ in wanted})):
                q = select(C.id, C.run_id, C.expr_hash, C.settings_key).where(C.expr_hash.in_(part)).order_by(C.id)
                for cid, run_id, h, k in c.execute(q):
                    key = (str(h), str(k))
                    if key in wanted and key not in out:
                        out[key] = (int(cid), str(run_id))
        return out

    def get_candidate(self, candidate_id: int, *, conn: Connection | None = None) -> CandidateRow:
        with self._read(conn) as c:
            m = c.execute(select(CANDIDATES).where(C.id == candidate_id)).mappings().first()
        if m is None:
            raise NotFoundError(f"no candidate {candidate_id}")
        return candidate_row(m)

    def candidates(
        self,
        *,
        run_id: str | None = None,
        status: str | Sequence[str] | None = None,
        iteration: int | None = None,
        conn: Connection | None = None,
    ) -> list[CandidateRow]:
        """Candidates matching every filter given, in queue order: priority desc, then id asc."""
        q = select(CANDIDATES)
        if run_id is not None:
            q = q.where(C.run_id == run_id)
        if status is not None:
            q = q.where(C.status == status) if isinstance(status, str) else q.where(C.status.in_(list(status)))
        if iteration is not None:
            q = q.where(C.iteration == iteration)
        with self._read(conn) as c:
            return [candidate_row(m) for m in c.execute(q.order_by(C.priority.desc(), C.id)).mappings()]

    def set_candidate_status(
        self, ids: Sequence[int], status: str, *, reason: str | None = None, conn: Connection | None = None
    ) -> None:
        """Set the status of every id and append {at, status, reason} to each one's history.
        All ids must exist (`NotFoundError` otherwise, and nothing changes). The rows are locked while
        their histories are rewritten, so concurrent changes append, never overwrite each other."""
        if not status:
            raise StoreError("status must be a non-empty string")
        wanted = list(dict.fromkeys(int(i) for i in ids))
        now = utcnow()
        entry = {"at": now, "status": status, "reason": reason}
        with self._write(conn) as c:
            found: dict[int, list[dict[str, Any]]] = {}
            for part in chunks(sorted(wanted)):  # rows locked in id order: no deadlock between two callers
                q = select(C.id, C.reasons).where(C.id.in_(part)).order_by(C.id).with_for_update(key_share=True)
                for cid, reasons in c.execute(q):
                    found[int(cid)] = list(reasons or [])
            missing = [i for i in wanted if i not in found]
            if missing:
                raise NotFoundError(f"no candidate(s) {missing[:10]}")
            for cid, reasons in found.items():
                c.execute(
                    update(CANDIDATES)
                    .where(C.id == cid)
                    .values(status=status, reasons=[*reasons, entry], updated_at=now)
                )

    def lineage(self, candidate_id: int, *, conn: Connection | None = None) -> list[CandidateRow]:
        """Ancestors from the root down to (and including) this candidate."""
        chain: list[CandidateRow] = []
        seen: set[int] = set()
        with self._read(conn) as c:
            next_id: int | None = candidate_id
            while next_id is not None and next_id not in seen:
                seen.add(next_id)
                m = c.execute(select(CANDIDATES).where(C.id == next_id)).mappings().first()
                if m is None:
                    if not chain:
                        raise NotFoundError(f"no candidate {candidate_id}")
                    break
                row = candidate_row(m)
                chain.append(row)
                next_id = row.parent_id
        return chain[::-1]

    def children(self, candidate_id: int, *, conn: Connection | None = None) -> list[CandidateRow]:
        """Direct descendants (any run), oldest first."""
        with self._read(conn) as c:
            rows = c.execute(select(CANDIDATES).where(C.parent_id == candidate_id).order_by(C.id)).mappings()
            return [candidate_row(m) for m in rows]

    def exploration_counts(self, *, conn: Connection | None = None) -> tuple[Counter[str], Counter[str]]:
        """(field counts, operator counts) over every candidate, in any run, that reached simulation
        (status not in UNSIMULATED); the theme sampler favours the least explored."""
        fields: Counter[str] = Counter()
        operators: Counter[str] = Counter()
        with self._read(conn) as c:
            rows = c.execute(select(C.fields, C.operators).where(C.status.not_in(UNSIMULATED)))
            for f, o in rows:
                fields.update(f or ())
                operators.update(o or ())
        return fields, operators


def _duplicate(run_id: str, canonical: str, existing: int) -> DuplicateCandidateError:
    return DuplicateCandidateError(
        f"run {run_id!r} already has candidate {existing} for {canonical!r} with these settings", existing
    )
