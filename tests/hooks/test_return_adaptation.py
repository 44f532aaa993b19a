"""What a handler returns → what the server gets, for every response kind (PROTOCOL §3).

``plugins/returns`` picks its return value from the request (or, for hooks without a
payload, from its settings in the fake server), so one running process covers every form.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from tests.support.plugins import HOOK_PLUGINS, RunningPlugin, running_plugin

from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
    file_pb2,
    hooks_common_pb2,
    post_pb2,
    user_pb2,
)
from mattermost_plugin._pb.pluginapi.v1 import hooks_command_pb2 as command_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2 as lifecycle_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_user_channel_pb2 as user_channel_pb
from mattermost_plugin.host.supervisor import PluginActivationError

PLUGIN = HOOK_PLUGINS / "returns"
DISMISS = "plugin.message_will_be_posted.dismiss_post"
CONTEXT = hooks_common_pb2.PluginContext(session_id="sess-1", request_id="req-1")


@pytest.fixture(scope="module")
def plugin() -> Iterator[RunningPlugin]:
    with running_plugin(PLUGIN, plugin_config={"mode": "ok"}) as running:
        yield running


def as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def post(message: str) -> post_pb2.Post:
    """A post as the host sends it to hooks: no props, no metadata."""
    return post_pb2.Post(
        id="post-1", channel_id="chan-1", user_id="user-1", message=message, create_at=1700
    )


# --- MessageWillBePosted / MessageWillBeUpdated ------------------------------------------


def posted(mode: str) -> dict[str, Any]:
    return {"modified_post": as_dict(post(f"{mode} (changed)"))}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("tuple-same", {}),  # (post, "") unchanged: no modified_post, nothing to drop
        ("tuple-changed", posted("tuple-changed")),
        ("value-same", {}),
        ("value-changed", posted("value-changed")),
        ("dict", {"modified_post": {"channel_id": "chan-1", "message": "built from a dict"}}),
        ("none", {}),
        ("none-none", {}),
        ("reject", {"rejection_reason": "posts like this are not allowed"}),
        ("reason-only", {"rejection_reason": "a bare reason"}),
        ("changed-and-reason", {"rejection_reason": "rejected even though changed"}),
        ("dismiss", {"rejection_reason": DISMISS}),
    ],
)
def test_message_will_be_posted(plugin: RunningPlugin, mode: str, expected: dict[str, Any]) -> None:
    request = message_pb.MessageWillBePostedRequest(plugin_context=CONTEXT, post=post(mode))
    response = plugin.call(request, message_pb.MessageWillBePostedResponse)
    assert as_dict(response) == expected


def test_post_changed_in_place_is_sent(plugin: RunningPlugin) -> None:
    # The guide's own pattern: ``post.message = ...; return post, ""``.
    request = message_pb.MessageWillBePostedRequest(plugin_context=CONTEXT, post=post("in-place"))
    response = plugin.call(request, message_pb.MessageWillBePostedResponse)
    assert response.rejection_reason == ""
    assert response.modified_post.message == "changed in place"
    assert response.modified_post.id == "post-1" and response.modified_post.create_at == 1700
    assert json_format.MessageToDict(response.modified_post.props) == {"checked": True}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("same", {}),
        ("revert", {"modified_post": as_dict(post("the original"))}),
        ("reject", {"rejection_reason": "edits are frozen"}),
    ],
)
def test_message_will_be_updated(
    plugin: RunningPlugin, mode: str, expected: dict[str, Any]
) -> None:
    request = message_pb.MessageWillBeUpdatedRequest(
        plugin_context=CONTEXT, new_post=post(mode), old_post=post("the original")
    )
    response = plugin.call(request, message_pb.MessageWillBeUpdatedResponse)
    assert as_dict(response) == expected


# --- FileWillBeUploaded: (file_info, content, reason), the 2-tuple, a bare value ---------


@pytest.mark.parametrize(
    ("name", "new_name", "new_content", "reason"),
    [
        ("same.txt", None, None, ""),
        ("rename.txt", "renamed-rename.txt", None, ""),
        ("content.txt", None, b"HELLO", ""),
        ("content-only.txt", None, b"replaced", ""),
        ("both.txt", "renamed-both.txt", b"replaced", ""),
        ("pair.txt", "renamed-pair.txt", None, ""),
        ("pair-reject.txt", None, None, "no files today"),
        ("reject.txt", None, None, "file type not allowed"),
        ("none.txt", None, None, ""),
        ("info-only.txt", "renamed-info-only.txt", None, ""),
    ],
)
def test_file_will_be_uploaded(
    plugin: RunningPlugin,
    name: str,
    new_name: str | None,
    new_content: bytes | None,
    reason: str,
) -> None:
    info = file_pb2.FileInfo(id="file-1", name=name, size=5, mime_type="text/plain")
    request = message_pb.FileWillBeUploadedRequest(
        plugin_context=CONTEXT, file_info=info, file_content=b"hello"
    )
    response = plugin.call(request, message_pb.FileWillBeUploadedResponse)
    assert response.rejection_reason == reason
    if new_name is None:
        assert not response.HasField("modified_file_info")
    else:
        assert response.modified_file_info.name == new_name
        assert response.modified_file_info.id == "file-1" and response.modified_file_info.size == 5
    assert response.modified_content == (new_content or b"")


# --- NotificationWillBePushed, EmailNotificationWillBeSent -------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("same", {}),
        ("change", {"modified_notification": {"message": "changed", "post_id": "post-1"}}),
        ("reject", {"rejection_reason": "user-2 muted pushes"}),
    ],
)
def test_notification_will_be_pushed(
    plugin: RunningPlugin, mode: str, expected: dict[str, Any]
) -> None:
    push = api_remaining_pb2.PushNotification(message=mode, post_id="post-1")
    request = message_pb.NotificationWillBePushedRequest(push_notification=push, user_id="user-2")
    response = plugin.call(request, message_pb.NotificationWillBePushedResponse)
    assert as_dict(response) == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("content", {"modified_content": {"subject": "new subject", "message_text": "new text"}}),
        ("dict", {"modified_content": {"subject": "from a dict"}}),
        ("reject", {"rejection_reason": "no emails on weekends"}),
        ("none", {}),
    ],
)
def test_email_notification_will_be_sent(
    plugin: RunningPlugin, mode: str, expected: dict[str, Any]
) -> None:
    email = {"subject": "Hi", "message_text": "hello", "mode": mode}
    request = message_pb.EmailNotificationWillBeSentRequest(
        email_notification=message_pb.EmailNotificationJson(
            notification_json=json.dumps(email).encode()
        )
    )
    response = plugin.call(request, message_pb.EmailNotificationWillBeSentResponse)
    assert as_dict(response) == expected


# --- value hooks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "reason"),
    [("allowed", ""), ("none", ""), ("refused", "Login refused by policy")],
)
def test_user_will_log_in(plugin: RunningPlugin, username: str, reason: str) -> None:
    request = user_channel_pb.UserWillLogInRequest(
        plugin_context=CONTEXT, user=user_pb2.User(id="u1", username=username)
    )
    response = plugin.call(request, user_channel_pb.UserWillLogInResponse)
    assert response.rejection_reason == reason


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "/dict",
            {"response": {"response_type": "in_channel", "text": "from a dict", "props": {"n": 1}}},
        ),
        ("/model", {"response": {"response_type": "ephemeral", "text": "from a model"}}),
        # A handled command always answers (the server says "command not found" otherwise).
        ("/none", {"response": {"response_type": "ephemeral"}}),
        ("/str", {"response": {"response_type": "ephemeral", "text": "unknown subcommand"}}),
    ],
)
def test_execute_command(plugin: RunningPlugin, command: str, expected: dict[str, Any]) -> None:
    args = api_remaining_pb2.CommandArgs(user_id="u1", channel_id="c1", command=command)
    request = command_pb.ExecuteCommandRequest(plugin_context=CONTEXT, args=args)
    response = plugin.call(request, command_pb.ExecuteCommandResponse)
    assert as_dict(response) == expected


def test_execute_command_returning_an_exception_answers_the_user(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    args = api_remaining_pb2.CommandArgs(user_id="u1", channel_id="c1", command="/exception x")
    request = command_pb.ExecuteCommandRequest(plugin_context=CONTEXT, args=args)
    response = plugin.call(request, command_pb.ExecuteCommandResponse)
    assert not response.HasField("error")
    assert response.response.response_type == "ephemeral"
    assert response.response.text == (
        "/exception failed: an error occurred in the plugin. It has been logged."
    )
    line = plugin.wait_log(lambda line: line.level == "error", since=mark)
    assert line.message.endswith("failed: only admins may do that")


@pytest.mark.parametrize(
    ("batch_size", "expected"),
    [
        (100, {"deleted_count": "99"}),
        (0, {}),
        (13, {"error": "retention failed"}),
    ],
)
def test_run_data_retention(
    plugin: RunningPlugin, batch_size: int, expected: dict[str, Any]
) -> None:
    request = lifecycle_pb.RunDataRetentionRequest(
        now_time=1_700_000_000_000, batch_size=batch_size
    )
    response = plugin.call(request, lifecycle_pb.RunDataRetentionResponse)
    got = as_dict(response)
    if "error" in got:
        got["error"] = got["error"]["message"]
    assert got == expected


@pytest.mark.parametrize(
    ("mode", "modified"),
    [("same", False), ("copy", False), ("none", False), ("change", True), ("in-place", True)],
)
def test_configuration_will_be_saved(plugin: RunningPlugin, mode: str, modified: bool) -> None:
    config = {"ServiceSettings": {"SiteURL": "http://localhost:8065"}, "mode": mode}
    request = lifecycle_pb.ConfigurationWillBeSavedRequest(
        new_config=lifecycle_pb.ConfigJson(config_json=json.dumps(config).encode())
    )
    response = plugin.call(request, lifecycle_pb.ConfigurationWillBeSavedResponse)
    assert not response.HasField("error")
    assert response.HasField("modified_config") is modified
    if modified:
        assert json.loads(response.modified_config.config_json) == {**config, "Added": True}


def test_configuration_will_be_saved_error(plugin: RunningPlugin) -> None:
    request = lifecycle_pb.ConfigurationWillBeSavedRequest(
        new_config=lifecycle_pb.ConfigJson(config_json=b'{"mode": "error"}')
    )
    response = plugin.call(request, lifecycle_pb.ConfigurationWillBeSavedResponse)
    assert response.error.message == "this configuration is not allowed"
    assert not response.HasField("modified_config")


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        # Unchanged (None, or the same posts): an empty answer, so the server keeps its own
        # posts with the props, metadata and participants the plugin never saw.
        (["none", "b"], []),
        (["same", "b"], []),
        (["filter", "x", "y"], ["seen: x", "seen: y"]),
        (["drop-first", "x", "y"], ["x", "y"]),
        # An empty answer cannot drop everything: the server keeps all posts.
        (["all-gone", "x"], []),
    ],
)
def test_messages_will_be_consumed(
    plugin: RunningPlugin, messages: list[str], expected: list[str]
) -> None:
    posts = [post_pb2.Post(id=f"p{i}", message=m) for i, m in enumerate(messages)]
    request = message_pb.MessagesWillBeConsumedRequest(posts=posts)
    response = plugin.call(request, message_pb.MessagesWillBeConsumedResponse)
    assert [p.message for p in response.posts] == expected


@pytest.mark.parametrize(("name", "healthy"), [("yes", True), ("no", False), ("none", True)])
def test_on_shared_channels_ping(plugin: RunningPlugin, name: str, healthy: bool) -> None:
    request = command_pb.OnSharedChannelsPingRequest(
        remote_cluster=command_pb.RemoteCluster(name=name)
    )
    response = plugin.call(request, command_pb.OnSharedChannelsPingResponse)
    assert response.healthy is healthy


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("ok", {"response": {"users_syncd": ["u1"]}}),
        ("fail", {"error": "remote is gone"}),
    ],
)
def test_on_shared_channels_sync_msg(
    plugin: RunningPlugin, mode: str, expected: dict[str, Any]
) -> None:
    request = command_pb.OnSharedChannelsSyncMsgRequest(
        sync_msg=command_pb.SyncMsgJson(sync_msg_json=json.dumps({"mode": mode}).encode()),
        remote_cluster=command_pb.RemoteCluster(name="acme"),
    )
    got = as_dict(plugin.call(request, command_pb.OnSharedChannelsSyncMsgResponse))
    if "error" in got:
        got["error"] = got["error"]["message"]
    assert got == expected


@pytest.mark.parametrize(
    ("mode", "files", "error"),
    [
        ("models", [("a.txt", b"A"), ("b.txt", b"B")], ""),
        ("dicts", [("c.txt", b"C")], ""),
        ("none", [], ""),
        ("exception", [], "disk is full"),
    ],
)
def test_generate_support_data(
    plugin: RunningPlugin, mode: str, files: list[tuple[str, bytes]], error: str
) -> None:
    request = command_pb.GenerateSupportDataRequest(
        plugin_context=hooks_common_pb2.PluginContext(request_id=mode)
    )
    response = plugin.call(request, command_pb.GenerateSupportDataResponse)
    assert [(f.filename, f.data) for f in response.files] == files
    assert response.error.message == error


# --- error hooks: an exception, a returned Exception or a non-empty str fail -------------

ERROR_MODES = [
    ("ok", ""),
    ("empty", ""),
    ("raise", "raise: the handler raised"),
    ("exception", "exception: the handler returned an exception"),
    ("str", "the handler returned a message"),
]


def _check_error(response: Any, message: str) -> None:
    if not message:
        assert not response.HasField("error"), response
        return
    # The server keeps only where, id, detailed_error and status_code (PROTOCOL.md §6).
    assert response.error.message == message
    assert response.error.detailed_error == message
    assert response.error.id and response.error.status_code == 500
    assert response.error.where.startswith("plugin com.example.returns: ReturnsPlugin.")


@pytest.mark.parametrize("hook_name", ["OnActivate", "OnDeactivate", "OnConfigurationChange"])
@pytest.mark.parametrize(("mode", "message"), ERROR_MODES)
def test_error_hooks_without_payload(
    plugin: RunningPlugin, hook_name: str, mode: str, message: str
) -> None:
    plugin.set_plugin_config({"mode": mode})
    try:
        spec_request = getattr(lifecycle_pb, f"{hook_name}Request")()
        response_type = getattr(lifecycle_pb, f"{hook_name}Response")
        _check_error(plugin.call(spec_request, response_type), message)
    finally:
        plugin.set_plugin_config({"mode": "ok"})


@pytest.mark.parametrize(("mode", "message"), ERROR_MODES)
def test_on_install(plugin: RunningPlugin, mode: str, message: str) -> None:
    request = lifecycle_pb.OnInstallRequest(
        plugin_context=CONTEXT, event=lifecycle_pb.OnInstallEvent(user_id=mode)
    )
    _check_error(plugin.call(request, lifecycle_pb.OnInstallResponse), message)


@pytest.mark.parametrize(("mode", "message"), ERROR_MODES)
def test_on_saml_login(plugin: RunningPlugin, mode: str, message: str) -> None:
    request = user_channel_pb.OnSAMLLoginRequest(
        plugin_context=CONTEXT,
        user=user_pb2.User(id="u1", username="alice"),
        assertion=user_channel_pb.SamlAssertionInfoJson(
            assertion_json=json.dumps({"mode": mode}).encode()
        ),
    )
    _check_error(plugin.call(request, user_channel_pb.OnSAMLLoginResponse), message)


@pytest.mark.parametrize(("mode", "message"), ERROR_MODES)
def test_on_shared_channels_attachment_sync_msg(
    plugin: RunningPlugin, mode: str, message: str
) -> None:
    request = command_pb.OnSharedChannelsAttachmentSyncMsgRequest(
        file_info=file_pb2.FileInfo(id="f1"),
        post=post(mode),
        remote_cluster=command_pb.RemoteCluster(name="acme"),
    )
    response = plugin.call(request, command_pb.OnSharedChannelsAttachmentSyncMsgResponse)
    _check_error(response, message)


def test_failing_on_activate_fails_the_start() -> None:
    with (
        pytest.raises(PluginActivationError, match="the handler returned a message") as info,
        running_plugin(PLUGIN, plugin_config={"mode": "str"}),
    ):
        pass
    assert info.value.app_error.message == "the handler returned a message"
    # The host shows the error as the server does: from where, id and detailed_error.
    assert str(info.value) == (
        "OnActivate failed: plugin com.example.returns: ReturnsPlugin.on_activate: "
        "plugin.hook.error, the handler returned a message"
    )
