"""The settings model drives the manifest: `manifest` writes settings_schema, `validate`
fails while they disagree (naming the setting), `bundle` packs the model's schema."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import yaml
from tests.support.cli import run_cli, write_plugin

SETTINGS_PLUGIN = """\
from typing import Literal

from pydantic import BaseModel, SecretStr

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.settings import setting


class Settings(BaseModel):
    \"\"\"Configure the filter.\"\"\"

    enabled: bool = True
    max_links: int = setting(3, display_name="Maximum links")
    api_key: SecretStr = SecretStr("")
    mode: Literal["strict", "lenient"] = "strict"


class MyPlugin(Plugin[Settings]):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.logger.info("activated", extra={"enabled": self.settings.enabled})


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(MyPlugin)
"""


def test_manifest_writes_and_validate_agrees(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p", SETTINGS_PLUGIN, {"homepage_url": "https://x.example"})
    before = run_cli("validate", plugin)
    assert before.exit_code == 1
    assert "there is no settings_schema; `mattermost-plugin manifest` writes it" in before.output

    assert run_cli("manifest", plugin, "--check").exit_code == 1
    written = run_cli("manifest", plugin)
    assert written.exit_code == 0, written.stdout + written.stderr
    assert "wrote settings_schema (4 settings" in written.output
    data = json.loads((plugin / "plugin.json").read_text())
    assert data["homepage_url"] == "https://x.example"  # everything else is kept
    assert data["settings_schema"]["header"] == "Configure the filter."
    keys = [(s["key"], s["type"]) for s in data["settings_schema"]["settings"]]
    assert keys == [
        ("enabled", "bool"),
        ("max_links", "number"),
        ("api_key", "text"),
        ("mode", "dropdown"),
    ]
    assert data["settings_schema"]["settings"][2]["secret"] is True

    assert run_cli("validate", plugin).exit_code == 0
    assert "up to date" in run_cli("manifest", plugin).output

    # An edit by hand that disagrees with the model: validate names the setting.
    data["settings_schema"]["settings"][1]["default"] = 5
    (plugin / "plugin.json").write_text(json.dumps(data))
    stale = run_cli("validate", plugin)
    assert stale.exit_code == 1
    assert "setting 'max_links': default is 5, the model says 3" in stale.output


def test_manifest_keeps_yaml(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p", SETTINGS_PLUGIN)
    data = json.loads((plugin / "plugin.json").read_text())
    (plugin / "plugin.json").unlink()
    (plugin / "plugin.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert run_cli("manifest", plugin).exit_code == 0
    written = yaml.safe_load((plugin / "plugin.yaml").read_text())
    assert written["id"] == data["id"]
    assert next(s["key"] for s in written["settings_schema"]["settings"]) == "enabled"


def test_a_model_the_console_cannot_show_is_an_error(tmp_path: Path) -> None:
    source = SETTINGS_PLUGIN.replace(
        'mode: Literal["strict", "lenient"] = "strict"', "tags: list[str] = []"
    )
    plugin = write_plugin(tmp_path / "p", source)
    result = run_cli("validate", plugin)
    assert result.exit_code == 1
    assert "setting 'tags' has type list" in result.output


def test_no_settings_model_nothing_to_write(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p")
    result = run_cli("manifest", plugin)
    assert result.exit_code == 0
    assert "declares no settings model" in result.output


def test_bundle_packs_the_models_schema(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p", SETTINGS_PLUGIN)  # no settings_schema written yet
    result = run_cli("bundle", plugin, "--mode", "system", "-o", tmp_path / "dist", "-q")
    assert result.exit_code == 0, result.stdout + result.stderr
    with tarfile.open(result.stdout.strip()) as tar:
        member = tar.extractfile("com.example.checked/plugin.json")
        assert member is not None
        packed = json.loads(member.read())
    assert [s["key"] for s in packed["settings_schema"]["settings"]] == [
        "enabled",
        "max_links",
        "api_key",
        "mode",
    ]
    assert "settings_schema" not in json.loads((plugin / "plugin.json").read_text())
