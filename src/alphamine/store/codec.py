"""Compact, exact storage of NumPy arrays in BLOB columns.

Why: a simulation's daily PnL (and its dates) is the largest part of a result and is needed for
correlation checks and plots, but never queried inside SQL. `np.save` keeps dtype, shape and every bit
(NaN payloads and signed zeros included) and zlib shrinks it; `allow_pickle=False` on both sides means a
stored blob can never execute code when read back.
"""

from __future__ import annotations

import io
import zlib

import numpy as np

_LEVEL = 6
_EPOCH = np.datetime64("1970-01-01", "D")


def pack_array(array: np.ndarray) -> bytes:
    """`np.save` the array (no pickles) and zlib-compress it. Object arrays are refused."""
    a = np.asarray(array)
    if a.dtype.hasobject:
        raise TypeError("pack_array stores numeric arrays only, not object arrays")
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return zlib.compress(buf.getvalue(), _LEVEL)


def unpack_array(blob: bytes) -> np.ndarray:
    """Exact inverse of `pack_array` (same dtype, shape and bytes)."""
    return np.load(io.BytesIO(zlib.decompress(blob)), allow_pickle=False)


_PACKED_DATES: dict[bytes, bytes] = {}


def pack_dates(dates: np.ndarray) -> bytes:
    """Calendar days as int32 days since 1970-01-01 (half the bytes of datetime64, same information).
    Every result of a panel has the same dates: the last few packings are remembered by content."""
    raw = np.ascontiguousarray(np.asarray(dates).astype("datetime64[D]")).tobytes()
    hit = _PACKED_DATES.get(raw)
    if hit is not None:
        return hit
    packed = _pack_dates(dates)
    if len(_PACKED_DATES) >= 8:
        _PACKED_DATES.clear()
    _PACKED_DATES[raw] = packed
    return packed


def _pack_dates(dates: np.ndarray) -> bytes:
    days = (np.asarray(dates).astype("datetime64[D]") - _EPOCH).astype(np.int64)
    if days.size and (days.min() < np.iinfo(np.int32).min or days.max() > np.iinfo(np.int32).max):
        raise ValueError("dates out of the int32-days range")
    return pack_array(days.astype(np.int32))


def unpack_dates(blob: bytes) -> np.ndarray:
    """Inverse of `pack_dates`: a `datetime64[D]` array."""
    return unpack_array(blob).astype(np.int64) + _EPOCH
