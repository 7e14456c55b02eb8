"""Claims: which worker process holds which candidate, until when (`alphamine worker`).

Why a table and not a status: several worker processes (one run or several, one machine or several
sharing a PostgreSQL store) drain the same queue. A candidate stays `queued` while a worker simulates
it; the claim row is the lock. It carries an expiry instead of a pid, because a SIGKILLed worker
cannot say goodbye: its claims simply stop being renewed and become claimable again after their TTL.
A live worker renews them (`heartbeat`) well inside the TTL, and releases them with the commit that
records the candidates' new statuses.

Contracts:
- `claim_batch` is atomic: one write transaction in which claimers take turns (SQLite: `BEGIN
  IMMEDIATE`, the database-wide write lock; PostgreSQL: the `claims` advisory lock, `base.exclusive`),
  so each one's "is it claimed?" check sees every claim committed before it. Row locks alone would not
  do on PostgreSQL: a claim inserts a `claims` row and never updates the candidate, so a claimer whose
  snapshot predates another's commit would lock the same, now free, candidate row and claim it again.
  The candidate rows are also locked `FOR NO KEY UPDATE SKIP LOCKED`: a candidate whose status another
  transaction is changing right now is skipped instead of waited for. Two claimers never get the same
  candidate while its claim is live. Claim transactions are short (no simulation inside), so taking
  turns costs little even with many workers.
- Order: priority desc, then id asc (the store's queue order); only the given statuses of one run.
- A candidate is skipped while any live claim exists on the same (expression hash, settings key), in
  any run: the same alpha queued by two runs is simulated once, then reused (`put_result` is keyed by
  expression, settings, data and backend, and `simulate_rows` reuses a stored result).
- Expiry uses the claimer's clock (UTC ISO text, compared as text): hosts sharing a store need
  synchronized clocks, and the TTL must exceed any pause between heartbeats.

`next_iteration`, `max_priority` and `add_tags` live here because only the worker needs them: a new
iteration number taken atomically (two refilling workers never generate the same iteration), the top
of a run's queue (optimization children go above it) and tags appended to a candidate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, exists, func, insert, select, update

from alphamine.store.base import StoreBase, chunks, exclusive
from alphamine.store.errors import NotFoundError, StoreError
from alphamine.store.rows import CandidateRow, candidate_row
from alphamine.store.schema import CANDIDATES, CLAIMS, RUNS, STAGES
from alphamine.store.status import CandidateStatus

C = CANDIDATES.c
K = CLAIMS.c
CLAIMABLE: tuple[str, ...] = (CandidateStatus.QUEUED,)
"""What a worker claims by default: candidates waiting for a simulation."""


@dataclass(frozen=True)
class ClaimRow:
    candidate_id: int
    worker: str
    claimed_at: str
    expires_at: str


def _stamp(after_s: float = 0.0) -> str:
    """UTC now (+ `after_s` seconds) in the store's timestamp format (`base.utcnow`)."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=after_s)).isoformat(timespec="microseconds")


def _ids(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))


