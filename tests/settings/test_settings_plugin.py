"""Typed settings through a real plugin subprocess: loaded before activation, reloaded on
every OnConfigurationChange, kept when invalid, one snapshot per hook call."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mattermost_plugin.host.supervisor import PluginStartError
from mattermost_plugin.testing import LocalMattermost, local_mattermost

PLUGIN = Path(__file__).parent / "plugins" / "typed"
pytestmark = pytest.mark.mattermost_plugin("plugins/typed", hook_timeout=10.0)


def report(mattermost: LocalMattermost, command: str = "/report") -> str:
    return mattermost.execute_command(command).text


@pytest.mark.mattermost_plugin(
    "plugins/typed",
    config={"ENABLED": False, "max_links": "7", "Ratio": 1.25, "api_key": "s3cr3t"},
)
def test_settings_load_before_activation_with_keys_in_any_case(
    mattermost: LocalMattermost,
) -> None:
    # Keys match case-insensitively; "7" validates as 7; missing keys take the defaults.
    assert report(mattermost) == (
        "enabled=False max_links=7 ratio=1.25 mode=strict level=low key=s3cr3t"
    )
    assert report(mattermost, "/changes") == "None->7"


def test_reload_on_configuration_change(mattermost: LocalMattermost) -> None:
    assert "max_links=3" in report(mattermost)  # the model's defaults, with no config at all
    mark = len(mattermost.logs)
    mattermost.set_plugin_config({"max_links": 5, "mode": "lenient", "level": "high"})
    assert report(mattermost).startswith(
        "enabled=True max_links=5 ratio=0.5 mode=lenient level=high"
    )
    assert mattermost.wait_for_log("settings changed", since=mark).fields["max_links"] == 5


def test_saving_through_the_api_fires_configuration_change(mattermost: LocalMattermost) -> None:
    mark = len(mattermost.logs)
    assert mattermost.execute_command("/save 11").text == "saved"
    assert mattermost.wait_for_log("settings changed", since=mark).fields["max_links"] == 11
    assert "max_links=11" in report(mattermost)


def test_the_schema_defaults_apply_as_on_the_server(tmp_path: Path) -> None:
    import json
    import shutil

    folder = Path(shutil.copytree(PLUGIN, tmp_path / "typed"))
    manifest = json.loads((folder / "plugin.json").read_text())
    manifest["settings_schema"] = {
        "settings": [{"key": "Max_Links", "type": "number", "default": 8}]
    }
    (folder / "plugin.json").write_text(json.dumps(manifest))
    with local_mattermost(folder, hook_timeout=10) as mm:
        assert mm.api.get_plugin_config() == {"Max_Links": 8}
        assert "max_links=8" in report(mm)
        mm.set_plugin_config({"max_links": 2})  # a key that is set wins over the default
        assert mm.api.get_plugin_config() == {"max_links": 2}


def test_invalid_settings_keep_the_last_good_ones_and_never_log_values(
    mattermost: LocalMattermost,
) -> None:
    mattermost.set_plugin_config({"max_links": 4, "api_key": "hunter2"})
    mark = len(mattermost.logs)
    mattermost.set_plugin_config({"max_links": "many", "mode": "loud", "api_key": "hunter3"})
    assert report(mattermost) == (
        "enabled=True max_links=4 ratio=0.5 mode=strict level=low key=hunter2"
    )
    error = mattermost.wait_for_log(lambda r: r.level == "error", since=mark)
    assert "max_links: Input should be a valid integer" in error.message
    assert "mode: Input should be 'strict' or 'lenient'" in error.message
    assert "keeping the last good settings" in error.message
    invalid = mattermost.wait_for_log("settings invalid", since=mark)
    assert invalid.fields["fields"] == ["max_links", "mode"]
    assert not any("many" in str(r) or "hunter" in str(r) for r in mattermost.logs)


def test_no_valid_settings_yet_still_activates(tmp_path: Path) -> None:
    with local_mattermost(PLUGIN, plugin_config={"max_links": "x"}, hook_timeout=10) as mm:
        text = report(mm)
        assert text.startswith("error: invalid settings: max_links: Input should be a valid")
        mm.set_plugin_config({"max_links": 2})
        assert "max_links=2" in report(mm)


def test_settings_required_fails_activation() -> None:
    with (
        pytest.raises(PluginStartError, match="max_links: Input should be a valid integer"),
        local_mattermost(
            PLUGIN,
            plugin_config={"max_links": "x"},
            env={"SETTINGS_REQUIRED": "1"},
            hook_timeout=10,
        ),
    ):
        pass


def test_an_invalid_admin_save_is_rejected(mattermost: LocalMattermost) -> None:
    from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2 as lifecycle_pb

    plugins = {mattermost.plugin_id: {"max_links": "lots"}}
    config = {"PluginSettings": {"Plugins": plugins}}
    import json

    answer = mattermost.call_hook(
        "ConfigurationWillBeSaved",
        lifecycle_pb.ConfigurationWillBeSavedRequest(
            new_config=lifecycle_pb.ConfigJson(config_json=json.dumps(config).encode())
        ),
    )
    assert "max_links: Input should be a valid integer" in answer.error.detailed_error
    plugins[mattermost.plugin_id] = {"max_links": 9}
    answer = mattermost.call_hook(
        "ConfigurationWillBeSaved",
        lifecycle_pb.ConfigurationWillBeSavedRequest(
            new_config=lifecycle_pb.ConfigJson(config_json=json.dumps(config).encode())
        ),
    )
    assert not answer.HasField("error")


def test_concurrent_readers_never_see_a_mixed_state(mattermost: LocalMattermost) -> None:
    stop = threading.Event()
    versions: list[int] = []

    def churn() -> None:
        while not stop.is_set():
            version = len(versions) + 1
            mattermost.set_plugin_config({"version": version, "version_twice": version * 2})
            versions.append(version)

    writer = threading.Thread(target=churn)
    writer.start()
    seen: set[str] = set()
    try:
        with ThreadPoolExecutor(50) as pool:
            # Rounds of 50 concurrent posts until the settings changed during several rounds.
            for _ in range(20):
                posts = list(
                    pool.map(lambda i: mattermost.create_post(None, f"read {i}"), range(50))
                )
                assert {p.message.split()[0] for p in posts} == {"mixed=0"}
                seen |= {p.message.split()[1] for p in posts}
                if len(seen) >= 3:
                    break
    finally:
        stop.set()
        writer.join()
    assert len(seen) >= 3, f"the settings changed too rarely to test anything: {seen}"
