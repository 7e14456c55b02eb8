"""Where a panel comes from: one validated `DataSource` and `open_source(source) -> Panel`.

Why here: the CLI's data options (`--data/--meta/--sample/--synthetic/--seed`) and a stored run's
config (re-opened on `resume`, checked against the run's fingerprint) name the same thing; both
validate it once (`DataSource.from_options`) and open it the same way (`open_source`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from alphamine.data.errors import DataError

if TYPE_CHECKING:
    from alphamine.data.panel import Panel


def parse_synthetic(spec: str) -> tuple[int, int]:
    """'N,T' (or 'NxT') -> (N, T) positive ints; DataError naming the option otherwise."""
    parts = [p.strip() for p in spec.replace("x", ",").split(",")]
    try:
        n, t = (int(p) for p in parts)
    except ValueError:
        raise DataError(f"--synthetic expects 'N,T' (instruments,days), e.g. 500,1260; got {spec!r}") from None
    if n < 1 or t < 1:
        raise DataError(f"--synthetic: N and T must be positive, got {spec!r}")
    return n, t


class DataSource(BaseModel):
    """A panel's origin: the bundled sample, a file or directory (with an optional meta table), or a
    seeded synthetic market. Frozen; stored in run configs with this JSON spelling."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = "sample"  # sample | file | synthetic
    path: str | None = None
    meta: str | None = None
    n_instruments: int | None = None
    n_days: int | None = None
    seed: int = 0

    @classmethod
    def from_options(
        cls,
        data: Path | str | None = None,
        meta: Path | str | None = None,
        sample: bool = False,
        synthetic: str | None = None,
        seed: int = 0,
    ) -> DataSource:
        """The source the CLI options name (none at all: the bundled sample); DataError for two
        sources, --meta without --data or a malformed --synthetic. File paths are made absolute so a
        stored run re-opens the same file from any working directory."""
        chosen = [n for n, on in (("--data", data is not None), ("--sample", sample), ("--synthetic", synthetic)) if on]
        if len(chosen) > 1:
            raise DataError(f"choose one data source; got {' and '.join(chosen)}")
        if meta is not None and data is None:
            raise DataError("--meta needs --data (the sample and synthetic markets carry their own groups)")
        if synthetic is not None:
            n, t = parse_synthetic(synthetic)
            return cls(kind="synthetic", n_instruments=n, n_days=t, seed=seed)
        if data is not None:
            return cls(kind="file", path=str(Path(data).resolve()), meta=str(Path(meta).resolve()) if meta else None)
        return cls(kind="sample")

    def describe(self) -> str:
        if self.kind == "synthetic":
            return f"synthetic market {self.n_instruments} x {self.n_days} (seed {self.seed})"
        if self.kind == "file":
            return f"{self.path}" + (f" with meta {self.meta}" if self.meta else "")
        return "bundled S&P 500 sample (2013-02-08..2018-02-07, 505 stocks)"


def open_source(source: DataSource) -> Panel:
    """The Panel of `source`.

    A file -> `load_long`; a directory with ``panel.json`` -> `open_panel` (a panel cache); another
    directory -> `load_wide` (one file per field). DataError for what cannot be opened.
    """
    if source.kind == "synthetic":
        if not source.n_instruments or not source.n_days:
            raise DataError("a synthetic source needs n_instruments and n_days")
        try:
            from alphamine.data.synthetic import synthetic as make_synthetic
        except ImportError as e:
            raise DataError(f"synthetic markets are not available in this build ({e})") from None
        return make_synthetic(n_instruments=source.n_instruments, n_days=source.n_days, seed=source.seed)
    if source.kind == "file":
        if source.path is None:
            raise DataError("a file source needs a path")
        p = Path(source.path)
        if p.is_dir():
            from alphamine.data.cache import MANIFEST, open_panel

            if (p / MANIFEST).exists():
                if source.meta is not None:
                    raise DataError("--meta cannot be combined with a panel cache directory")
                return open_panel(p)
            from alphamine.data.loaders import load_wide

            return load_wide(p, source.meta)
        from alphamine.data.loaders import load_long

        return load_long(p, source.meta)
    if source.kind != "sample":
        raise DataError(f"unknown data source kind {source.kind!r} (sample, file or synthetic)")
    from alphamine.data.sample import load_sample

    return load_sample()
