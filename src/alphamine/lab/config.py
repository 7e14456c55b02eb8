"""A lab folder's `lab.json`, read with leanlab's defaults, plus the few keys alphamine adds.

Why one value object: the loop, the judge, the ledger, the doctor and the dashboard all need the
objective, the commands and the paths; reading `lab.json` in one place keeps alphamine's reading of a
leanlab lab identical everywhere (leanlab 0.2.4 `Lab.load`: `experiments_dir` "experiments",
`results_file` "results.jsonl", `director_every` 5, `critic_every` 5, `max_fix_calls` 3,
`objective.direction` "max"; the commands default to leanlab's template commands).

Contract:
- `LabConfig.load(dir)` raises `LabError` (one line naming the file and key) for a missing or invalid
  `lab.json`, a missing `objective.metric`, or a direction other than "min"/"max".
- alphamine-only keys (leanlab ignores unknown keys): `eval_timeout` (seconds for one judge or
  validate run, default 600; leanlab has none) and `hidden_metrics` (fnmatch patterns of metric keys
  recorded in results.jsonl but never shown to the Worker, e.g. the out-of-sample block).
- `resolve_lab(name)` accepts a lab folder path, or a name under `./.leanlab/` (leanlab's layout).
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEANLAB_EVAL_CMD = "uv run python evaluation.py --experiment {file}"
LEANLAB_VALIDATE_CMD = "uv run python validate.py --experiment {file}"
DEFAULT_EVAL_TIMEOUT = 600.0
EXPERIMENT_SUFFIXES = (".py", ".expr")
SAMPLE_STEM = "sample"
DIRECTIONS = ("min", "max")


class LabError(RuntimeError):
    """A lab problem the user must fix; the message is one line that says what and where."""


@dataclass(frozen=True)
class LabConfig:
    """One lab folder and its `lab.json` (module doc)."""

    dir: Path
    name: str
    metric: str
    direction: str
    eval_cmd: str
    validate_cmd: str
    experiments_dir: str = "experiments"
    results_file: str = "results.jsonl"
    critic_every: int = 5
    director_every: int = 5
    max_fix_calls: int = 3
    eval_timeout: float = DEFAULT_EVAL_TIMEOUT
    hidden_metrics: tuple[str, ...] = ()
    description: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, lab_dir: str | Path) -> LabConfig:
        root = Path(lab_dir).resolve()
        path = root / "lab.json"
        try:
            cfg = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LabError(f"no lab.json in {root}: is this a lab folder?") from None
        except (OSError, ValueError) as e:
            raise LabError(f"{path} is not valid JSON: {e}") from None
        if not isinstance(cfg, dict):
            raise LabError(f"{path} must hold a JSON object")
        return cls.from_mapping(root, cfg)

    @classmethod
    def from_mapping(cls, root: Path, cfg: Mapping[str, Any]) -> LabConfig:
        where = root / "lab.json"
        objective = cfg.get("objective")
        if not isinstance(objective, dict) or not isinstance(objective.get("metric"), str) or not objective["metric"]:
            raise LabError(f'{where} needs "objective": {{"metric": "<key the judge prints>", "direction": "min|max"}}')
        direction = str(objective.get("direction", "max")).lower()
        if direction not in DIRECTIONS:
            raise LabError(f'{where}: objective.direction must be "min" or "max", got {direction!r}')
        hidden = cfg.get("hidden_metrics", [])
        if not isinstance(hidden, list) or not all(isinstance(h, str) for h in hidden):
            raise LabError(f"{where}: hidden_metrics must be a list of patterns")
        try:
            return cls(
                dir=root,
                name=str(cfg.get("name") or root.name),
                metric=objective["metric"],
                direction=direction,
                eval_cmd=str(cfg.get("eval_cmd") or LEANLAB_EVAL_CMD),
                validate_cmd=str(cfg.get("validate_cmd") or LEANLAB_VALIDATE_CMD),
                experiments_dir=str(cfg.get("experiments_dir", "experiments")),
                results_file=str(cfg.get("results_file", "results.jsonl")),
                critic_every=_positive(cfg.get("critic_every", 5), "critic_every", where),
                director_every=_positive(cfg.get("director_every", 5), "director_every", where),
                max_fix_calls=max(0, int(cfg.get("max_fix_calls", 3))),
                eval_timeout=float(cfg.get("eval_timeout", DEFAULT_EVAL_TIMEOUT)),
                hidden_metrics=tuple(hidden),
                description=str(cfg.get("description", "")),
                raw=dict(cfg),
            )
        except (TypeError, ValueError) as e:
            raise LabError(f"{where}: {e}") from None

    # -- paths ------------------------------------------------------------------------------------

    @property
    def experiments_path(self) -> Path:
        return self.dir / self.experiments_dir

    @property
    def results_path(self) -> Path:
        return self.dir / self.results_file

    def rel(self, path: Path) -> str:
        """The path as results.jsonl names it: relative to the lab folder (leanlab's `experiment_file`)."""
        return str(path.resolve().relative_to(self.dir))

    def experiment_files(self) -> list[Path]:
        """Experiment files, sorted by name: `.py`/`.expr` in the experiments folder, except the
        baseline `sample.*` and names starting with `_` or `.` (helpers, leanlab's preflight sentinel)."""
        folder = self.experiments_path
        if not folder.is_dir():
            return []
        return sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix in EXPERIMENT_SUFFIXES and p.stem != SAMPLE_STEM and p.name[0] not in "_."
        )

    def sample_file(self) -> Path | None:
        """The baseline experiment (`experiments/sample.py`, or `sample.expr` in an alpha lab)."""
        for suffix in EXPERIMENT_SUFFIXES:
            candidate = self.experiments_path / f"{SAMPLE_STEM}{suffix}"
            if candidate.is_file():
                return candidate
        return None

    # -- the objective ----------------------------------------------------------------------------

    def is_hidden(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.hidden_metrics)

    def value(self, record: Mapping[str, Any]) -> float | None:
        """The objective's value in a record or metrics dict; None when absent, not a number, or not
        finite (leanlab's `metric_val`, which also refuses NaN here so that no NaN is ever a best)."""
        raw = record.get(self.metric)
        if isinstance(raw, bool):
            return None
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None

    def better(self, value: float, best: float | None, margin: float = 0.0) -> bool:
        """Whether `value` beats `best` by more than `margin` in the objective's direction."""
        if best is None:
            return True
        return value < best - margin if self.direction == "min" else value > best + margin

    def best_of(self, values: list[float]) -> float | None:
        if not values:
            return None
        return min(values) if self.direction == "min" else max(values)


def _positive(value: Any, key: str, where: Path) -> int:
    number = int(value)
    if number < 1:
        raise LabError(f"{where}: {key} must be at least 1, got {number}")
    return number


def resolve_lab(name: str | Path) -> LabConfig:
    """The lab at path `name`, else `./.leanlab/<name>` (module doc)."""
    path = Path(name)
    if (path / "lab.json").is_file():
        return LabConfig.load(path)
    leanlab = Path.cwd() / ".leanlab" / str(name)
    if (leanlab / "lab.json").is_file():
        return LabConfig.load(leanlab)
    raise LabError(f"no lab at {path}: no lab.json there, nor in ./.leanlab/{path.name}")
