"""PluginAPIClient and AsyncPluginAPIClient over real gRPC, against the fake server.

Tests taking the ``api`` fixture run twice: with the blocking client and with the async one
(see ``conftest.py``). Connection handling — targets, deadlines, retries, closing — is
tested with tiny hand-written servicers that sleep, fail or count.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import timedelta

import grpc
import pytest
from pydantic import BaseModel
from tests.support.api_client import Clock, ServeServicer, ServicerBase, run

from mattermost_plugin import (
    AlreadyExistsError,
    AsyncPluginAPIClient,
    NotFoundError,
    PluginAPIClient,
    PluginAPIError,
    UnavailableError,
    ValidationError,
)
from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2 as ut
from mattermost_plugin._pb.pluginapi.v1 import user_pb2
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.models.channel import Channel
from mattermost_plugin.models.enums import ChannelType, TeamType
from mattermost_plugin.models.post import Post, Reaction
from mattermost_plugin.models.team import Team
from mattermost_plugin.models.user import User

# --------------------------------------------------------------------------- helpers


class Settings(BaseModel):
    name: str
    limit: int
    tags: list[str] = []


def new_user(api: PluginAPIClient, username: str = "alice") -> User:
    return api.create_user(
        User(username=username, email=f"{username}@example.com", password="password123")
    )


def new_team(api: PluginAPIClient, name: str = "engineering") -> Team:
    return api.create_team(Team(name=name, display_name=name.title(), type=TeamType.OPEN))


def new_channel(api: PluginAPIClient, team: Team, name: str = "dev") -> Channel:
    return api.create_channel(
        Channel(team_id=team.id, name=name, display_name=name.title(), type=ChannelType.OPEN)
    )


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- users


def test_create_get_and_update_user(api: PluginAPIClient) -> None:
    created = new_user(api)
    assert len(created.id) == 26
    assert created.username == "alice"
    assert created.create_at > 0

    fetched = api.get_user(created.id)
    assert fetched.id == created.id
    assert fetched.email == "alice@example.com"
    assert api.get_user_by_username("alice").id == created.id

    updated = api.update_user(fetched.model_copy(update={"nickname": "Al", "first_name": "Alice"}))
    assert (updated.nickname, updated.first_name) == ("Al", "Alice")
    assert api.get_user(created.id).nickname == "Al"


def test_missing_user_raises_not_found_with_details(api: PluginAPIClient) -> None:
    with pytest.raises(NotFoundError) as info:
        api.get_user("x" * 26)
    error = info.value
    assert error.error_id == "app.user.missing_account.const"
    assert error.status_code == 404
    assert error.grpc_code is grpc.StatusCode.NOT_FOUND
    assert error.method == "GetUser"
    assert "x" * 26 in error.message
    assert isinstance(error.__cause__, grpc.RpcError)
    assert str(error).startswith("GetUser: app.user.missing_account.const: ")

    with pytest.raises(NotFoundError):
        api.get_user_by_username("nobody")


def test_duplicate_user_raises_already_exists(api: PluginAPIClient) -> None:
    new_user(api)
    with pytest.raises(AlreadyExistsError) as info:
        new_user(api)
    assert info.value.status_code == 409
    assert info.value.error_id == "app.user.save.username_exists.app_error"
    assert info.value.method == "CreateUser"


def test_invalid_user_raises_validation_error(api: PluginAPIClient) -> None:
    with pytest.raises(ValidationError) as info:
        api.create_user(User(username="bob", email="bob@example.com", password="short"))
    assert info.value.status_code == 400
    assert info.value.grpc_code is grpc.StatusCode.INVALID_ARGUMENT


# --------------------------------------------------------------------------- teams, channels


def test_teams_channels_and_members(api: PluginAPIClient) -> None:
    user = new_user(api)
    team = new_team(api)
    assert api.get_team(team.id).name == "engineering"
    assert api.get_team_by_name("engineering").id == team.id
    assert [t.id for t in api.get_teams()] == [team.id]

    member = api.create_team_member(team.id, user.id)
    assert (member.team_id, member.user_id) == (team.id, user.id)
    assert [m.user_id for m in api.get_team_members(team.id)] == [user.id]
    assert [t.id for t in api.get_teams_for_user(user.id)] == [team.id]

    channel = new_channel(api, team)
    assert channel.type is ChannelType.OPEN
    assert api.get_channel(channel.id).name == "dev"
    assert api.get_channel_by_name(team.id, "dev").id == channel.id

    channel_member = api.add_channel_member(channel.id, user.id)
    assert channel_member.user_id == user.id
    assert [m.user_id for m in api.get_channel_members(channel.id)] == [user.id]
    assert api.get_channel_member(channel.id, user.id).roles == "channel_user"

    with pytest.raises(AlreadyExistsError):
        new_channel(api, team)
    with pytest.raises(NotFoundError) as info:
        api.get_channel("y" * 26)
    assert info.value.method == "GetChannel"


# --------------------------------------------------------------------------- posts, reactions


@pytest.fixture
def channel_and_user(api: PluginAPIClient) -> tuple[Channel, User]:
    user = new_user(api)
    team = new_team(api)
    api.create_team_member(team.id, user.id)
    channel = new_channel(api, team)
    api.add_channel_member(channel.id, user.id)
    return channel, user


def test_create_post_from_model_and_from_fields(
    api: PluginAPIClient, channel_and_user: tuple[Channel, User]
) -> None:
    channel, user = channel_and_user
    from_model = api.create_post(Post(channel_id=channel.id, user_id=user.id, message="one"))
    from_fields = api.create_post(channel_id=channel.id, user_id=user.id, message="two")

    for post, message in ((from_model, "one"), (from_fields, "two")):
        assert len(post.id) == 26
        assert (post.channel_id, post.user_id, post.message) == (channel.id, user.id, message)
        assert post.create_at > 0
        assert api.get_post(post.id).message == message


def test_create_post_argument_errors(api: PluginAPIClient) -> None:
    with pytest.raises(TypeError):
        api.create_post()
    with pytest.raises(TypeError):
        api.create_post(Post(channel_id="c"), message="both")


def test_post_errors_are_embedded_app_errors(
    api: PluginAPIClient, channel_and_user: tuple[Channel, User]
) -> None:
    channel, _ = channel_and_user
    with pytest.raises(NotFoundError) as info:
        api.create_post(channel_id=channel.id, user_id="z" * 26, message="hi")
    error = info.value
    assert error.method == "CreatePost"
    assert error.status_code == 404
    assert error.grpc_code is grpc.StatusCode.OK  # the failure came inside the response
    assert error.where == "CreatePost"
    assert error.__cause__ is not None

    with pytest.raises(NotFoundError):
        api.get_post("z" * 26)


def test_threads_updates_and_deletes(
    api: PluginAPIClient, channel_and_user: tuple[Channel, User]
) -> None:
    channel, user = channel_and_user
    root = api.create_post(channel_id=channel.id, user_id=user.id, message="root")
    reply = api.create_post(
        channel_id=channel.id, user_id=user.id, message="reply", root_id=root.id
    )
    assert reply.root_id == root.id

    thread = api.get_post_thread(reply.id)
    assert set(thread.order) == {root.id, reply.id}
    assert thread.posts[reply.id].message == "reply"
    assert thread.posts[root.id].reply_count == 1

    edited = api.update_post(root.model_copy(update={"message": "root, edited"}))
    assert edited.message == "root, edited"
    assert edited.edit_at > 0

    with pytest.raises(ValidationError):  # a reply to a reply
        api.create_post(channel_id=channel.id, user_id=user.id, message="x", root_id=reply.id)

    api.delete_post(root.id)
    with pytest.raises(NotFoundError):
        api.get_post_thread(reply.id)


def test_reactions(api: PluginAPIClient, channel_and_user: tuple[Channel, User]) -> None:
    channel, user = channel_and_user
    post = api.create_post(channel_id=channel.id, user_id=user.id, message="react to me")

    added = api.add_reaction(Reaction(user_id=user.id, post_id=post.id, emoji_name="thumbsup"))
    assert added.emoji_name == "thumbsup"
    assert added.channel_id == channel.id
    assert [r.emoji_name for r in api.get_reactions(post.id)] == ["thumbsup"]
    assert api.get_post(post.id).has_reactions

    api.remove_reaction(Reaction(user_id=user.id, post_id=post.id, emoji_name="thumbsup"))
    assert api.get_reactions(post.id) == []

    with pytest.raises(ValidationError) as info:
        api.add_reaction(Reaction(user_id=user.id, post_id=post.id, emoji_name="no spaces"))
    assert info.value.method == "AddReaction"


# --------------------------------------------------------------------------- KV store


def test_kv_set_and_get_each_kind_of_value(api: PluginAPIClient) -> None:
    api.kv_set("bytes", b"\x00\x01raw")
    api.kv_set("bytearray", bytearray(b"ba"))
    api.kv_set("text", "héllo")
    api.kv_set("dict", {"a": 1, "b": [True, None]})
    api.kv_set("list", [1, 2, 3])
    api.kv_set("model", Settings(name="x", limit=3, tags=["t"]))

    assert api.kv_get("bytes") == b"\x00\x01raw"
    assert api.kv_get("bytearray") == b"ba"
    assert api.kv_get("text") == "héllo".encode()
    assert api.kv_get("dict") == b'{"a":1,"b":[true,null]}'
    assert api.kv_get("model") == b'{"name":"x","limit":3,"tags":["t"]}'


def test_kv_get_missing_key_is_none(api: PluginAPIClient) -> None:
    assert api.kv_get("missing") is None
    assert api.kv_get_as("missing", Settings) is None
    assert api.kv_get_as("missing", dict) is None


def test_kv_get_as(api: PluginAPIClient) -> None:
    api.kv_set("model", Settings(name="x", limit=3))
    api.kv_set("dict", {"a": 1})
    api.kv_set("text", "plain text, not JSON")
    api.kv_set("list", [1, 2, 3])
    api.kv_set("bytes", b"\xff\xfe")

    settings = api.kv_get_as("model", Settings)
    assert settings == Settings(name="x", limit=3)
    assert isinstance(settings, Settings)
    assert api.kv_get_as("dict", dict) == {"a": 1}
    assert api.kv_get_as("text", str) == "plain text, not JSON"
    assert api.kv_get_as("list", list[int]) == [1, 2, 3]
    assert api.kv_get_as("bytes", bytes) == b"\xff\xfe"


def test_kv_delete_and_list(api: PluginAPIClient) -> None:
    for key in ("b", "a", "c"):
        api.kv_set(key, key)
    assert api.kv_list(page=0, per_page=10) == ["a", "b", "c"]
    api.kv_delete("b")
    assert api.kv_get("b") is None
    assert api.kv_list(page=0, per_page=10) == ["a", "c"]


@pytest.mark.parametrize("expires_in", [60, 60.0, timedelta(minutes=1)])
def test_kv_set_expires_in(
    api: PluginAPIClient, fake: FakeMattermost, clock: Clock, expires_in: int | float | timedelta
) -> None:
    api.kv_set("session", {"token": "t"}, expires_in=expires_in)
    assert fake.kv["session"].expire_at == fake.now_ms() + 60_000
    assert api.kv_get_as("session", dict) == {"token": "t"}
    clock.advance(59)
    assert api.kv_get("session") is not None
    clock.advance(2)
    assert api.kv_get("session") is None


def test_kv_set_rejects_non_positive_expiry(api: PluginAPIClient) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        api.kv_set("k", "v", expires_in=0)


def test_kv_invalid_key_raises_validation_error(api: PluginAPIClient) -> None:
    with pytest.raises(ValidationError) as info:
        api.kv_set("k" * 151, "v")
    assert info.value.method == "KVSet"
    assert info.value.grpc_code is grpc.StatusCode.OK


# --------------------------------------------------------------------------- files


def test_upload_and_get_file(api: PluginAPIClient, channel_and_user: tuple[Channel, User]) -> None:
    channel, _ = channel_and_user
    data = bytes(range(256)) * 1000
    info = api.upload_file(data, channel.id, "report.pdf")
    assert info.name == "report.pdf"
    assert info.size == len(data)
    assert info.extension == "pdf"
    assert info.channel_id == channel.id

    assert api.get_file(info.id) == data
    assert api.get_file_info(info.id).mime_type == "application/pdf"
    with pytest.raises(NotFoundError) as err:
        api.get_file("f" * 26)
    assert err.value.method == "GetFile"


# --------------------------------------------------------------------------- config, server


def test_config_and_server(api: PluginAPIClient, fake: FakeMattermost) -> None:
    fake.config["PluginSettings"]["Plugins"][fake.plugin_id] = {"Greeting": "hi", "Max": 3}
    plugin_config = api.get_plugin_config()
    assert isinstance(plugin_config, dict)
    assert plugin_config == {"Greeting": "hi", "Max": 3}

    version = api.get_server_version()
    assert isinstance(version, str)
    assert version == fake.server_version

    config = api.get_config()
    assert isinstance(config, dict)
    assert config["ServiceSettings"] == {
        "SiteURL": "http://localhost:8065",
        "EnableDeveloper": True,
    }


def test_method_the_fake_does_not_implement(api: PluginAPIClient) -> None:
    with pytest.raises(PluginAPIError) as info:
        api.get_ldap_user_attributes("u" * 26, ["cn"])
    error = info.value
    assert type(error) is PluginAPIError
    assert error.status_code == 501
    assert error.method == "GetLDAPUserAttributes"
    assert error.message == "the local host does not model GetLDAPUserAttributes"


# --------------------------------------------------------------------------- connecting


@pytest.fixture
def no_target_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("MATTERMOST_PLUGIN_API_TARGET", raising=False)
    monkeypatch.delenv("MATTERMOST_API_TARGET", raising=False)
    return monkeypatch


def test_no_target_names_the_variable(no_target_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(PluginAPIError, match="MATTERMOST_PLUGIN_API_TARGET"):
        PluginAPIClient()
    with pytest.raises(PluginAPIError, match="MATTERMOST_PLUGIN_API_TARGET"):
        AsyncPluginAPIClient()


@pytest.mark.parametrize("variable", ["MATTERMOST_PLUGIN_API_TARGET", "MATTERMOST_API_TARGET"])
def test_target_from_environment(
    no_target_env: pytest.MonkeyPatch, address: str, variable: str
) -> None:
    no_target_env.setenv(variable, address)
    with PluginAPIClient() as client:
        assert client.target == address
        assert client.get_server_version()

    async def main() -> str:
        async with AsyncPluginAPIClient() as client:
            assert client.target == address
            return await client.get_server_version()

    assert run(main())


def test_explicit_target_wins_over_environment(no_target_env: pytest.MonkeyPatch) -> None:
    no_target_env.setenv("MATTERMOST_PLUGIN_API_TARGET", "127.0.0.1:1")
    with PluginAPIClient(target="127.0.0.1:2") as client:
        assert client.target == "127.0.0.1:2"


def test_unreachable_server_is_unavailable_and_names_the_address() -> None:
    target = f"127.0.0.1:{closed_port()}"
    with (
        PluginAPIClient(target=target, retries=0) as client,
        pytest.raises(UnavailableError) as info,
    ):
        client.get_user("u" * 26)
    assert target in str(info.value)
    assert info.value.grpc_code is grpc.StatusCode.UNAVAILABLE
    assert isinstance(info.value.__cause__, grpc.RpcError)

    async def main() -> None:
        async with AsyncPluginAPIClient(target=target, retries=0) as client:
            await client.kv_get("k")

    with pytest.raises(UnavailableError, match=target):
        run(main())


class SlowServicer(ServicerBase):
    """GetUser answers only after ``release`` is set (or 5 s)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def GetUser(
        self, request: ut.GetUserRequest, context: grpc.ServicerContext
    ) -> ut.GetUserResponse:
        self.release.wait(5)
        return ut.GetUserResponse(user=user_pb2.User(id=request.user_id))


