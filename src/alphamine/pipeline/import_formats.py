"""Reading other tools' outputs: the artifact formats `alphamine parse-artifact` imports.

Why a module of its own: parsing a file is independent of any run or store (a `--dry-run` and the
tests read files alone); `alphamine.pipeline.importing` turns the rows into candidates.

Formats (`ImportKind`):
- `final_expressions`: a JSON list of expression strings (or `{"expressions": [...]}`), simulated with
  the run's settings;
- `alpha_list`: a JSON list (or `{"alphas": [...]}`) of brain_agent-style alphas,
  `{"type": "REGULAR", "settings": {...BRAIN settings...}, "regular": "<code>"}`; `"regular": {"code":
  ...}` or a top-level `expression` / `code` works too; optional `id` / `alpha_id`, `status`, and
  metrics (`METRICS`, in an `is` block or at the top level);
- `simulation_status`: a CSV whose header has an expression column (`expression`, `regular` or `code`)
  and optionally `alpha_id`, `status`, metric columns (`METRICS`) and settings columns (`universe`,
  `delay`, `decay`, `neutralization`, `truncation`, `region`, or any setting by its snake or camel name).
  Values holding commas must be quoted: a row with more cells than the header is an error (an unquoted
  `ts_delta(close, 5)` would otherwise shift every column after it).

Contract: `parse_artifact(kind, path)` returns every row or raises ONE `ArtifactError` listing every
bad row by the file, where (`line N`: the CSV line the row starts on, 1-based; `item N`: the JSON list
index, 0-based; bad JSON: its line and column), the key or column, and what is wrong (no or empty
expression, a setting BRAIN would reject, a metric that is not a number). A file with a bad row imports
nothing. Settings are validated here on their own (`make_settings`), returned in BRAIN spelling; the
platform-only keys BRAIN accepts but alphamine does not model (`PLATFORM_ONLY`) are dropped. Metrics
are floats (`12.5%` is 0.125; an empty cell, `nan`, `null` is missing); they are the other tool's claim.
Expressions are not parsed here: a syntax error is a fact about the alpha, recorded by the import.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from alphamine.sim.settings import Settings, SettingsError, make_settings


class ImportKind(StrEnum):
    FINAL_EXPRESSIONS = "final_expressions"
    ALPHA_LIST = "alpha_list"
    SIMULATION_STATUS = "simulation_status"


EXPRESSION_COLUMNS = ("expression", "regular", "code")
METRICS = ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin")
PLATFORM_ONLY = frozenset(
    {"maxPosition", "startDate", "endDate", "selectionHandling", "selectionLimit", "componentActivation"}
)  # as `alphamine.brain.server.validation.IGNORED_SETTINGS`: accepted by BRAIN, not modelled here
INT_SETTINGS, FLOAT_SETTINGS = frozenset({"delay", "decay"}), frozenset({"truncation", "maxTradeAdvFraction"})
MISSING = frozenset({"", "nan", "none", "null", "n/a", "-"})
SHOWN = 10  # bad rows named in one error message
ALIASES = {name: f.alias or name for name, f in Settings.model_fields.items()}
_BY_NORM = {re.sub(r"[^a-z0-9]", "", alias.lower()): alias for alias in ALIASES.values()}


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row (or the file, when `where` names no row)."""

    where: str  # "line 4", "item 2", "line 3, column 7" (bad JSON) or "" (the whole file)
    field: str | None
    reason: str

    def __str__(self) -> str:
        place = ", ".join(p for p in (self.where, self.field) if p)
        return f"{place}: {self.reason}" if place else self.reason


class ArtifactError(ValueError):
    """A file that cannot be imported; the message names the file and each bad row (first `SHOWN`)."""

    def __init__(self, path: Path | str, problems: Sequence[RowProblem]) -> None:
        self.path = Path(path)
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:SHOWN])
        more = f" (and {len(self.problems) - SHOWN} more)" if len(self.problems) > SHOWN else ""
        head = f"{self.path}: " if len(self.problems) == 1 else f"{self.path}: {len(self.problems)} bad rows: "
        super().__init__(head + shown + more)


