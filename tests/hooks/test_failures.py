"""A handler that raises, hangs or returns the wrong type never takes the plugin down.

Each failure is answered by the hook's policy (content hooks fail open, UserWillLogIn fails
closed, error hooks report an AppError), logged with the hook, the handler and the cause,
and the process keeps serving: the next call works and health stays SERVING.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from tests.support.plugins import HOOK_PLUGINS, RunningPlugin, running_plugin

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
    file_pb2,
    hooks_common_pb2,
    hooks_pb2_grpc,
    post_pb2,
    user_pb2,
)
from mattermost_plugin._pb.pluginapi.v1 import hooks_command_pb2 as command_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2 as lifecycle_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_user_channel_pb2 as user_channel_pb
from mattermost_plugin.host.supervisor import LogLine
from mattermost_plugin.models import Post

GENERIC_REASON = "Rejected: a plugin could not process this request. Try again later."
CONTEXT = hooks_common_pb2.PluginContext(session_id="sess-1", request_id="req-1")
HANDLER = "FailuresPlugin"


@pytest.fixture(scope="module")
def plugin() -> Iterator[RunningPlugin]:
    env = {"MATTERMOST_PLUGIN_HOOK_TIMEOUT": "0.5"}
    with running_plugin(HOOK_PLUGINS / "failures", env=env) as running:
        running.fake.users["user-1"] = user_pb2.User(id="user-1", username="alice")
        yield running
        # Whatever the module did, the process is still the first one, and healthy.
        assert running.supervisor.restarts == 0
        assert running.supervisor.health_check()


def as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def failure(plugin: RunningPlugin, hook_name: str, method: str, since: int) -> LogLine:
    """The error line of a failed handler; checks it names hook and handler."""
    handler = f"{HANDLER}.{method}"
    line = plugin.wait_log(
        lambda line: line.level == "error" and line.message.startswith(f"hook {hook_name}:"),
        since=since,
    )
    assert line.message.startswith(f"hook {hook_name}: handler {handler} failed: ")
    assert line.fields["hook"] == hook_name and line.fields["handler"] == handler
    return line


def post_request(message: str) -> message_pb.MessageWillBePostedRequest:
    post = post_pb2.Post(id="post-1", channel_id="chan-1", user_id="user-1", message=message)
    return message_pb.MessageWillBePostedRequest(plugin_context=CONTEXT, post=post)


def assert_still_serving(plugin: RunningPlugin) -> None:
    response = plugin.call(post_request("hello"), message_pb.MessageWillBePostedResponse)
    assert response.modified_post.message == "hello!"
    assert plugin.supervisor.health_check()
    assert plugin.supervisor.returncode is None


def login(plugin: RunningPlugin, username: str) -> str:
    request = user_channel_pb.UserWillLogInRequest(
        plugin_context=CONTEXT, user=user_pb2.User(id="u9", username=username)
    )
    response = plugin.call(request, user_channel_pb.UserWillLogInResponse)
    return response.rejection_reason


def command(plugin: RunningPlugin, text: str) -> command_pb.ExecuteCommandResponse:
    args = api_remaining_pb2.CommandArgs(user_id="user-1", channel_id="chan-1", command=text)
    request = command_pb.ExecuteCommandRequest(plugin_context=CONTEXT, args=args)
    return plugin.call(request, command_pb.ExecuteCommandResponse)


# --- content hooks fail open -------------------------------------------------------------


def test_raising_message_filter_fails_open(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    response = plugin.call(post_request("raise"), message_pb.MessageWillBePostedResponse)
    assert as_dict(response) == {}  # no rejection, no modification: the post goes through
    line = failure(plugin, "MessageWillBePosted", "message_will_be_posted", mark)
    assert line.message.endswith("failed: the filter exploded")
    assert line.fields["error"] == "ValueError: the filter exploded"
    assert "raise ValueError" in line.fields["stacktrace"]
    assert_still_serving(plugin)


@pytest.mark.parametrize(
    ("message", "cause"), [("exit", "SystemExit: 3"), ("interrupt", "KeyboardInterrupt")]
)
def test_exiting_message_filter_fails_open_and_the_process_stays(
    plugin: RunningPlugin, message: str, cause: str
) -> None:
    mark = plugin.mark()
    response = plugin.call(post_request(message), message_pb.MessageWillBePostedResponse)
    assert as_dict(response) == {}
    line = failure(plugin, "MessageWillBePosted", "message_will_be_posted", mark)
    assert line.message.endswith(f"failed: {cause}")
    assert_still_serving(plugin)


def test_slow_message_filter_times_out_and_fails_open(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    started = time.monotonic()
    response = plugin.call(post_request("sleep"), message_pb.MessageWillBePostedResponse)
    assert time.monotonic() - started < 0.9  # answered at the 0.5 s hook timeout
    assert as_dict(response) == {}  # not the handler's late rejection
    line = failure(plugin, "MessageWillBePosted", "message_will_be_posted", mark)
    assert "did not finish within 0.5 s" in line.message
    assert_still_serving(plugin)
    late = plugin.wait_log(lambda line: "past its timeout" in line.message, since=mark)
    assert late.level == "warn"
    assert late.message.startswith(
        f"hook MessageWillBePosted: handler {HANDLER}.message_will_be_posted returned after 1."
    )


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("wrong", "modified_post: expected Post or dict, got int"),
        ("wrong-reason", "rejection reason: expected str, got int"),
    ],
)
def test_message_filter_returning_the_wrong_type_fails_open(
    plugin: RunningPlugin, mode: str, cause: str
) -> None:
    mark = plugin.mark()
    response = plugin.call(post_request(mode), message_pb.MessageWillBePostedResponse)
    assert as_dict(response) == {}
    line = failure(plugin, "MessageWillBePosted", "message_will_be_posted", mark)
    assert line.message.endswith(f"failed: {cause}")
    assert_still_serving(plugin)


def test_other_content_hooks_fail_open(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    upload = message_pb.FileWillBeUploadedRequest(
        plugin_context=CONTEXT, file_info=file_pb2.FileInfo(name="a.exe"), file_content=b"MZ"
    )
    assert as_dict(plugin.call(upload, message_pb.FileWillBeUploadedResponse)) == {}
    line = failure(plugin, "FileWillBeUploaded", "file_will_be_uploaded", mark)
    assert line.message.endswith("failed: virus scanner unreachable")

    posts = [post_pb2.Post(id="p1", message="one"), post_pb2.Post(id="p2", message="two")]
    consumed = plugin.call(
        message_pb.MessagesWillBeConsumedRequest(posts=posts),
        message_pb.MessagesWillBeConsumedResponse,
    )
    assert list(consumed.posts) == []  # an empty answer: the server delivers its originals
    failure(plugin, "MessagesWillBeConsumed", "messages_will_be_consumed", mark)

    config = lifecycle_pb.ConfigurationWillBeSavedRequest(
        new_config=lifecycle_pb.ConfigJson(config_json=json.dumps({"A": 1}).encode())
    )
    saved = plugin.call(config, lifecycle_pb.ConfigurationWillBeSavedResponse)
    assert as_dict(saved) == {}  # saved as it is
    line = failure(plugin, "ConfigurationWillBeSaved", "configuration_will_be_saved", mark)
    assert line.message.endswith("failed: modified_config: expected a dict, got list")


# --- UserWillLogIn fails closed ----------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "cause"),
    [
        ("raise", "directory unreachable"),
        ("sleep", "did not finish within 0.5 s"),
        ("wrong", "rejection_reason: expected str, got int"),
    ],
)
def test_failing_login_check_rejects_with_the_generic_reason(
    plugin: RunningPlugin, username: str, cause: str
) -> None:
    mark = plugin.mark()
    assert login(plugin, username) == GENERIC_REASON
    line = failure(plugin, "UserWillLogIn", "user_will_log_in", mark)
    assert cause in line.message
    assert login(plugin, "alice") == ""
    if username == "sleep":  # let the thread come back before the next test
        plugin.wait_log(lambda line: "past its timeout" in line.message, since=mark)


# --- value and void hooks ----------------------------------------------------------------


def test_value_hooks_report_errors(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    retention = plugin.call(
        lifecycle_pb.RunDataRetentionRequest(now_time=1, batch_size=10),
        lifecycle_pb.RunDataRetentionResponse,
    )
    assert retention.error.message == "deleted_count: expected int, got list"
    assert retention.deleted_count == 0
    failure(plugin, "RunDataRetention", "run_data_retention", mark)

    support = plugin.call(
        command_pb.GenerateSupportDataRequest(plugin_context=CONTEXT),
        command_pb.GenerateSupportDataResponse,
    )
    assert support.error.message == "cannot read the log folder"
    assert list(support.files) == []

    ping = plugin.call(
        command_pb.OnSharedChannelsPingRequest(remote_cluster=command_pb.RemoteCluster(name="r")),
        command_pb.OnSharedChannelsPingResponse,
    )
    assert ping.healthy is False  # a ping that fails is not healthy
    line = failure(plugin, "OnSharedChannelsPing", "on_shared_channels_ping", mark)
    assert line.message.endswith("failed: remote did not answer")


def test_void_hook_failure_is_only_logged(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    request = message_pb.MessageHasBeenPostedRequest(
        plugin_context=CONTEXT, post=post_pb2.Post(id="post-7", message="raise")
    )
    assert as_dict(plugin.call(request, message_pb.MessageHasBeenPostedResponse)) == {}
    line = failure(plugin, "MessageHasBeenPosted", "message_has_been_posted", mark)
    assert line.message.endswith("failed: 'post-7'")
    assert line.fields["error"] == "KeyError: 'post-7'"
    assert_still_serving(plugin)


# --- async handlers ----------------------------------------------------------------------


def test_async_handler_uses_the_async_api(plugin: RunningPlugin) -> None:
    response = command(plugin, "/whoami")
    assert response.response.text == "you are @alice"
    assert not response.HasField("error")


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("/async-raise", "no such subcommand"),
        ("/async-sleep", "did not finish within 0.5 s"),
        ("/async-timeout-error", "upstream timed out"),
        ("/async-wrong", "response: expected CommandResponse or dict, got float"),
        ("/async-exit", "SystemExit: 0"),
    ],
)
def test_async_handler_failures_are_contained(plugin: RunningPlugin, text: str, cause: str) -> None:
    mark = plugin.mark()
    started = time.monotonic()
    response = command(plugin, text)
    assert time.monotonic() - started < 0.9
    # The user gets words, not a bare error id; the cause is in the plugin's log.
    assert not response.HasField("error")
    assert response.response.response_type == "ephemeral"
    assert response.response.text == (
        f"{text} failed: an error occurred in the plugin. It has been logged."
    )
    line = failure(plugin, "ExecuteCommand", "execute_command", mark)
    assert line.message.endswith(f"failed: {cause}")
    assert command(plugin, "/whoami").response.text == "you are @alice"
    assert_still_serving(plugin)


@pytest.mark.parametrize("message", ["raise", "sleep"])
def test_async_content_hook_fails_open(plugin: RunningPlugin, message: str) -> None:
    mark = plugin.mark()
    request = message_pb.NotificationWillBePushedRequest(
        push_notification=api_remaining_pb2.PushNotification(message=message), user_id="u1"
    )
    response = plugin.call(request, message_pb.NotificationWillBePushedResponse)
    assert as_dict(response) == {}
    failure(plugin, "NotificationWillBePushed", "notification_will_be_pushed", mark)


# --- all hook threads stuck --------------------------------------------------------------


def test_stuck_threads_are_reported_and_async_work_goes_on(plugin: RunningPlugin) -> None:
    mark = plugin.mark()

    def posted(message: str) -> None:
        request = message_pb.MessageHasBeenPostedRequest(
            plugin_context=CONTEXT, post=post_pb2.Post(id=f"id-{message}", message=message)
        )
        plugin.call(request, message_pb.MessageHasBeenPostedResponse)

    stuck = [threading.Thread(target=posted, args=("stuck",)) for _ in range(2)]
    for thread in stuck:
        thread.start()
    for thread in stuck:
        thread.join(3)
    # Both threads of the pool are now held by handlers past their timeout.
    plugin.wait_logs(lambda line: "did not finish" in line.message, 2, mark)
    started = time.monotonic()
    posted("quick")  # a sync handler has no thread to run in: it waits, then times out
    assert time.monotonic() - started < 0.9
    busy = plugin.wait_log(lambda line: "all 2 hook threads are busy" in line.message, mark)
    assert busy.level == "warn"
    assert busy.message == (
        "all 2 hook threads are busy (2 past their timeout); MessageHasBeenPosted waits for one"
    )
    # It never got a thread, so it is not run at all, and the log says why.
    not_run = plugin.wait_log(lambda line: "not run" in line.message, mark)
    assert not_run.message.endswith(
        "failed: not run: no hook thread was free within 0.5 s (2 of 2 busy)"
    )

    # Meanwhile the event loop is free: async handlers, Implemented and health answer.
    started = time.monotonic()
    assert command(plugin, "/whoami").response.text == "you are @alice"
    stub = hooks_pb2_grpc.PluginHooksStub(plugin.supervisor.channel)
    assert "ExecuteCommand" in stub.Implemented(lifecycle_pb.ImplementedRequest(), timeout=2).hooks
    assert plugin.supervisor.health_check()
    assert time.monotonic() - started < 0.5

    # When the handlers finally return, that is logged too, and the threads are back.
    late = plugin.wait_logs(lambda line: "past its timeout" in line.message, 2, mark)
    handler = f"{HANDLER}.message_has_been_posted"
    assert all(
        line.message.startswith(f"hook MessageHasBeenPosted: handler {handler} returned after ")
        for line in late
    )
    assert plugin.wait_log("post seen", since=mark).fields == {"post_id": "id-stuck"}
    assert_still_serving(plugin)


# --- a plugin that changes the policy ----------------------------------------------------


def test_overridden_failure_policy() -> None:
    with running_plugin(HOOK_PLUGINS / "failures_custom") as strict:
        reason = "Blocked: the compliance filter is unavailable"
        posted = strict.call(post_request("raise"), message_pb.MessageWillBePostedResponse)
        assert as_dict(posted) == {"rejection_reason": reason}  # fails closed now
        upload = message_pb.FileWillBeUploadedRequest(
            plugin_context=CONTEXT, file_info=file_pb2.FileInfo(name="a"), file_content=b"x"
        )
        uploaded = strict.call(upload, message_pb.FileWillBeUploadedResponse)
        assert as_dict(uploaded) == {"rejection_reason": reason}
        assert login(strict, "anyone") == ""  # UserWillLogIn is no longer fail-closed

        # hook_timeout = 0.3 on the class, with no environment variable
        mark = strict.mark()
        started = time.monotonic()
        slow = strict.call(post_request("sleep"), message_pb.MessageWillBePostedResponse)
        assert time.monotonic() - started < 0.55
        assert as_dict(slow) == {"rejection_reason": reason}
        # Match the line itself: an earlier hook's error line may still be on its way.
        line = strict.wait_log(lambda line: "did not finish within" in line.message, since=mark)
        assert line.level == "error" and "did not finish within 0.3 s" in line.message
        fine = strict.call(post_request("fine"), message_pb.MessageWillBePostedResponse)
        assert as_dict(fine) == {}
        strict.wait_log(lambda line: "past its timeout" in line.message, since=mark)


# --- mistakes caught when the class is defined (in process) ------------------------------


def test_unknown_hook_name_suggests_the_right_one() -> None:
    suggestion = r"unknown hook 'OnActivte'; did you mean OnActivate or OnDeactivate\?"
    with pytest.raises(ValueError, match=suggestion):

        class Typo(Plugin):
            @hook("OnActivte")
            def on_activate(self) -> None:
                pass


def test_unknown_hook_name_without_a_close_match() -> None:
    with pytest.raises(ValueError, match=r"unknown hook 'Frobnicate' \(see HookName for the 41"):
        hook("Frobnicate")


def test_serve_metrics_is_explained() -> None:
    with pytest.raises(ValueError, match="ServeMetrics is not available to Python plugins"):

        class Metrics(Plugin):
            @hook("ServeMetrics")
            def serve_metrics(self, context: object, request: object) -> None:
                pass


def test_two_handlers_for_one_hook() -> None:
    with pytest.raises(
        TypeError,
        match="Twice has two handlers for OnActivate: first and second; a plugin has one "
        "handler per hook",
    ):

        class Twice(Plugin):
            @hook(HookName.OnActivate)
            def first(self) -> None:
                pass

            @hook("OnActivate")
            def second(self) -> None:
                pass


def test_one_function_for_two_hooks() -> None:
    with pytest.raises(TypeError, match="is already the handler of OnActivate"):

        class Both(Plugin):
            @hook(HookName.OnDeactivate)
            @hook(HookName.OnActivate)
            def lifecycle(self) -> None:
                pass


@pytest.mark.parametrize(
    ("hook_name", "expected"),
    [
        (HookName.MessageWillBePosted, "(self, context, post)"),
        (HookName.OnActivate, "(self)"),
        (HookName.UserHasJoinedChannel, "(self, context, channel_member, actor)"),
    ],
)
def test_wrong_arity(hook_name: HookName, expected: str) -> None:
    with pytest.raises(TypeError) as info:

        class Arity(Plugin):
            @hook(hook_name)
            def handler(self, only_one: Post) -> None:
                pass

    message = str(info.value)
    assert message.startswith(f"Arity.handler handles {hook_name.value}, which passes ")
    assert message.endswith(f"define it as {expected}")


def test_flexible_signatures_and_inheritance_are_accepted() -> None:
    class Base(Plugin):
        @hook(HookName.MessageWillBePosted)
        def filter(self, *args: object) -> None:
            pass

    class Child(Base):
        @hook(HookName.MessageWillBePosted)
        def stricter_filter(self, context: object, post: object, extra: int = 0) -> None:
            pass

    assert Base.__hook_handlers__ == {"MessageWillBePosted": "filter"}
    assert Child.__hook_handlers__ == {"MessageWillBePosted": "stricter_filter"}
    assert Child.implemented_hooks() == ["MessageWillBePosted"]


def test_a_plugin_is_built_without_a_server() -> None:
    """The guide's unit tests build ``MyPlugin()`` directly: no server, no connection."""

    class Standalone(Plugin):
        def __init__(self) -> None:
            self.ready = True

        @hook(HookName.MessageWillBePosted)
        def filter_message(self, context: object, post: Post) -> tuple[Post | None, str]:
            return (None, "spam") if "spam" in post.message else (post, "")

    plugin = Standalone()
    assert plugin.ready
    assert plugin.filter_message(None, Post(message="spam!")) == (None, "spam")
    plugin.logger.info("a default logger exists before run_plugin sets one")
    with pytest.raises(AttributeError, match="not connected: run_plugin"):
        _ = plugin.api
