import json

import pytest

from alphamine.pipeline.presets import BUILTIN_PRESETS, PresetError, all_presets, resolve_settings, save_personal_preset


def test_builtin_presets_validate_and_flags_override(tmp_path) -> None:
    for name in BUILTIN_PRESETS:
        resolve_settings(tmp_path, name, {})
    s = resolve_settings(tmp_path, "sample_top200_subindustry", {"decay": 8, "universe": None})
    assert s.universe == "TOP200" and s.neutralization.value == "SUBINDUSTRY" and s.decay == 8


def test_personal_presets_round_trip_and_errors(tmp_path) -> None:
    s = resolve_settings(tmp_path, None, {"truncation": 0.05})
    save_personal_preset(tmp_path, "mine", s)
    assert all_presets(tmp_path)["mine"][0] == "personal"
    assert resolve_settings(tmp_path, "mine", {}).truncation == 0.05
    with pytest.raises(PresetError, match="unknown preset"):
        resolve_settings(tmp_path, "nope", {})
    (tmp_path / "settings_presets.json").write_text(json.dumps({"bad": {"neutralization": "X"}}))
    with pytest.raises(PresetError, match=r"settings_presets\.json.*bad"):
        all_presets(tmp_path)
