"""The server's config patch (``PUT /api/v4/config/patch``) on the local server: merged over
the configuration, refused by ``ConfigurationWillBeSaved``, applied by
``OnConfigurationChange``, answered sanitized (tests/settings/plugins/typed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mattermost_plugin.host._config_patch import (
    FAKE_SETTING,
    merge_config,
    plugin_settings_patch,
    sanitized_config,
)
from mattermost_plugin.host.fake_server import FakeAppError, default_config
from mattermost_plugin.testing import LocalMattermost, local_mattermost

PLUGIN = Path(__file__).parent / "plugins" / "typed"
pytestmark = pytest.mark.mattermost_plugin("plugins/typed", hook_timeout=10.0)


def report(mattermost: LocalMattermost) -> str:
    return mattermost.execute_command("/report").text


def test_a_patch_is_applied_before_it_returns(mattermost: LocalMattermost) -> None:
    mattermost.set_plugin_config({"mode": "lenient"})
    config = mattermost.patch_config(plugin_settings_patch(mattermost.plugin_id, {"max_links": 9}))
    assert config["PluginSettings"]["Plugins"][mattermost.plugin_id] == {
        "mode": "lenient",  # merged: the other settings stay
        "max_links": 9,
    }
    assert config["TeamSettings"]["SiteName"] == "Mattermost"  # the whole config
    assert "max_links=9 ratio=0.5 mode=lenient" in report(mattermost)


def test_the_plugin_can_refuse_a_patch(mattermost: LocalMattermost) -> None:
    before = mattermost.get_config()
    with pytest.raises(FakeAppError) as refused:
        mattermost.patch_config(plugin_settings_patch(mattermost.plugin_id, {"max_links": "lots"}))
    assert refused.value.status_code == 400
    assert refused.value.error_id == "app.save_config.plugin_hook_error"
    assert "max_links: Input should be a valid integer" in refused.value.message
    assert mattermost.get_config() == before
    assert "max_links=3" in report(mattermost)


def test_secrets_are_shown_fake_and_kept_when_sent_back(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(PLUGIN, tmp_path / "typed"))
    manifest = json.loads((folder / "plugin.json").read_text())
    manifest["settings_schema"] = {"settings": [{"key": "api_key", "type": "text", "secret": True}]}
    (folder / "plugin.json").write_text(json.dumps(manifest))
    with local_mattermost(folder, plugin_config={"api_key": "s3cr3t"}, hook_timeout=10) as mm:
        shown = mm.get_config()["PluginSettings"]["Plugins"][mm.plugin_id]
        assert shown == {"api_key": FAKE_SETTING}
        # A config read from the API, changed and sent back whole, keeps the secret.
        shown["max_links"] = 4
        mm.patch_config(plugin_settings_patch(mm.plugin_id, shown))
        assert report(mm).endswith("max_links=4 ratio=0.5 mode=strict level=low key=s3cr3t")


def test_a_patch_of_the_wrong_shape_is_refused(mattermost: LocalMattermost) -> None:
    with pytest.raises(FakeAppError) as refused:
        mattermost.patch_config({"TeamSettings": "big"})
    assert refused.value.status_code == 400
    assert refused.value.message == "TeamSettings: expected an object"


def test_merge_rules() -> None:
    current: dict[str, Any] = {
        "ServiceSettings": {"SiteURL": "http://a", "EnableDeveloper": True},
        "PluginSettings": {"Plugins": {"p": {"max_links": 3, "token": "t0ken"}}},
        "List": [1, 2],
    }
    patch = {
        "servicesettings": {"siteurl": "http://b", "EnableDeveloper": None},
        "PluginSettings": {"Plugins": {"p": {"MAX_LINKS": 5, "token": FAKE_SETTING}, "q": {}}},
        "List": [3],
        "New": {"x": 1},
    }
    merged = merge_config(current, patch)
    assert merged == {
        "ServiceSettings": {"SiteURL": "http://b", "EnableDeveloper": True},
        "PluginSettings": {"Plugins": {"p": {"max_links": 5, "token": "t0ken"}, "q": {}}},
        "List": [3],
        "New": {"x": 1},
    }
    assert current["ServiceSettings"]["SiteURL"] == "http://a"  # inputs unchanged
    patch["New"]["x"] = 2
    assert merged["New"] == {"x": 1}


def test_sanitizing_hides_secrets_only() -> None:
    config = {
        "EmailSettings": {"SMTPPassword": "pw", "SMTPUsername": "ada", "PushServer": ""},
        "PluginSettings": {"Plugins": {"p": {"Webhook": "https://x", "other": "y", "n": ""}}},
    }
    shown = sanitized_config(config, "p", ["webhook", "n"])
    assert shown == {
        "EmailSettings": {"SMTPPassword": FAKE_SETTING, "SMTPUsername": "ada", "PushServer": ""},
        "PluginSettings": {"Plugins": {"p": {"Webhook": FAKE_SETTING, "other": "y", "n": ""}}},
    }
    assert config["EmailSettings"]["SMTPPassword"] == "pw"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), _JSON, max_size=3))
def test_an_empty_patch_and_a_config_patched_with_itself_change_nothing(
    values: dict[str, Any],
) -> None:
    config = {**default_config(), "Extra": values}
    assert merge_config(config, {}) == config
    assert merge_config(config, config) == config
