"""The fake Mattermost server, exercised through real gRPC stubs over a real channel."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.protobuf import struct_pb2

from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2 as cp
from mattermost_plugin._pb.pluginapi.v1 import api_file_bot_pb2 as fb
from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2 as kv
from mattermost_plugin._pb.pluginapi.v1 import (
    api_pb2,
    api_pb2_grpc,
    channel_pb2,
    post_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2 as rem
from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2 as ut
from mattermost_plugin.host import fake_server
from mattermost_plugin.host.fake_server import FakeMattermost, grpc_code_for_http, serve

ID_RE = re.compile(r"^[a-z0-9]{26}$")


class Clock:
    """A settable clock, so expiry and timestamps need no sleeping."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeMattermost:
    return FakeMattermost(clock=clock)


@pytest.fixture
def api(fake: FakeMattermost) -> Iterator[api_pb2_grpc.PluginAPIStub]:
    server, address = serve(fake)
    channel = grpc.insecure_channel(address)
    try:
        yield api_pb2_grpc.PluginAPIStub(channel)
    finally:
        channel.close()
        server.stop(None)


def create_user(api: api_pb2_grpc.PluginAPIStub, name: str) -> user_pb2.User:
    user = user_pb2.User(username=name, email=f"{name}@example.com", password="password1")
    return api.CreateUser(ut.CreateUserRequest(user=user)).user


