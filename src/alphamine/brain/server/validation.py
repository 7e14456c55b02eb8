"""Synchronous validation of `POST /simulations` bodies, with BRAIN's field-keyed 400 answers.

Why only settings are checked here: real clients treat an answer without `Location` as a transient
failure and re-POST it, so the platform (and this server) reject synchronously only what can never
succeed, the shape and the settings; expression errors arrive asynchronously as status ERROR
(brain.md §7.2, §7.5).

Contract: `validate(payload, backend)` returns the items to simulate, or raises `PayloadError` whose
`body` is the 400 body: for one object `{"settings": {"region": ["\"XXX\" is not a valid choice."]}}`
(or `{"regular": ["This field is required."]}`); for a list one such object per item, `{}` for the
valid ones; `{"detail": ...}` for a body that is neither. A list holds 2..10 items sharing type,
instrumentType, region, delay and language. Settings BRAIN accepts that the local engine does not
model (`maxPosition`, `startDate`, `endDate`, the SuperAlpha-only ones) are accepted and ignored;
region and universe must be ones the backend offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from alphamine.backends.base import Backend
from alphamine.brain.server.common import choice_error
from alphamine.sim.settings import Settings

IGNORED_SETTINGS = frozenset(
    {"maxPosition", "startDate", "endDate", "selectionHandling", "selectionLimit", "componentActivation"}
)
SHARED_IN_MULTI = ("instrumentType", "region", "delay", "language")
MULTI_MIN, MULTI_MAX = 2, 10
REQUIRED = "This field is required."


class PayloadError(ValueError):
    """A 400 answer: `body` is the JSON to send."""

    def __init__(self, body: Any) -> None:
        super().__init__(str(body))
        self.body = body


@dataclass(frozen=True)
class Item:
    """One simulation to run: its type, validated settings and FASTEXPR code."""

    type: str
    settings: Settings
    regular: str


def validate(payload: Any, backend: Backend) -> list[Item]:
    """The items of a POST /simulations body, or PayloadError (module doc)."""
    if isinstance(payload, Mapping):
        item, errors = _item(payload, backend)
        if errors or item is None:
            raise PayloadError(errors)
        return [item]
    if not isinstance(payload, list):
        raise PayloadError({"detail": "Expected a simulation object or a list of 2 to 10 of them."})
    if not MULTI_MIN <= len(payload) <= MULTI_MAX:
        raise PayloadError({"detail": f"A multi-simulation takes {MULTI_MIN} to {MULTI_MAX} simulations."})
    items: list[Item] = []
    all_errors: list[dict[str, Any]] = []
    for entry in payload:
        if not isinstance(entry, Mapping):
            all_errors.append({"non_field_errors": ["Expected a simulation object."]})
            continue
        item, errors = _item(entry, backend)
        all_errors.append(errors)
        if item is not None:
            items.append(item)
    if any(all_errors):
        raise PayloadError(all_errors)
    first = items[0].settings.to_brain()
    for it in items[1:]:
        s = it.settings.to_brain()
        if it.type != items[0].type or any(s[k] != first[k] for k in SHARED_IN_MULTI):
            raise PayloadError({"detail": "All simulations of a multi-simulation must share type, "
                                          "instrumentType, region, delay and language."})
    return items


def _item(entry: Mapping[str, Any], backend: Backend) -> tuple[Item | None, dict[str, Any]]:
    errors: dict[str, Any] = {}
    kind = entry.get("type", "REGULAR")
    if kind != "REGULAR":
        errors["type"] = [choice_error(kind) + " The local server simulates REGULAR alphas only."]
    code = entry.get("regular")
    if code is None:
        errors["regular"] = [REQUIRED]
    elif not isinstance(code, str):
        errors["regular"] = ["Not a valid string."]
    elif not code.strip():
        errors["regular"] = ["This field may not be blank."]
    raw = entry.get("settings")
    settings: Settings | None = None
    if raw is None:
        errors["settings"] = [REQUIRED]
    elif not isinstance(raw, Mapping):
        errors["settings"] = ["Expected an object of settings."]
    else:
        settings, setting_errors = validate_settings(raw, backend)
        if setting_errors:
            errors["settings"] = setting_errors
    if errors or settings is None or not isinstance(code, str):
        return None, errors
    return Item("REGULAR", settings, code), {}


def validate_settings(raw: Mapping[str, Any], backend: Backend) -> tuple[Settings | None, dict[str, list[str]]]:
    """Settings in BRAIN's spelling -> (Settings, {}) or (None, {field: [messages]})."""
    data = {k: v for k, v in raw.items() if k not in IGNORED_SETTINGS}
    errors: dict[str, list[str]] = {}
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            key = str(err["loc"][0]) if err["loc"] else "non_field_errors"
            errors.setdefault(key, []).append(_message(err))
    defaults = Settings.model_validate({})
    for key, offered in (("region", backend.regions()), ("universe", backend.universes())):
        value = data.get(key, getattr(defaults, key))
        if key not in errors and (not isinstance(value, str) or value.strip().upper() not in offered):
            errors[key] = [choice_error(value)]
    return (None, errors) if errors or settings is None else (settings, {})


def _message(err: Any) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind in ("enum", "literal_error"):
        return choice_error(value)
    if kind == "extra_forbidden":
        return "Unknown setting."
    if kind == "missing":
        return REQUIRED
    if kind.startswith("int_"):
        return "A valid integer is required."
    if kind.startswith("float_"):
        return "A valid number is required."
    if kind == "greater_than_equal":
        return f"Ensure this value is greater than or equal to {ctx.get('ge')}."
    if kind == "less_than_equal":
        return f"Ensure this value is less than or equal to {ctx.get('le')}."
    return str(err.get("msg", "Invalid value."))
