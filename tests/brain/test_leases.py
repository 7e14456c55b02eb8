"""The runtime-wide lease file on a real directory: trimming, waiting, expiry, renewal, dead
processes (a real SIGKILLed child) and the account share of GLB and other regions."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from alphamine.brain.leases import FILENAME, LeaseFile, LeaseTimeout, default_capacity, default_limits, pid_alive
from tests.brain.test_client_support import run_python

pytestmark = pytest.mark.timeout(120)


def test_default_capacities() -> None:
    assert default_limits("USA") == (8, 10) and default_capacity("EUR") == 80
    assert default_limits("glb") == (4, 4) and default_capacity("GLB") == 16


def test_acquire_trims_to_the_free_slots_then_times_out(tmp_path: Path) -> None:
    with LeaseFile(tmp_path, capacity=10) as leases:
        a = leases.acquire(6)
        b = leases.acquire(6)
        assert (a.slots, b.slots) == (6, 4) and leases.free_slots() == 0
        started = time.monotonic()
        with pytest.raises(LeaseTimeout, match=r"within 0\.2s") as e:
            leases.acquire(1, timeout=0.2)
        assert 0.15 <= time.monotonic() - started < 2
        assert f"{leases.host}:{a.pid}" in str(e.value) and FILENAME in str(e.value)
        doc = json.loads((tmp_path / FILENAME).read_text())
        assert sorted(r["slots"] for r in doc["leases"]) == [4, 6]
        assert {"id", "pid", "host", "expires", "capacity", "acquired"} <= set(doc["leases"][0])
        leases.release(a)
        assert leases.acquire(3).slots == 3 and leases.free_slots() == 3
    assert LeaseFile(tmp_path).live() == []  # close() released everything


def test_a_waiting_acquire_gets_the_slots_another_thread_frees(tmp_path: Path) -> None:
    leases = LeaseFile(tmp_path, capacity=4, poll_interval=0.02)
    held = leases.acquire(4)
    timer = threading.Timer(0.3, leases.release, args=(held,))
    timer.start()
    started = time.monotonic()
    lease = leases.acquire(2, timeout=10)
    assert lease.slots == 2 and time.monotonic() - started >= 0.25
    timer.join()
    leases.close()


def test_glb_and_other_regions_share_the_account(tmp_path: Path) -> None:
    usa = LeaseFile(tmp_path, capacity=default_capacity("USA"))
    glb = LeaseFile(tmp_path, capacity=default_capacity("GLB"))
    usa.acquire(40)  # half the account
    assert glb.acquire(16).slots == 8  # half of GLB's 16
    with pytest.raises(LeaseTimeout):
        usa.acquire(1, timeout=0.05)
    usa.close()
    assert glb.free_slots() == 8
    glb.close()


def test_expired_leases_are_purged(tmp_path: Path) -> None:
    elsewhere = LeaseFile(tmp_path, capacity=4, ttl=0.3, host="another-machine", renew=False)
    elsewhere.acquire(4)  # a process on another host that stops renewing
    here = LeaseFile(tmp_path, capacity=4, poll_interval=0.02)
    with pytest.raises(LeaseTimeout, match="another-machine"):
        here.acquire(1, timeout=0.05)
    assert here.acquire(4, timeout=5).slots == 4  # after its expiry
    assert [x.host for x in here.live()] == [here.host]
    here.close()


def test_renewal_keeps_a_working_process_s_leases(tmp_path: Path) -> None:
    worker = LeaseFile(tmp_path, capacity=2, ttl=0.3)
    lease = worker.acquire(2)
    observer = LeaseFile(tmp_path, capacity=2, host="another-machine")  # sees them as foreign: expiry only
    time.sleep(1.0)  # > 3 ttl: alive only because the renewer pushes the expiry
    live = observer.live()
    assert [x.id for x in live] == [lease.id] and live[0].expires > lease.expires
    worker.close()
    assert observer.live() == []


def test_a_purged_lease_in_use_is_registered_again(tmp_path: Path) -> None:
    sleepy = LeaseFile(tmp_path, capacity=2, ttl=0.2, renew=False, host="another-machine")
    lease = sleepy.acquire(2)
    time.sleep(0.3)
    assert LeaseFile(tmp_path).live() == []  # purged by someone else
    sleepy.renew()  # the holder wakes up: still working, so its slots count again
    assert [x.id for x in LeaseFile(tmp_path).live()] == [lease.id]
    sleepy.close()


KILLED_CHILD = """
import sys, time
from alphamine.brain.leases import LeaseFile
leases = LeaseFile(sys.argv[1], capacity=3, ttl=600)
leases.acquire(3)
print("held", flush=True)
time.sleep(120)
"""


def test_a_killed_process_frees_its_slots_at_once(tmp_path: Path) -> None:
    child = run_python(KILLED_CHILD, str(tmp_path))
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        mine = LeaseFile(tmp_path, capacity=3, poll_interval=0.02)
        with pytest.raises(LeaseTimeout, match=f":{child.pid}"):
            mine.acquire(1, timeout=0.1)
        assert pid_alive(child.pid)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert not pid_alive(child.pid)
    started = time.monotonic()
    assert mine.acquire(3, timeout=5).slots == 3  # its 600 s expiry did not have to pass
    assert time.monotonic() - started < 1
    mine.close()


def test_a_damaged_file_starts_afresh(tmp_path: Path) -> None:
    (tmp_path / FILENAME).write_text("{not json")
    leases = LeaseFile(tmp_path, capacity=2)
    assert leases.live() == [] and leases.acquire(2).slots == 2
    leases.close()
    (tmp_path / FILENAME).write_text(json.dumps({"version": 1, "leases": [{"id": "x"}, "junk"]}))
    assert LeaseFile(tmp_path).live() == []


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LeaseFile(tmp_path, capacity=0)
    with pytest.raises(ValueError):
        LeaseFile(tmp_path).acquire(0)
    assert not pid_alive(0) and not pid_alive(-5)