def status_error(call: Callable[[], object]) -> grpc.Call:
    """Run a stub call expected to fail with a gRPC status and return the failed call."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    assert isinstance(info.value, grpc.Call)  # what sync stubs raise: an RpcError and a Call
    return info.value


def create_team_with_channel(
    api: api_pb2_grpc.PluginAPIStub,
) -> tuple[team_pb2.Team, channel_pb2.Channel]:
    team = api.CreateTeam(
        ut.CreateTeamRequest(
            team=team_pb2.Team(name="core", display_name="Core", type=team_pb2.TEAM_TYPE_OPEN)
        )
    ).team
    channel = api.CreateChannel(
        cp.CreateChannelRequest(
            channel=channel_pb2.Channel(
                team_id=team.id,
                name="dev",
                display_name="Dev",
                type=channel_pb2.CHANNEL_TYPE_OPEN,
            )
        )
    ).channel
    return team, channel


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("http", "code"),
    [
        (400, grpc.StatusCode.INVALID_ARGUMENT),
        (401, grpc.StatusCode.UNAUTHENTICATED),
        (403, grpc.StatusCode.PERMISSION_DENIED),
        (404, grpc.StatusCode.NOT_FOUND),
        (409, grpc.StatusCode.ALREADY_EXISTS),
        (413, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (429, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (501, grpc.StatusCode.UNIMPLEMENTED),
        (503, grpc.StatusCode.UNAVAILABLE),
        (500, grpc.StatusCode.INTERNAL),
        (418, grpc.StatusCode.INTERNAL),
    ],
)
def test_http_status_maps_to_grpc_code(http: int, code: grpc.StatusCode) -> None:
    assert grpc_code_for_http(http) == code


def test_every_rpc_has_a_handler_of_its_own() -> None:
    base = api_pb2_grpc.PluginAPIServicer
    service = api_pb2.DESCRIPTOR.services_by_name["PluginAPI"]
    assert len(service.methods) == 236
    for method in service.methods:
        assert getattr(FakeMattermost, method.name) is not getattr(base, method.name)


def test_unimplemented_method_answers_501_naming_the_method(
    api: api_pb2_grpc.PluginAPIStub,
) -> None:
    response = api.GetLDAPUserAttributes(ut.GetLDAPUserAttributesRequest(user_id="u" * 26))
    assert response.error.status_code == 501
    assert response.error.id == "app.plugin.fake.not_implemented"
    assert response.error.where == "GetLDAPUserAttributes"
    assert "GetLDAPUserAttributes" in response.error.message


# ------------------------------------------------------------------------------ users


def test_user_crud(api: api_pb2_grpc.PluginAPIStub, clock: Clock) -> None:
    alice = create_user(api, "Alice")
    assert ID_RE.match(alice.id)
    assert alice.username == "alice"  # normalized like the server does
    assert alice.create_at == alice.update_at == int(clock.now * 1000)
    assert alice.password == ""
    assert alice.roles == "system_user"

    assert api.GetUser(ut.GetUserRequest(user_id=alice.id)).user == alice
    by_name = api.GetUserByUsername(ut.GetUserByUsernameRequest(name="alice")).user
    assert by_name.id == alice.id
    by_email = api.GetUserByEmail(ut.GetUserByEmailRequest(email="ALICE@example.com")).user
    assert by_email.id == alice.id

    clock.advance(5)
    changed = user_pb2.User()
    changed.CopyFrom(alice)
    changed.nickname = "Al"
    changed.create_at = 1  # ignored: server-maintained
    updated = api.UpdateUser(ut.UpdateUserRequest(user=changed)).user
    assert updated.nickname == "Al"
    assert updated.create_at == alice.create_at
    assert updated.update_at == alice.update_at + 5000

    api.DeleteUser(ut.DeleteUserRequest(user_id=alice.id))
    deleted = api.GetUser(ut.GetUserRequest(user_id=alice.id)).user  # deactivated, not gone
    assert deleted.delete_at == int(clock.now * 1000)


def test_user_errors_are_grpc_statuses(api: api_pb2_grpc.PluginAPIStub) -> None:
    create_user(api, "bob")

    dup = status_error(lambda: create_user(api, "bob"))
    assert dup.code() == grpc.StatusCode.ALREADY_EXISTS
    assert str(dup.details()).startswith("app.user.save.username_exists.app_error: ")

    same_email = user_pb2.User(username="robert", email="bob@example.com", password="password1")
    dup_email = status_error(lambda: api.CreateUser(ut.CreateUserRequest(user=same_email)))
    assert dup_email.code() == grpc.StatusCode.ALREADY_EXISTS

    empty = user_pb2.User(username="", email="x@example.com", password="password1")
    bad = status_error(lambda: api.CreateUser(ut.CreateUserRequest(user=empty)))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT

    missing = status_error(lambda: api.GetUser(ut.GetUserRequest(user_id="x" * 26)))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert str(missing.details()).startswith("app.user.missing_account.const: ")


def test_get_users_pages_in_username_order(api: api_pb2_grpc.PluginAPIStub) -> None:
    for name in ["dave", "carol", "erin", "bob", "alice"]:
        create_user(api, name)

    def page(n: int) -> list[str]:
        users = api.GetUsers(ut.GetUsersRequest(page=n, per_page=2)).users
        return [u.username for u in users]

    assert [page(0), page(1), page(2), page(3)] == [
        ["alice", "bob"],
        ["carol", "dave"],
        ["erin"],
        [],
    ]


# ------------------------------------------------------------------------------ channels


def test_channel_members(api: api_pb2_grpc.PluginAPIStub) -> None:
    team, channel = create_team_with_channel(api)
    alice, bob = create_user(api, "alice"), create_user(api, "bob")

    # Like the server, only team members may join a team's channel.
    outsider = status_error(
        lambda: api.AddChannelMember(
            cp.AddChannelMemberRequest(channel_id=channel.id, user_id=bob.id)
        )
    )
    assert outsider.code() == grpc.StatusCode.PERMISSION_DENIED

    for user in (alice, bob):
        api.CreateTeamMember(ut.CreateTeamMemberRequest(team_id=team.id, user_id=user.id))
        member = api.AddChannelMember(
            cp.AddChannelMemberRequest(channel_id=channel.id, user_id=user.id)
        ).channel_member
        assert (member.channel_id, member.user_id, member.roles) == (
            channel.id,
            user.id,
            "channel_user",
        )

    members = api.GetChannelMembers(
        cp.GetChannelMembersRequest(channel_id=channel.id, page=0, per_page=60)
    ).channel_members
    assert {m.user_id for m in members} == {alice.id, bob.id}

    api.DeleteChannelMember(cp.DeleteChannelMemberRequest(channel_id=channel.id, user_id=bob.id))
    gone = status_error(
        lambda: api.GetChannelMember(
            cp.GetChannelMemberRequest(channel_id=channel.id, user_id=bob.id)
        )
    )
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    kept = api.GetChannelMember(cp.GetChannelMemberRequest(channel_id=channel.id, user_id=alice.id))
    assert kept.channel_member.user_id == alice.id


def test_channel_lookup_and_validation(api: api_pb2_grpc.PluginAPIStub) -> None:
    team, channel = create_team_with_channel(api)
    found = api.GetChannelByName(cp.GetChannelByNameRequest(team_id=team.id, name="dev"))
    assert found.channel.id == channel.id
    # As on the server, a team comes with its default channels.
    api.GetChannelByName(cp.GetChannelByNameRequest(team_id=team.id, name="town-square"))

    def create(name: str) -> grpc.Call:
        request = cp.CreateChannelRequest(
            channel=channel_pb2.Channel(
                team_id=team.id, name=name, display_name="X", type=channel_pb2.CHANNEL_TYPE_OPEN
            )
        )
        return status_error(lambda: api.CreateChannel(request))

    assert create("dev").code() == grpc.StatusCode.ALREADY_EXISTS
    assert create("town-square").code() == grpc.StatusCode.ALREADY_EXISTS
    assert create("Not A Name!").code() == grpc.StatusCode.INVALID_ARGUMENT

    api.DeleteChannel(cp.DeleteChannelRequest(channel_id=channel.id))
    hidden = status_error(
        lambda: api.GetChannelByName(cp.GetChannelByNameRequest(team_id=team.id, name="dev"))
    )
    assert hidden.code() == grpc.StatusCode.NOT_FOUND
    with_deleted = api.GetChannelByName(
        cp.GetChannelByNameRequest(team_id=team.id, name="dev", include_deleted=True)
    )
    assert with_deleted.channel.delete_at > 0


# ------------------------------------------------------------------------------ posts


def test_posts_threads_and_reactions(api: api_pb2_grpc.PluginAPIStub, clock: Clock) -> None:
    _, channel = create_team_with_channel(api)
    alice = create_user(api, "alice")

    def post(message: str, root_id: str = "") -> cp.CreatePostResponse:
        request = post_pb2.Post(
            user_id=alice.id, channel_id=channel.id, message=message, root_id=root_id
        )
        return api.CreatePost(cp.CreatePostRequest(post=request))

    root = post("root").post
    assert ID_RE.match(root.id) and root.create_at == int(clock.now * 1000)
    clock.advance(1)
    reply = post("reply", root.id).post
    assert reply.root_id == root.id

    thread = api.GetPostThread(cp.GetPostThreadRequest(post_id=reply.id)).post_list
    assert list(thread.order) == [reply.id, root.id]  # newest first
    assert thread.posts[root.id].reply_count == 1

    bad_root = post("orphan", "z" * 26)
    assert bad_root.error.status_code == 400
    assert bad_root.error.where == "CreatePost"

    reaction = post_pb2.Reaction(user_id=alice.id, post_id=root.id, emoji_name="thumbsup")
    added = api.AddReaction(cp.AddReactionRequest(reaction=reaction)).reaction
    assert added.create_at > 0
    assert api.GetPost(cp.GetPostRequest(post_id=root.id)).post.has_reactions
    reactions = api.GetReactions(cp.GetReactionsRequest(post_id=root.id)).reactions
    assert [(r.user_id, r.emoji_name) for r in reactions] == [(alice.id, "thumbsup")]
    api.RemoveReaction(cp.RemoveReactionRequest(reaction=reaction))
    assert not api.GetReactions(cp.GetReactionsRequest(post_id=root.id)).reactions
    assert not api.GetPost(cp.GetPostRequest(post_id=root.id)).post.has_reactions

    clock.advance(1)
    edited = post_pb2.Post(id=root.id, message="root, edited")
    updated = api.UpdatePost(cp.UpdatePostRequest(post=edited)).post
    assert updated.message == "root, edited"
    assert updated.edit_at == updated.update_at == int(clock.now * 1000)
    assert updated.create_at == root.create_at

    # Post errors travel inside the response with gRPC OK.
    assert not api.DeletePost(cp.DeletePostRequest(post_id=root.id)).HasField("error")
    for post_id in (root.id, reply.id):  # deleting a root deletes its thread
        missing = api.GetPost(cp.GetPostRequest(post_id=post_id))
        assert missing.error.status_code == 404
        assert missing.error.id == "app.post.get.app_error"
        assert missing.error.where == "GetPost"


def test_ephemeral_posts(api: api_pb2_grpc.PluginAPIStub, fake: FakeMattermost) -> None:
    alice = create_user(api, "alice")
    sent = api.SendEphemeralPost(
        cp.SendEphemeralPostRequest(
            user_id=alice.id, post=post_pb2.Post(channel_id="c" * 26, message="only you")
        )
    ).post
    assert ID_RE.match(sent.id) and sent.create_at > 0
    assert fake.ephemeral_posts[sent.id].user_id == alice.id

    sent.message = "changed"
    api.UpdateEphemeralPost(cp.UpdateEphemeralPostRequest(user_id=alice.id, post=sent))
    assert fake.ephemeral_posts[sent.id].post.message == "changed"

    api.DeleteEphemeralPost(cp.DeleteEphemeralPostRequest(user_id=alice.id, post_id=sent.id))
    assert sent.id not in fake.ephemeral_posts


# ------------------------------------------------------------------------------ KV store


def test_kv_get_missing_key_returns_empty_bytes(api: api_pb2_grpc.PluginAPIStub) -> None:
    response = api.KVGet(kv.KVGetRequest(key="nothing"))
    assert not response.HasField("error")
    assert response.value == b""


def test_kv_set_get_delete_list(api: api_pb2_grpc.PluginAPIStub) -> None:
    for key in ["b", "a", "c"]:
        api.KVSet(kv.KVSetRequest(key=key, value=key.encode() * 2))
    assert api.KVGet(kv.KVGetRequest(key="a")).value == b"aa"
    assert list(api.KVList(kv.KVListRequest(page=0, per_page=2)).keys) == ["a", "b"]
    assert list(api.KVList(kv.KVListRequest(page=1, per_page=2)).keys) == ["c"]

    api.KVDelete(kv.KVDeleteRequest(key="a"))
    assert api.KVGet(kv.KVGetRequest(key="a")).value == b""
    api.KVDeleteAll(kv.KVDeleteAllRequest())
    assert not api.KVList(kv.KVListRequest(page=0, per_page=10)).keys

    bad = api.KVSet(kv.KVSetRequest(key="", value=b"x"))
    assert bad.error.status_code == 400
    assert bad.error.where == "KVSet"


def test_kv_expiry_is_honoured_on_read(api: api_pb2_grpc.PluginAPIStub, clock: Clock) -> None:
    api.KVSetWithExpiry(kv.KVSetWithExpiryRequest(key="k", value=b"v", expire_in_seconds=10))
    options = kv.PluginKVSetOptions(expire_in_seconds=20)
    api.KVSetWithOptions(kv.KVSetWithOptionsRequest(key="k2", value=b"v2", options=options))
    clock.advance(9.9)
    assert api.KVGet(kv.KVGetRequest(key="k")).value == b"v"
    clock.advance(0.1)
    assert api.KVGet(kv.KVGetRequest(key="k")).value == b""
    assert list(api.KVList(kv.KVListRequest(page=0, per_page=10)).keys) == ["k2"]
    clock.advance(10)
    assert api.KVGet(kv.KVGetRequest(key="k2")).value == b""


def test_kv_atomic_options(api: api_pb2_grpc.PluginAPIStub) -> None:
    def set_with(value: bytes, old: bytes) -> bool:
        options = kv.PluginKVSetOptions(atomic=True, old_value=old)
        request = kv.KVSetWithOptionsRequest(key="k", value=value, options=options)
        response = api.KVSetWithOptions(request)
        assert not response.HasField("error")
        return response.success

    assert set_with(b"1", b"")  # empty old value: the key must not exist yet
    assert not set_with(b"2", b"")
    assert not set_with(b"2", b"wrong")
    assert set_with(b"2", b"1")
    assert api.KVGet(kv.KVGetRequest(key="k")).value == b"2"

    delete = kv.KVCompareAndDeleteRequest
    assert not api.KVCompareAndDelete(delete(key="k", old_value=b"1")).success
    assert api.KVCompareAndDelete(delete(key="k", old_value=b"2")).success
    assert api.KVGet(kv.KVGetRequest(key="k")).value == b""

    # old_value without atomic is invalid input, as on the server.
    options = kv.PluginKVSetOptions(atomic=False, old_value=b"x")
    invalid = api.KVSetWithOptions(kv.KVSetWithOptionsRequest(key="k", value=b"v", options=options))
    assert invalid.error.status_code == 400


def test_kv_compare_and_set_is_atomic_under_concurrency(
    api: api_pb2_grpc.PluginAPIStub,
) -> None:
    threads, increments = 8, 25

    def work() -> None:
        for _ in range(increments):
            while True:
                old = api.KVGet(kv.KVGetRequest(key="counter")).value
                new = str(int(old or b"0") + 1).encode()
                request = kv.KVCompareAndSetRequest(key="counter", old_value=old, new_value=new)
                if api.KVCompareAndSet(request).success:
                    break

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert api.KVGet(kv.KVGetRequest(key="counter")).value == str(threads * increments).encode()


# ------------------------------------------------------------------------------ files


def test_files_upload_and_get(api: api_pb2_grpc.PluginAPIStub, fake: FakeMattermost) -> None:
    _, channel = create_team_with_channel(api)
    data = bytes(range(256)) * 40
    upload = fb.UploadFileRequest(data=data, channel_id=channel.id, filename="Report.PDF")
    info = api.UploadFile(upload).file_info
    assert ID_RE.match(info.id)
    assert (info.name, info.extension, info.size, info.channel_id) == (
        "Report.PDF",
        "pdf",
        len(data),
        channel.id,
    )
    assert info.mime_type == "application/pdf"
    assert api.GetFile(fb.GetFileRequest(file_id=info.id)).data == data
    assert api.GetFileInfo(fb.GetFileInfoRequest(file_id=info.id)).file_info == info

    copied = api.CopyFileInfos(fb.CopyFileInfosRequest(user_id="u" * 26, file_ids=[info.id]))
    assert len(copied.file_ids) == 1 and copied.file_ids[0] != info.id
    infos = api.GetFileInfos(
        fb.GetFileInfosRequest(
            page=0, per_page=10, options=fb.GetFileInfosOptions(user_id="u" * 26)
        )
    ).file_infos
    assert [i.id for i in infos] == list(copied.file_ids)

    missing = api.GetFile(fb.GetFileRequest(file_id="m" * 26))
    assert missing.error.status_code == 404
    assert missing.error.where == "GetFile"

    fake.config["FileSettings"]["MaxFileSize"] = 10
    too_big = api.UploadFile(
        fb.UploadFileRequest(data=b"x" * 11, channel_id=channel.id, filename="a")
    )
    assert too_big.error.status_code == 413


# ------------------------------------------------------------------------------ bots, config, logs


def test_bots(api: api_pb2_grpc.PluginAPIStub, fake: FakeMattermost) -> None:
    bot = api.CreateBot(
        fb.CreateBotRequest(bot=fb.Bot(username="helper", display_name="Helper"))
    ).bot
    assert ID_RE.match(bot.user_id)
    assert bot.owner_id == fake.plugin_id
    user = api.GetUser(ut.GetUserRequest(user_id=bot.user_id)).user
    assert user.is_bot and user.username == "helper"

    dup = status_error(lambda: api.CreateBot(fb.CreateBotRequest(bot=fb.Bot(username="helper"))))
    assert dup.code() == grpc.StatusCode.ALREADY_EXISTS

    patched = api.PatchBot(
        fb.PatchBotRequest(bot_user_id=bot.user_id, bot_patch=fb.BotPatch(description="Helps"))
    ).bot
    assert patched.description == "Helps" and patched.display_name == "Helper"
    bots = api.GetBots(fb.GetBotsRequest(options=fb.BotGetOptions(page=0, per_page=10))).bots
    assert [b.user_id for b in bots] == [bot.user_id]
    ensured = api.EnsureBotUser(fb.EnsureBotUserRequest(bot=fb.Bot(username="helper")))
    assert ensured.bot_user_id == bot.user_id

    missing = status_error(lambda: api.GetBot(fb.GetBotRequest(bot_user_id="n" * 26)))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


def test_config_plugin_config_and_version(
    api: api_pb2_grpc.PluginAPIStub, fake: FakeMattermost
) -> None:
    assert api.GetServerVersion(rem.GetServerVersionRequest()).version == "10.5.0"
    fake.server_version = "9.11.2"
    assert api.GetServerVersion(rem.GetServerVersionRequest()).version == "9.11.2"

    settings = struct_pb2.Struct()
    settings.update({"Greeting": "hi", "Enabled": True})
    api.SavePluginConfig(kv.SavePluginConfigRequest(config=settings))
    assert api.GetPluginConfig(kv.GetPluginConfigRequest()).config == settings
    loaded = api.LoadPluginConfiguration(kv.LoadPluginConfigurationRequest()).config_json
    assert b'"Greeting": "hi"' in loaded
    assert b'"Greeting": "hi"' in api.GetConfig(kv.GetConfigRequest()).config_json

    bad = status_error(lambda: api.SaveConfig(kv.SaveConfigRequest(config_json=b"{nope")))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_logs_are_recorded(api: api_pb2_grpc.PluginAPIStub, fake: FakeMattermost) -> None:
    pair = kv.KeyValuePair(key="count", value=struct_pb2.Value(number_value=3))
    api.LogInfo(kv.LogInfoRequest(msg="started", key_value_pairs=[pair]))
    api.LogError(kv.LogErrorRequest(msg="failed"))
    assert [(e.level, e.message, e.fields) for e in fake.logs] == [
        ("info", "started", {"count": 3}),
        ("error", "failed", {}),
    ]


# ------------------------------------------------------------------------------ out of process


def test_module_runs_in_the_foreground_and_prints_its_address() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", fake_server.__name__, "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip()
        assert re.match(r"^127\.0\.0\.1:\d+$", address)
        with grpc.insecure_channel(address) as channel:
            stub = api_pb2_grpc.PluginAPIStub(channel)
            version = stub.GetServerVersion(rem.GetServerVersionRequest(), timeout=10)
            assert version.version == "10.5.0"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
