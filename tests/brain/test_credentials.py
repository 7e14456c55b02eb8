"""Credentials by precedence (defaults < secret file < environment), the base URL, and the masked
password (the end-to-end leak test is test_credentials_secret.py)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from alphamine.brain.credentials import (
    DEFAULT_API_URL,
    Credentials,
    CredentialsError,
    Secret,
    load_credentials,
    resolve_base_url,
)

SECRET = "file-password-XYZ"


def _secret_file(tmp_path: Path, brain: object) -> Path:
    path = tmp_path / "worldquant-brain.json"
    path.write_text(json.dumps({"brain": brain}))
    return path


def test_precedence_is_per_field(tmp_path: Path) -> None:
    path = _secret_file(tmp_path, {"email": "file@x.com", "password": SECRET})
    defaults = {"email": "default@x.com", "password": "default-pw"}
    only_defaults = load_credentials(secret_file=tmp_path / "missing.json", env={}, defaults=defaults)
    assert only_defaults.email == "default@x.com"
    assert only_defaults.sources == {"email": "default", "password": "default"}
    from_file = load_credentials(secret_file=path, env={}, defaults=defaults)
    assert (from_file.email, from_file.password.reveal()) == ("file@x.com", SECRET)
    assert from_file.sources == {"email": "file", "password": "file"}
    mixed = load_credentials(secret_file=path, env={"BRAIN_EMAIL": " env@x.com "}, defaults=defaults)
    assert (mixed.email, mixed.password.reveal()) == ("env@x.com", SECRET)
    assert mixed.sources == {"email": "env", "password": "file"}
    env = load_credentials(secret_file=path, env={"BRAIN_EMAIL": "env@x.com", "BRAIN_PASSWORD": "env-pw"})
    assert env.password.reveal() == "env-pw" and env.sources["password"] == "env"
    empty_env = load_credentials(secret_file=path, env={"BRAIN_PASSWORD": ""})  # empty values do not override
    assert empty_env.password.reveal() == SECRET


def test_missing_credentials_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as e:
        load_credentials(secret_file=tmp_path / "none.json", env={})
    text = str(e.value)
    assert "BRAIN_EMAIL" in text and "BRAIN_PASSWORD" in text and "none.json" in text
    with pytest.raises(CredentialsError, match="no BRAIN password"):
        load_credentials(secret_file=_secret_file(tmp_path, {"email": "a@x.com"}), env={})


@pytest.mark.parametrize(
    "content",
    [
        '{"brain": {"email": "a@x.com", "password": "' + SECRET + '"',  # truncated JSON
        json.dumps({"worldquant": {"password": SECRET}}),
        json.dumps({"brain": {"email": "a@x.com", "password": [SECRET]}}),
        json.dumps([SECRET]),
    ],
)
def test_a_bad_secret_file_is_named_never_quoted(tmp_path: Path, content: str) -> None:
    path = tmp_path / "secret.json"
    path.write_text(content)
    with pytest.raises(CredentialsError) as e:
        load_credentials(secret_file=path, env={})
    assert str(path) in str(e.value) and SECRET not in str(e.value) and SECRET not in repr(e.value)


def test_an_unreadable_secret_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read"):
        load_credentials(secret_file=tmp_path, env={})  # a directory


def test_the_password_is_masked() -> None:
    creds = Credentials.of("me@x.com", SECRET)
    for text in (repr(creds), str(creds), repr(creds.password), str(creds.password), f"{creds}", f"{creds!r}"):
        assert SECRET not in text and "***" in text
    assert creds.password.reveal() == SECRET and creds == Credentials.of("me@x.com", SECRET)
    assert Secret("a") != Secret("b") and bool(Secret("")) is False
    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_base_url_precedence_and_validation() -> None:
    assert resolve_base_url(None, {}) == DEFAULT_API_URL
    assert resolve_base_url(None, {"BRAIN_API_URL": "http://127.0.0.1:8642/"}) == "http://127.0.0.1:8642"
    assert resolve_base_url("http://localhost:9000", {"BRAIN_API_URL": "http://other"}) == "http://localhost:9000"
    with pytest.raises(CredentialsError, match="http"):
        resolve_base_url("ftp://host", {})
    with pytest.raises(CredentialsError) as e:
        resolve_base_url(f"https://me:{SECRET}@api.example.com", {})
    assert SECRET not in str(e.value)
    with pytest.raises(CredentialsError) as e:
        resolve_base_url(f"me:{SECRET}@nowhere", {})  # not even a URL: still not echoed
    assert SECRET not in str(e.value)
