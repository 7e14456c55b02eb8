"""`match_alphas`: which listed alphas simulated which posted items (code and the settings sent)."""

from __future__ import annotations

from typing import Any

from alphamine.brain.mapping import settings_payload
from alphamine.brain.reconcile import match_alphas
from alphamine.sim.settings import make_settings

BASE = make_settings({"universe": "TOP40"})


def listed(alpha_id: str, code: str, **settings: Any) -> dict[str, Any]:
    """An alpha as the platform lists it: every setting echoed (upper-case enums), plus keys we never send."""
    echoed = {k: v.upper() if isinstance(v, str) else v for k, v in settings_payload(BASE).items()}
    return {"id": alpha_id, "regular": {"code": code, "operatorCount": 2},
            "settings": {**echoed, "visualization": False, "testPeriod": "P0D", **settings}}  # fmt: skip


def test_code_and_sent_settings_decide() -> None:
    items = [("rank(close)", BASE), ("rank(close)", BASE.with_(decay=4)), ("-rank(open)", BASE)]
    alphas = [
        listed("a-decay4", "rank( close )", decay=4),
        listed("a-other-universe", "-rank(open)", universe="TOP20"),
        listed("a-plain", "rank(close)"),
        listed("a-open", " -rank(open)\n"),
    ]
    assert match_alphas(items, alphas) == {0: "a-plain", 1: "a-decay4", 2: "a-open"}


def test_each_alpha_matches_once_and_unknown_items_stay_unmatched() -> None:
    items = [("rank(close)", BASE), ("rank(close)", BASE), ("rank(high)", BASE)]
    assert match_alphas(items, [listed("only", "rank(close)")]) == {0: "only"}
    assert match_alphas(items, []) == {}
    assert match_alphas(items, [{"id": "x", "regular": "rank(high)", "settings": None}]) == {}


def test_numbers_compare_as_numbers_and_strings_ignore_case() -> None:
    item = [("rank(close)", BASE.with_(truncation=0.05, neutralization="SECTOR"))]
    assert match_alphas(item, [listed("a", "rank(close)", truncation=0.05000000000000001, neutralization="sector")])
    assert not match_alphas(item, [listed("b", "rank(close)", truncation=0.06, neutralization="SECTOR")])
