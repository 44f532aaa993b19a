"""The cluster mutex: a lock + unlock round trip, reported (no target).

The SDK side is ``with mutex: pass`` on :class:`mattermost_plugin.mutex.Mutex` (and ``async
with`` on :class:`AsyncMutex`): a ``KVSetWithOptions`` (atomic, "only if absent", with the
lease as expiry) and a ``KVCompareAndDelete``, plus a fresh token, the local lock, and
handing the hold to the lease renewer and taking it back. The baseline makes the same two
calls on a raw grpcio stub with a fixed token.
"""

from __future__ import annotations

import math

import grpc
import grpc.aio

from bench.harness import Benchmark, Context
from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2 as kv
from mattermost_plugin._pb.pluginapi.v1 import api_pb2_grpc
from mattermost_plugin._transport import CHANNEL_OPTIONS, DEFAULT_TIMEOUT
from mattermost_plugin.mutex import AsyncMutex, Mutex

TOKEN = b"0123456789abcdef0123456789abcdef bench:1"


def _requests(key: str) -> tuple[kv.KVSetWithOptionsRequest, kv.KVCompareAndDeleteRequest]:
    options = kv.PluginKVSetOptions(atomic=True, expire_in_seconds=15)
    lock = kv.KVSetWithOptionsRequest(key=key, value=TOKEN, options=options)
    return lock, kv.KVCompareAndDeleteRequest(key=key, old_value=TOKEN)


def sync_suite(ctx: Context) -> list[Benchmark]:
    """``with mutex:`` vs KVSetWithOptions + KVCompareAndDelete on a grpcio stub."""
    client = PluginAPIClient(target=ctx.address)
    channel = grpc.insecure_channel(ctx.address, options=CHANNEL_OPTIONS)
    stub = api_pb2_grpc.PluginAPIStub(channel)
    ctx.defer(client.close)
    ctx.defer(channel.close)
    mutex = Mutex(client, "bench")
    lock, unlock = _requests("_mutex:bench-raw")

    def sdk() -> None:
        with mutex:
            pass

    def raw() -> None:
        assert stub.KVSetWithOptions(lock, timeout=DEFAULT_TIMEOUT).success
        assert stub.KVCompareAndDelete(unlock, timeout=DEFAULT_TIMEOUT).success

    return [
        Benchmark(
            "sync mutex round trip",
            sdk,
            raw,
            description="with mutex: pass, vs. KVSetWithOptions + KVCompareAndDelete",
            target_ratio=math.inf,
        )
    ]


def async_suite(ctx: Context) -> list[Benchmark]:
    """``async with mutex:`` vs the same two calls on a grpc.aio stub."""
    client = AsyncPluginAPIClient(target=ctx.address)

    async def open_channel() -> grpc.aio.Channel:  # grpc.aio channels belong to a loop
        return grpc.aio.insecure_channel(ctx.address, options=CHANNEL_OPTIONS)

    channel = ctx.run(open_channel())
    stub = api_pb2_grpc.PluginAPIStub(channel)
    ctx.defer(client.close)
    ctx.defer(channel.close)
    mutex = AsyncMutex(client, "bench-async")
    lock, unlock = _requests("_mutex:bench-async-raw")

    async def sdk() -> None:
        async with mutex:
            pass

    async def raw() -> None:
        assert (await stub.KVSetWithOptions(lock, timeout=DEFAULT_TIMEOUT)).success
        assert (await stub.KVCompareAndDelete(unlock, timeout=DEFAULT_TIMEOUT)).success

    return [
        Benchmark(
            "async mutex round trip",
            sdk,
            raw,
            asynchronous=True,
            description="async with mutex: pass (grpc.aio)",
            target_ratio=math.inf,
        )
    ]
