"""The user guide (docs: python-plugins.md), as written, run for real.

Every snippet of Getting Started, SDK Reference, Hook Reference, API Reference, Best
Practices and Example Plugin is a plugin folder under ``plugins/guide_*`` (the guide's code
unchanged, completed with the helpers it leaves undefined), started under the supervisor
against the fake server, and checked to behave as the guide says. The guide's own unit test
("Testing Your Plugin") runs in process, exactly as the guide shows it.
"""

from __future__ import annotations

import asyncio
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.plugins import HOOK_PLUGINS, RunningPlugin, fake_api, running_plugin

from mattermost_plugin import (
    AlreadyExistsError,
    AsyncPluginAPIClient,
    NotFoundError,
    PermissionDeniedError,
    PluginAPIError,
    UnavailableError,
    ValidationError,
)
from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_remaining_pb2,
    channel_pb2,
    hooks_common_pb2,
    post_pb2,
    user_pb2,
)
from mattermost_plugin._pb.pluginapi.v1 import hooks_command_pb2 as command_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2 as lifecycle_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_user_channel_pb2 as user_channel_pb
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.host.supervisor import PluginActivationError

CONTEXT = hooks_common_pb2.PluginContext(session_id="sess-1", request_id="req-1")
HANDSHAKE = re.compile(r"1\|1\|tcp\|127\.0\.0\.1:\d+\|grpc")


def guide(name: str) -> Path:
    return HOOK_PLUGINS / f"guide_{name}"


def post(message: str) -> post_pb2.Post:
    return post_pb2.Post(id="post-1", channel_id="chan-1", user_id="user-1", message=message)


# --- Getting Started ---------------------------------------------------------------------


def test_getting_started_project_layout() -> None:
    folder = guide("getting_started")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "plugin.json",
        "server/plugin.py",
        "server/requirements.txt",
    ]
    assert (folder / "server/requirements.txt").read_text() == "mattermost-plugin-sdk>=0.1.0\n"


def test_getting_started_plugin() -> None:
    with running_plugin(guide("getting_started")) as running:
        assert running.supervisor.implemented == ["OnActivate", "OnDeactivate"]
        assert running.wait_log("My plugin activated!").level == "info"
        assert running.wait_log("Server version: 10.5.0").level == "info"
    assert running.wait_log("My plugin deactivated!").level == "info"
    assert running.supervisor.returncode == 0


