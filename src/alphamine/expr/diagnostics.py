"""Lint diagnostics: what `check` returns, and how to show one under its source line.

Why a separate module: the parser (for `ParseError` messages), the checker and the CLI all render the
same caret picture, and the JSON form is what the pipeline stores next to a rejected candidate.
Diagnostic codes are stable strings (see `CODES`); tools and stored runs key on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from alphamine.expr.ast import Span

Severity = Literal["error", "warning", "info"]

CODES: dict[str, str] = {
    "SYNTAX": "the text does not parse",
    "UNKNOWN_FIELD": "a name is neither a data field nor a variable (a universe name is not a field)",
    "UNKNOWN_OPERATOR": "a call to an operator that is not registered",
    "ARITY": "too many or too few arguments",
    "KEYWORD": "unknown, repeated or misplaced keyword argument",
    "ARG_KIND": "an argument of the wrong kind, or a constant breaking its operator's declared rule (bounds...)",
    "LOOKAHEAD": "a negative delay or lookback would read the future",
    "LOOKBACK_TOO_LONG": "the cumulative lookback exceeds the available history",
    "GROUP_MISUSE": "grouping data outside a group parameter, or a non-group (error) in a group parameter",
    "VECTOR_UNREDUCED": "a VECTOR field not reduced by a vec_* operator first",
    "UNITS": "inputs of incompatible units combined (e.g. price + volume)",
    "UNUSED_VARIABLE": "a variable assigned but never used (BRAIN blocks submission)",
    "UNDEFINED_VARIABLE": "a variable used before it is assigned",
    "SHADOWED_FIELD": "a variable hides a data field of the same name",
    "TOO_COMPLEX": "the expression is nested too deeply or too large once variables are substituted (expr.limits)",
    "INTERNAL": "the checker itself failed (a bug; please report the expression)",
}


@dataclass(frozen=True)
class Diagnostic:
    """One finding. `span` locates it in the checked source (None when it has no single place)."""

    code: str
    severity: Severity
    message: str
    span: Span | None = None
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON dict: code, severity, message, hint, and line/column/start/end (or nulls)."""
        s = self.span
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "line": s.line if s else None,
            "column": s.column if s else None,
            "end_line": s.end_line if s else None,
            "end_column": s.end_column if s else None,
            "start": s.start if s else None,
            "end": s.end if s else None,
        }

    def format(self, source: str | None = None) -> str:
        """`line:col: severity CODE: message` plus, given the source, the line with a caret under it."""
        where = f"{self.span.line}:{self.span.column}: " if self.span else ""
        text = f"{where}{self.severity} {self.code}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        if source is not None and self.span is not None:
            text += "\n" + caret(source, self.span)
        return text


def caret(source: str, span: Span) -> str:
    """The source line of `span` and a `^~~~` marker under it (first line only for multi-line spans)."""
    lines = source.split("\n")
    index = min(max(span.line - 1, 0), max(len(lines) - 1, 0))
    text = lines[index] if lines else ""
    start = max(span.column - 1, 0)
    if span.end_line == span.line:
        width = max(span.end_column - span.column, 1)
    else:
        width = max(len(text) - start, 1)
    # Keep tabs so the caret lines up under tab-indented text.
    pad = "".join("\t" if ch == "\t" else " " for ch in text[:start])
    return f"  {text}\n  {pad}^{'~' * (width - 1)}"


def span_at(source: str, pos: int, end: int | None = None) -> Span:
    """A Span for offsets in `source` (line/column computed, 1-based)."""
    pos = min(max(pos, 0), len(source))
    end = pos if end is None else min(max(end, pos), len(source))
    line, column = _line_col(source, pos)
    end_line, end_column = _line_col(source, end)
    return Span(pos, end, line, column, end_line, end_column)


def _line_col(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    last_nl = source.rfind("\n", 0, pos)
    return line, pos - last_nl
