"""Alphas as the platform shows them: the stored row of a finished simulation, and its views
(`GET /alphas/{id}` JSON, the `pnl` / `daily-pnl` / `yearly-stats` record sets).

Why the metrics are stored exactly as the backend produced them: a client that simulates through the
server must get the very numbers a direct `simulate_many` gives (same floats, no rounding), so that
results from the two paths are interchangeable in a store. NaN becomes null (JSON has no NaN).

Contract: `alpha_row(...)` turns a `SimResult` into the `alphas` table's columns; `alpha_view(row)`
is BRAIN's alpha JSON (brain.md §3.3: id, type, author, settings, regular{code, description,
operatorCount}, dates, name, color, tags, category, favorite, hidden, stage, status, is{metrics,
checks}, os, train, test, and the platform's other keys as null/empty); `recordset(name, row)` is
`{schema, records}` or None for a record set the server does not produce. The PnL record sets cover
every day from the first position to the panel's end (IS and alphamine's held-out OS tail).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alphamine.brain.server.common import plain, user_id
from alphamine.brain.server.db import dumps, loads, pack_dates, pack_floats, unpack_dates, unpack_floats
from alphamine.sim.result import SimResult

RECORDSETS = ("pnl", "daily-pnl", "yearly-stats")
VIEW_COLUMNS = (
    "id, user, date_created, date_modified, date_submitted, status, stage, name, color, category, tags, "
    "favorite, hidden, description, body"
)
"""The columns `alpha_view` reads (not the PnL arrays)."""
YEARLY_COLUMNS = (
    ("year", "Year", "year"),
    ("pnl", "PnL", "amount"),
    ("bookSize", "Book Size", "amount"),
    ("longCount", "Long Count", "integer"),
    ("shortCount", "Short Count", "integer"),
    ("turnover", "Turnover", "percent"),
    ("sharpe", "Sharpe", "decimal"),
    ("returns", "Returns", "percent"),
    ("drawdown", "Drawdown", "percent"),
    ("margin", "Margin", "permyriad"),
    ("fitness", "Fitness", "decimal"),
    ("stage", "Stage", "string"),
)


def operator_count(code: str) -> int | None:
    from alphamine.expr import operator_count as count
    from alphamine.expr import parse

    try:
        return count(parse(code))
    except Exception:  # the code simulated, so it parses; a count is decoration, never a failure
        return None


def alpha_row(
    alpha_id: str, user: str, simulation_id: str, result: SimResult, created: str, *, backend: str
) -> dict[str, Any]:
    """The `alphas` columns for a finished simulation (module doc)."""
    full = result.to_json()
    body = plain({k: full[k] for k in ("type", "settings", "regular", "is", "os", "train", "test")})
    body["regular"]["operatorCount"] = operator_count(result.expression)
    extra = plain({
        "truncationRounds": full.get("truncationRounds"),
        "dataFingerprint": full.get("dataFingerprint"),
        "backend": backend,
    })
    return {
        "id": alpha_id,
        "user": user,
        "simulation": simulation_id,
        "date_created": created,
        "date_modified": created,
        "date_submitted": None,
        "status": "UNSUBMITTED",
        "stage": "IS",
        "region": result.settings.region,
        "body": dumps(body),
        "yearly": dumps(plain(result.yearly_rows)),
        "extra": dumps(extra),
        "dates": pack_dates(result.dates),
        "pnl": pack_floats(result.daily_pnl),
        "first": int(result.periods.first),
        "is_lo": int(result.periods.is_range[0]),
        "is_hi": int(result.periods.is_range[1]),
    }


def insert_alpha(conn: Any, row: dict[str, Any]) -> None:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT INTO alphas ({cols}) VALUES ({marks})", tuple(row.values()))


def alpha_view(row: dict[str, Any]) -> dict[str, Any]:
    """BRAIN's alpha JSON for a stored row (module doc)."""
    body = loads(row["body"])
    regular = dict(body["regular"])
    regular["description"] = row["description"]
    return {
        "id": row["id"],
        "type": body.get("type", "REGULAR"),
        "author": user_id(row["user"]),
        "settings": body["settings"],
        "regular": regular,
        "dateCreated": row["date_created"],
        "dateSubmitted": row["date_submitted"],
        "dateModified": row["date_modified"],
        "name": row["name"],
        "favorite": bool(row["favorite"]),
        "hidden": bool(row["hidden"]),
        "color": row["color"],
        "category": row["category"],
        "tags": loads(row["tags"]) or [],
        "classifications": [],
        "grade": None,
        "stage": row["stage"],
        "status": row["status"],
        "is": body["is"],
        "os": body["os"],
        "train": body["train"],
        "test": body["test"],
        "prod": None,
        "competitions": None,
        "themes": [],
        "pyramids": [],
        "pyramidThemes": None,
        "team": None,
        "osmosisPoints": None,
    }


def pnl_series(row: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(dates, daily pnl) from the first position day to the end."""
    first = int(row["first"])
    return unpack_dates(row["dates"])[first:], unpack_floats(row["pnl"])[first:]


def _schema(name: str, title: str, props: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    return {"name": name, "title": title, "properties": [{"name": n, "title": t, "type": k} for n, t, k in props]}


def recordset(name: str, row: dict[str, Any]) -> dict[str, Any] | None:
    """`{schema, records}` for `pnl` (cumulative), `daily-pnl` or `yearly-stats`; None otherwise."""
    if name in ("pnl", "daily-pnl"):
        dates, pnl = pnl_series(row)
        values = np.cumsum(pnl) if name == "pnl" else pnl
        days = dates.astype(str).tolist()
        title = "PnL" if name == "pnl" else "Daily PnL"
        schema = _schema(name, title, (("date", "Date", "date"), ("pnl", "PnL", "amount")))
        return {"schema": schema, "records": [[d, v] for d, v in zip(days, plain(values), strict=True)]}
    if name == "yearly-stats":
        rows = loads(row["yearly"]) or []
        records = [[r.get(col) for col, _, _ in YEARLY_COLUMNS] for r in rows]
        return {"schema": _schema(name, "Yearly Stats", YEARLY_COLUMNS), "records": records}
    return None