def test_per_call_timeout_is_unavailable_deadline_exceeded(
    serve_servicer: ServeServicer,
) -> None:
    servicer = SlowServicer()
    target = serve_servicer(servicer)
    try:
        with PluginAPIClient(target=target) as client:
            with pytest.raises(UnavailableError) as info:
                client.get_user("u", timeout=0.2)
            assert info.value.grpc_code is grpc.StatusCode.DEADLINE_EXCEEDED
            assert info.value.method == "GetUser"

        with (
            PluginAPIClient(target=target, timeout=0.2) as client,
            pytest.raises(UnavailableError) as info,
        ):
            client.get_user("u")  # the client's default deadline
        assert info.value.grpc_code is grpc.StatusCode.DEADLINE_EXCEEDED

        async def main() -> None:
            async with AsyncPluginAPIClient(target=target) as client:
                await client.get_user("u", timeout=0.2)

        with pytest.raises(UnavailableError) as info:
            run(main())
        assert info.value.grpc_code is grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        servicer.release.set()


class FlakyServicer(ServicerBase):
    """GetUser and CreateUser fail UNAVAILABLE ``failures`` times, then succeed; counted."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: dict[str, int] = {"GetUser": 0, "CreateUser": 0}
        self._lock = threading.Lock()

    def _attempt(self, method: str, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.attempts[method] += 1
            fail = self.attempts[method] <= self.failures
        if fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "app.server.busy: try again")

    def GetUser(
        self, request: ut.GetUserRequest, context: grpc.ServicerContext
    ) -> ut.GetUserResponse:
        self._attempt("GetUser", context)
        return ut.GetUserResponse(user=user_pb2.User(id=request.user_id, username="flaky"))

    def CreateUser(
        self, request: ut.CreateUserRequest, context: grpc.ServicerContext
    ) -> ut.CreateUserResponse:
        self._attempt("CreateUser", context)
        return ut.CreateUserResponse(user=request.user)


def test_reads_are_retried_on_unavailable(serve_servicer: ServeServicer) -> None:
    servicer = FlakyServicer(failures=2)
    with PluginAPIClient(target=serve_servicer(servicer)) as client:
        assert client.get_user("u1").username == "flaky"
    assert servicer.attempts["GetUser"] == 3


def test_writes_are_not_retried(serve_servicer: ServeServicer) -> None:
    servicer = FlakyServicer(failures=2)
    with (
        PluginAPIClient(target=serve_servicer(servicer)) as client,
        pytest.raises(UnavailableError) as info,
    ):
        client.create_user(User(username="w"))
    assert servicer.attempts["CreateUser"] == 1
    assert info.value.method == "CreateUser"
    assert info.value.error_id == "app.server.busy"


def test_retries_give_up_after_the_limit(serve_servicer: ServeServicer) -> None:
    servicer = FlakyServicer(failures=10)
    with (
        PluginAPIClient(target=serve_servicer(servicer), retries=2) as client,
        pytest.raises(UnavailableError),
    ):
        client.get_user("u1")
    assert servicer.attempts["GetUser"] == 3


def test_async_retries_reads_but_not_writes(serve_servicer: ServeServicer) -> None:
    servicer = FlakyServicer(failures=2)
    target = serve_servicer(servicer)

    async def main() -> None:
        async with AsyncPluginAPIClient(target=target) as client:
            assert (await client.get_user("u1")).username == "flaky"
            with pytest.raises(UnavailableError):
                await client.create_user(User(username="w"))

    run(main())
    assert servicer.attempts == {"GetUser": 3, "CreateUser": 1}


# --------------------------------------------------------------------------- closing


def test_sync_close_is_idempotent_and_final(address: str) -> None:
    client = PluginAPIClient(target=address)
    assert client.get_server_version()
    client.close()
    client.close()
    with pytest.raises(PluginAPIError) as info:
        client.get_server_version()
    assert info.value.grpc_code is grpc.StatusCode.CANCELLED

    with PluginAPIClient(target=address) as used:
        assert used.kv_get("nothing") is None
    used.close()  # after the with block closed it


def test_async_close_is_idempotent_and_final(address: str) -> None:
    async def main() -> None:
        client = AsyncPluginAPIClient(target=address)
        await client.close()  # never connected
        await client.close()

        client = AsyncPluginAPIClient(target=address)
        assert await client.get_server_version()
        await client.close()
        await client.close()
        with pytest.raises(PluginAPIError):
            await client.get_server_version()

        async with AsyncPluginAPIClient(target=address) as used:
            assert await used.kv_get("nothing") is None
        await used.close()

    run(main())


def test_async_client_is_concurrent(address: str, fake: FakeMattermost) -> None:
    async def main() -> list[bytes | None]:
        async with AsyncPluginAPIClient(target=address) as client:
            await asyncio.gather(*(client.kv_set(f"k{i}", str(i)) for i in range(20)))
            return await asyncio.gather(*(client.kv_get(f"k{i}") for i in range(20)))

    assert run(main()) == [str(i).encode() for i in range(20)]
    assert len(fake.kv) == 20
