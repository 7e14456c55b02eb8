"""results.jsonl, the lab's book: leanlab's record shape, written only by alphamine, under a lock.

Why: leanlab's tools (its dashboard, its loop's memory and best value) read this file, so a record
alphamine writes must be one leanlab would have written: `tag` (UTC month+day, e.g. "jun21"),
`experiment_file` (relative to the lab), the judge's metrics spread flat, `best_so_far`, `notes` (the
first docstring line), `ts` (ISO UTC); a failed experiment gets `<metric>: null`, `best_so_far` false
and notes "invalid: <last 160 characters of output>". alphamine adds one key leanlab ignores:
`significant_best`, true when the value also beats the prior best by more than the noise band.

Contract:
- `read()` skips blank and malformed lines, as leanlab does.
- `append(record)` writes one line with one `write` on an O_APPEND file and fsyncs it; the caller
  holds `lab_lock`. `fingerprint()` is (size, SHA-256) of the file; `prefix_matches(fp)` says whether
  the first `fp.size` bytes are still the ones alphamine wrote (history not rewritten).
- `repair_torn_tail()` cuts a last line that has no newline and is not a whole JSON object (a write
  cut off by a crash); that experiment has no record yet, so the next run scores it again (nothing
  lost, nothing doubled). A whole object that only lacks its newline gets the newline.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alphamine.lab.config import LabConfig, LabError

RESERVED = ("tag", "experiment_file", "best_so_far", "notes", "ts")
SIGNIFICANT_KEY = "significant_best"
INVALID_TAIL = 160
_DOCSTRING = re.compile(r'^\s*["\']{3}(.*?)["\']{3}', re.DOTALL)


class LedgerTampered(LabError):
    """results.jsonl was changed by something other than alphamine."""


@dataclass(frozen=True)
class Fingerprint:
    size: int
    sha256: str


def run_tag(now: datetime | None = None) -> str:
    """leanlab's tag: the UTC month and day, lower case ("jun21")."""
    return (now or datetime.now(UTC)).strftime("%b%d").lower()


def timestamp() -> str:
    return datetime.now(UTC).isoformat()


def first_docstring_line(path: Path) -> str:
    """leanlab's `notes` for a `.py` file; for a `.expr` file, its first `#` comment line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    if path.suffix == ".expr":
        for line in text.splitlines():
            if line.strip().startswith("#"):
                return line.strip().lstrip("#").strip()
        return ""
    match = _DOCSTRING.search(text)
    if not match:
        return ""
    body = match.group(1).strip()
    return body.splitlines()[0].strip() if body else ""


def scored_record(
    tag: str, rel: str, metrics: Mapping[str, Any], *, best: bool, significant: bool, notes: str
) -> dict[str, Any]:
    """A scored experiment's record, keys in leanlab's order, then `significant_best`."""
    record: dict[str, Any] = {"tag": tag, "experiment_file": rel}
    record.update({k: v for k, v in metrics.items() if k not in RESERVED and k != SIGNIFICANT_KEY})
    record.update({"best_so_far": best, "notes": notes, "ts": timestamp(), SIGNIFICANT_KEY: significant})
    return record


def failed_record(tag: str, rel: str, metric: str, output: str) -> dict[str, Any]:
    """A failed experiment's record, exactly leanlab's shape plus `significant_best: false`."""
    tail = " ".join(output.split())[-INVALID_TAIL:]
    return {
        "tag": tag,
        "experiment_file": rel,
        metric: None,
        "best_so_far": False,
        "notes": f"invalid: {tail}",
        "ts": timestamp(),
        SIGNIFICANT_KEY: False,
    }


class Ledger:
    """Read and append results.jsonl (module doc)."""

    def __init__(self, cfg: LabConfig) -> None:
        self.cfg = cfg
        self.path = cfg.results_path

    def read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def malformed_lines(self) -> int:
        try:
            lines = [ln for ln in self.path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except FileNotFoundError:
            return 0
        return len(lines) - len(self.read())

    def best(self, rows: list[dict[str, Any]] | None = None) -> float | None:
        """The best objective value in `rows` (default: the file), leanlab's `best_value`."""
        rows = self.read() if rows is None else rows
        return self.cfg.best_of([v for v in (self.cfg.value(r) for r in rows) if v is not None])

    @staticmethod
    def recorded_files(rows: list[dict[str, Any]]) -> set[str]:
        return {str(r.get("experiment_file")) for r in rows if r.get("experiment_file")}

    def append(self, record: Mapping[str, Any]) -> None:
        line = (json.dumps(record) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def fingerprint(self) -> Fingerprint:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            data = b""
        return Fingerprint(len(data), hashlib.sha256(data).hexdigest())

    def prefix_matches(self, expected: Fingerprint) -> bool:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            data = b""
        return len(data) >= expected.size and hashlib.sha256(data[: expected.size]).hexdigest() == expected.sha256

    def repair_torn_tail(self) -> bool:
        """Cut a last line without a newline (module doc); True when something was cut."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return False
        if not data or data.endswith(b"\n"):
            return False
        cut = data.rfind(b"\n") + 1
        try:
            complete = isinstance(json.loads(data[cut:]), dict)
        except ValueError:
            complete = False
        with open(self.path, "r+b") as handle:
            if complete:  # a whole record someone wrote without its newline: keep it
                handle.seek(0, os.SEEK_END)
                handle.write(b"\n")
            else:
                handle.truncate(cut)
        return True
