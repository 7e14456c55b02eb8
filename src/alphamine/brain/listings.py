"""The platform's listings, cached per day: simulation options, data sets, data fields, operators.

Why cached: a run asks for the same catalogue many times and the platform rate-limits its data
endpoints; listings change at most daily. A listing is kept in memory and on disk under
`<cache_dir>/<YYYY-MM-DD>/<kind>-<hash>.json` (earlier days are removed when a new day is written),
keyed by the base URL, the kind and the query. `Listings` is a mixin of `BrainClient`: it needs the
client's `_call`, `_json`, `base_url`, `cache_dir`, `_memo` and `page_limit`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

PAGE_LIMIT, MAX_OFFSET = 50, 10_000
"""The platform serves at most 50 records a page; clients stop near an offset of 10,000."""

log = logging.getLogger("alphamine.brain.client")


class Listings:
    """The listing calls of `BrainClient` (module doc)."""

    base_url: str
    cache_dir: Path | None
    page_limit: int
    _memo: dict[tuple[str, str], Any]

    def _call(
        self, method: str, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None, login: bool = False
    ) -> httpx.Response:
        raise NotImplementedError  # provided by BrainClient

    def _json(self, r: httpx.Response, method: str, url: str, ok: tuple[int, ...] = (200,)) -> Any:
        raise NotImplementedError  # provided by BrainClient

    def _cached(self, kind: str, params: Mapping[str, Any], fetch: Callable[[], Any]) -> Any:
        text = json.dumps([self.base_url, kind, sorted((k, str(v)) for k, v in params.items())])
        key = f"{kind}-{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}"
        day = dt.date.today().isoformat()
        if (day, key) in self._memo:
            return self._memo[(day, key)]
        path = self.cache_dir / day / f"{key}.json" if self.cache_dir is not None else None
        if path is not None and path.is_file():
            try:
                value = json.loads(path.read_text(encoding="utf-8"))
                self._memo[(day, key)] = value
                return value
            except (OSError, ValueError):
                log.warning("ignoring an unreadable cache file %s", path)
        value = fetch()
        self._memo[(day, key)] = value
        if path is not None and self.cache_dir is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in self.cache_dir.glob("[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]"):
                if old.name < day:  # earlier days' listings are stale
                    shutil.rmtree(old, ignore_errors=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(value), encoding="utf-8")
            os.replace(tmp, path)
        return value

    def _paged(self, path: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset, limit = 0, min(self.page_limit, PAGE_LIMIT)
        while offset < MAX_OFFSET:
            body = self._json(self._call("GET", path, params={**params, "limit": limit, "offset": offset}), "GET", path)
            results = list(body.get("results") or []) if isinstance(body, Mapping) else []
            out.extend(results)
            offset += len(results)
            if not results or offset >= int(body.get("count", offset)):
                break
        return out

    def simulation_options(self) -> dict[str, Any]:
        """`OPTIONS /simulations` (the settings' choices), cached per day."""
        def fetch() -> Any:
            return self._json(self._call("OPTIONS", "/simulations"), "OPTIONS", "/simulations")

        body: dict[str, Any] = self._cached("options", {}, fetch)
        return body

    def _scoped(self, kind: str, path: str, region: str, delay: int, universe: str, instrument_type: str,
                filters: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        params = {"instrumentType": instrument_type, "region": region, "delay": delay, "universe": universe,
                  **(filters or {})}
        result: list[dict[str, Any]] = self._cached(kind, params, lambda: self._paged(path, params))
        return result

    def data_sets(self, *, region: str, delay: int, universe: str, instrument_type: str = "EQUITY",
                  filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every `/data-sets` record of a scope (paged by 50), cached per day."""
        return self._scoped("data-sets", "/data-sets", region, delay, universe, instrument_type, filters)

    def data_fields(self, *, region: str, delay: int, universe: str, instrument_type: str = "EQUITY",
                    filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every `/data-fields` record of a scope (paged by 50; `filters` in BRAIN's names, e.g.
        `{"dataset.id": "pv1"}`), cached per day."""
        return self._scoped("data-fields", "/data-fields", region, delay, universe, instrument_type, filters)

    def operators(self) -> list[dict[str, Any]]:
        """`/operators` (a bare list; `{operators: [...]}` also accepted), cached per day."""
        def fetch() -> Any:
            body = self._json(self._call("GET", "/operators"), "GET", "/operators")
            return body.get("operators", []) if isinstance(body, Mapping) else body

        result: list[dict[str, Any]] = self._cached("operators", {}, fetch)
        return result
