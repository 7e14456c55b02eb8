"""`BrainClient`: the WorldQuant BRAIN REST API over httpx (brain.md §7, §7.5).

Why a client of our own: the pipeline needs simulations, alphas, checks and listings with the
platform's exact protocol (cookie session, absolute `Location`, numeric `Retry-After`, 201/401/429
semantics), shared safely between threads, resilient to the faults the platform produces, and
unable to leak the password or to submit anything by accident.

Contract:
- Session: credentials go only to `POST /authentication` (HTTP Basic) -> 201 + cookie. A 401 on any
  later request logs in again once per session generation (threads share one re-login) and retries;
  the session is also renewed proactively after `reauth_interval` seconds (15 min). Refused
  credentials (401 at login) are a final `BrainAuthError`, never retried; a biometric demand
  (`WWW-Authenticate: persona`) says so.
- Faults: timeouts, connection errors, 429 and 5xx are retried with `RetryPolicy` backoff (seeded
  RNG) under the `CircuitBreaker` (`BrainUnavailable` at the end). A 429 "Daily simulation limit"
  is a final `BrainQuotaExceeded`; a 429 CONCURRENT_SIMULATION_LIMIT_EXCEEDED waits (Retry-After)
  up to `busy_wait` seconds without counting as a failure. Other statuses reach the caller or
  raise `BrainHTTPError` with the platform's `detail`.
- Simulations: `start_simulations(items)` POSTs one item or a multi-simulation of 2..10 and returns
  `Started(url, accepted, rejected)`: a synchronous 400 rejects the items it names (their messages
  in `rejected`), the others are re-POSTed. `wait_simulation(url)` polls (Retry-After) and returns a
  `SimulationOutcome` per leaf (a parent's `children` are fetched in order); ERROR / FAIL / TIMEOUT /
  CANCELLED leaves are outcomes with the platform's message, not exceptions. `simulate` and
  `multi_simulate(items, on_submitted=)` combine both; `on_submitted(index, url)` is called as soon as
  the platform returns the URL (all items of one multi-simulation share its parent URL, in order).
- Alphas: `get_alpha`, `recordset`, `daily_pnl`, `yearly_stats`, `alpha_result` (a `SimResult`,
  mapping.py), `check` (normalized check names), `correlation(id, 'self'|'prod'|'power-pool')` (None
  where the server has none). Listings (`simulation_options`, `data_sets`, `data_fields` paged by 50,
  `operators`) are cached per local day under `cache_dir` (and in memory).
- `submit(alpha_id, confirmed=True)` is the only code that calls the submit endpoint; without
  `confirmed=True` it raises `SubmissionNotConfirmed` and sends nothing.
Errors never contain the password: it is a `Secret`, revealed only to build the Basic header.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from alphamine.brain import mapping as M
from alphamine.brain.credentials import Credentials, resolve_base_url
from alphamine.brain.listings import PAGE_LIMIT, Listings
from alphamine.brain.mapping import Started, SubmitVerdict, spread
from alphamine.brain.retry import (
    BrainAuthError,
    BrainError,
    BrainHTTPError,
    BrainQuotaExceeded,
    BrainUnavailable,
    CircuitBreaker,
    RetryPolicy,
    SubmissionNotConfirmed,
    parse_retry_after,
)
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings

log = logging.getLogger("alphamine.brain.client")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)
REAUTH_INTERVAL = 15 * 60.0
POLL_LIMIT = 4 * 3600.0
BUSY_WAIT = 30 * 60.0
DAILY_LIMIT_MARK, CONCURRENT_MARK = "daily simulation limit", "CONCURRENT_SIMULATION_LIMIT_EXCEEDED"
CORRELATION_KINDS = ("self", "prod", "power-pool")
MAX_RELOGINS = 10
"""401s one request may meet in a row (each followed by a login) before the session is declared broken."""

__all__ = [
    "BrainAuthError", "BrainClient", "BrainError", "BrainHTTPError", "BrainQuotaExceeded", "BrainUnavailable",
    "Started", "SubmissionNotConfirmed", "SubmitVerdict", "spread",
]


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return " ".join(r.text.split())[:200] or r.reason_phrase
    if isinstance(body, Mapping) and "detail" in body:
        return str(body["detail"])
    return " ".join(json.dumps(body).split())[:300]


class BrainClient(Listings):
    """The BRAIN REST client (module doc). Thread-safe; use as a context manager or call `close()`."""

    wait_note_interval = 60.0
    """While polling a simulation: log a `[BRAIN wait]` line and a `[BRAIN healthcheck]` this often (s)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        cache_dir: str | Path | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        rng: random.Random | None = None,
        reauth_interval: float = REAUTH_INTERVAL,
        poll_limit: float = POLL_LIMIT,
        max_poll_interval: float = 30.0,
        busy_wait: float = BUSY_WAIT,
    ) -> None:
        self.credentials = credentials
        self.base_url = resolve_base_url(base_url)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.reauth_interval, self.poll_limit = reauth_interval, poll_limit
        self.max_poll_interval, self.busy_wait = max_poll_interval, busy_wait
        self._rng = rng or random.Random(0)
        self._rng_lock = threading.Lock()
        self._auth_lock = threading.RLock()
        self._generation = 0
        self._login_at = 0.0
        self.logins = 0
        self._memo: dict[tuple[str, str], Any] = {}
        self.page_limit = PAGE_LIMIT  # records per listing page (the platform allows at most 50)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"BrainClient({self.base_url!r}, email={self.credentials.email!r})"

    def __enter__(self) -> BrainClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ session
    def login(self) -> dict[str, Any]:
        """Log in now (a fresh session); the `/authentication` body. BrainAuthError when refused."""
        with self._auth_lock:
            return self._login_locked()

    def _login_locked(self) -> dict[str, Any]:
        r = self._call("POST", "/authentication", login=True)
        if r.status_code == 401:
            if "persona" in r.headers.get("www-authenticate", "").lower():
                where = self._resolve(r.headers.get("location") or "/authentication/persona")
                raise BrainAuthError(f"BRAIN asks for a biometric check: open {where} in a browser, then retry")
            raise BrainAuthError(
                f"BRAIN refused the credentials of {self.credentials.email} at {self.base_url} ({_detail(r)}); "
                "check BRAIN_EMAIL / BRAIN_PASSWORD or the secret file"
            )
        if r.status_code not in (200, 201):
            raise BrainHTTPError("POST", "/authentication", r.status_code, _detail(r))
        self._generation += 1
        self._login_at = time.monotonic()
        self.logins += 1
        log.info("logged in to BRAIN at %s as %s", self.base_url, self.credentials.email)
        body: dict[str, Any] = r.json() if r.content else {}
        return body

    def _session(self) -> int:
        """The current session generation, logging in first when there is none or it is stale."""
        with self._auth_lock:
            if self._generation == 0 or time.monotonic() - self._login_at > self.reauth_interval:
                self._login_locked()
            return self._generation

    def _relogin(self, generation: int) -> None:
        with self._auth_lock:
            if self._generation == generation:  # no other thread has renewed it meanwhile
                self._login_locked()

    # ------------------------------------------------------------------ HTTP with retries
    def _resolve(self, location: str) -> str:
        """An absolute URL for a `Location` (urljoin); on our host, our scheme and port (BRAIN once
        answered `http://…:443/` for an https API)."""
        joined = urljoin(self.base_url + "/", location)
        parts, base = urlsplit(joined), urlsplit(self.base_url)
        if parts.hostname == base.hostname and parts.netloc != base.netloc:
            joined = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
        return joined

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        with self._rng_lock:
            return self.retry.delay(attempt, self._rng, retry_after)

    def _call(
        self, method: str, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None, login: bool = False
    ) -> httpx.Response:
        """One request with session renewal and retries (module doc); any non-retryable answer."""
        path = urlsplit(url).path or url
        attempt = relogins = 0
        busy_since: float | None = None
        while True:
            self.breaker.before_request()
            generation = 0 if login else self._session()
            retry_after: float | None = None
            try:
                auth = httpx.BasicAuth(self.credentials.email, self.credentials.password.reveal()) if login else None
                r = self._http.request(method, url, json=json, params=params, auth=auth)
            except httpx.TimeoutException as e:
                failure = f"{method} {path}: timed out ({type(e).__name__})"
            except httpx.TransportError as e:
                failure = f"{method} {path}: {type(e).__name__}"
            else:
                if r.status_code == 401 and not login:
                    relogins += 1
                    if relogins > MAX_RELOGINS:
                        raise BrainAuthError(f"{method} {path}: BRAIN keeps refusing the session right after login")
                    self._relogin(generation)
                    continue
                if r.status_code == 429:
                    detail = _detail(r)
                    if DAILY_LIMIT_MARK in detail.lower():
                        raise BrainQuotaExceeded(f"{method} {path}: {detail}")
                    retry_after = parse_retry_after(r.headers.get("retry-after"))
                    if CONCURRENT_MARK in detail:
                        busy_since = busy_since or time.monotonic()
                        if time.monotonic() - busy_since > self.busy_wait:
                            raise BrainUnavailable(f"{method} {path}: the account stayed at its concurrency limit "
                                                   f"for {self.busy_wait:.0f}s")
                        time.sleep(self._delay(1, retry_after))
                        continue
                    failure = f"{method} {path}: HTTP 429 {detail}"
                elif r.status_code >= 500:
                    failure = f"{method} {path}: HTTP {r.status_code} {_detail(r)}"
                else:
                    self.breaker.record_success()
                    log.debug("[BRAIN] %s %s -> %d", method, path, r.status_code)
                    return r
            self.breaker.record_failure(failure)
            attempt += 1
            if attempt >= self.retry.max_attempts:
                raise BrainUnavailable(f"{failure}; gave up after {attempt} attempts")
            log.info("retrying after %s (attempt %d)", failure, attempt)
            time.sleep(self._delay(attempt, retry_after))

    def _poll(self, url: str, first: httpx.Response | None = None) -> httpx.Response:
        """GET `url` until an answer without `Retry-After` (bounded by `poll_limit`)."""
        started = last_note = time.monotonic()
        deadline = started + self.poll_limit
        r = first if first is not None else self._call("GET", url)
        while (wait := parse_retry_after(r.headers.get("retry-after"))) is not None:
            if time.monotonic() - last_note >= self.wait_note_interval:  # a long wait leaves a trace in the log
                last_note = time.monotonic()
                log.info("[BRAIN wait] %s still running after %.0fs", urlsplit(url).path, last_note - started)
                self._healthcheck()
            if time.monotonic() > deadline:
                raise BrainError(f"GET {urlsplit(url).path}: still running after {self.poll_limit:.0f}s")
            time.sleep(min(max(wait, 0.01), self.max_poll_interval))
            r = self._call("GET", url)
        return r

    def _healthcheck(self) -> None:
        """During a long wait: is the platform up and the session valid? One logged line either way."""
        try:
            r = self._call("GET", "/authentication")
            log.info("[BRAIN healthcheck] %s: HTTP %d", self.base_url, r.status_code)
        except BrainError as e:
            log.warning("[BRAIN healthcheck] %s: %s", self.base_url, e)

    def _json(self, r: httpx.Response, method: str, url: str, ok: Sequence[int] = (200,)) -> Any:
        if r.status_code not in ok:
            raise BrainHTTPError(method, urlsplit(url).path or url, r.status_code, _detail(r))
        return r.json() if r.content else None

    # ------------------------------------------------------------------ simulations
    def start_simulations(self, items: Sequence[tuple[str, Settings]]) -> M.Started:
        """POST one simulation or a multi-simulation of 2..10 (module doc)."""
        if not 1 <= len(items) <= 10:
            raise ValueError(f"a simulation request takes 1 to 10 items (got {len(items)})")
        payloads = [M.simulation_payload(e, s) for e, s in items]
        todo = list(range(len(items)))
        rejected: dict[int, str] = {}
        while todo:
            body: Any = payloads[todo[0]] if len(todo) == 1 else [payloads[i] for i in todo]
            r = self._call("POST", "/simulations", json=body)
            if r.status_code in (200, 201, 202) and r.headers.get("location"):
                wait = parse_retry_after(r.headers.get("retry-after"))
                return M.Started(self._resolve(r.headers["location"]), tuple(todo), rejected, wait)
            if r.status_code != 400:
                raise BrainHTTPError("POST", "/simulations", r.status_code, _detail(r))
            errors = r.json() if r.content else {}
            if isinstance(errors, list) and len(errors) == len(todo) and any(errors) and not all(errors):
                rejected.update({i: M.flatten_errors(e) for i, e in zip(todo, errors, strict=True) if e})
                todo = [i for i, e in zip(todo, errors, strict=True) if not e]
            else:
                per_item = errors if isinstance(errors, list) and len(errors) == len(todo) else [errors] * len(todo)
                whole = M.flatten_errors(errors)
                rejected.update({i: M.flatten_errors(e) or whole for i, e in zip(todo, per_item, strict=True)})
                todo = []
        return M.Started(None, (), rejected)

    def wait_simulation(self, url: str, first_wait: float | None = None) -> list[M.SimulationOutcome]:
        """Poll a simulation URL to the end: one outcome per leaf (a multi-simulation's children in
        order); `first_wait`: the POST's Retry-After, slept before the first look. Works for a URL a
        crashed process recorded (re-attach)."""
        if first_wait:
            time.sleep(min(first_wait, self.max_poll_interval))
        body = self._json(self._poll(url), "GET", url)
        children = body.get("children") if isinstance(body, Mapping) else None
        if not children:
            return [M.outcome_from_simulation(body or {}, url)]
        out = []
        for child in children:
            child_url = urljoin(url, str(child))
            out.append(M.outcome_from_simulation(self._json(self._poll(child_url), "GET", child_url) or {}, child_url))
        return out

    def simulation_status(self, url: str) -> str:
        """One look at a simulation (no waiting): its status, or RUNNING with the progress while the
        platform still works on it (`alphamine tasks --refresh`)."""
        r = self._call("GET", url)
        body = self._json(r, "GET", url) or {}
        if parse_retry_after(r.headers.get("retry-after")) is not None:
            return f"RUNNING {float(body.get('progress', 0.0)):.0%}"
        return str(body.get("status", "UNKNOWN"))

    def multi_simulate(
        self,
        items: Sequence[tuple[str, Settings]],
        *,
        on_submitted: Callable[[int, str], None] | None = None,
    ) -> list[M.SimulationOutcome]:
        """Simulate 1..10 items in one request; an outcome per item in order (module doc)."""
        started = self.start_simulations(items)
        outcomes: dict[int, M.SimulationOutcome] = {
            i: M.SimulationOutcome("", "", "ERROR", message=msg) for i, msg in started.rejected.items()
        }
        if started.url is not None:
            for i in started.accepted:
                if on_submitted is not None:
                    on_submitted(i, started.url)
            leaves = M.spread(self.wait_simulation(started.url, started.retry_after), len(started.accepted))
            outcomes.update(zip(started.accepted, leaves, strict=True))
        return [outcomes[i] for i in range(len(items))]

    def simulate(self, expression: str, settings: Settings) -> M.SimulationOutcome:
        return self.multi_simulate([(expression, settings)])[0]

    # ------------------------------------------------------------------ alphas
    def get_alpha(self, alpha_id: str) -> dict[str, Any]:
        path = f"/alphas/{alpha_id}"
        body: dict[str, Any] = self._json(self._poll(path), "GET", path)
        return body

    def recordset(self, alpha_id: str, name: str) -> dict[str, Any] | None:
        """A record set `{schema, records}`, or None when the platform has none of that name."""
        path = f"/alphas/{alpha_id}/recordsets/{name}"
        r = self._poll(path)
        if r.status_code == 404:
            return None
        body: dict[str, Any] | None = self._json(r, "GET", path)
        return body

    def daily_pnl(self, alpha_id: str) -> Any:
        """(dates, daily PnL) from `daily-pnl`, else from the cumulative `pnl` set; None if neither."""
        series = M.pnl_series(self.recordset(alpha_id, "daily-pnl"), cumulative=False)
        return series if series is not None else M.pnl_series(self.recordset(alpha_id, "pnl"), cumulative=True)

    def yearly_stats(self, alpha_id: str) -> list[dict[str, Any]] | None:
        body = self.recordset(alpha_id, "yearly-stats")
        return None if body is None else M.records(body)

    def alpha_result(
        self, alpha_id: str, *, settings: Settings, expression: str | None = None, pnl: bool = True,
        yearly: bool = True,
    ) -> SimResult:
        """The alpha as a `SimResult` (mapping.result_from_alpha), with its record sets on request."""
        alpha = self.get_alpha(alpha_id)
        return M.result_from_alpha(
            alpha, settings=settings, expression=expression, daily_pnl=self.daily_pnl(alpha_id) if pnl else None,
            yearly=self.yearly_stats(alpha_id) if yearly else None,
        )

    def check(self, alpha_id: str) -> list[dict[str, Any]]:
        """The full submission checks (`GET /alphas/{id}/check`, polled), names normalized."""
        path = f"/alphas/{alpha_id}/check"
        body = self._json(self._poll(path), "GET", path)
        if not isinstance(body, Mapping) or not isinstance(body.get("is"), Mapping):
            raise BrainError(f"GET {path}: the platform answered without checks")
        return M.normalize_checks(body["is"].get("checks"))

    def correlation(self, alpha_id: str, kind: str = "self") -> dict[str, Any] | None:
        """`/alphas/{id}/correlations/{kind}` (self, prod, power-pool), or None where there is none."""
        if kind not in CORRELATION_KINDS:
            raise ValueError(f"correlation kind must be one of {', '.join(CORRELATION_KINDS)}")
        path = f"/alphas/{alpha_id}/correlations/{kind}"
        r = self._poll(path)
        if r.status_code == 404:
            return None
        body: dict[str, Any] | None = self._json(r, "GET", path)
        return body

    # ------------------------------------------------------------------ submission (humans only)
    def submit(self, alpha_id: str, *, confirmed: bool) -> M.SubmitVerdict:
        """Submit one alpha; refuses unless `confirmed is True` (module doc). 403 -> not submitted,
        with the failing checks; 200 or 404 at the end -> confirmed via `GET /alphas/{id}`."""
        if confirmed is not True:
            raise SubmissionNotConfirmed(f"not submitting {alpha_id}: a submission needs confirmed=True")
        path = f"/alphas/{alpha_id}/submit"
        first = self._call("POST", path)
        if first.status_code not in (200, 201, 403):
            raise BrainHTTPError("POST", path, first.status_code, _detail(first))
        r = self._poll(self._resolve(first.headers.get("location") or path), first=first)
        body = r.json() if r.content else {}
        checks = M.normalize_checks(body.get("is", {}).get("checks") if isinstance(body, Mapping) else None)
        if r.status_code == 403:
            failing = M.failing_checks(checks)
            message = "refused: " + ("; ".join(failing) if failing else _detail(r))
            return M.SubmitVerdict(alpha_id, False, "UNSUBMITTED", checks, message)
        if r.status_code not in (200, 404):
            raise BrainHTTPError("GET", path, r.status_code, _detail(r))
        alpha = self.get_alpha(alpha_id)
        status = str(alpha.get("status") or "")
        accepted = status == "ACTIVE" or alpha.get("stage") == "OS"
        message = f"submitted: status {status}" if accepted else f"not confirmed: the alpha is still {status}"
        return M.SubmitVerdict(alpha_id, accepted, status, checks, message)
