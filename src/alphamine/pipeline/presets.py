"""Settings presets: built-in ones for the bundled sample, personal ones in
`<runtime-root>/settings_presets.json`. Explicit flags override a preset."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alphamine.sim.settings import Settings, SettingsError, make_settings

PRESETS_FILE = "settings_presets.json"

BUILTIN_PRESETS: dict[str, dict[str, Any]] = {
    "sample_top500_industry": {
        "universe": "TOP500",
        "delay": 1,
        "decay": 4,
        "neutralization": "INDUSTRY",
        "truncation": 0.08,
    },
    "sample_top200_subindustry": {
        "universe": "TOP200",
        "delay": 1,
        "decay": 4,
        "neutralization": "SUBINDUSTRY",
        "truncation": 0.08,
    },
    "sample_top100_sector": {
        "universe": "TOP100",
        "delay": 1,
        "decay": 2,
        "neutralization": "SECTOR",
        "truncation": 0.1,
    },
    "sample_top500_market_d0": {
        "universe": "TOP500",
        "delay": 0,
        "decay": 0,
        "neutralization": "MARKET",
        "truncation": 0.08,
    },
    "brain_usa_top3000": {
        "region": "USA",
        "universe": "TOP3000",
        "delay": 1,
        "decay": 0,
        "neutralization": "INDUSTRY",
        "truncation": 0.08,
    },
    # The platform's regions (brain_agent's built-ins): for `alphamine run --backend brain`.
    "usa_top3000_industry": {
        "region": "USA",
        "universe": "TOP3000",
        "delay": 1,
        "decay": 4,
        "neutralization": "INDUSTRY",
        "truncation": 0.08,
    },
    "usa_top3000_subindustry": {
        "region": "USA",
        "universe": "TOP3000",
        "delay": 1,
        "decay": 4,
        "neutralization": "SUBINDUSTRY",
        "truncation": 0.08,
    },
    "eur_top2500_slow_fast": {
        "region": "EUR",
        "universe": "TOP2500",
        "delay": 1,
        "decay": 4,
        "neutralization": "SLOW_AND_FAST",
        "truncation": 0.08,
    },
    "glb_top3000_market": {
        "region": "GLB",
        "universe": "TOP3000",
        "delay": 1,
        "decay": 4,
        "neutralization": "MARKET",
        "truncation": 0.08,
    },
}
DEFAULT_PRESET = "sample_top500_industry"
PLATFORM_PRESETS = frozenset(
    {
        "brain_usa_top3000",
        "usa_top3000_industry",
        "usa_top3000_subindustry",
        "eur_top2500_slow_fast",
        "glb_top3000_market",
    }
)
"""Built-in presets for the BRAIN platform's own regions and universes (not the bundled sample's)."""


def preset_command(name: str, values: Mapping[str, Any], *, platform: bool) -> str:
    """The `alphamine run` command line that runs with preset `name` (on the platform when `platform`)."""
    if platform:
        return f"alphamine run --backend brain --preset {name} --dataset <dataset id>"
    return f"alphamine run --preset {name}"


class PresetError(ValueError):
    """Unknown preset or a malformed presets file (the message names the file and the problem)."""


def personal_presets(runtime_root: Path) -> dict[str, dict[str, Any]]:
    path = runtime_root / PRESETS_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise PresetError(f"{path}: cannot read presets ({e})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise PresetError(f"{path}: expected a JSON object of name -> settings object")
    for name, values in data.items():
        try:
            make_settings(values)
        except SettingsError as e:
            raise PresetError(f"{path}: preset {name!r}: {e}") from None
    return data


def all_presets(runtime_root: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (origin "built-in" | "personal", settings dict); personal presets shadow built-in ones."""
    out: dict[str, tuple[str, dict[str, Any]]] = {k: ("built-in", v) for k, v in BUILTIN_PRESETS.items()}
    out.update({k: ("personal", v) for k, v in personal_presets(runtime_root).items()})
    return out


def resolve_settings(runtime_root: Path, preset: str | None, overrides: Mapping[str, Any]) -> Settings:
    """The preset's settings with explicit overrides (None values ignored) applied on top."""
    presets = all_presets(runtime_root)
    name = preset or DEFAULT_PRESET
    if name not in presets:
        raise PresetError(f"unknown preset {name!r}; available: {', '.join(sorted(presets))}")
    base = dict(presets[name][1])
    base.update({k: v for k, v in overrides.items() if v is not None})
    return make_settings(base)


def save_personal_preset(runtime_root: Path, name: str, settings: Settings) -> Path:
    """Add or replace a personal preset (atomic write)."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise PresetError(f"preset names use letters, digits, '_' and '-': {name!r}")
    runtime_root.mkdir(parents=True, exist_ok=True)
    data = personal_presets(runtime_root)
    data[name] = settings.to_brain()
    path = runtime_root / PRESETS_FILE
    fd, tmp = tempfile.mkstemp(dir=runtime_root, prefix=".presets-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return path
