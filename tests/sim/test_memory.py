"""Process memory policy (`sim.memory`): each setting is checked in a fresh interpreter, because it is
process-wide, by counting what it is meant to change (page faults, resident memory)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from alphamine.sim.memory import heap_ranges

_REUSE_SCRIPT = """
import resource, sys
import numpy as np
from numpy._core import multiarray
from alphamine.sim.memory import retain_freed_memory
multiarray._set_madvise_hugepage(False)  # count 4 KiB pages, as arrays allocated by numba kernels get
if sys.argv[1] == "on" and not retain_freed_memory():
    print("unavailable"); sys.exit(0)
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(8 << 20)  # 64 MiB, touched
del a
f0 = faults()
b = np.ones(8 << 20)
print(faults() - f0)
"""

_RELEASE_SCRIPT = """
import os
import numpy as np
from alphamine.sim.memory import release_inherited_heap, retain_freed_memory
if not retain_freed_memory():
    print("unavailable"); raise SystemExit(0)
def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
keep = np.ones(1 << 20)  # live data above and below the freed block stays put
a = np.ones(16 << 20)  # 128 MiB, touched, then freed into the retained heap
top = np.ones(1 << 20)
del a
before = rss_mb()
ok = release_inherited_heap()
print(ok, before - rss_mb(), float(keep.sum() + top.sum()))
"""


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_retain_freed_memory_reuses_pages_instead_of_faulting() -> None:
    """A freed 64 MiB result is reused without page faults once the process retains freed memory, and
    page-faults again without it."""
    on = _run(_REUSE_SCRIPT, "on")
    if on == "unavailable":
        pytest.skip("retain_freed_memory needs glibc on Linux")
    off = int(_run(_REUSE_SCRIPT, "off"))
    if off < 1000:
        pytest.skip("this kernel backs fresh memory with transparent huge pages: nothing to compare")
    assert off > 10_000  # 64 MiB = 16 k pages of 4 KiB
    assert int(on) < 1000


def test_release_inherited_heap_gives_back_free_pages_and_keeps_live_data() -> None:
    """The free 128 MiB in the middle of the heap leaves the resident set; the live arrays around it
    keep their values."""
    out = _run(_RELEASE_SCRIPT)
    if out == "unavailable":
        pytest.skip("needs glibc on Linux")
    ok, released_mb, live_sum = out.split()
    assert ok == "True"
    assert float(released_mb) > 100
    assert float(live_sum) == 2 * (1 << 20)


def test_heap_ranges_reads_proc_maps() -> None:
    maps = (
        "55d0c0a00000-55d0c0a21000 r--p 00000000 08:01 123 /usr/bin/python3\n"
        "55d0c1f4e000-55d0c2b6f000 rw-p 00000000 00:00 0                          [heap]\n"
        "55d0c2b6f000-55d0c4000000 rw-p 00000000 00:00 0                          [heap]\n"
        "7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 \n"
        "7ffd4a5e3000-7ffd4a604000 rw-p 00000000 00:00 0                          [stack]\n"
    )
    assert heap_ranges(maps) == [(0x55D0C1F4E000, 0x55D0C2B6F000), (0x55D0C2B6F000, 0x55D0C4000000)]
    assert heap_ranges("") == []
