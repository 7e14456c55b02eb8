"""The runtime-wide simulation lease file: every alphamine process on one account shares the
platform's concurrency through `<runtime-root>/simulation_leases.json`.

Why: BRAIN limits concurrent simulations per account (consultants: 8 multi-simulations of 10;
GLB runs are heavier, brain.md §7.2) and answers 429 past it. Two `alphamine run`s on one account
would each believe they own the whole budget; a file that every process consults under a lock
keeps their sum under the platform's limit without a server.

Contract:
- Capacity is counted in alpha slots: concurrency x batch size (`default_capacity(region)`: 8 x 10
  = 80 outside GLB, 4 x 4 = 16 for GLB). A lease records its slots, the capacity of its holder,
  pid, host and expiry; the account is full when the sum of slots / capacity over live leases
  reaches 1, so GLB and other runs share one account fairly.
- `acquire(n, timeout)` grants min(n, free slots) at once if at least one slot is free, else waits
  (polling) and raises `LeaseTimeout` after `timeout` seconds (None: wait forever). `release`
  frees a lease; `hold(n)` is both as a context manager; `close()` releases everything this object
  holds and stops its renewer.
- Leases live `ttl` seconds; a background thread renews this object's leases every ttl/3 while it
  works. A lease is dead (and purged by whoever next takes the lock) when its expiry has passed,
  or when it is on this host and its pid is gone (a killed process frees its slots at once).
- All reads and writes happen under `fcntl.flock` of the sibling `simulation_leases.json.lock`;
  the JSON is replaced atomically (temp file + rename). `locked_json(path)` is that mechanism for
  other runtime files (the usage ledger).
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from alphamine.brain.retry import BrainError

log = logging.getLogger("alphamine.brain.leases")

FILENAME = "simulation_leases.json"
DEFAULT_CONCURRENCY, DEFAULT_BATCH_SIZE = 8, 10
GLB_CONCURRENCY, GLB_BATCH_SIZE = 4, 4
DEFAULT_TTL = 120.0


def default_limits(region: str | None) -> tuple[int, int]:
    """(concurrency, batch size) the platform allows a consultant in `region`."""
    if (region or "").upper() == "GLB":
        return GLB_CONCURRENCY, GLB_BATCH_SIZE
    return DEFAULT_CONCURRENCY, DEFAULT_BATCH_SIZE


def default_capacity(region: str | None) -> int:
    concurrency, batch = default_limits(region)
    return concurrency * batch


class LeaseTimeout(BrainError):
    """No simulation slot became free in time; the text names the holders."""


@contextmanager
def locked_json(path: Path, empty: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The JSON document at `path` (or a copy of `empty`), held under an exclusive flock of
    `<path>.lock`; written back atomically if the block changed it and raised nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except FileNotFoundError:
                data = json.loads(json.dumps(empty))
            except ValueError:
                log.warning("%s is damaged; starting it afresh", path)
                data = json.loads(json.dumps(empty))
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, path)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass(frozen=True)
class Lease:
    """`slots` alpha slots of an account whose full capacity, for this holder, is `capacity`."""

    id: str
    slots: int
    capacity: int
    pid: int
    host: str
    acquired: float
    expires: float

    @property
    def share(self) -> Fraction:
        return Fraction(self.slots, max(1, self.capacity))


def _lease(record: Any) -> Lease | None:
    try:
        return Lease(**{k: record[k] for k in Lease.__dataclass_fields__})
    except (KeyError, TypeError):
        return None


class LeaseFile:
    """The lease file of one runtime root (module doc)."""

    def __init__(
        self,
        root: str | Path,
        *,
        capacity: int = DEFAULT_CONCURRENCY * DEFAULT_BATCH_SIZE,
        ttl: float = DEFAULT_TTL,
        poll_interval: float = 0.25,
        host: str | None = None,
        renew: bool = True,
    ) -> None:
        if capacity < 1 or ttl <= 0 or poll_interval <= 0:
            raise ValueError("LeaseFile needs capacity >= 1, ttl > 0 and poll_interval > 0")
        self.root = Path(root)
        self.path = self.root / FILENAME
        self.capacity, self.ttl, self.poll_interval = capacity, ttl, poll_interval
        self.host = host or socket.gethostname()
        self._renew_enabled = renew
        self._held: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LeaseFile({str(self.path)!r}, capacity={self.capacity})"

    # ------------------------------------------------------------------ the file
    def _alive(self, lease: Lease, now: float) -> bool:
        if lease.expires <= now:
            return False
        return not (lease.host == self.host and not pid_alive(lease.pid))

    @contextmanager
    def _leases(self) -> Iterator[list[Lease]]:
        """Live leases under the lock (dead ones purged); the block may add or remove some."""
        with locked_json(self.path, {"version": 1, "leases": []}) as doc:
            now = time.time()
            live = [x for r in doc.get("leases", []) if (x := _lease(r)) is not None and self._alive(x, now)]
            yield live
            doc["leases"] = [asdict(x) for x in live]

    def live(self) -> list[Lease]:
        """Every live lease of every process (purging dead ones)."""
        with self._leases() as leases:
            return list(leases)

    def free_slots(self) -> int:
        with self._leases() as leases:
            return self._free(leases)

    def _free(self, leases: list[Lease]) -> int:
        used = sum((x.share for x in leases), Fraction(0))
        return max(0, math.floor((1 - used) * self.capacity))

    # ------------------------------------------------------------------ leases
    def acquire(self, n: int, timeout: float | None = None) -> Lease:
        """A lease of min(n, free) slots, waiting for one to be free (module doc)."""
        if n < 1:
            raise ValueError(f"a lease needs at least one slot (asked {n})")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._leases() as leases:
                free = self._free(leases)
                if free >= 1:
                    now = time.time()
                    lease = Lease(uuid.uuid4().hex[:16], min(n, free), self.capacity, os.getpid(), self.host, now,
                                  now + self.ttl)
                    leases.append(lease)
                    break
                holders = ", ".join(sorted({f"{x.host}:{x.pid}" for x in leases}))
            if deadline is not None and time.monotonic() >= deadline:
                raise LeaseTimeout(
                    f"no BRAIN simulation slot became free within {timeout:g}s ({self.path}: capacity "
                    f"{self.capacity} held by {holders}); wait, or end the processes holding them"
                )
            time.sleep(self.poll_interval if deadline is None else
                       max(0.0, min(self.poll_interval, deadline - time.monotonic())))
        with self._lock:
            self._held[lease.id] = lease
        self._start_renewer()
        return lease

    def release(self, lease: Lease) -> None:
        """Free a lease (idempotent)."""
        with self._lock:
            self._held.pop(lease.id, None)
        with self._leases() as leases:
            leases[:] = [x for x in leases if x.id != lease.id]

    @contextmanager
    def hold(self, n: int, timeout: float | None = None) -> Iterator[Lease]:
        lease = self.acquire(n, timeout)
        try:
            yield lease
        finally:
            self.release(lease)

    def held(self) -> list[Lease]:
        with self._lock:
            return list(self._held.values())

    def renew(self) -> None:
        """Push the expiry of every lease this object holds `ttl` seconds ahead (re-adding one that
        was purged while this process could not renew it)."""
        with self._lock:
            mine = dict(self._held)
        if not mine:
            return
        with self._leases() as leases:
            now = time.time()
            seen = set()
            for i, x in enumerate(leases):
                if x.id in mine:
                    leases[i] = replace(x, expires=now + self.ttl)
                    seen.add(x.id)
            for lease_id, lease in mine.items():
                if lease_id not in seen:
                    log.warning("lease %s had expired while still in use; re-registering it", lease_id)
                    leases.append(replace(lease, expires=now + self.ttl))
        with self._lock:
            for lease_id in mine:
                if lease_id in self._held:
                    self._held[lease_id] = replace(self._held[lease_id], expires=now + self.ttl)

    def _start_renewer(self) -> None:
        with self._lock:
            if not self._renew_enabled or (self._renewer is not None and self._renewer.is_alive()):
                return
            self._stop.clear()
            self._renewer = threading.Thread(target=self._renew_loop, name="brain-lease-renewer", daemon=True)
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.renew()
            except OSError as e:  # a full disk must not kill the renewer; the next round retries
                log.warning("could not renew BRAIN leases in %s: %s", self.path, e)

    def close(self) -> None:
        """Release every lease this object holds and stop renewing. Idempotent."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        for lease in self.held():
            self.release(lease)

    def __enter__(self) -> LeaseFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
