"""Panel cache: round trip, memory maps, speed, atomic replace, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alphamine.data.cache import MANIFEST, open_panel, save_panel
from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel


def small_panel() -> Panel:
    rng = np.random.default_rng(0)
    T, N = 30, 4
    close = rng.random((T, N)) + 1
    close[3, 1] = np.nan
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + T)
    return Panel(
        dates,
        ["A", "B", "C", "D"],
        matrices={"close": close, "volume": rng.random((T, N))},
        groups={"sector": np.tile(np.array([0, 1, -1, 0], dtype=np.int32), (T, 1))},
        vectors={"events": rng.random((T, N, 3))},
        universes={"TOP2": rng.random((T, N)) < 0.5},
        group_labels={"sector": ["x", "y"]},
        catalogue={"close": FieldInfo("close", FieldType.MATRIX, description="c", unit=Unit.PRICE, approximate=True)},
        name="small",
    )


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip(tmp_path: Path, mmap: bool) -> None:
    p = small_panel()
    save_panel(p, tmp_path / "c")
    q = open_panel(tmp_path / "c", mmap=mmap)
    assert q.fingerprint() == p.fingerprint()
    assert dict(q.catalogue) == dict(p.catalogue)
    assert q.name == "small" and dict(q.group_labels) == dict(p.group_labels)
    np.testing.assert_array_equal(q.dates, p.dates)
    assert q.instruments.tolist() == p.instruments.tolist()
    for k in p.catalogue:
        np.testing.assert_array_equal(q[k], p[k])
        assert q[k].dtype == p[k].dtype and not q[k].flags.writeable
    if mmap:
        base = q["close"]
        while base.base is not None and not isinstance(base, np.memmap):
            base = base.base
        assert isinstance(base, np.memmap)
    assert open_panel(tmp_path / "c", verify=True).fingerprint() == p.fingerprint()


def test_replace_existing_cache_atomically(tmp_path: Path) -> None:
    p = small_panel()
    save_panel(p, tmp_path / "c")
    p2 = p.with_fields(matrices={"close": p["close"] * 2})
    save_panel(p2, tmp_path / "c")
    assert open_panel(tmp_path / "c").fingerprint() == p2.fingerprint()
    assert [x.name for x in tmp_path.iterdir()] == ["c"]  # no temp or old directories left


def test_large_panel_opens_memory_mapped(tmp_path: Path) -> None:
    T, N = 2520, 3000
    dates = np.arange(np.datetime64("2010-01-01"), np.datetime64("2010-01-01") + T)
    close = np.ones((T, N))
    p = Panel(
        dates,
        [f"S{i:04d}" for i in range(N)],
        matrices={"close": close},
        universes={"TOP100": np.zeros((T, N), dtype=bool)},
    )
    save_panel(p, tmp_path / "big")
    q = open_panel(tmp_path / "big")
    # fast because nothing is read: the arrays are memory maps and the catalogue comes from the manifest
    # (the opening time itself is measured by hand, not asserted: timed tests are flaky)
    assert _is_memmap(q.matrices["close"]) and _is_memmap(q.universes["TOP100"])
    assert q.shape == (T, N) and q.catalogue["close"].coverage == 1.0


def _is_memmap(a: np.ndarray) -> bool:
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = a.base  # type: ignore[assignment]
    return False


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not a panel cache \(no panel\.json\)"):
        open_panel(tmp_path)
    save_panel(small_panel(), tmp_path / "c")
    man = tmp_path / "c" / MANIFEST
    good = man.read_text()
    man.write_text("{not json")
    with pytest.raises(DataError, match="corrupt manifest"):
        open_panel(tmp_path / "c")
    m = json.loads(good)
    m["version"] = 99
    man.write_text(json.dumps(m))
    with pytest.raises(DataError, match=r"cache format version 99.*rebuild the cache"):
        open_panel(tmp_path / "c")
    m = json.loads(good)
    del m["dates"]
    man.write_text(json.dumps(m))
    with pytest.raises(DataError, match="corrupt manifest"):
        open_panel(tmp_path / "c")
    man.write_text(good)
    (tmp_path / "c" / "m0000.npy").unlink()
    with pytest.raises(DataError, match="cannot read array for field 'close'"):
        open_panel(tmp_path / "c")


def test_verify_detects_changed_arrays(tmp_path: Path) -> None:
    save_panel(small_panel(), tmp_path / "c")
    arr = np.load(tmp_path / "c" / "m0000.npy")
    arr[0, 0] += 1
    np.save(tmp_path / "c" / "m0000.npy", arr)
    open_panel(tmp_path / "c")  # trusted without verify
    with pytest.raises(DataError, match="fingerprint mismatch"):
        open_panel(tmp_path / "c", verify=True)


def test_sample_disk_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk-cache mechanics of load_sample (with a small stand-in panel, to stay fast)."""
    from alphamine.data import sample

    calls: list[int] = []

    def fake_build() -> Panel:
        calls.append(1)
        return small_panel()

    monkeypatch.setattr(sample, "build_sample", fake_build)
    monkeypatch.setenv(sample.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv(sample.NO_CACHE_ENV, raising=False)
    d = sample.sample_cache_dir()
    assert d is not None and d.parent == tmp_path and d.name.startswith("sample-")
    (tmp_path / "sample-stale").mkdir()
    built = sample.load_sample.__wrapped__()  # type: ignore[attr-defined]
    assert (d / MANIFEST).is_file() and not (tmp_path / "sample-stale").exists()
    opened = sample.load_sample.__wrapped__()  # type: ignore[attr-defined]
    assert len(calls) == 1  # the second call opened the cache
    assert opened.fingerprint() == built.fingerprint()
    (d / MANIFEST).write_text("garbage")
    sample.load_sample.__wrapped__()  # type: ignore[attr-defined]
    assert len(calls) == 2  # a corrupt cache is rebuilt, not an error
    monkeypatch.setenv(sample.NO_CACHE_ENV, "1")
    assert sample.sample_cache_dir() is None