def test_started_by_hand_prints_a_note_and_the_handshake_and_waits() -> None:
    # Troubleshooting: "python3 server/plugin.py  # Should print gRPC handshake line and wait
    # for connections". With this interpreter, which has the SDK; no host environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIN_", "MATTERMOST_"))}
    folder = guide("getting_started")
    proc = subprocess.Popen(
        [sys.executable, "server/plugin.py"],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, "no handshake line within 10 s"
        assert HANDSHAKE.fullmatch(proc.stdout.readline().decode().rstrip("\n"))
        ready, _, _ = select.select([proc.stderr], [], [], 5)
        assert ready
        note = proc.stderr.readline().decode()
        assert "MATTERMOST_PLUGIN is not set" in note
        assert "not started by a Mattermost server" in note
        time.sleep(0.2)
        assert proc.poll() is None  # waiting for connections
    finally:
        proc.kill()
        proc.communicate()


# --- SDK Reference -----------------------------------------------------------------------


def test_plugin_base_class_alone() -> None:
    with running_plugin(guide("sdk_base")) as running:
        assert running.supervisor.implemented == []
        assert running.supervisor.health_check()
    assert running.supervisor.returncode == 0


def test_hook_decorator_with_enum_and_string_names() -> None:
    with running_plugin(guide("sdk_decorator")) as running:
        assert running.supervisor.implemented == ["OnActivate", "OnDeactivate"]
        response = running.call(
            lifecycle_pb.OnDeactivateRequest(), lifecycle_pb.OnDeactivateResponse
        )
        assert not response.HasField("error")


def test_api_client_access() -> None:
    fake = FakeMattermost(plugin_id="com.example.guide-sdk-api")
    fake.users["user-id"] = user_pb2.User(id="user-id", username="alice")
    fake.users["bot-user-id"] = user_pb2.User(id="bot-user-id", username="bot", is_bot=True)
    fake.channels["channel-id"] = channel_pb2.Channel(
        id="channel-id", type=channel_pb2.CHANNEL_TYPE_OPEN, name="town-square"
    )
    with running_plugin(guide("sdk_api"), fake=fake) as running:
        assert running.wait_log("User: alice").level == "info"
        (created,) = fake.posts.values()
        assert (created.channel_id, created.user_id, created.message) == (
            "channel-id",
            "bot-user-id",
            "Hello from Python!",
        )


def test_logger_access_and_logging_guidelines() -> None:
    # "Enable debug logging": the level comes from MATTERMOST_PLUGIN_LOG_LEVEL.
    env = {"MATTERMOST_PLUGIN_LOG_LEVEL": "debug"}
    with running_plugin(guide("logging"), env=env) as running:
        for level, message in [
            ("debug", "Debug message"),
            ("info", "Info message"),
            ("warn", "Warning message"),
            ("error", "Error message"),
        ]:
            assert running.wait_log(message).level == level
        mark = running.mark()
        request = message_pb.MessageHasBeenPostedRequest(plugin_context=CONTEXT, post=post("hi"))
        running.call(request, message_pb.MessageHasBeenPostedResponse)
        for level, message in [
            ("debug", "Processing message in channel chan-1"),
            ("info", "User user-1 action completed"),
            ("warn", "Rate limit approaching for user user-1"),
            ("error", "Failed to process webhook: the webhook answered 502"),
        ]:
            assert running.wait_log(message, since=mark).level == level


def test_debug_lines_are_dropped_at_the_default_level() -> None:
    with running_plugin(guide("logging")) as running:
        running.wait_log("Error message")
        assert running.find_logs("Debug message") == []
        assert running.wait_log("Info message").level == "info"


# --- Hook Reference ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def hook_reference() -> Iterator[RunningPlugin]:
    with running_plugin(guide("hook_reference")) as running:
        yield running


def test_lifecycle_hooks(hook_reference: RunningPlugin) -> None:
    assert hook_reference.wait_log("Plugin activated!").level == "info"
    mark = hook_reference.mark()
    response = hook_reference.call(
        lifecycle_pb.OnConfigurationChangeRequest(), lifecycle_pb.OnConfigurationChangeResponse
    )
    assert not response.HasField("error")
    assert hook_reference.wait_log("Configuration changed!", since=mark).level == "info"
    assert hook_reference.supervisor.implemented == [
        "OnActivate",
        "OnDeactivate",
        "OnConfigurationChange",
        "MessageWillBePosted",
        "UserWillLogIn",
        "UserHasJoinedChannel",
        "ExecuteCommand",
    ]


@pytest.mark.parametrize(
    ("message", "modified", "reason"),
    [
        ("Hello, world!", None, ""),  # allowed as it is: nothing sent back
        ("This is spam", None, "Message rejected: spam detected"),
        ("BUY NOW, cheap", None, "Message rejected: spam detected"),
        ("Oh darn, the build broke", "Oh ****, the build broke", ""),  # modified
    ],
)
def test_allow_reject_modify_pattern(
    hook_reference: RunningPlugin, message: str, modified: str | None, reason: str
) -> None:
    request = message_pb.MessageWillBePostedRequest(plugin_context=CONTEXT, post=post(message))
    response = hook_reference.call(request, message_pb.MessageWillBePostedResponse)
    assert response.rejection_reason == reason
    if modified is None:
        assert not response.HasField("modified_post")
    else:
        assert response.modified_post.message == modified
        assert response.modified_post.id == "post-1"
        assert response.modified_post.channel_id == "chan-1"
    if reason:
        assert "spam" in reason.lower()


@pytest.mark.parametrize(
    ("user_id", "reason"), [("blocked-user-id", "Login blocked by plugin"), ("user-1", "")]
)
def test_user_will_log_in(hook_reference: RunningPlugin, user_id: str, reason: str) -> None:
    request = user_channel_pb.UserWillLogInRequest(
        plugin_context=CONTEXT, user=user_pb2.User(id=user_id, username="someone")
    )
    response = hook_reference.call(request, user_channel_pb.UserWillLogInResponse)
    assert response.rejection_reason == reason


@pytest.mark.parametrize("actor", [user_pb2.User(id="admin-1", username="admin"), None])
def test_user_has_joined_channel(
    hook_reference: RunningPlugin, actor: user_pb2.User | None
) -> None:
    mark = hook_reference.mark()
    member = api_channel_post_pb2.ChannelMember(channel_id="chan-1", user_id="user-1")
    request = user_channel_pb.UserHasJoinedChannelRequest(
        plugin_context=CONTEXT, channel_member=member, actor=actor
    )
    hook_reference.call(request, user_channel_pb.UserHasJoinedChannelResponse)
    assert hook_reference.wait_log("User user-1 joined channel chan-1", since=mark).level == "info"


@pytest.mark.parametrize(
    ("command", "text"), [("/hello", "Hello from Python!"), ("/other", "Unknown command")]
)
def test_command_hook(hook_reference: RunningPlugin, command: str, text: str) -> None:
    args = api_remaining_pb2.CommandArgs(user_id="user-1", channel_id="chan-1", command=command)
    request = command_pb.ExecuteCommandRequest(plugin_context=CONTEXT, args=args)
    response = hook_reference.call(request, command_pb.ExecuteCommandResponse)
    assert not response.HasField("error")
    assert response.response.response_type == "ephemeral"
    assert response.response.text == text


# --- Best Practices: Testing Your Plugin (the guide's unit test, in process) ---------------


@pytest.fixture
def guide_project_on_path() -> Iterator[None]:
    """Make ``server.plugin`` the Hook Reference plugin, as in the guide's project layout."""
    folder = str(guide("hook_reference"))

    def forget() -> None:
        for name in [n for n in sys.modules if n == "server" or n.startswith("server.")]:
            del sys.modules[name]

    forget()
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.path.remove(folder)
        forget()


def test_message_filter(guide_project_on_path: None) -> None:
    from unittest.mock import MagicMock

    from server.plugin import MyPlugin  # type: ignore[import-not-found]

    plugin = MyPlugin()
    plugin.api = MagicMock()
    plugin.logger = MagicMock()

    # Test that spam is rejected
    post = MagicMock(message="This is spam")
    result, reason = plugin.filter_message(None, post)
    assert result is None
    assert "spam" in reason.lower()

    # Test that normal messages pass
    post = MagicMock(message="Hello, world!")
    result, reason = plugin.filter_message(None, post)
    assert result is not None
    assert reason == ""


# --- API Reference -----------------------------------------------------------------------


def test_api_error_handling_logs_user_not_found() -> None:
    with running_plugin(guide("api_errors")) as running:
        assert running.wait_log("User not found").level == "warn"
        assert running.find_logs(lambda line: line.level == "error") == []


def test_exception_hierarchy() -> None:
    for cls in (
        NotFoundError,
        PermissionDeniedError,
        ValidationError,
        AlreadyExistsError,
        UnavailableError,
    ):
        assert issubclass(cls, PluginAPIError)


def test_async_client(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeMattermost()
    fake.users["user-id"] = user_pb2.User(id="user-id", username="alice")
    with fake_api(fake) as (_, address):
        target = "localhost:" + address.rsplit(":", 1)[1]  # the guide's form of target

        async def async_operation() -> None:
            async with AsyncPluginAPIClient(target=target) as client:
                user = await client.get_user("user-id")
                print(f"User: {user.username}")

        asyncio.run(async_operation())
    assert capsys.readouterr().out == "User: alice\n"


# --- Best Practices ----------------------------------------------------------------------


def test_error_handling_reraise_fails_activation() -> None:
    with running_plugin(guide("error_handling"), start=False) as running:
        with pytest.raises(PluginActivationError, match="database_url is not configured"):
            running.supervisor.start()
        line = running.wait_log("Failed to initialize: database_url is not configured")
        assert line.level == "error"
        assert running.supervisor.state == "stopped"


def test_error_handling_activates_when_initialize_works() -> None:
    config = {"database_url": "sqlite:///plugin.db"}
    with running_plugin(guide("error_handling"), plugin_config=config) as running:
        assert running.wait_log("Initialized").fields == {"database_url": "sqlite:///plugin.db"}
        assert running.find_logs(lambda line: line.level == "error") == []


def test_resource_management_releases_on_deactivate() -> None:
    with running_plugin(guide("resources")) as running:
        deadline = time.monotonic() + 5
        while heartbeats(running.fake) < 2:
            assert time.monotonic() < deadline, "the background task never ran"
            time.sleep(0.02)
    messages = [line.message for line in running.supervisor.logs]
    cancelled = messages.index("background task cancelled")
    assert cancelled < messages.index("database connection closed")
    assert messages.index("database connection closed") < messages.index("plugin stopping")
    assert running.supervisor.logs[cancelled].fields["beats"] >= 2
    assert running.supervisor.returncode == 0


def heartbeats(fake: FakeMattermost) -> int:
    """What the plugin's background task last wrote to the KV store."""
    with fake._lock:
        entry = fake.kv.get("heartbeat")
        return int(entry.value) if entry is not None else 0


def test_configuration_loaded_and_reloaded() -> None:
    config = {"api_key": "key-1", "features": ["digest", "reminders"]}

    def shown(running: RunningPlugin) -> str:
        args = api_remaining_pb2.CommandArgs(user_id="u1", command="/config")
        request = command_pb.ExecuteCommandRequest(plugin_context=CONTEXT, args=args)
        response = running.call(request, command_pb.ExecuteCommandResponse)
        return response.response.text

    with running_plugin(guide("configuration"), plugin_config=config) as running:
        assert shown(running) == "api_key='key-1' features=['digest', 'reminders']"
        running.set_plugin_config({"api_key": "key-2"})
        running.call(
            lifecycle_pb.OnConfigurationChangeRequest(),
            lifecycle_pb.OnConfigurationChangeResponse,
        )
        assert shown(running) == "api_key='key-2' features=['digest', 'reminders']"


# --- Example Plugin ----------------------------------------------------------------------


def test_example_plugin() -> None:
    with running_plugin(guide("example")) as running:
        assert running.wait_log("Hello Python plugin activated!").level == "info"
        assert running.wait_log("Server version: 10.5.0").level == "info"
        for message, reason in [
            ("this has a badword in it", "Message blocked"),
            ("BadWord!", "Message blocked"),
            ("a perfectly fine message", ""),
        ]:
            request = message_pb.MessageWillBePostedRequest(
                plugin_context=CONTEXT, post=post(message)
            )
            response = running.call(request, message_pb.MessageWillBePostedResponse)
            assert response.rejection_reason == reason
            assert not response.HasField("modified_post")
