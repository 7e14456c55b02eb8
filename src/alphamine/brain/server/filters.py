"""BRAIN's list-filter syntax for `GET /users/self/alphas`, parsed from the raw query string.

Why raw: on the wire the comparison operator lives in the parameter *name* and arrives
percent-encoded (`is.sharpe%3E=1.58` is `is.sharpe >= 1.58`), and an exclusive bound has no `=` at
all (`dateCreated%3C2026-12-05T10:41:16%2B00:00`). A key=value parser would see `is.sharpe>` and lose
the exclusive bounds, so the query string is split on `&` here and each part decoded by hand
(brain.md §7.3, §7.5).

Contract:
- `parse_query(raw)` -> (filters, paging): `limit`, `offset` and `order` are paging parameters, every
  other part is a `Filter(field, op, values)` with op one of `= != > >= < <=`; `=` and `!=` take
  several values joined by `\\x1f` (`status=UNSUBMITTED%1FACTIVE`). In values `+` is a space except
  in date fields (`dateCreated`...), where it is the UTC offset's sign.
- `select(records, filters)` keeps the records (alpha JSON) every filter accepts. A field is a dotted
  path (`is.sharpe`, `settings.region`); a filter on a key alpha JSON does not have is ignored (the
  platform's other parameters). Numbers compare as numbers, `true`/`false` as booleans, dates as
  instants (a date without a zone is US-Eastern), lists (`tags`) match when any element does; a
  missing value fails every filter except `!=`.
- `order(records, spec)` sorts by comma-separated keys, `-` for descending; missing values last.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from alphamine.brain.server.common import EASTERN

PAGING = frozenset({"limit", "offset", "order"})
MULTI_SEPARATOR = "\x1f"
_OPERATOR = re.compile(r"^(?P<field>[^<>!=]+?)(?P<op>>=|<=|!=|>|<|=)(?P<value>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    values: tuple[str, ...]


def _is_date(field: str) -> bool:
    return "date" in field.rsplit(".", 1)[-1].lower()


def _value(field: str, decoded: str) -> str:
    return decoded if _is_date(field) else decoded.replace("+", " ")


def parse_query(raw: str) -> tuple[list[Filter], dict[str, str]]:
    """Filters and paging parameters of a raw query string (module doc)."""
    filters: list[Filter] = []
    paging: dict[str, str] = {}
    for part in raw.split("&"):
        if not part:
            continue
        if "=" in part:
            key_raw, value_raw = part.split("=", 1)
            key = unquote(key_raw).replace("+", " ").strip()
            op = "="
            if key[-1:] in ("<", ">", "!"):
                op, key = key[-1] + "=", key[:-1].strip()
            else:
                m = _OPERATOR.match(key)  # the whole comparison was encoded into the name
                if m:
                    key, op = m["field"].strip(), m["op"]
                    value_raw = (m["value"] or "") + value_raw
            value = _value(key, unquote(value_raw))
        else:
            m = _OPERATOR.match(unquote(part))
            if not m:
                continue
            key, op, value = m["field"].strip(), m["op"], _value(m["field"].strip(), m["value"])
        if key in PAGING and op == "=":
            paging[key] = value
            continue
        values = tuple(value.split(MULTI_SEPARATOR)) if op in ("=", "!=") else (value,)
        filters.append(Filter(key, op, values))
    return filters, paging


def lookup(record: Mapping[str, Any], field: str) -> tuple[bool, Any]:
    """(known, value) of a dotted path; known is False when the top-level key does not exist."""
    parts = field.split(".")
    if parts[0] not in record:
        return False, None
    value: Any = record
    for p in parts:
        value = value.get(p) if isinstance(value, Mapping) else None
    return True, value


def _instant(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=EASTERN)


def _coerce(actual: Any, wanted: str) -> tuple[Any, Any] | None:
    """(actual, wanted) made comparable, or None when they cannot be."""
    if isinstance(actual, bool):
        w = wanted.strip().lower()
        return (actual, w == "true") if w in ("true", "false") else None
    if isinstance(actual, int | float):
        try:
            return float(actual), float(wanted)
        except ValueError:
            return None
    if isinstance(actual, str):
        ta, tw = _instant(actual), _instant(wanted)
        if ta is not None and tw is not None and re.match(r"^\d{4}-\d{2}-\d{2}", actual.strip()):
            return ta, tw
        return actual, wanted
    return None


def _compare(actual: Any, op: str, wanted: str) -> bool:
    pair = _coerce(actual, wanted)
    if pair is None:
        return False
    a, w = pair
    try:
        if op == "=":
            return bool(a == w)
        if op == ">":
            return bool(a > w)
        if op == ">=":
            return bool(a >= w)
        if op == "<":
            return bool(a < w)
        if op == "<=":
            return bool(a <= w)
    except TypeError:
        return False
    return False


def accepts(record: Mapping[str, Any], f: Filter) -> bool:
    known, value = lookup(record, f.field)
    if not known:
        return True
    items: Sequence[Any] = value if isinstance(value, list) else [value]
    if f.op == "!=":
        return not any(v is not None and _compare(v, "=", w) for v in items for w in f.values)
    return any(v is not None and _compare(v, f.op, w) for v in items for w in f.values)


def select(records: Iterable[Mapping[str, Any]], filters: Sequence[Filter]) -> list[Mapping[str, Any]]:
    return [r for r in records if all(accepts(r, f) for f in filters)]


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool | int | float):
        return (0, float(value))
    if isinstance(value, str):
        t = _instant(value) if re.match(r"^\d{4}-\d{2}-\d{2}T", value) else None
        return (0, t.timestamp()) if t is not None else (1, value)
    return (2, str(value))


def order(records: list[Mapping[str, Any]], spec: str | None) -> list[Mapping[str, Any]]:
    """Records sorted by `spec` (`-is.sharpe`, `dateCreated`, comma-separated); missing values last."""
    out = sorted(records, key=lambda r: str(r.get("id", "")))
    for key in reversed([k.strip() for k in (spec or "").split(",") if k.strip()]):
        descending = key.startswith("-")
        field = key.lstrip("+-")
        present = [r for r in out if lookup(r, field)[1] is not None]
        missing = [r for r in out if lookup(r, field)[1] is None]
        present.sort(key=lambda r: _sort_key(lookup(r, field)[1]), reverse=descending)
        out = present + missing
    return out
