"""``examples/hello_python`` end to end: the guide's example plugin, completed, for real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.plugins import EXAMPLES, RunningPlugin, running_plugin

from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
    hooks_common_pb2,
    post_pb2,
    user_pb2,
)
from mattermost_plugin._pb.pluginapi.v1 import hooks_command_pb2 as command_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin.host.fake_server import FakeMattermost, new_id

CONTEXT = hooks_common_pb2.PluginContext(session_id="sess-1", request_id="req-1")
ALICE = new_id()


def fake_with_alice() -> FakeMattermost:
    fake = FakeMattermost(plugin_id="com.example.hello-python")
    fake.users[ALICE] = user_pb2.User(id=ALICE, username="alice", email="alice@example.com")
    return fake


@pytest.fixture(scope="module")
def plugin() -> Iterator[RunningPlugin]:
    with running_plugin(EXAMPLES / "hello_python", fake=fake_with_alice()) as running:
        yield running


def execute(
    plugin: RunningPlugin, command: str, user_id: str = ALICE
) -> command_pb.ExecuteCommandResponse:
    args = api_remaining_pb2.CommandArgs(
        user_id=user_id,
        channel_id="chan-1",
        team_id="team-1",
        command=command,
        site_url="http://localhost:8065",
    )
    request = command_pb.ExecuteCommandRequest(plugin_context=CONTEXT, args=args)
    return plugin.call(request, command_pb.ExecuteCommandResponse)


def test_activation_registers_the_command(plugin: RunningPlugin) -> None:
    assert plugin.supervisor.implemented == [
        "OnActivate",
        "OnDeactivate",
        "MessageWillBePosted",
        "ExecuteCommand",
    ]
    assert plugin.wait_log("Hello Python plugin activated!").level == "info"
    assert plugin.wait_log("Server version: 10.5.0").level == "info"
    command = plugin.fake.commands[("", "hello")]
    assert command.trigger == "hello"
    assert command.auto_complete and command.auto_complete_hint == "[name]"
    assert command.description == "Say hello from Python"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("this contains a badword", "Message blocked"),
        ("BADWORD in capitals", "Message blocked"),
        ("hello everyone", ""),
    ],
)
def test_message_filter(plugin: RunningPlugin, message: str, reason: str) -> None:
    mark = plugin.mark()
    post = post_pb2.Post(id="post-1", channel_id="chan-1", user_id=ALICE, message=message)
    request = message_pb.MessageWillBePostedRequest(plugin_context=CONTEXT, post=post)
    response = plugin.call(request, message_pb.MessageWillBePostedResponse)
    assert response.rejection_reason == reason
    assert not response.HasField("modified_post")  # allowed posts go through untouched
    if reason:
        line = plugin.wait_log("Blocked a message", since=mark)
        assert (line.level, line.fields) == ("info", {"user_id": ALICE})


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("/hello Bob", "Hello, Bob! (from Python, asked by @alice)"),
        ("/hello", "Hello, world! (from Python, asked by @alice)"),
        ("/hello Ada Lovelace", "Hello, Ada Lovelace! (from Python, asked by @alice)"),
        ("/bonjour", "Unknown command"),
    ],
)
def test_hello_command(plugin: RunningPlugin, command: str, text: str) -> None:
    response = execute(plugin, command)
    assert not response.HasField("error")
    assert response.response.response_type == "ephemeral"
    assert response.response.text == text


def test_hello_command_logs_with_fields(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    execute(plugin, "/hello Bob")
    line = plugin.wait_log("Said hello", since=mark)
    assert (line.level, line.fields) == ("info", {"user": "alice"})


def test_hello_from_an_unknown_user_is_an_error(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    response = execute(plugin, "/hello Bob", user_id="nobody")
    assert not response.HasField("error")
    assert response.response.text == (
        "/hello failed: an error occurred in the plugin. It has been logged."
    )
    line = plugin.wait_log(lambda line: line.level == "error", since=mark)
    assert line.message.startswith(
        "hook ExecuteCommand: handler HelloPythonPlugin.execute_command failed: "
    )
    assert line.fields["error"].startswith("mattermost_plugin.errors.NotFoundError: ")
    assert plugin.supervisor.health_check()


def test_stop_logs_deactivation_and_levels_are_kept() -> None:
    with running_plugin(EXAMPLES / "hello_python", fake=fake_with_alice()) as running:
        execute(running, "/hello Bob")
    assert running.supervisor.returncode == 0
    seen = [(line.level, line.message) for line in running.supervisor.logs]
    assert seen == [
        ("info", "Hello Python plugin activated!"),
        ("info", "Server version: 10.5.0"),
        ("info", "Said hello"),
        ("info", "Hello Python plugin deactivated!"),
        ("info", "plugin stopping"),
    ]
