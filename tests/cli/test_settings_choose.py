"""`alphamine settings choose`: pick a preset by number, get its settings and the run command."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from alphamine.cli.main import app
from alphamine.pipeline.presets import BUILTIN_PRESETS, PLATFORM_PRESETS, resolve_settings

runner = CliRunner()


def _number_of(name: str) -> int:
    return sorted(BUILTIN_PRESETS).index(name) + 1


def test_choose_prints_the_command_only(tmp_path) -> None:
    res = runner.invoke(
        app,
        ["settings", "choose", "--print-command", "--runtime-root", str(tmp_path)],
        input=f"{_number_of('glb_top3000_market')}\n",
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == "alphamine run --backend brain --preset glb_top3000_market --dataset <dataset id>"


def test_choose_shows_settings_and_command_for_local_presets(tmp_path) -> None:
    res = runner.invoke(
        app, ["settings", "choose", "--runtime-root", str(tmp_path)], input=f"{_number_of('sample_top100_sector')}\n"
    )
    assert res.exit_code == 0, res.output
    assert "run it with: alphamine run --preset sample_top100_sector" in res.stdout
    assert '"neutralization": "SECTOR"' in res.stdout


def test_choose_rejects_a_bad_number(tmp_path) -> None:
    res = runner.invoke(app, ["settings", "choose", "--runtime-root", str(tmp_path)], input="99\n")
    assert res.exit_code == 2 and "choose a number" in res.output


def test_platform_presets_are_valid_settings_for_their_regions(tmp_path) -> None:
    for name in PLATFORM_PRESETS:
        s = resolve_settings(tmp_path, name, {})
        assert s.region in ("USA", "EUR", "GLB") and s.universe.startswith("TOP")
    assert json.dumps(sorted(PLATFORM_PRESETS)) and set(BUILTIN_PRESETS) >= PLATFORM_PRESETS
