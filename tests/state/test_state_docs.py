"""The examples of docs/state.md, run against the fake Mattermost over real gRPC."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mattermost_plugin import PluginAPIClient
from mattermost_plugin.host.fake_server import FakeMattermost

DOC = (Path(__file__).resolve().parents[2] / "docs" / "state.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)


def example(containing: str) -> dict[str, Any]:
    (code,) = [block for block in BLOCKS if containing in block]
    namespace: dict[str, Any] = {"__name__": "state_doc_example"}
    exec(compile(code, "docs/state.md", "exec"), namespace)
    return namespace


def test_the_todo_example(api: PluginAPIClient) -> None:
    found = example("class TodoPlugin")
    plugin = found["TodoPlugin"]()
    plugin.api = api
    plugin.on_activate()
    plugin.add("t1", "milk")
    assert plugin.finish("t1") == found["Todo"](title="milk", done=True)
    assert api.kv_get("todos:t1") == b'{"title":"milk","done":true}'
    with pytest.raises(KeyError):
        plugin.finish("t2")


def test_the_cache_example(api: PluginAPIClient, fake: FakeMattermost) -> None:
    found = example("class CachingPlugin")
    plugin = found["CachingPlugin"]()
    plugin.api = api
    plugin.on_activate()
    plugin.cache.update({"a": "1", "b": "2", "c": "3"})
    plugin.forget(["a"])
    assert [(e.event.id, e.event.data) for e in fake.cluster_events] == [
        ("cache-invalidate", b'{"keys":["a"]}')
    ]
    plugin.on_invalidate(found["Invalidate"](keys=["b"]))  # what another node's event does
    assert plugin.cache == {"c": "3"}
    assert "OnPluginClusterEvent" in found["CachingPlugin"].implemented_hooks()


def test_the_bot_example(
    api: PluginAPIClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (code,) = [block for block in BLOCKS if "self.ensure_bot(" in block]
    icon = Path(__file__).parent / "plugins" / "state" / "assets" / "icon.png"
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "icon.png").write_bytes(icon.read_bytes())
    monkeypatch.setenv("MATTERMOST_PLUGIN_PATH", str(tmp_path))
    module = "from mattermost_plugin import HookName, Plugin, hook\n\nclass BotPlugin(Plugin):\n"
    module += "".join(f"    {line}\n" if line else "\n" for line in code.splitlines())
    namespace: dict[str, Any] = {}
    exec(compile(module, "docs/state.md", "exec"), namespace)
    plugin = namespace["BotPlugin"]()
    plugin.api = api
    plugin.on_activate()
    bot = api.get_bot(plugin.bot_id)
    assert (bot.username, bot.display_name) == ("todo", "Todo")
