"""`alphamine lab init NAME --template regression|alpha`: a ready-to-run lab folder.

Why templates instead of an LLM-drafted lab (leanlab's `init`): a new lab must run at once, offline,
and its judge must be trustworthy before anything is scored. The templates are package data
(`alphamine/lab/templates/<template>/**/*.tmpl`, stored with a `.tmpl` suffix so the package's linters
and the type checker never mistake them for alphamine modules) and produce leanlab's folder:
task.md, lab.json, evaluation.py, validate.py, experiments/sample.py, results.jsonl (empty),
Director_Notes.md and Critic_Feedback.md (leanlab's neutral seed text). The judge is frozen at once.

- regression: minimise test RMSE of a NumPy model on a seeded synthetic set (leanlab's house-prices
  lab in miniature, no download, no scikit-learn).
- alpha: maximise the search-period fitness of a FASTEXPR expression judged by `alphamine simulate`
  on the bundled sample; validation and OS numbers are recorded but hidden from the worker.

Contract: `init_lab(path, template)` -> `LabConfig`; `LabError` if the folder exists and is not
empty, or the template is unknown.
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from alphamine.lab.config import LabConfig, LabError
from alphamine.lab.roles import CRITIC_FILE, DIRECTOR_FILE
from alphamine.lab.session import freeze

TEMPLATES = ("regression", "alpha")
SUFFIX = ".tmpl"
DIRECTOR_SEED = "# Director Notes\n\nNeutral — no experiments yet.\n"
CRITIC_SEED = "# Critic Feedback\n\nNo experiments reviewed yet.\n"


def _copy_tree(source: Traversable, dest: Path) -> None:
    for item in source.iterdir():
        if item.is_dir():
            if item.name != "__pycache__":
                _copy_tree(item, dest / item.name)
        elif item.name.endswith(SUFFIX):
            target = dest / item.name[: -len(SUFFIX)]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.read_text(encoding="utf-8"), encoding="utf-8")


def init_lab(path: str | Path, template: str = "regression") -> LabConfig:
    """Create the lab folder at `path` (module doc)."""
    if template not in TEMPLATES:
        raise LabError(f"unknown template {template!r}; choose {' or '.join(TEMPLATES)}")
    dest = Path(path)
    if dest.exists() and any(dest.iterdir()):
        raise LabError(f"{dest} already exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    _copy_tree(resources.files("alphamine.lab") / "templates" / template, dest)
    (dest / "experiments").mkdir(exist_ok=True)
    lab_json = dest / "lab.json"
    cfg = json.loads(lab_json.read_text(encoding="utf-8"))
    cfg["name"] = dest.resolve().name
    lab_json.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    (dest / "results.jsonl").write_text("", encoding="utf-8")
    (dest / DIRECTOR_FILE).write_text(DIRECTOR_SEED, encoding="utf-8")
    (dest / CRITIC_FILE).write_text(CRITIC_SEED, encoding="utf-8")
    lab = LabConfig.load(dest)
    freeze(lab, accept_ledger=True)
    return lab
