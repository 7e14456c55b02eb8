from __future__ import annotations

import numpy as np
import pytest

from alphamine.store import pack_array, pack_dates, unpack_array, unpack_dates


@pytest.mark.parametrize(
    "array",
    [
        np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-308, 5e-324, 1.0 / 3.0]),
        np.random.default_rng(0).normal(size=1000) * 1e6,
        np.array([], dtype=np.float64),
        np.arange(12, dtype=np.int32).reshape(3, 4),
        np.array([True, False]),
        np.asfortranarray(np.random.default_rng(1).random((5, 7))),
    ],
)
def test_pack_array_round_trip_is_bit_exact(array: np.ndarray) -> None:
    back = unpack_array(pack_array(array))
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes(order="C") == np.ascontiguousarray(array).tobytes()


def test_nan_payload_survives() -> None:
    weird = np.array([0x7FF8000000000123], dtype=np.uint64).view(np.float64)
    assert unpack_array(pack_array(weird)).view(np.uint64)[0] == 0x7FF8000000000123


def test_compresses_repetitive_data() -> None:
    a = np.zeros(10_000)
    assert len(pack_array(a)) < a.nbytes / 50


def test_object_arrays_refused() -> None:
    with pytest.raises(TypeError):
        pack_array(np.array([{"a": 1}], dtype=object))


def test_dates_round_trip() -> None:
    dates = np.arange("1960-01-01", "2031-01-01", dtype="datetime64[D]")[::7]
    back = unpack_dates(pack_dates(dates))
    assert back.dtype == np.dtype("datetime64[D]")
    np.testing.assert_array_equal(back, dates)
    assert unpack_array(pack_dates(dates)).dtype == np.int32