class _RowError(Exception):
    def __init__(self, where: str, field_: str | None, reason: str) -> None:
        self.problem = RowProblem(where, field_, reason)


@dataclass(frozen=True)
class ImportedRow:
    """One alpha read from an artifact. `settings` are overrides of the run's, in BRAIN spelling;
    `metadata` is what the other tool claimed (its `status`, metrics), kept, never trusted as a result."""

    kind: ImportKind
    artifact: str  # the file's name
    line: int  # CSV: the 1-based line the row starts on; JSON: the 0-based list index
    where: str  # "line 4" / "item 2", as messages name it
    expression: str  # as written
    settings: Mapping[str, Any] = field(default_factory=dict)
    alpha_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


def parse_artifact(kind: ImportKind | str, path: Path | str) -> list[ImportedRow]:
    """Every row of the artifact, or `ArtifactError` naming each bad one (module doc)."""
    path = Path(path)
    try:
        kind = ImportKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in ImportKind)
        raise ArtifactError(path, [RowProblem("", None, f"unknown kind {kind!r} (expected {allowed})")]) from None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ArtifactError(path, [RowProblem("", None, f"cannot read it ({why})")]) from None
    if kind is ImportKind.SIMULATION_STATUS:
        rows, problems = _csv_rows(path, text)
    else:
        rows, problems = _json_rows(kind, path, text)
    if problems:
        raise ArtifactError(path, problems)
    return rows


def _json_rows(kind: ImportKind, path: Path, text: str) -> tuple[list[ImportedRow], list[RowProblem]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}, column {e.colno}"
        raise ArtifactError(path, [RowProblem(where, None, f"bad JSON ({e.msg})")]) from None
    key = "expressions" if kind is ImportKind.FINAL_EXPRESSIONS else "alphas"
    if isinstance(doc, Mapping) and isinstance(doc.get(key), list):
        doc = doc[key]
    if not isinstance(doc, list):
        reason = f'expected a JSON list (or {{"{key}": [...]}}), got {_type(doc)}'
        raise ArtifactError(path, [RowProblem("", None, reason)])
    rows, problems = [], []
    for i, item in enumerate(doc):
        try:
            if kind is ImportKind.FINAL_EXPRESSIONS:
                if not isinstance(item, str):
                    raise _RowError(f"item {i}", None, f"expected an expression string, got {_type(item)}")
                rows.append(ImportedRow(kind, path.name, i, f"item {i}", _expression(f"item {i}", None, item)))
            else:
                rows.append(_alpha(path, i, item))
        except _RowError as e:
            problems.append(e.problem)
    return rows, problems


def _alpha(path: Path, i: int, item: Any) -> ImportedRow:
    where = f"item {i}"
    if not isinstance(item, Mapping):
        raise _RowError(where, None, f"expected an alpha object, got {_type(item)}")
    if str(item.get("type", "REGULAR")).upper() != "REGULAR":
        raise _RowError(where, "type", f"only REGULAR alphas can be imported (got {item.get('type')!r})")
    regular = item.get("regular")
    for name, value in (("regular", regular), ("regular.code", _get(regular, "code")),
                        ("expression", item.get("expression")), ("code", item.get("code"))):
        if value is not None and not isinstance(value, Mapping):
            expression = _expression(where, name, value)
            break
    else:
        raise _RowError(where, "regular", "no expression (expected regular, regular.code, expression or code)")
    raw = item.get("settings") or {}
    if not isinstance(raw, Mapping):
        raise _RowError(where, "settings", f"expected an object of BRAIN settings, got {_type(raw)}")
    is_block = item.get("is")
    block: Mapping[str, Any] = is_block if isinstance(is_block, Mapping) else item
    metadata: dict[str, Any] = {m: _number(where, m, block.get(m)) for m in METRICS if block.get(m) is not None}
    if item.get("status") is not None:
        metadata["status"] = str(item["status"])
    alpha_id = item.get("id") or item.get("alpha_id") or item.get("alphaId")
    return ImportedRow(
        ImportKind.ALPHA_LIST, path.name, i, where, expression, _settings(where, "settings", dict(raw)),
        str(alpha_id) if alpha_id else None, metadata,
    )


