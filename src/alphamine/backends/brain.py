"""`BrainBackend`: the `Backend` protocol over the WorldQuant BRAIN platform (`alphamine.brain.client`).

Why: the pipeline simulates through one seam (`backends/base.py`); this backend makes the platform
(or the local BRAIN-compatible server) one more engine, while keeping the account safe: every
platform simulation holds a slot of the runtime-wide lease file (all processes on the account stay
under its concurrency), is recorded in the daily usage ledger, and counts against the run's
`SimulationBudget` (`--max-sim-alphas`).

Contract:
- `simulate_many(specs, progress, attached=None)` groups specs that may share a multi-simulation
  (same region, delay, instrument type, language), packs them in order into requests of at most
  `batch_size`, and runs up to `concurrency` requests at once (threads). Per request: budget first
  (specs past it become `SimFailure`s "not simulated: ... budget"), then a lease (a batch is trimmed
  to the free slots, the rest waits its turn), then the POST; accepted simulations are recorded in
  the ledger and reported through `on_submitted(spec_index, url)` at once (crash-resume); the lease
  is released when the platform has finished, before the alphas are read. Outcomes come back in
  spec order: a `SimResult` (mapping.py; the platform's alpha id in `metrics["is"]["alphaId"]`) or
  a `SimFailure` carrying the platform's message (synchronous 400s, ERROR/FAIL/TIMEOUT). Siblings
  the platform CANCELLED because another item failed are simulated again once. `attached` maps
  spec indices to simulation URLs a crashed process recorded: those are re-attached
  (`wait_simulation`), not posted again. Before each POST `on_posting(spec_indices, time)` is called
  (the pipeline commits the intent), and `on_posting(rejected_indices, None)` once the platform
  rejected items synchronously (nothing of theirs runs); `unsure` maps spec indices to the time a
  crashed process was about to post them without recording a URL: their alphas are looked for among
  the account's alphas (`brain/reconcile.py`) for up to `reconcile_wait` seconds while the other
  specs run, and only those not found are posted. `progress(done, total, outcome)` is called as
  outcomes arrive (one at a time).
- Account-level failures are not alpha failures: `BrainUnavailable`, `BrainAuthError`,
  `BrainQuotaExceeded` and `LeaseTimeout` stop the call (no new requests start; those in flight
  finish) and are raised, so a resumed run retries those specs.
- `checks(alpha_id)`: the platform's full check list (`GET /alphas/{id}/check`, names normalized);
  any failure to get it raises `ChecksUnavailable`, so a gate reports "incomplete", never a verdict.
- `catalogue()` is the data-field listing of (`region`, `delay`, `universe`) as `FieldInfo`
  (MATRIX, VECTOR, GROUP); `regions()` / `universes()` come from `OPTIONS /simulations` (listings
  cached per day by the client). `fingerprint()` is None (the platform's data has no hash).
- `close()` releases this backend's leases and closes the client (the backend owns it). Idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alphamine.backends.base import Outcome, Progress
from alphamine.brain.client import BrainClient, BrainError, BrainHTTPError, spread
from alphamine.brain.leases import LeaseFile
from alphamine.brain.mapping import SimulationOutcome, field_info
from alphamine.brain.reconcile import alphas_created_since, match_alphas
from alphamine.brain.usage import SimulationBudget, UsageLedger
from alphamine.data.fields import FieldInfo
from alphamine.sim.batch import SimFailure, SimSpec
from alphamine.sim.result import SimResult

BUDGET_SPENT = "not simulated: the simulation budget of {n} alphas (--max-sim-alphas) is spent"
DEFAULT_LEASE_TIMEOUT = 3600.0
RECONCILE_WAIT = 600.0
log = logging.getLogger("alphamine.brain.backend")


class ChecksUnavailable(BrainError):
    """The platform's checks of an alpha could not be read (network, platform or session failure)."""


@dataclass
class _Batch:
    indices: list[int]
    url: str | None = None  # a simulation already running on the platform (re-attach)
    budgeted: bool = False  # the budget was already charged for these specs
    since: float | None = None  # maybe posted by a killed process at this time: look for them first


