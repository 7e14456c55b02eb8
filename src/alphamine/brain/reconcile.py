"""Find on the platform the simulations a killed process posted but never recorded.

Why: a platform simulation's URL is known only from the POST's answer. A process killed between the
platform accepting a POST and the URL's commit (or a POST whose answer was lost to a timeout) leaves
simulations the store cannot re-attach to; posting them again would pay twice. The pipeline therefore
commits an intent (`posting`: candidate -> time) before every POST, and a resumed run looks for the
intents' alphas among the account's alphas created since then (`GET /users/self/alphas?dateCreated>=`,
brain.md §7.3) before it posts anything again.

Contract:
- `alphas_created_since(client, since)`: the account's alphas with `dateCreated >= since - SKEW_S`
  (`since` in POSIX seconds; the slack covers clock skew between this machine and the platform),
  newest first, at most `limit`.
- `match_alphas(items, listed)`: {item index: alpha id} for the items (expression, settings) whose
  code and settings equal a listed alpha's. Code compares with whitespace removed; settings compare on
  the keys the POST sent (`mapping.settings_payload`), strings case-insensitively (ISO durations
  without their zero parts), numbers as floats.
  Each listed alpha matches at most one item, the newest first. Pure.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from alphamine.brain.alpha_list import account_alphas
from alphamine.brain.client import BrainClient
from alphamine.brain.mapping import settings_payload
from alphamine.sim.settings import Settings

SKEW_S = 600.0
_DURATION = re.compile(r"^P(\d+[YMWD])+$")


def alphas_created_since(client: BrainClient, since: float, *, limit: int = 1000) -> Iterator[dict[str, Any]]:
    """The account's alphas created at or after `since - SKEW_S` (module doc)."""
    start = dt.datetime.fromtimestamp(since - SKEW_S, tz=dt.UTC).isoformat(timespec="seconds")
    return account_alphas(client, f"dateCreated%3E={quote(start, safe='')}&order=-dateCreated", limit=limit)


def _code(text: Any) -> str:
    return "".join(str(text).split())


def _text(value: str) -> str:
    """Upper-case, and an ISO duration without its zero parts (`P0Y0M0D` is `P0D`, `P1Y0M` is `P1Y`)."""
    text = value.strip().upper()
    if _DURATION.match(text):
        text = re.sub(r"(?<=[PYMWD])0+[YMWD]", "", text)
        return text if len(text) > 1 else "P0D"
    return text


def _same(sent: Any, listed: Any) -> bool:
    if isinstance(sent, bool) or isinstance(listed, bool):
        return str(sent).lower() == str(listed).lower()
    if isinstance(sent, int | float) and isinstance(listed, int | float):
        return math.isclose(float(sent), float(listed), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(sent, str) and isinstance(listed, str):
        return _text(sent) == _text(listed)
    return bool(sent == listed)


def _settings_match(sent: Mapping[str, Any], listed: Mapping[str, Any]) -> bool:
    return all(key in listed and _same(value, listed[key]) for key, value in sent.items())


def match_alphas(items: Sequence[tuple[str, Settings]], listed: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """{item index: alpha id} of the items a listed alpha simulated (module doc)."""
    wanted = [(_code(expression), settings_payload(settings)) for expression, settings in items]
    found: dict[int, str] = {}
    for alpha in listed:
        regular = alpha.get("regular")
        code = _code(regular.get("code", "") if isinstance(regular, Mapping) else regular or "")
        settings = alpha.get("settings")
        if not isinstance(settings, Mapping) or alpha.get("id") is None:
            continue
        for i, (expression, sent) in enumerate(wanted):
            if i not in found and expression == code and _settings_match(sent, settings):
                found[i] = str(alpha["id"])
                break
    return found
