from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphamine.store import REDACTED, is_secret_key, mask_url, redact
from alphamine.store.clean import clean, jsonable, mask_url_passwords
from alphamine.store.status import CandidateStatus


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "api_key",
        "apiKey",
        "OPENAI_API_KEY",
        "brain_password",
        "access_token",
        "token",
        "client_secret",
        "secret",
        "credentials",
        "private-key",
        "auth.token",
        "passwd",
    ],
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["max_tokens", "api_key_env", "token_budget", "password_file", "key", "sort_key", "universe", "tokens"]
)
def test_not_secret_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_nested_and_urls() -> None:
    cfg: dict[str, Any] = {
        "llm": {"api_key": "sk-abc", "max_tokens": 10, "api_key_env": "OPENAI_API_KEY", "token": None},
        "brain": [{"password": {"nested": 1}}],
        "db": "postgresql://alice:hunter2@db.example/alpha",
    }
    out = redact(cfg)
    assert out["llm"] == {"api_key": REDACTED, "max_tokens": 10, "api_key_env": "OPENAI_API_KEY", "token": None}
    assert out["brain"] == [{"password": REDACTED}]
    assert out["db"] == "postgresql://alice:***@db.example/alpha"
    assert cfg["llm"]["api_key"] == "sk-abc"  # a copy; the caller's dict is untouched


def test_mask_url() -> None:
    assert mask_url("postgresql+psycopg://u:p%40ss@h:5432/db") == "postgresql+psycopg://u:***@h:5432/db"
    assert mask_url("sqlite:////tmp/x.sqlite3") == "sqlite:////tmp/x.sqlite3"
    assert mask_url_passwords("see https://u:pw@x.org/a and ftp://v@y") == "see https://u:***@x.org/a and ftp://v@y"


def test_jsonable_conversions() -> None:
    out = jsonable(
        {"a": np.float64(np.nan), "b": np.int32(3), "c": (1, np.inf), "d": np.arange(2), "e": dt.date(2020, 1, 2)}
    )
    assert out == {"a": None, "b": 3, "c": [1, None], "d": [0, 1], "e": "2020-01-02"}
    assert clean({"x": [np.bool_(True)]}) == {"x": [True]}
    with pytest.raises(TypeError):
        jsonable(object())


_KEYS = st.sampled_from(["sharpe", "password", "api_key", "apiKey", "token", "name", "url", "max_tokens", "x"])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(["postgresql://u:pw@h/db", "see https://a:b@c.d/x", "plain"]),
    st.builds(np.float64, st.floats(allow_nan=True)), st.builds(np.int64, st.integers(-1000, 1000)),
    st.sampled_from([np.bool_(True), CandidateStatus.QUEUED]),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_clean_is_redact_of_jsonable(value) -> None:
    """`clean`'s one-walk fast path gives exactly the two-pass result (NaN, numpy, enums, secrets)."""
    assert json.dumps(clean(value)) == json.dumps(redact(jsonable(value)))
