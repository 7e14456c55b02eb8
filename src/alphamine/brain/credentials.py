"""BRAIN credentials and the API base URL, resolved by precedence, with the password kept secret.

Why: the same code runs on a laptop (a secret file), in CI (environment variables) and against the
local BRAIN-compatible server (an argument); a user must be able to override one layer without
editing another. And a password that reaches a log, a traceback or a report is leaked for good, so
it lives in a `Secret` whose repr and str are masked and which only `reveal()` opens (the client
calls it once per login, to build the HTTP Basic header).

Contract:
- `load_credentials(secret_file=..., env=...)` layers, per field (email, password): built-in
  defaults (none: both empty) < the secret file `~/secrets/worldquant-brain.json` shaped
  `{"brain": {"email": ..., "password": ...}}` (a missing file is skipped; an unreadable or
  malformed one is a `CredentialsError` naming the file, never quoting it) < `BRAIN_EMAIL` /
  `BRAIN_PASSWORD`. A missing email or password after all layers is a `CredentialsError` that says
  where to put them. `Credentials.sources` tells which layer gave each field.
- `resolve_base_url(url, env)`: the argument (CLI `--brain-url`), else `BRAIN_API_URL`, else
  `https://api.worldquantbrain.com`; trailing slashes removed; only http(s) URLs are accepted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from alphamine.brain.retry import BrainError

DEFAULT_API_URL = "https://api.worldquantbrain.com"
DEFAULT_SECRET_FILE = Path("~/secrets/worldquant-brain.json")
ENV_EMAIL, ENV_PASSWORD, ENV_URL = "BRAIN_EMAIL", "BRAIN_PASSWORD", "BRAIN_API_URL"
MASK = "***"


class CredentialsError(BrainError, ValueError):
    """Credentials are missing or their file is unreadable; the text names the place, not the secret."""


class Secret:
    """A string that does not print itself (module doc)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    __str__ = __repr__

    def __reduce__(self) -> str:  # never pickled into a worker or a file
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class Credentials:
    """An account's email and password; `sources` names the layer of each ('default', 'file', 'env')."""

    email: str
    password: Secret
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, email: str, password: str) -> Credentials:
        """Credentials given directly (tests, programmatic use)."""
        return cls(email.strip(), Secret(password), {"email": "argument", "password": "argument"})

    def __repr__(self) -> str:
        return f"Credentials(email={self.email!r}, password={MASK})"

    __str__ = __repr__


def _read_secret_file(path: Path) -> dict[str, str]:
    """{'email': ..., 'password': ...} (either may be absent) from the secret file, {} if it is missing."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise CredentialsError(f"cannot read the BRAIN secret file {path}: {e.strerror or type(e).__name__}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise CredentialsError(
            f'the BRAIN secret file {path} is not valid JSON; expected {{"brain": {{"email": ..., "password": ...}}}}'
        ) from None
    brain = data.get("brain") if isinstance(data, dict) else None
    if not isinstance(brain, dict):
        raise CredentialsError(f'the BRAIN secret file {path} has no "brain" object with "email" and "password"')
    out: dict[str, str] = {}
    for key in ("email", "password"):
        value = brain.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise CredentialsError(f'the BRAIN secret file {path}: "brain.{key}" must be a string')
        out[key] = value
    return out


def load_credentials(
    *,
    secret_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
) -> Credentials:
    """Email and password by precedence: defaults < secret file < environment (module doc)."""
    environ = os.environ if env is None else env
    path = Path(secret_file if secret_file is not None else DEFAULT_SECRET_FILE).expanduser()
    layers: list[tuple[str, Mapping[str, str]]] = [
        ("default", dict(defaults or {})),
        ("file", _read_secret_file(path)),
        ("env", {k: environ[v] for k, v in (("email", ENV_EMAIL), ("password", ENV_PASSWORD)) if environ.get(v)}),
    ]
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, layer in layers:
        for key in ("email", "password"):
            if layer.get(key):
                values[key], sources[key] = layer[key], name
    missing = [k for k in ("email", "password") if not values.get(k, "").strip()]
    if missing:
        raise CredentialsError(
            f"no BRAIN {' or '.join(missing)}: set {ENV_EMAIL} / {ENV_PASSWORD} or write "
            f'{path} as {{"brain": {{"email": ..., "password": ...}}}}'
        )
    return Credentials(values["email"].strip(), Secret(values["password"]), sources)


def resolve_base_url(url: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The API base URL: argument < BRAIN_API_URL < the platform's (module doc)."""
    environ = os.environ if env is None else env
    chosen = (url or environ.get(ENV_URL) or DEFAULT_API_URL).strip().rstrip("/")
    parts = urlsplit(chosen)
    if "@" in chosen:  # checked first: the message below quotes the URL
        raise CredentialsError("the BRAIN API URL must not carry credentials; use BRAIN_EMAIL / BRAIN_PASSWORD")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CredentialsError(f"the BRAIN API URL must be http(s)://host[:port] (got {chosen!r})")
    return chosen