def _csv_rows(path: Path, text: str) -> tuple[list[ImportedRow], list[RowProblem]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ArtifactError(path, [RowProblem("", None, "empty file (expected a header line)")]) from None
    except csv.Error as e:
        raise ArtifactError(path, [RowProblem("line 1", None, f"bad CSV ({e})")]) from None
    norm = [re.sub(r"[^a-z0-9]", "", h.lower()) for h in header]
    expr_col = next((i for i, n in enumerate(norm) if n in EXPRESSION_COLUMNS), None)
    if expr_col is None:
        reason = f"no expression column (expected one of {', '.join(EXPRESSION_COLUMNS)}; got {', '.join(header)})"
        raise ArtifactError(path, [RowProblem("line 1", None, reason)])
    settings_cols = {i: _BY_NORM[n] for i, n in enumerate(norm) if n in _BY_NORM}
    metric_cols = {i: n for i, n in enumerate(norm) if n in METRICS}
    id_col = next((i for i, n in enumerate(norm) if n in ("alphaid", "id")), None)
    status_col = next((i for i, n in enumerate(norm) if n == "status"), None)
    rows, problems = [], []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(RowProblem(f"line {start}", None, f"bad CSV ({e})"))
            break
        end = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        where = f"line {start}"
        try:
            if len(cells) > len(header):
                raise _RowError(where, None, f"{len(cells)} cells but the header has {len(header)} "
                                "(quote values that contain commas)")
            cell = [c.strip() for c in cells] + [""] * (len(header) - len(cells))
            overrides = {alias: _setting_cell(where, header[i], alias, cell[i])
                         for i, alias in settings_cols.items() if cell[i]}
            metadata: dict[str, Any] = {n: _number(where, header[i], cell[i]) for i, n in metric_cols.items()}
            metadata = {k: v for k, v in metadata.items() if v is not None}
            if status_col is not None and cell[status_col]:
                metadata["status"] = cell[status_col]
            rows.append(ImportedRow(
                ImportKind.SIMULATION_STATUS, path.name, start, where,
                _expression(where, header[expr_col], cell[expr_col]), _settings(where, None, overrides),
                (cell[id_col] or None) if id_col is not None else None, metadata,
            ))
        except _RowError as e:
            problems.append(e.problem)
    return rows, problems


def _expression(where: str, field_: str | None, value: Any) -> str:
    if not isinstance(value, str):
        raise _RowError(where, field_, f"expected an expression string, got {_type(value)}")
    if not value.strip():
        raise _RowError(where, field_, "empty expression")
    return value.strip()


def _number(where: str, field_: str, value: Any) -> float | None:
    """A metric as a float (None when missing); `12.5%` is 0.125. Anything else is a bad row."""
    if value is None or (isinstance(value, float | int) and not isinstance(value, bool)):
        return None if value is None else float(value)
    text = str(value).strip() if isinstance(value, str) else None
    if text is None:
        raise _RowError(where, field_, f"expected a number, got {_type(value)}")
    if text.lower() in MISSING:
        return None
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise _RowError(where, field_, f"{text!r} is not a number") from None


def _setting_cell(where: str, column: str, alias: str, text: str) -> Any:
    if alias not in INT_SETTINGS | FLOAT_SETTINGS:
        return text
    value = _number(where, column, text)
    if value is None:
        raise _RowError(where, column, f"{text!r} is not a number")
    return int(value) if alias in INT_SETTINGS and value.is_integer() else value


def _settings(where: str, field_: str | None, raw: dict[str, Any]) -> dict[str, Any]:
    """The row's settings overrides, validated on their own and in BRAIN spelling."""
    raw = {ALIASES.get(k, k): v for k, v in raw.items() if ALIASES.get(k, k) not in PLATFORM_ONLY}
    try:
        full = make_settings(raw).to_brain()
    except SettingsError as e:
        raise _RowError(where, field_, str(e)) from None
    return {k: full[k] for k in raw if k in full}


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def _type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)
