"""Simulation settings, accepted and produced in BRAIN's JSON spelling.

Why pydantic: settings arrive from the CLI, presets files, the store and the BRAIN API; one model
validates all of them with clear messages (allowed values listed) and round-trips BRAIN's spelling
(`neutralization: "INDUSTRY"`, `pasteurization: "ON"`, `nanHandling`, `maxTrade`, `testPeriod`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

BOOK_SIZE = 20_000_000.0  # $20M gross book (≈ $10M long, $10M short)
HALF_BOOK = BOOK_SIZE / 2  # returns and drawdown are measured on $10M
TRADING_DAYS = 252
TRUNCATION_MAX_ROUNDS = 20
TRUNCATION_TOLERANCE = 1e-9
NEUTRALIZED_ZERO_TOLERANCE = 1e-9  # Σ|w| after / before neutralization at or below this: no book that day


class Neutralization(StrEnum):
    NONE = "NONE"
    MARKET = "MARKET"
    SECTOR = "SECTOR"
    INDUSTRY = "INDUSTRY"
    SUBINDUSTRY = "SUBINDUSTRY"
    FAST = "FAST"
    SLOW = "SLOW"
    SLOW_AND_FAST = "SLOW_AND_FAST"


GROUP_NEUTRALIZATIONS: dict[Neutralization, str] = {
    Neutralization.SECTOR: "sector",
    Neutralization.INDUSTRY: "industry",
    Neutralization.SUBINDUSTRY: "subindustry",
}
"""The neutralizations that demean within a GROUP field, and that field's name (the one definition)."""


class OnOff(StrEnum):
    ON = "ON"
    OFF = "OFF"


class CheckProfile(StrEnum):
    USER = "user"
    CONSULTANT = "consultant"


_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")


def parse_period(text: str) -> tuple[int, int, int]:
    """ISO-8601 duration `PnYnMnD` (each part optional) -> (years, months, days)."""
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper() == "P":
        raise ValueError(f"test period {text!r} is not an ISO-8601 duration like P1Y6M, P2Y or P0Y0M0D")
    y, mo, d = (int(g) if g else 0 for g in m.groups())
    return y, mo, d


class Settings(BaseModel):
    """One simulation's settings. Field names are snake_case in Python and camelCase in JSON."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid", use_enum_values=False
    )

    instrument_type: Literal["EQUITY"] = "EQUITY"
    region: str = "USA"
    universe: str = "TOP500"
    delay: Literal[0, 1] = 1
    decay: int = Field(0, ge=0, le=512)
    neutralization: Neutralization = Neutralization.INDUSTRY
    truncation: float = Field(0.08, ge=0.0, le=1.0)
    pasteurization: OnOff = OnOff.ON
    nan_handling: OnOff = OnOff.OFF
    unit_handling: Literal["VERIFY"] = "VERIFY"
    max_trade: OnOff = OnOff.OFF
    max_trade_adv_fraction: float = Field(0.1, gt=0.0, le=1.0)
    language: Literal["FASTEXPR"] = "FASTEXPR"
    test_period: str = "P0Y0M0D"
    is_end: dt.date | None = None
    check_profile: CheckProfile = CheckProfile.USER
    visualization: bool = False

    @field_validator("neutralization", "pasteurization", "nan_handling", "max_trade", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return "ON" if v else "OFF"
        return v.upper() if isinstance(v, str) else v

    @field_validator("check_profile", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    @field_validator("universe", "region", mode="before")
    @classmethod
    def _upper_name(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("decay", mode="before")
    @classmethod
    def _int_decay(cls, v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():  # some clients send 0.0
            return int(v)
        return v

    @field_validator("test_period")
    @classmethod
    def _period(cls, v: str) -> str:
        parse_period(v)
        return v.strip().upper()

    @property
    def pasteurize(self) -> bool:
        return self.pasteurization == OnOff.ON

    @property
    def max_trade_on(self) -> bool:
        return self.max_trade == OnOff.ON

    def to_brain(self) -> dict[str, Any]:
        """BRAIN JSON spelling (camelCase keys, enum strings)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def key(self) -> str:
        """Stable identity of these settings (blake2b-16 of the sorted BRAIN JSON): with the canonical
        expression hash and the data fingerprint it keys stored simulation results."""
        text = json.dumps(self.to_brain(), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    @classmethod
    def from_brain(cls, data: dict[str, Any]) -> Settings:
        return cls.model_validate(data)

    def with_(self, **changes: Any) -> Settings:
        """A validated copy with some fields changed (snake_case or camelCase names)."""
        base = self.model_dump(by_alias=True)
        for key, value in changes.items():
            field = type(self).model_fields.get(key)
            base[field.alias if field is not None and field.alias else key] = value
        return make_settings(base)


class SettingsError(ValueError):
    """Invalid settings; the message lists each bad field with the allowed values."""


def make_settings(data: dict[str, Any] | None = None, **kwargs: Any) -> Settings:
    """Validate settings from any spelling, turning pydantic's report into one readable message."""
    merged = {**(data or {}), **kwargs}
    try:
        return Settings.model_validate(merged)
    except ValidationError as e:
        raise SettingsError(format_validation_error(e)) from None


def format_validation_error(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "settings"
        msg = err["msg"]
        if err["type"] == "enum":
            expected = err.get("ctx", {}).get("expected", "")
            msg = f"must be one of {expected} (got {err.get('input')!r})"
        elif err["type"] == "literal_error":
            msg = f"must be {err.get('ctx', {}).get('expected', '')} (got {err.get('input')!r})"
        elif err["type"] == "extra_forbidden":
            allowed = ", ".join(sorted({f.alias or k for k, f in Settings.model_fields.items()}))
            msg = f"is not a setting; allowed: {allowed}"
        parts.append(f"{loc} {msg}")
    return "invalid settings: " + "; ".join(parts)
