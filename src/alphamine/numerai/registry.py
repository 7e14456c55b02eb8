"""The Numerai run registry: every experiment run kept with its config, data fingerprint, scores, OOF
predictions, final model and report, under the runtime root.

Why a registry of its own: experiments are compared across days and sweeps ("did this beat the
baseline on the same data?"), which needs every run's numbers and artifacts in one place, and a
model can only be exported (`export.py`) if its fitted object was kept. The mining store
(`alphamine.store`) has its own schema and migrations, owned elsewhere; this registry is a separate
SQLite file with a tiny versioned schema, so neither can break the other.

Layout (`Registry(runtime_root)`):
- `<runtime-root>/numerai_registry.sqlite3` (WAL): table `runs`, one row per run with the summary
  metrics, and table `meta` holding `schema_version` (`SCHEMA_VERSION`; a newer file is refused).
- `<runtime-root>/numerai/<run-id>/`: `config.json`, `scores.json` ({"scores", "baseline_scores",
  "details"}, the `Scores.to_json()` / `details()` of the run and of the benchmark's own
  predictions), `oof.parquet` (the `ExperimentResult.oof` frame), `model.pkl` (cloudpickle of
  `final_model`, which references alphamine classes: load it with alphamine installed; the
  standalone bundle is `export.py`'s job) and `report.html` (`report.py`).

Contract: `record(result)` writes the folder first (as `<run-id>.partial`, renamed when complete)
and inserts the row last, so a row always has its folder and a crash leaves no half run in the
listing. Run ids are `nm-YYYYMMDD-HHMMSS-xxxx` (UTC, 4 random hex digits); `get` accepts a unique
prefix. Every problem is a `RegistryError` with one line.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

REGISTRY_FILENAME = "numerai_registry.sqlite3"
RUNS_DIRNAME = "numerai"
SCHEMA_VERSION = 1
SUMMARY_KEYS = ("corr_mean", "corr_std", "corr_sharpe", "bmc_mean", "bmc_std", "bmc_sharpe", "max_drawdown")
ARTIFACTS = ("config.json", "scores.json", "oof.parquet", "model.pkl", "report.html")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    name TEXT NOT NULL,
    model_type TEXT NOT NULL,
    data_path TEXT NOT NULL,
    data_fingerprint TEXT NOT NULL,
    n_rows INTEGER NOT NULL,
    n_eras INTEGER NOT NULL,
    n_features INTEGER NOT NULL,
    seconds REAL NOT NULL,
    metrics TEXT NOT NULL,
    baseline TEXT,
    config TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);
"""


class RegistryError(ValueError):
    """The registry cannot answer (unknown or ambiguous run, missing artifact, newer schema)."""


@dataclass(frozen=True)
class RunRecord:
    """One registered run. `metrics` / `baseline` hold the `SUMMARY_KEYS` (None where undefined;
    `baseline` is None without a benchmark column)."""

    run_id: str
    created_at: str
    name: str
    model_type: str
    data_path: str
    data_fingerprint: str
    n_rows: int
    n_eras: int
    n_features: int
    seconds: float
    metrics: dict[str, float | None]
    baseline: dict[str, float | None] | None
    config: dict[str, Any]
    folder: Path

    def artifact(self, name: str) -> Path:
        """The path of one artifact (`ARTIFACTS`); RegistryError when it is missing."""
        path = self.folder / name
        if not path.exists():
            raise RegistryError(f"run {self.run_id} has no {name} (expected {path})")
        return path


def new_run_id() -> str:
    return f"nm-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def summary(scores_json: dict[str, Any] | None) -> dict[str, float | None] | None:
    """The `SUMMARY_KEYS` of a `Scores.to_json()` dict (the per-era series stay in scores.json)."""
    if scores_json is None:
        return None
    return {k: scores_json.get(k) for k in SUMMARY_KEYS}


