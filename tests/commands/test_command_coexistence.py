"""``@command`` with a plugin's own handlers, after a failed activation, and through the dev
server's ``POST /api/v4/commands/execute`` (real subprocesses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.dev import copy_plugin, dev_server

from mattermost_plugin.testing import LocalMattermost, PluginStartError

PLUGINS = Path(__file__).parent / "plugins"


@pytest.mark.mattermost_plugin("plugins/mixed", hook_timeout=5.0)
def test_raw_handler_gets_the_triggers_commands_do_not_claim(mattermost: LocalMattermost) -> None:
    triggers = sorted(c.trigger for c in mattermost.api.list_plugin_commands(mattermost.team.id))
    assert triggers == ["legacy", "typed"]  # the plugin's own and the SDK's registrations
    assert mattermost.execute_command("/legacy one two").text == "raw: /legacy one two"
    assert mattermost.execute_command("/typed hello bob").text == "typed: hello bob"
    assert mattermost.execute_command("/typed hello").text == "typed: hello world"
    assert mattermost.execute_command("/typed").text.startswith("**/typed** commands:")


def test_no_registration_when_activation_fails() -> None:
    local = LocalMattermost(PLUGINS / "mixed", plugin_config={"fail": True}, hook_timeout=5.0)
    try:
        with pytest.raises(PluginStartError, match="refusing to start"):
            local.start()
        assert list(local.server.commands.items()) == []
    finally:
        local.stop()


def test_dev_server_runs_typed_commands(tmp_path: Path) -> None:
    folder = copy_plugin(PLUGINS / "todo", tmp_path / "todo")
    with dev_server(folder, "--in-memory") as dev:

        def execute(line: str) -> tuple[int, str]:
            answer = dev.request(
                "POST", "/api/v4/commands/execute", {"channel_id": "town-square", "command": line}
            )
            return answer.status, answer.json().get("text", "")

        assert execute("/todo add milk and honey") == (200, "Added #1: milk and honey (normal)")
        assert execute("/todo list") == (200, "1. milk and honey")
        status, text = execute("/todo done x")
        assert status == 200
        assert text.startswith('Invalid item: expected a whole number, got "x".')
        status, text = execute("/todo help")
        assert status == 200 and text.startswith("**/todo** commands:")
        dev.wait_output(r"hook\s+ExecuteCommand → /todo answered ephemeral")
