"""Panel: fingerprint stability, catalogue coverage bookkeeping, trusted catalogues."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType
from alphamine.data.panel import Panel

BUILD = """
import numpy as np
from alphamine.data.panel import Panel
rng = np.random.default_rng(7)
T, N = 25, 5
close = rng.random((T, N)) + 1
close[2, 3] = np.nan
p = Panel(
    np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + T),
    ["A", "B", "C", "D", "E"],
    matrices={"close": close, "volume": rng.random((T, N))},
    groups={"sector": np.tile(np.arange(N, dtype=np.int32) % 2, (T, 1))},
    vectors={"ev": rng.random((T, N, 2))},
    universes={"TOP3": rng.random((T, N)) < 0.6},
    group_labels={"sector": ["a", "b"]},
)
"""


def build() -> Panel:
    ns: dict[str, object] = {}
    exec(BUILD, ns)
    p = ns["p"]
    assert isinstance(p, Panel)
    return p


def test_fingerprint_is_stable_in_process_and_across_processes() -> None:
    a, b = build(), build()
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 32
    out = subprocess.run(
        [sys.executable, "-c", BUILD + "\nprint(p.fingerprint())"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == a.fingerprint()


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.with_fields(matrices={"close": np.where(np.isnan(p["close"]), 1.0, p["close"])}),
        lambda p: p.with_fields(matrices={"volume": p["volume"] + 1e-12}),
        lambda p: p.with_fields(matrices={"extra": np.zeros(p.shape)}),
        lambda p: p.with_fields(groups={"sector": np.zeros(p.shape, np.int32)}),
        lambda p: p.with_fields(group_labels={"sector": ["a", "c"]}),
        lambda p: p.with_fields(universes={"TOP3": ~p.universe("TOP3")}),
        lambda p: p.with_fields(vectors={"ev": p["ev"][:, :, :1]}),
        lambda p: p.replace(dates=p.dates + 1),
        lambda p: p.replace(instruments=["A", "B", "C", "D", "F"]),
        lambda p: p.slice(end=p.dates[-2]),
        lambda p: p.replace(universes={"TOP4": p.universe("TOP3")}),
    ],
)
def test_any_change_changes_the_fingerprint(change) -> None:  # type: ignore[no-untyped-def]
    p = build()
    assert change(p).fingerprint() != p.fingerprint()


def test_universe_key_is_a_memoized_content_hash() -> None:
    a, b = build(), build()
    key = a.universe_key("TOP3")
    assert key == a.universe_key("TOP3") == b.universe_key("TOP3")  # same content, other panel
    assert len(key) == 16
    other = a.with_fields(universes={"TOP3": ~a.universe("TOP3")})
    assert other.universe_key("TOP3") != key
    with pytest.raises(KeyError, match="no universe"):
        a.universe_key("TOP9")


def test_catalogue_only_changes_keep_the_fingerprint() -> None:
    p = build()
    info = FieldInfo("close", FieldType.MATRIX, description="new words")
    assert p.with_fields(catalogue={"close": info}).fingerprint() == p.fingerprint()


def test_with_fields_coverage_equals_a_fresh_build() -> None:
    p = build()
    q = p.with_fields(matrices={"half": np.where(np.arange(p.n_instruments) < 2, 1.0, np.nan) * np.ones(p.shape)})
    fresh = Panel(
        q.dates,
        q.instruments,
        matrices=q.matrices,
        groups=q.groups,
        vectors=q.vectors,
        universes=q.universes,
        group_labels=q.group_labels,
        catalogue=q.catalogue,
    )
    assert dict(q.catalogue) == dict(fresh.catalogue)
    assert q.catalogue["half"].coverage == pytest.approx(np.mean(2 / (~np.isnan(p["close"])).sum(axis=1)))
    # replacing close (the coverage denominator) recomputes every entry
    close = p["close"].copy()
    close[:, 0] = np.nan
    r = q.with_fields(matrices={"close": close})
    fresh_r = Panel(
        r.dates,
        r.instruments,
        matrices=r.matrices,
        groups=r.groups,
        vectors=r.vectors,
        universes=r.universes,
        group_labels=r.group_labels,
        catalogue=r.catalogue,
    )
    assert dict(r.catalogue) == dict(fresh_r.catalogue)
    assert r.catalogue["half"].coverage != q.catalogue["half"].coverage


def test_trusted_catalogue_is_kept_as_given() -> None:
    p = build()
    fake = {k: FieldInfo(k, v.type, coverage=0.123, description="trusted") for k, v in p.catalogue.items()}
    q = p.replace(catalogue=fake, trust_catalogue=True)
    assert all(fi.coverage == 0.123 for fi in q.catalogue.values())
    r = p.replace(catalogue=fake)  # untrusted: descriptions kept, coverage recomputed
    assert r.catalogue["close"].description == "trusted" and r.catalogue["close"].coverage != 0.123
    s = p.replace(catalogue=fake, trust_catalogue=["volume"])
    assert s.catalogue["volume"].coverage == 0.123 and s.catalogue["close"].coverage != 0.123


def test_arrays_are_read_only_and_validated() -> None:
    p = build()
    with pytest.raises(ValueError):
        p["close"][0, 0] = 1.0
    with pytest.raises(DataError, match="expected"):
        p.with_fields(matrices={"bad": np.zeros((2, 2))})
    with pytest.raises(KeyError, match="did you mean close"):
        p.field("clse")
