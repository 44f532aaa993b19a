"""Plugin API calls: the SDK clients against raw grpcio stubs, same RPC, same server.

The baseline is what a plugin would write without the SDK: build the request protobuf and
call ``PluginAPIStub`` (``grpc.aio`` for the async benchmarks), with the same deadline the
SDK sets by default. The SDK side adds what it promises on top — keyword arguments, Pydantic
models in and out, error checking and mapping, the retry loop — and that is what is measured.
"""

from __future__ import annotations

import grpc
import grpc.aio

from bench.harness import Benchmark, Context
from mattermost_plugin import AsyncPluginAPIClient, NotFoundError, PluginAPIClient
from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2 as cp
from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2 as kv
from mattermost_plugin._pb.pluginapi.v1 import api_pb2_grpc, post_pb2
from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2 as ut
from mattermost_plugin._transport import CHANNEL_OPTIONS, DEFAULT_TIMEOUT
from mattermost_plugin.models.channel import Channel
from mattermost_plugin.models.enums import ChannelType, TeamType
from mattermost_plugin.models.team import Team
from mattermost_plugin.models.user import User

KV_KEY = "bench-key"
KV_VALUE = b'{"counter":42,"owner":"bench","tags":["a","b","c"]}'
MESSAGE = "a benchmark post"


class Fixture:
    """The data the calls need: one user, in a team and a channel, and one KV entry."""

    def __init__(self, address: str) -> None:
        with PluginAPIClient(target=address) as api:
            try:
                user = api.get_user_by_username("bench")
                team = api.get_team_by_name("bench")
                channel = api.get_channel_by_name(team.id, "bench")
            except NotFoundError:  # the first suite on this server creates everything
                user = api.create_user(
                    User(username="bench", email="bench@example.com", password="password123")
                )
                team = api.create_team(Team(name="bench", display_name="B", type=TeamType.OPEN))
                api.create_team_member(team.id, user.id)
                channel = api.create_channel(
                    Channel(team_id=team.id, name="bench", display_name="B", type=ChannelType.OPEN)
                )
                api.add_channel_member(channel.id, user.id)
            api.kv_set(KV_KEY, KV_VALUE)
        self.user_id = user.id
        self.channel_id = channel.id


def sync_suite(ctx: Context) -> list[Benchmark]:
    """get_user, create_post, kv_set and kv_get with ``PluginAPIClient`` vs. a grpcio stub."""
    data = Fixture(ctx.address)
    user_id, channel_id = data.user_id, data.channel_id
    client = PluginAPIClient(target=ctx.address)
    channel = grpc.insecure_channel(ctx.address, options=CHANNEL_OPTIONS)
    stub = api_pb2_grpc.PluginAPIStub(channel)
    ctx.defer(client.close)
    ctx.defer(channel.close)
    timeout = DEFAULT_TIMEOUT

    return [
        Benchmark(
            "sync get_user",
            lambda: client.get_user(user_id),
            lambda: stub.GetUser(ut.GetUserRequest(user_id=user_id), timeout=timeout),
            description="GetUser → User model vs. GetUserResponse",
        ),
        Benchmark(
            "sync create_post",
            lambda: client.create_post(channel_id=channel_id, user_id=user_id, message=MESSAGE),
            lambda: stub.CreatePost(
                cp.CreatePostRequest(
                    post=post_pb2.Post(channel_id=channel_id, user_id=user_id, message=MESSAGE)
                ),
                timeout=timeout,
            ),
            description="CreatePost from keyword fields → Post model vs. CreatePostResponse",
        ),
        Benchmark(
            "sync kv_set",
            lambda: client.kv_set(KV_KEY, KV_VALUE),
            lambda: stub.KVSet(kv.KVSetRequest(key=KV_KEY, value=KV_VALUE), timeout=timeout),
            description="KVSet of 52 bytes",
        ),
        Benchmark(
            "sync kv_get",
            lambda: client.kv_get(KV_KEY),
            lambda: stub.KVGet(kv.KVGetRequest(key=KV_KEY), timeout=timeout),
            description="KVGet of 52 bytes",
        ),
    ]


def async_suite(ctx: Context) -> list[Benchmark]:
    """The same four calls with ``AsyncPluginAPIClient`` vs. a grpc.aio stub."""
    data = Fixture(ctx.address)
    user_id, channel_id = data.user_id, data.channel_id
    client = AsyncPluginAPIClient(target=ctx.address)

    async def open_channel() -> grpc.aio.Channel:  # grpc.aio channels belong to a loop
        return grpc.aio.insecure_channel(ctx.address, options=CHANNEL_OPTIONS)

    channel = ctx.run(open_channel())
    stub = api_pb2_grpc.PluginAPIStub(channel)
    ctx.defer(client.close)
    ctx.defer(channel.close)
    timeout = DEFAULT_TIMEOUT

    return [
        Benchmark(
            "async get_user",
            lambda: client.get_user(user_id),
            lambda: stub.GetUser(ut.GetUserRequest(user_id=user_id), timeout=timeout),
            asynchronous=True,
            description="GetUser → User model vs. GetUserResponse (grpc.aio)",
        ),
        Benchmark(
            "async create_post",
            lambda: client.create_post(channel_id=channel_id, user_id=user_id, message=MESSAGE),
            lambda: stub.CreatePost(
                cp.CreatePostRequest(
                    post=post_pb2.Post(channel_id=channel_id, user_id=user_id, message=MESSAGE)
                ),
                timeout=timeout,
            ),
            asynchronous=True,
            description="CreatePost from keyword fields (grpc.aio)",
        ),
        Benchmark(
            "async kv_set",
            lambda: client.kv_set(KV_KEY, KV_VALUE),
            lambda: stub.KVSet(kv.KVSetRequest(key=KV_KEY, value=KV_VALUE), timeout=timeout),
            asynchronous=True,
            description="KVSet of 52 bytes (grpc.aio)",
        ),
        Benchmark(
            "async kv_get",
            lambda: client.kv_get(KV_KEY),
            lambda: stub.KVGet(kv.KVGetRequest(key=KV_KEY), timeout=timeout),
            asynchronous=True,
            description="KVGet of 52 bytes (grpc.aio)",
        ),
    ]
