"""Process memory policy for batch simulation (glibc on Linux; elsewhere every call is a no-op).

Why this matters: a simulated alpha at 3000 x 2520 writes several fresh 60 MB (T, N) arrays, and on the
VMs we measure a first touch costs ~3.5 µs per 4 KiB page (~17 µs for a copy-on-write page in a forked
worker), so page faults can take as long as the arithmetic. Two remedies, each for one kind of process:

- `retain_freed_memory()` (one long-lived batch process): freed memory stays mapped and is reused.
- `release_inherited_heap()` (a forked worker): the parent's free heap pages are dropped instead of being
  copied on write, and the heap may be backed by transparent huge pages (one fault per 2 MiB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from typing import Any

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc <malloc.h>
_MADV_HUGEPAGE = 14  # <sys/mman.h> on Linux
_PAGE = 4096


def _libc() -> Any | None:
    """The C library when it is glibc on Linux (the mallopt/malloc_trim semantics relied on), else None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def retain_freed_memory() -> bool:
    """Opt-in, process-wide: keep freed heap memory in the process instead of handing it back to the OS,
    so a new (T, N) result reuses pages that are already mapped rather than page-faulting fresh ones
    (first touch costs ~0.3 ms per MB here: about half of a 30-alpha batch's time at S). Large arrays
    then come from the heap, never from a fresh mmap, and the heap is never trimmed: the process keeps
    its peak RSS (bounded by the cache budget) until it exits. Equivalent to MALLOC_MMAP_MAX_=0
    MALLOC_TRIM_THRESHOLD_=<huge> in the environment. Meant for batch processes (`simulate_many`, the
    CLI); call it once, early. Returns False (and changes nothing) where the C library is not glibc.

    The trim threshold is -1, which glibc reads as SIZE_MAX ("never"), not INT_MAX: with 2 GiB, a batch at
    L whose heap top exceeded 2 GiB when a pass freed its sub-expression cache was trimmed, and the
    next pass page-faulted ~1.2 GB back in (318 k faults, ~1 s of system time per 3-4 s pass)."""
    libc = _libc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok_trim = mallopt(_M_TRIM_THRESHOLD, -1) == 1  # -1 -> (size_t)-1: never trim
    ok_mmap = mallopt(_M_MMAP_MAX, 0) == 1
    return ok_trim and ok_mmap


def heap_ranges(maps_text: str) -> list[tuple[int, int]]:
    """The [start, end) address ranges of the brk heap in a /proc/<pid>/maps text."""
    out = []
    for line in maps_text.splitlines():
        fields = line.split()
        if fields and fields[-1] == "[heap]":
            start, end = fields[0].split("-")
            out.append((int(start, 16), int(end, 16)))
    return out


def release_inherited_heap() -> bool:
    """For a freshly forked worker: give back the free pages of the heap inherited from the parent and
    let the heap use transparent huge pages.

    Why: the parent (which retains freed memory) leaves gigabytes of free heap behind; a worker that
    reuses it copies every page it writes (a copy-on-write fault each, ~17 µs here) although it needs
    none of the old contents. `malloc_trim(0)` drops those pages (the addresses stay valid: the next
    write maps a zero page, no copy), and MADV_HUGEPAGE lets untouched 2 MiB stretches come back as one
    huge page. Measured with 2 workers in a process that had run batches before: 30 alphas at L
    3.3-7.6 -> 10.1-10.4 alphas/s, 120 at S 65-91 -> 152-230. (A first batch in a fresh process on
    this VM is dominated by the hypervisor backing never-touched memory, ~15 µs per 4 KiB page, with or
    without it.) Best effort: returns False where unsupported; never raises."""
    libc = _libc()
    if libc is None:
        return False
    try:
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim(0)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.madvise.restype = ctypes.c_int
        with open("/proc/self/maps", encoding="ascii") as fh:
            ranges = heap_ranges(fh.read())
        ok = True
        for start, end in ranges:
            start = (start + _PAGE - 1) // _PAGE * _PAGE
            if end > start:
                ok &= libc.madvise(start, end - start, _MADV_HUGEPAGE) == 0
        return ok and bool(ranges)
    except (OSError, AttributeError, ValueError):
        return False