class _Call:
    """The state of one `simulate_many` call, shared by its worker threads."""

    def __init__(self, specs: Sequence[SimSpec], progress: Progress | None) -> None:
        self.specs, self.progress = specs, progress
        self.outcomes: list[Outcome | None] = [None] * len(specs)
        self.queue: deque[_Batch] = deque()
        self.cond = threading.Condition()
        self.active = 0
        self.done = 0
        self.error: BaseException | None = None
        self.retried: set[int] = set()

    def finish(self, index: int, outcome: Outcome) -> None:
        with self.cond:
            self.outcomes[index] = outcome
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, len(self.specs), outcome)

    def fail(self, index: int, error: str) -> None:
        spec = self.specs[index]
        self.finish(index, SimFailure(spec.expression, spec.settings, error))

    def requeue(self, batch: _Batch, *, front: bool) -> None:
        with self.cond:
            (self.queue.appendleft if front else self.queue.append)(batch)
            self.cond.notify_all()

    def next_batch(self) -> _Batch | None:
        with self.cond:
            while not self.queue and self.active and self.error is None:
                self.cond.wait()
            if self.error is not None or not self.queue:
                return None
            self.active += 1
            return self.queue.popleft()

    def batch_ended(self, error: BaseException | None) -> None:
        with self.cond:
            self.active -= 1
            if error is not None and self.error is None:
                self.error = error
            self.cond.notify_all()