class Registry:
    """The registry of one runtime root (module doc). Cheap to create; every call opens and closes
    its own connection, so several processes can record runs at once (WAL, 30 s busy timeout)."""

    def __init__(self, runtime_root: Path | str) -> None:
        self.root = Path(runtime_root)
        self.path = self.root / REGISTRY_FILENAME
        self.runs_dir = self.root / RUNS_DIRNAME

    # ------------------------------------------------------------------ connection
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0)
        except (OSError, sqlite3.Error) as e:
            raise RegistryError(f"cannot open the Numerai registry {self.path}: {e}") from None
        with closing(conn):
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                    conn.commit()
                elif int(row[0]) > SCHEMA_VERSION:
                    raise RegistryError(
                        f"the Numerai registry {self.path} has schema {row[0]}; this alphamine reads up to "
                        f"{SCHEMA_VERSION} (upgrade alphamine)"
                    )
                yield conn
            except sqlite3.Error as e:
                raise RegistryError(f"the Numerai registry {self.path} failed: {e}") from None

    # ------------------------------------------------------------------ writing
    def record(self, result: Any, *, run_id: str | None = None, write_report: bool = True) -> RunRecord:
        """Store an `ExperimentResult` (module doc) and return its record."""
        import cloudpickle

        rid = run_id or new_run_id()
        if not rid or "/" in rid or rid.startswith("."):
            raise RegistryError(f"invalid run id {rid!r}")
        final = self.runs_dir / rid
        if final.exists() or self._row(rid) is not None:
            raise RegistryError(f"run {rid} exists already in {self.path}")
        cfg = result.config.model_dump(mode="json")
        scores_doc = {
            "scores": result.scores.to_json(),
            "baseline_scores": None if result.baseline_scores is None else result.baseline_scores.to_json(),
            "details": result.scores.details(),
        }
        record = RunRecord(
            run_id=rid,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            name=str(result.config.name),
            model_type=str(result.config.model.type),
            data_path=str(result.config.data.path),
            data_fingerprint=str(result.data_fingerprint),
            n_rows=len(result.oof),
            n_eras=int(result.oof["era"].nunique()),
            n_features=len(result.feature_names),
            seconds=float(result.seconds),
            metrics=summary(scores_doc["scores"]) or {},
            baseline=summary(scores_doc["baseline_scores"]),
            config=cfg,
            folder=final,
        )
        partial = self.runs_dir / f"{rid}.partial"
        try:
            if partial.exists():
                shutil.rmtree(partial)
            partial.mkdir(parents=True)
            _write_json(partial / "config.json", {"run_id": rid, "config": cfg, "feature_names": result.feature_names,
                                                  "data_fingerprint": record.data_fingerprint})  # fmt: skip
            _write_json(partial / "scores.json", scores_doc)
            result.oof.to_parquet(partial / "oof.parquet")
            (partial / "model.pkl").write_bytes(cloudpickle.dumps(result.final_model))
            if write_report:
                from alphamine.numerai.report import run_report_html

                html = run_report_html(record, scores_doc, result.oof)
                (partial / "report.html").write_text(html, encoding="utf-8")
            partial.rename(final)
        except BaseException as e:  # nothing half-written survives, whatever failed (even Ctrl-C)
            shutil.rmtree(partial, ignore_errors=True)
            if isinstance(e, OSError):
                raise RegistryError(f"cannot write the run folder {final}: {e}") from None
            raise
        try:
            self._insert(record)
        except RegistryError:
            shutil.rmtree(final, ignore_errors=True)
            raise
        return record

    def _insert(self, r: RunRecord) -> None:
        with self._connect() as conn:
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, created_at, name, model_type, data_path, data_fingerprint, n_rows, "
                    "n_eras, n_features, seconds, metrics, baseline, config) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (r.run_id, r.created_at, r.name, r.model_type, r.data_path, r.data_fingerprint, r.n_rows,
                     r.n_eras, r.n_features, r.seconds, json.dumps(r.metrics),
                     None if r.baseline is None else json.dumps(r.baseline), json.dumps(r.config)),
                )  # fmt: skip
                conn.commit()
            except sqlite3.IntegrityError:
                raise RegistryError(f"run {r.run_id} exists already in {self.path}") from None

    # ------------------------------------------------------------------ reading
    def _row(self, run_id: str) -> RunRecord | None:
        if not self.path.exists():
            return None
        with self._connect() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else self._record(row)

    def runs(self) -> list[RunRecord]:
        """Every run, newest first (an absent registry has none)."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM runs ORDER BY created_at DESC, run_id DESC").fetchall()
        return [self._record(r) for r in rows]

    def get(self, run_id: str) -> RunRecord:
        """The run with this id or unique id prefix; RegistryError otherwise."""
        exact = self._row(run_id)
        if exact is not None:
            return exact
        hits = [r for r in self.runs() if r.run_id.startswith(run_id)] if run_id else []
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise RegistryError(f"run id {run_id!r} is ambiguous: {', '.join(r.run_id for r in hits[:5])}")
        raise RegistryError(f"no Numerai run {run_id!r} in {self.path}")

    def scores(self, run_id: str) -> dict[str, Any]:
        """The run's scores.json ({"scores", "baseline_scores", "details"})."""
        rec = self.get(run_id)
        return dict(json.loads(rec.artifact("scores.json").read_text(encoding="utf-8")))

    def oof(self, run_id: str) -> pd.DataFrame:
        """The run's out-of-fold predictions (oof.parquet)."""
        import pandas as pd

        return pd.read_parquet(self.get(run_id).artifact("oof.parquet"))

    def feature_names(self, run_id: str) -> list[str]:
        doc = json.loads(self.get(run_id).artifact("config.json").read_text(encoding="utf-8"))
        return [str(f) for f in doc.get("feature_names", [])]

    def model(self, run_id: str) -> Any:
        """The run's fitted final model (unpickled: only open registries you trust)."""
        import pickle

        path = self.get(run_id).artifact("model.pkl")
        try:
            with path.open("rb") as fh:
                return pickle.load(fh)
        except Exception as e:  # a model pickled by another version of a library
            raise RegistryError(f"cannot load {path}: {type(e).__name__}: {e}") from None

    def _record(self, row: tuple[Any, ...]) -> RunRecord:
        d = dict(zip(_COLUMN_NAMES, row, strict=True))
        return RunRecord(
            run_id=d["run_id"], created_at=d["created_at"], name=d["name"], model_type=d["model_type"],
            data_path=d["data_path"], data_fingerprint=d["data_fingerprint"], n_rows=int(d["n_rows"]),
            n_eras=int(d["n_eras"]), n_features=int(d["n_features"]), seconds=float(d["seconds"]),
            metrics=json.loads(d["metrics"]), baseline=json.loads(d["baseline"]) if d["baseline"] else None,
            config=json.loads(d["config"]), folder=self.runs_dir / d["run_id"],
        )  # fmt: skip


_COLUMN_NAMES = ("run_id", "created_at", "name", "model_type", "data_path", "data_fingerprint", "n_rows", "n_eras",
                 "n_features", "seconds", "metrics", "baseline", "config")  # fmt: skip
_COLUMNS = ", ".join(_COLUMN_NAMES)


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