class ClaimsMixin(StoreBase):
    def claim_batch(
        self,
        run_id: str,
        worker: str,
        n: int,
        ttl_s: float,
        *,
        statuses: Sequence[str] = CLAIMABLE,
        conn: Connection | None = None,
    ) -> list[CandidateRow]:
        """Claim up to `n` candidates of `run_id` in `statuses` for `worker` for `ttl_s` seconds and
        return them in queue order (module doc). Candidates with a live claim (the worker's own
        included) or whose alpha is claimed live in another run are skipped; an expired claim is
        taken over. Empty when nothing is claimable."""
        if not worker:
            raise StoreError("a claim needs a non-empty worker id")
        if ttl_s <= 0:
            raise StoreError(f"a claim needs a positive TTL (got {ttl_s})")
        if n <= 0:
            return []
        now, until = _stamp(), _stamp(ttl_s)
        other = CANDIDATES.alias("other")
        held = CLAIMS.alias("held")
        busy = exists().where(
            (held.c.candidate_id == other.c.id)
            & (other.c.expr_hash == C.expr_hash)
            & (other.c.settings_key == C.settings_key)
            & (held.c.expires_at > now)
        )
        q = (
            select(CANDIDATES)
            .where((C.run_id == run_id) & C.status.in_(list(statuses)) & ~busy)
            .order_by(C.priority.desc(), C.id)
            .limit(int(n))
            .with_for_update(of=CANDIDATES, skip_locked=True, key_share=True)  # ignored by SQLite
        )
        with self._write(conn) as c:
            exclusive(c, "claims")  # before the query: its snapshot must hold every committed claim
            rows = [candidate_row(m) for m in c.execute(q).mappings()]
            if rows:
                ids = [r.id for r in rows]
                for part in chunks(ids):  # expired claims taken over
                    c.execute(delete(CLAIMS).where(K.candidate_id.in_(part)))
                c.execute(
                    insert(CLAIMS),
                    [{"candidate_id": i, "worker": worker, "claimed_at": now, "expires_at": until} for i in ids],
                )
            return rows

    def release(self, worker: str, ids: Sequence[int] | None = None, *, conn: Connection | None = None) -> int:
        """Drop `worker`'s claims on `ids` (all of its claims when None); returns how many it held.
        Claims another worker took over after expiry are left alone."""
        with self._write(conn) as c:
            if ids is None:
                return int(c.execute(delete(CLAIMS).where(K.worker == worker)).rowcount or 0)
            n = 0
            for part in chunks(_ids(ids)):
                n += int(c.execute(delete(CLAIMS).where((K.worker == worker) & K.candidate_id.in_(part))).rowcount or 0)
            return n

    def heartbeat(self, worker: str, ids: Sequence[int], ttl_s: float, *, conn: Connection | None = None) -> int:
        """Push the expiry of `worker`'s claims on `ids` to now + `ttl_s`; returns how many it still
        holds (fewer than asked: some expired and another worker took them over)."""
        until = _stamp(ttl_s)
        n = 0
        with self._write(conn) as c:
            for part in chunks(_ids(ids)):
                stmt = update(CLAIMS).where((K.worker == worker) & K.candidate_id.in_(part)).values(expires_at=until)
                n += int(c.execute(stmt).rowcount or 0)
        return n

    def claims(
        self, *, worker: str | None = None, run_id: str | None = None, conn: Connection | None = None
    ) -> list[ClaimRow]:
        """Every claim row (live or expired), by candidate id; optionally one worker's or one run's."""
        q = select(CLAIMS).order_by(K.candidate_id)
        if worker is not None:
            q = q.where(K.worker == worker)
        if run_id is not None:
            q = q.where(K.candidate_id.in_(select(C.id).where(C.run_id == run_id)))
        with self._read(conn) as c:
            rows = c.execute(q).mappings()
            return [ClaimRow(int(m["candidate_id"]), m["worker"], m["claimed_at"], m["expires_at"]) for m in rows]

    def expired_claims(self, *, run_id: str | None = None, conn: Connection | None = None) -> list[ClaimRow]:
        """Claims past their expiry: left by workers that died (or stalled) holding them. Their
        candidates are claimable again; the rows go when someone claims or releases them."""
        now = _stamp()
        return [k for k in self.claims(run_id=run_id, conn=conn) if k.expires_at <= now]

    def queue_depth(
        self, run_id: str, *, statuses: Sequence[str] = CLAIMABLE, conn: Connection | None = None
    ) -> tuple[int, int]:
        """(candidates of `run_id` in `statuses`, how many of them hold a live claim): a worker that
        can claim nothing tells 'the queue is empty' from 'others are on it' with this."""
        now = _stamp()
        base = (C.run_id == run_id) & C.status.in_(list(statuses))
        live = exists().where((K.candidate_id == C.id) & (K.expires_at > now))
        with self._read(conn) as c:
            total = int(c.execute(select(func.count()).select_from(CANDIDATES).where(base)).scalar() or 0)
            held = int(c.execute(select(func.count()).select_from(CANDIDATES).where(base & live)).scalar() or 0)
        return total, held

    # ------------------------------------------------------------------ what only workers need
    def next_iteration(self, run_id: str, *, conn: Connection | None = None) -> int:
        """Take the run's next iteration number (above its recorded iteration and every stage row)
        and record it as the run's iteration, atomically: concurrent callers get distinct numbers."""
        with self._write(conn) as c:
            # the run's row stays locked until commit: a concurrent caller waits, then reads our number
            locked = select(RUNS.c.iteration).where(RUNS.c.run_id == run_id).with_for_update(key_share=True)
            current = c.execute(locked).scalar()
            if current is None:
                raise NotFoundError(f"no run {run_id!r}")
            staged = c.execute(select(func.max(STAGES.c.iteration)).where(STAGES.c.run_id == run_id)).scalar()
            nxt = max(int(current), -1 if staged is None else int(staged)) + 1
            c.execute(update(RUNS).where(RUNS.c.run_id == run_id).values(iteration=nxt, updated_at=_stamp()))
            return nxt

    def max_priority(
        self, run_id: str, *, statuses: Sequence[str] = CLAIMABLE, conn: Connection | None = None
    ) -> float | None:
        """The highest priority among the run's candidates in `statuses` (None when there are none)."""
        q = select(func.max(C.priority)).where((C.run_id == run_id) & C.status.in_(list(statuses)))
        with self._read(conn) as c:
            top = c.execute(q).scalar()
        return None if top is None else float(top)

    def add_tags(self, tags: Mapping[int, Sequence[str]], *, conn: Connection | None = None) -> None:
        """Append tags to candidates (each tag once, order kept). All ids must exist (`NotFoundError`
        otherwise, and nothing changes)."""
        wanted = {int(k): [str(t) for t in v] for k, v in tags.items()}
        with self._write(conn) as c:
            found: dict[int, list[str]] = {}
            for part in chunks(sorted(wanted)):  # rows locked in id order: no deadlock between two callers
                q = select(C.id, C.tags).where(C.id.in_(part)).order_by(C.id).with_for_update(key_share=True)
                for cid, have in c.execute(q):
                    found[int(cid)] = [str(t) for t in (have or [])]
            missing = [i for i in wanted if i not in found]
            if missing:
                raise NotFoundError(f"no candidate(s) {missing[:10]}")
            now = _stamp()
            for cid, new in wanted.items():
                merged = list(dict.fromkeys([*found[cid], *new]))
                if merged != found[cid]:
                    c.execute(update(CANDIDATES).where(C.id == cid).values(tags=merged, updated_at=now))
