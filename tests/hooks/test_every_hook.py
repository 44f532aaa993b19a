"""Every hook but ServeHTTP, called the way the server calls it, on a real plugin process.

``plugins/all_hooks`` logs a digest of the positional arguments each handler got (type names
and content) and returns something of its hook's response kind; each case checks both: the
models reach the handler in the guide's order (context first where the hook has one, JSON
payloads as dicts), and the response is what the handler returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2, wrappers_pb2
from google.protobuf.message import Message
from tests.support.plugins import HOOK_PLUGINS, RunningPlugin, running_plugin

from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_remaining_pb2,
    channel_pb2,
    file_pb2,
    hooks_common_pb2,
    hooks_pb2_grpc,
    post_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin._pb.pluginapi.v1 import hooks_command_pb2 as command_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2 as lifecycle_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_user_channel_pb2 as user_channel_pb

Digest = list[dict[str, Any]]


@pytest.fixture(scope="module")
def plugin() -> Iterator[RunningPlugin]:
    with running_plugin(HOOK_PLUGINS / "all_hooks") as running:
        yield running


# --- what the server sends ----------------------------------------------------------------

CONTEXT = hooks_common_pb2.PluginContext(
    session_id="sess-1",
    request_id="req-1",
    ip_address="10.0.0.7",
    accept_language="en-US",
    user_agent="pytest",
)
CONTEXT_DIGEST = {
    "type": "PluginContext",
    "fields": {
        "session_id": "sess-1",
        "request_id": "req-1",
        "ip_address": "10.0.0.7",
        "accept_language": "en-US",
        "user_agent": "pytest",
    },
}
POST = post_pb2.Post(
    id="post-1", channel_id="chan-1", user_id="user-1", message="hello world", create_at=1700
)
OLD_POST = post_pb2.Post(id="post-1", channel_id="chan-1", user_id="user-1", message="hello")
USER = user_pb2.User(
    id="user-1", username="alice", email="alice@example.com", first_name="Alice", locale="en"
)
ACTOR = user_pb2.User(id="admin-1", username="admin", roles="system_admin system_user")
CHANNEL_MEMBER = api_channel_post_pb2.ChannelMember(
    channel_id="chan-1", user_id="user-1", roles="channel_user", scheme_user=True
)
TEAM_MEMBER = team_pb2.TeamMember(
    team_id="team-1", user_id="user-1", roles="team_user", scheme_user=True
)
REMOTE = command_pb.RemoteCluster(
    remote_id="remote-1", name="acme", display_name="ACME", site_url="https://acme.example.com"
)
FILE_INFO = file_pb2.FileInfo(
    id="file-1",
    creator_id="user-1",
    channel_id="chan-1",
    name="notes.txt",
    extension="txt",
    size=11,
    mime_type="text/plain",
)
CONFIG = {"ServiceSettings": {"SiteURL": "http://localhost:8065"}, "TeamSettings": {"X": 1}}
EMAIL = {
    "post_id": "post-1",
    "channel_id": "chan-1",
    "recipient_id": "user-2",
    "sender_id": "user-1",
    "is_direct_message": True,
    "subject": "New direct message",
    "title": "Alice sent you a message",
    "message_text": "hello world",
}
SAML = {
    "NameID": "alice@example.com",
    "SessionIndex": "idx-1",
    "Values": {"Email": {"Name": "Email", "Values": [{"Value": "alice@example.com"}]}},
}
SYNC_MSG = {
    "id": "sync-1",
    "channel_id": "chan-1",
    "users": {"user-1": {"id": "user-1", "username": "alice"}},
    "posts": [{"id": "post-1", "update_at": 1700}, {"id": "post-2", "update_at": 1900}],
}


def plain(message: Message) -> dict[str, Any]:
    """The set fields of a protobuf message as plain JSON values (int64 as int, not str)."""
    out: dict[str, Any] = {}
    for fd, v in message.ListFields():
        if fd.message_type is not None:
            out[fd.name] = [plain(i) for i in v] if fd.is_repeated else plain(v)
        else:
            out[fd.name] = list(v) if fd.is_repeated else v
    return out


def model(fields: Message, type_name: str) -> dict[str, Any]:
    """The digest of a model built from ``fields``: type name and the non-default fields."""
    return {"type": type_name, "fields": plain(fields)}


def value(v: object) -> dict[str, Any]:
    return {"type": type(v).__name__, "value": v}


def as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def empty(response: Message) -> None:
    assert response.ListFields() == [], response


def no_error(response: Message) -> None:
    assert not response.HasField("error"), response


def app_error(message: str) -> Callable[[Message], None]:
    def check(response: Message) -> None:
        error = getattr(response, "error")  # noqa: B009 (every error hook response has one)
        assert response.HasField("error") and error.message == message, response

    return check


def exactly(expected: dict[str, Any]) -> Callable[[Message], None]:
    def check(response: Message) -> None:
        assert as_dict(response) == expected

    return check


@dataclass(frozen=True)
class Case:
    request: Message
    check: Callable[[Any], None]
    digest: Digest
    """What the handler must have got: the digest its log line carries."""
    id: str = ""

    @property
    def hook(self) -> str:
        return type(self.request).DESCRIPTOR.name.removesuffix("Request")

    @property
    def response_type(self) -> type[Message]:
        return HOOKS[self.hook].response


def check_configuration(response: lifecycle_pb.ConfigurationWillBeSavedResponse) -> None:
    assert not response.HasField("error")
    saved = json.loads(response.modified_config.config_json)
    assert saved == {**CONFIG, "AllHooks": {"Checked": True}}


def check_file(response: message_pb.FileWillBeUploadedResponse) -> None:
    assert response.rejection_reason == ""
    expected = as_dict(FILE_INFO) | {"name": "checked-notes.txt"}
    assert as_dict(response.modified_file_info) == expected
    assert response.modified_content == b"HELLO WORLD"


def check_command(response: command_pb.ExecuteCommandResponse) -> None:
    assert not response.HasField("error")
    assert response.response.response_type == "ephemeral"
    assert response.response.text == "/echo says hi there"
    assert response.response.username == "all-hooks"
    assert json_format.MessageToDict(response.response.props) == {"from_python": True}


def check_support(response: command_pb.GenerateSupportDataResponse) -> None:
    assert not response.HasField("error")
    assert [(f.filename, f.data) for f in response.files] == [
        ("all_hooks/summary.txt", b"all hooks: fine"),
        ("all_hooks/settings.json", b'{"checked": true}'),
    ]


def check_sync(response: command_pb.OnSharedChannelsSyncMsgResponse) -> None:
    assert not response.HasField("error")
    assert list(response.response.users_syncd) == ["user-1"]
    assert response.response.posts_last_update_at == 1900


limits = lifecycle_pb.ProductLimits(
    files=lifecycle_pb.FilesLimits(total_storage=wrappers_pb2.Int64Value(value=10**10)),
    messages=lifecycle_pb.MessagesLimits(history=wrappers_pb2.Int32Value(value=10000)),
)
ws_data = struct_pb2.Struct()
ws_data.update({"text": "ping", "count": 2})
preferences = [
    api_remaining_pb2.Preference(
        user_id="user-1", category="display_settings", name="use_military_time", value="true"
    ),
    api_remaining_pb2.Preference(user_id="user-1", category="theme", name="", value="{}"),
]
push = api_remaining_pb2.PushNotification(
    platform="apple",
    device_id="device-1",
    post_id="post-1",
    category="CAN_REPLY",
    message="alice: hi",
    channel_id="chan-1",
    sender_id="user-1",
    type="message",
)
reaction = post_pb2.Reaction(
    user_id="user-1", post_id="post-1", emoji_name="thumbsup", create_at=1800
)
channel = channel_pb2.Channel(
    id="chan-1",
    team_id="team-1",
    type=channel_pb2.CHANNEL_TYPE_OPEN,
    display_name="Town Square",
    name="town-square",
)
command_args = api_remaining_pb2.CommandArgs(
    user_id="user-1",
    channel_id="chan-1",
    team_id="team-1",
    trigger_id="trigger-1",
    command="/echo hi there",
    site_url="http://localhost:8065",
)
cluster_event = api_remaining_pb2.PluginClusterEvent(id="cache-flush", data=b'{"key":"k"}')
ws_request = command_pb.WebSocketRequest(seq=7, action="custom_ping", data=ws_data)
picture_user = user_pb2.User(id="user-1", username="alice", last_picture_update=1600)
no_picture_user = user_pb2.User(id="user-3", username="carol")


def json_dict(v: dict[str, Any]) -> dict[str, Any]:
    return {"type": "dict", "value": v}


CTX = CONTEXT_DIGEST
P = lifecycle_pb
M = message_pb
U = user_channel_pb
C = command_pb
CASES: list[Case] = [
    # lifecycle
    Case(P.OnActivateRequest(), no_error, []),
    Case(P.OnDeactivateRequest(), no_error, []),
    Case(P.OnConfigurationChangeRequest(), no_error, []),
    Case(
        P.OnInstallRequest(plugin_context=CONTEXT, event=P.OnInstallEvent(user_id="admin-1")),
        no_error,
        [CTX, {"type": "OnInstallEvent", "fields": {"user_id": "admin-1"}}],
    ),
    Case(P.OnSendDailyTelemetryRequest(), empty, []),
    Case(
        P.RunDataRetentionRequest(now_time=1_700_000_000_000, batch_size=100),
        exactly({"deleted_count": "25"}),  # int64 is a string in protobuf JSON
        [value(1_700_000_000_000), value(100)],
    ),
    Case(
        P.OnCloudLimitsUpdatedRequest(limits=limits),
        empty,
        [
            {
                "type": "ProductLimits",
                "fields": {"files": {"total_storage": 10**10}, "messages": {"history": 10000}},
            }
        ],
    ),
    Case(
        P.ConfigurationWillBeSavedRequest(
            new_config=P.ConfigJson(config_json=json.dumps(CONFIG).encode())
        ),
        check_configuration,
        [json_dict(CONFIG)],
    ),
    # messages
    Case(
        M.MessageWillBePostedRequest(plugin_context=CONTEXT, post=POST),
        exactly({"modified_post": as_dict(POST) | {"message": "hello world [checked]"}}),
        [CTX, model(POST, "Post")],
    ),
    Case(
        M.MessageWillBeUpdatedRequest(plugin_context=CONTEXT, new_post=POST, old_post=OLD_POST),
        exactly({"rejection_reason": "edits of 'hello' are not allowed"}),
        [CTX, model(POST, "Post"), model(OLD_POST, "Post")],
    ),
    Case(
        M.MessageHasBeenPostedRequest(plugin_context=CONTEXT, post=POST),
        empty,
        [CTX, model(POST, "Post")],
    ),
    Case(
        M.MessageHasBeenUpdatedRequest(plugin_context=CONTEXT, new_post=POST, old_post=OLD_POST),
        empty,
        [CTX, model(POST, "Post"), model(OLD_POST, "Post")],
    ),
    Case(
        M.MessagesWillBeConsumedRequest(
            posts=[POST, post_pb2.Post(id="post-2", message="please hide me")]
        ),
        exactly({"posts": [as_dict(POST) | {"message": "HELLO WORLD"}]}),
        [
            {
                "type": "list",
                "items": [
                    model(POST, "Post"),
                    {"type": "Post", "fields": {"id": "post-2", "message": "please hide me"}},
                ],
            }
        ],
    ),
    Case(
        M.MessageHasBeenDeletedRequest(plugin_context=CONTEXT, post=POST),
        empty,
        [CTX, model(POST, "Post")],
    ),
    Case(
        M.FileWillBeUploadedRequest(
            plugin_context=CONTEXT, file_info=FILE_INFO, file_content=b"hello world"
        ),
        check_file,
        [CTX, model(FILE_INFO, "FileInfo"), {"type": "bytes", "value": "hello world"}],
    ),
    Case(
        M.ReactionHasBeenAddedRequest(plugin_context=CONTEXT, reaction=reaction),
        empty,
        [CTX, model(reaction, "Reaction")],
    ),
    Case(
        M.ReactionHasBeenRemovedRequest(plugin_context=CONTEXT, reaction=reaction),
        empty,
        [CTX, model(reaction, "Reaction")],
    ),
    Case(
        M.NotificationWillBePushedRequest(push_notification=push, user_id="user-2"),
        exactly({"modified_notification": as_dict(push) | {"message": "alice: hi (for user-2)"}}),
        [model(push, "PushNotification"), value("user-2")],
    ),
    Case(
        M.EmailNotificationWillBeSentRequest(
            email_notification=M.EmailNotificationJson(notification_json=json.dumps(EMAIL).encode())
        ),
        exactly(
            {
                "modified_content": {
                    "subject": "[Python] New direct message",
                    "title": "Alice sent you a message",
                    "message_text": "hello world",
                }
            }
        ),
        [json_dict(EMAIL)],
    ),
    Case(
        M.PreferencesHaveChangedRequest(plugin_context=CONTEXT, preferences=preferences),
        empty,
        [CTX, {"type": "list", "items": [model(p, "Preference") for p in preferences]}],
    ),
    # users, channels, teams
    Case(
        U.UserHasBeenCreatedRequest(plugin_context=CONTEXT, user=USER),
        empty,
        [CTX, model(USER, "User")],
    ),
    Case(
        U.UserWillLogInRequest(plugin_context=CONTEXT, user=USER),
        exactly({}),
        [CTX, model(USER, "User")],
        id="allowed",
    ),
    Case(
        U.UserWillLogInRequest(plugin_context=CONTEXT, user=user_pb2.User(username="mallory")),
        exactly({"rejection_reason": "mallory may not log in"}),
        [CTX, {"type": "User", "fields": {"username": "mallory"}}],
        id="rejected",
    ),
    Case(
        U.UserHasLoggedInRequest(plugin_context=CONTEXT, user=USER),
        empty,
        [CTX, model(USER, "User")],
    ),
    Case(
        U.UserHasBeenDeactivatedRequest(plugin_context=CONTEXT, user=USER),
        empty,
        [CTX, model(USER, "User")],
    ),
    Case(
        U.OnSAMLLoginRequest(
            plugin_context=CONTEXT,
            user=USER,
            assertion=U.SamlAssertionInfoJson(assertion_json=json.dumps(SAML).encode()),
        ),
        no_error,
        [CTX, model(USER, "User"), json_dict(SAML)],
        id="accepted",
    ),
    Case(
        U.OnSAMLLoginRequest(
            plugin_context=CONTEXT,
            user=USER,
            assertion=U.SamlAssertionInfoJson(assertion_json=b'{"NameID": "eve@example.com"}'),
        ),
        app_error("SAML NameID 'eve@example.com' does not match 'alice@example.com'"),
        [CTX, model(USER, "User"), json_dict({"NameID": "eve@example.com"})],
        id="refused",
    ),
    Case(
        U.ChannelHasBeenCreatedRequest(plugin_context=CONTEXT, channel=channel),
        empty,
        [
            CTX,
            {
                "type": "Channel",
                "fields": {
                    "id": "chan-1",
                    "team_id": "team-1",
                    "type": 1,
                    "display_name": "Town Square",
                    "name": "town-square",
                },
            },
        ],
    ),
    Case(
        U.UserHasJoinedChannelRequest(
            plugin_context=CONTEXT, channel_member=CHANNEL_MEMBER, actor=ACTOR
        ),
        empty,
        [CTX, model(CHANNEL_MEMBER, "ChannelMember"), model(ACTOR, "User")],
        id="added-by-admin",
    ),
    Case(
        U.UserHasJoinedChannelRequest(plugin_context=CONTEXT, channel_member=CHANNEL_MEMBER),
        empty,
        [CTX, model(CHANNEL_MEMBER, "ChannelMember"), {"type": "NoneType", "value": None}],
        id="joined-alone",
    ),
    Case(
        U.UserHasLeftChannelRequest(
            plugin_context=CONTEXT, channel_member=CHANNEL_MEMBER, actor=ACTOR
        ),
        empty,
        [CTX, model(CHANNEL_MEMBER, "ChannelMember"), model(ACTOR, "User")],
    ),
    Case(
        U.UserHasJoinedTeamRequest(plugin_context=CONTEXT, team_member=TEAM_MEMBER),
        empty,
        [CTX, model(TEAM_MEMBER, "TeamMember"), {"type": "NoneType", "value": None}],
    ),
    Case(
        U.UserHasLeftTeamRequest(plugin_context=CONTEXT, team_member=TEAM_MEMBER, actor=ACTOR),
        empty,
        [CTX, model(TEAM_MEMBER, "TeamMember"), model(ACTOR, "User")],
    ),
    # commands, websockets, cluster, shared channels, support
    Case(
        C.ExecuteCommandRequest(plugin_context=CONTEXT, args=command_args),
        check_command,
        [CTX, model(command_args, "CommandArgs")],
    ),
    Case(
        C.OnWebSocketConnectRequest(web_conn_id="conn-1", user_id="user-1"),
        empty,
        [value("conn-1"), value("user-1")],
    ),
    Case(
        C.OnWebSocketDisconnectRequest(web_conn_id="conn-1", user_id="user-1"),
        empty,
        [value("conn-1"), value("user-1")],
    ),
    Case(
        C.WebSocketMessageHasBeenPostedRequest(
            web_conn_id="conn-1", user_id="user-1", request=ws_request
        ),
        empty,
        [
            value("conn-1"),
            value("user-1"),
            {
                "type": "WebSocketRequest",
                "fields": {"seq": 7, "action": "custom_ping", "data": {"text": "ping", "count": 2}},
            },
        ],
    ),
    Case(
        C.OnPluginClusterEventRequest(plugin_context=CONTEXT, event=cluster_event),
        empty,
        [
            CTX,
            {"type": "PluginClusterEvent", "fields": {"id": "cache-flush", "data": '{"key":"k"}'}},
        ],
    ),
    Case(
        C.OnSharedChannelsSyncMsgRequest(
            sync_msg=C.SyncMsgJson(sync_msg_json=json.dumps(SYNC_MSG).encode()),
            remote_cluster=REMOTE,
        ),
        check_sync,
        [json_dict(SYNC_MSG), model(REMOTE, "RemoteCluster")],
    ),
    Case(
        C.OnSharedChannelsPingRequest(remote_cluster=REMOTE),
        exactly({"healthy": True}),
        [model(REMOTE, "RemoteCluster")],
        id="healthy",
    ),
    Case(
        C.OnSharedChannelsPingRequest(remote_cluster=command_pb.RemoteCluster(name="down")),
        exactly({}),  # healthy = false
        [{"type": "RemoteCluster", "fields": {"name": "down"}}],
        id="unhealthy",
    ),
    Case(
        C.OnSharedChannelsAttachmentSyncMsgRequest(
            file_info=FILE_INFO, post=POST, remote_cluster=REMOTE
        ),
        no_error,
        [model(FILE_INFO, "FileInfo"), model(POST, "Post"), model(REMOTE, "RemoteCluster")],
    ),
    Case(
        C.OnSharedChannelsProfileImageSyncMsgRequest(user=picture_user, remote_cluster=REMOTE),
        no_error,
        [model(picture_user, "User"), model(REMOTE, "RemoteCluster")],
        id="ok",
    ),
    Case(
        C.OnSharedChannelsProfileImageSyncMsgRequest(user=no_picture_user, remote_cluster=REMOTE),
        app_error("carol has no profile image"),
        [model(no_picture_user, "User"), model(REMOTE, "RemoteCluster")],
        id="error",
    ),
    Case(C.GenerateSupportDataRequest(plugin_context=CONTEXT), check_support, [CTX]),
]


def _case_id(case: Case) -> str:
    return f"{case.hook}-{case.id}" if case.id else case.hook


def test_the_cases_cover_every_unary_hook() -> None:
    assert {case.hook for case in CASES} == set(HOOKS) - {"ServeHTTP"}


def test_implemented_lists_every_handled_hook(plugin: RunningPlugin) -> None:
    expected = [name for name in HOOKS if name != "ServeHTTP"]
    assert plugin.supervisor.implemented == expected
    stub = hooks_pb2_grpc.PluginHooksStub(plugin.supervisor.channel)
    assert list(stub.Implemented(lifecycle_pb.ImplementedRequest(), timeout=5).hooks) == expected


def test_on_activate_ran_at_start_and_used_the_api(plugin: RunningPlugin) -> None:
    assert plugin.wait_log("OnActivate called").fields["arguments"] == []
    assert plugin.wait_log("activated").fields["server_version"] == "10.5.0"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_hook(plugin: RunningPlugin, case: Case) -> None:
    mark = plugin.mark()
    response = plugin.call(case.request, case.response_type)
    case.check(response)
    line = plugin.wait_log(f"{case.hook} called", since=mark)
    assert line.level == "info"
    assert line.fields["hook"] == case.hook
    assert line.fields["arguments"] == case.digest
    assert plugin.supervisor.health_check()
