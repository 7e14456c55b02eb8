"""What may enter a JSON column: plain JSON values, and never a secret.

Why: "Secrets never in the database". Run configs, task payloads and artifact metadata come from the
CLI, config files and the LLM layer, any of which may carry an API key or a password by accident; the
store *redacts* them (the value becomes `REDACTED`) rather than refusing the write, so a run never fails
for it, while the secret still never reaches disk. A key is secret when its last word is a secret noun
(`password`, `token`, `secret`, `api_key`, `apiKey`, `credentials`, ...): `api_key_env` (the *name* of an
environment variable) and `max_tokens` are kept. Passwords inside URL strings (`scheme://user:pw@host`)
are masked wherever they appear.

JSON portability: numpy scalars/arrays become Python numbers/lists, tuples lists, dates ISO strings,
and non-finite floats (NaN, ±inf) become `null`, because PostgreSQL's JSON rejects them.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import PurePath
from typing import Any

import numpy as np

REDACTED = "***REDACTED***"

_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "credential", "credentials", "cookie"}
)
_KEY_QUALIFIERS = frozenset({"api", "private", "access", "secret", "auth", "signing", "encryption", "client"})
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*:)([^\s/@]+)(@)")


def key_words(key: str) -> list[str]:
    """`openai_apiKey` -> ['openai', 'api', 'key'] (snake, kebab, dotted and camelCase split)."""
    return [w.lower() for w in _WORDS.findall(key)]


@lru_cache(maxsize=8192)
def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret by its last word (see the module doc). Memoized: the
    same few hundred keys (metrics, checks, settings) recur in every stored result."""
    words = key_words(str(key))
    if not words:
        return False
    last = words[-1]
    if last in _SECRET_WORDS:
        return True
    return last == "key" and len(words) >= 2 and words[-2] in _KEY_QUALIFIERS


_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{6,}")


def scrub(text: str, key: str = "") -> str:
    """`text` with `key`, and anything shaped like an API key (`sk-...`), replaced by `***`: for text
    that may quote a provider's answer or error (LLM usage files, exception messages)."""
    if key:
        text = text.replace(key, "***")
    return _KEY_LIKE.sub("***", text)


def mask_url_passwords(text: str) -> str:
    """`postgresql://u:pw@h/db` -> `postgresql://u:***@h/db`, anywhere in the text."""
    if "://" not in text:  # the common case (every string of every stored result): no regex pass
        return text
    return _URL_PASSWORD.sub(r"\1***\3", text)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secret-named keys' values replaced and URL passwords masked."""
    if isinstance(value, Mapping):
        return {k: (REDACTED if is_secret_key(str(k)) and v is not None else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return mask_url_passwords(value)
    return value


def jsonable(value: Any) -> Any:
    """A plain-JSON copy of `value` (see the module doc for the conversions)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.datetime64):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "model_dump"):  # pydantic models (settings)
        return jsonable(value.model_dump(mode="json", by_alias=True))
    raise TypeError(f"cannot store a {type(value).__name__} in a JSON column")


def clean(value: Any) -> Any:
    """`redact(jsonable(value))`: what every JSON column write goes through. One walk over the plain
    containers and scalars of a stored result (the common case); anything else takes the two passes."""
    kind = type(value)
    if value is None or kind is bool or kind is int:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str:
        return mask_url_passwords(value)
    if kind is dict:
        out = {}
        for k, v in value.items():
            key, cleaned = str(k), clean(v)
            out[key] = REDACTED if cleaned is not None and is_secret_key(key) else cleaned
        return out
    if kind is list or kind is tuple:
        return [clean(v) for v in value]
    return redact(jsonable(value))