class BrainBackend:
    """Simulations on the BRAIN platform (module doc)."""

    name = "brain"

    def __init__(
        self,
        client: BrainClient,
        *,
        leases: LeaseFile,
        usage: UsageLedger,
        budget: SimulationBudget | None = None,
        batch_size: int = 10,
        concurrency: int = 8,
        region: str = "USA",
        delay: int = 1,
        universe: str | None = None,
        fetch_pnl: bool = True,
        fetch_yearly: bool = True,
        on_submitted: Callable[[int, str], None] | None = None,
        lease_timeout: float | None = DEFAULT_LEASE_TIMEOUT,
        on_posting: Callable[[Sequence[int], float | None], None] | None = None,
        reconcile_wait: float = RECONCILE_WAIT,
        reconcile_poll: float = 5.0,
    ) -> None:
        if not 1 <= batch_size <= 10 or concurrency < 1:
            raise ValueError("BrainBackend needs 1 <= batch_size <= 10 and concurrency >= 1")
        self.client, self.leases, self.usage, self.budget = client, leases, usage, budget
        self.batch_size, self.concurrency = batch_size, concurrency
        self.region, self.delay, self._universe = region.upper(), delay, universe
        self.fetch_pnl, self.fetch_yearly = fetch_pnl, fetch_yearly
        self.on_submitted, self.lease_timeout = on_submitted, lease_timeout
        self.on_posting, self.reconcile_wait, self.reconcile_poll = on_posting, reconcile_wait, reconcile_poll
        self._catalogue: dict[str, FieldInfo] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"BrainBackend({self.client.base_url!r}, batch_size={self.batch_size}, concurrency={self.concurrency})"

    # ------------------------------------------------------------------ what the platform offers
    def _choices(self, setting: str) -> list[str]:
        children = self.client.simulation_options().get("actions", {}).get("POST", {}).get("settings", {})
        choices = children.get("children", {}).get(setting, {}).get("choices", {})
        node: Any = choices.get("instrumentType", {}).get("EQUITY", []) if isinstance(choices, Mapping) else choices
        if isinstance(node, Mapping):
            node = node.get("region", {}).get(self.region, [])
        return [str(c.get("value")) for c in node if isinstance(c, Mapping)] if isinstance(node, list) else []

    def regions(self) -> Sequence[str]:
        return self._choices("region")

    def universes(self) -> Sequence[str]:
        return self._choices("universe")

    @property
    def universe(self) -> str:
        if self._universe is None:
            offered = self.universes()
            if not offered:
                raise BrainError(f"the platform offers no universe for region {self.region}")
            self._universe = offered[0]
        return self._universe

    def catalogue(self) -> Mapping[str, FieldInfo]:
        if self._catalogue is None:
            records = self.client.data_fields(region=self.region, delay=self.delay, universe=self.universe)
            infos = (field_info(r) for r in records)
            self._catalogue = {i.name: i for i in infos if i is not None}
        return self._catalogue

    def fingerprint(self) -> str | None:
        return None

    # ------------------------------------------------------------------ simulation
    def _pack(self, specs: Sequence[SimSpec], indices: Sequence[int]) -> list[_Batch]:
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i in indices:
            s = specs[i].settings
            groups.setdefault((s.region, s.delay, s.instrument_type, s.language), []).append(i)
        return [_Batch(g[k : k + self.batch_size]) for g in groups.values() for k in range(0, len(g), self.batch_size)]

    def simulate_many(
        self,
        specs: Sequence[SimSpec],
        progress: Progress | None = None,
        *,
        attached: Mapping[int, str] | None = None,
        unsure: Mapping[int, float] | None = None,
    ) -> list[Outcome]:
        """Every spec simulated on the platform; outcomes in spec order (module doc)."""
        if self._closed:
            raise RuntimeError("BrainBackend is closed")
        call = _Call(list(specs), progress)
        by_url: dict[str, list[int]] = {}
        for i, url in sorted((attached or {}).items()):
            if not 0 <= i < len(call.specs):
                raise IndexError(f"attached spec index {i} is outside the {len(call.specs)} specs")
            by_url.setdefault(url, []).append(i)
        call.queue.extend(_Batch(idx, url=url, budgeted=True) for url, idx in by_url.items())
        maybe = {i: t for i, t in (unsure or {}).items() if i not in (attached or {}) and 0 <= i < len(call.specs)}
        if maybe:
            call.queue.append(_Batch(sorted(maybe), since=min(maybe.values())))
        call.queue.extend(
            self._pack(call.specs, [i for i in range(len(call.specs)) if i not in (attached or {}) and i not in maybe])
        )
        threads = [
            threading.Thread(target=self._worker, args=(call,), name=f"brain-sim-{k}", daemon=True)
            for k in range(min(self.concurrency, len(call.queue)))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if call.error is not None:
            raise call.error
        missing = [i for i, o in enumerate(call.outcomes) if o is None]
        if missing:
            raise RuntimeError(f"BrainBackend lost the outcomes of specs {missing}")
        return [o for o in call.outcomes if o is not None]

    def _worker(self, call: _Call) -> None:
        while (batch := call.next_batch()) is not None:
            error: BaseException | None = None
            try:
                self._run(call, batch)
            except BaseException as e:
                error = e
            call.batch_ended(error)

    def _run(self, call: _Call, batch: _Batch) -> None:
        if batch.since is not None:
            self._reconcile(call, batch.indices, batch.since)
            return
        idx = list(batch.indices)
        if not batch.budgeted and self.budget is not None:
            granted = self.budget.take(len(idx))
            for i in idx[granted:]:
                call.fail(i, BUDGET_SPENT.format(n=self.budget.max_alphas))
            idx = idx[:granted]
        if not idx:
            return
        try:
            lease = self.leases.acquire(len(idx), self.lease_timeout)
        except BaseException:
            self._refund(idx, batch)
            raise
        if call.error is not None:  # another request failed for the account while this one waited
            self.leases.release(lease)
            self._refund(idx, batch)
            return
        try:
            if batch.url is None and lease.slots < len(idx):
                call.requeue(_Batch(idx[lease.slots :], budgeted=True), front=True)
                idx = idx[: lease.slots]
            started = self._start(call, idx) if batch.url is None else (batch.url, idx, None)
            if started is None:
                return
            url, accepted, first_wait = started
            leaves = spread(self.client.wait_simulation(url, first_wait), len(accepted))
        finally:
            self.leases.release(lease)
        self._settle(call, accepted, leaves)

    def _reconcile(self, call: _Call, indices: Sequence[int], since: float) -> None:
        """Specs a killed process may have posted: their alphas once the platform lists them (no new
        simulation); those still unlisted after `reconcile_wait` seconds are posted."""
        todo, found = list(indices), dict[int, str]()
        deadline = time.monotonic() + self.reconcile_wait
        while True:
            try:
                listed = list(alphas_created_since(self.client, since))
            except BrainHTTPError as e:  # a platform without the listing: nothing can be found there
                log.warning("cannot list the account's alphas to find unrecorded simulations: %s", e)
                break
            hits = match_alphas([(call.specs[i].expression, call.specs[i].settings) for i in todo], listed)
            found.update({todo[k]: alpha_id for k, alpha_id in hits.items()})
            todo = [i for i in todo if i not in found]
            if not todo or call.error is not None or time.monotonic() >= deadline:
                break
            time.sleep(min(self.reconcile_poll, max(0.0, deadline - time.monotonic())))
        for i, alpha_id in found.items():
            call.finish(i, self._result(call.specs[i], SimulationOutcome("", "", "COMPLETE", alpha_id=alpha_id)))
        if todo and call.error is None:
            log.warning("%d simulation(s) a stopped process may have posted were not found among the account's "
                        "alphas (looked for up to %.0fs): posting them", len(todo), self.reconcile_wait)  # fmt: skip
            for batch in self._pack(call.specs, todo):
                call.requeue(batch, front=False)

    def _refund(self, idx: Sequence[int], batch: _Batch) -> None:
        if self.budget is not None and batch.url is None:
            self.budget.refund(len(idx))

    def _start(self, call: _Call, idx: list[int]) -> tuple[str, list[int], float | None] | None:
        """POST the batch; report rejected items; (url, accepted indices, Retry-After) or None."""
        if self.on_posting is not None:
            self.on_posting(idx, time.time())
        try:
            started = self.client.start_simulations([(call.specs[i].expression, call.specs[i].settings) for i in idx])
        except BaseException:
            if self.budget is not None:
                self.budget.refund(len(idx))
            raise
        for k, message in started.rejected.items():
            call.fail(idx[k], f"rejected by the platform: {message}")
        if started.rejected and self.on_posting is not None:  # answered: nothing of theirs is on the platform
            self.on_posting([idx[k] for k in started.rejected], None)
        if self.budget is not None:
            self.budget.refund(len(started.rejected))
        if started.url is None:
            return None
        accepted = [idx[k] for k in started.accepted]
        self.usage.record(len(accepted))
        if self.on_submitted is not None:
            for i in accepted:
                self.on_submitted(i, started.url)
        return started.url, accepted, started.retry_after

    def _settle(self, call: _Call, accepted: Sequence[int], leaves: Sequence[SimulationOutcome]) -> None:
        """Turn finished leaves into outcomes; CANCELLED siblings of a failed item go round once more."""
        sibling_failed = any(not leaf.ok and leaf.status != "CANCELLED" for leaf in leaves)
        again = []
        for i, leaf in zip(accepted, leaves, strict=True):
            if leaf.ok:
                call.finish(i, self._result(call.specs[i], leaf))
            elif leaf.status == "CANCELLED" and sibling_failed and i not in call.retried:
                again.append(i)
            else:
                call.fail(i, leaf.error_text())
        if again:
            with call.cond:
                call.retried.update(again)
            for batch in self._pack(call.specs, again):
                batch.budgeted = True
                call.requeue(batch, front=False)

    def _result(self, spec: SimSpec, leaf: SimulationOutcome) -> Outcome:
        assert leaf.alpha_id is not None
        try:
            result: SimResult = self.client.alpha_result(
                leaf.alpha_id, settings=spec.settings, expression=spec.expression, pnl=self.fetch_pnl,
                yearly=self.fetch_yearly,
            )
        except BrainHTTPError as e:
            return SimFailure(spec.expression, spec.settings, f"simulated as alpha {leaf.alpha_id}, unreadable: {e}")
        result.metrics["is"]["alphaId"] = leaf.alpha_id
        return result

    # ------------------------------------------------------------------ checks, lifecycle
    def checks(self, alpha_id: str) -> list[dict[str, Any]] | None:
        """The platform's full checks of `alpha_id`; `ChecksUnavailable` when they cannot be read."""
        try:
            return self.client.check(alpha_id)
        except ChecksUnavailable:
            raise
        except BrainError as e:
            raise ChecksUnavailable(f"the platform's checks of alpha {alpha_id} are unavailable: {e}") from e

    def close(self) -> None:
        """Release this backend's leases and close the client. Idempotent."""
        if not self._closed:
            self._closed = True
            self.leases.close()
            self.client.close()

    def __enter__(self) -> BrainBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
