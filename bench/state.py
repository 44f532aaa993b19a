"""KV collections: ``update`` against the raw KV calls it makes.

The baseline of ``kv update`` is what a plugin writes without the SDK to change a JSON value
safely: ``KVGet``, ``json`` decode, change, encode, ``KVSetWithOptions`` (atomic, with the old
value) on a raw grpcio stub. The SDK side is ``collection.update(key, fn)`` on a Pydantic
model: the same two calls, plus validation on the way in and out (the written JSON is also
checked to read back). Without contention both sides write on their first attempt.
Updates under contention, from plugin nodes of a local cluster, are in ``bench.cluster``.
"""

from __future__ import annotations

import json

import grpc
import grpc.aio
from pydantic import BaseModel

from bench.harness import Benchmark, Context
from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2 as kv
from mattermost_plugin._pb.pluginapi.v1 import api_pb2_grpc
from mattermost_plugin._transport import CHANNEL_OPTIONS, DEFAULT_TIMEOUT
from mattermost_plugin.kv import KV, AsyncKV

START = b'{"counter":0,"owner":"bench","tags":["a","b","c"]}'


class Counter(BaseModel):
    counter: int
    owner: str
    tags: list[str]


def increment(value: Counter | None) -> Counter:
    assert value is not None
    value.counter += 1  # each attempt gets a freshly read value: changing it in place is fine
    return value


def _raw_update_request(key: str, old: bytes) -> kv.KVSetWithOptionsRequest:
    document = json.loads(old)
    document["counter"] += 1
    new = json.dumps(document, separators=(",", ":")).encode()
    options = kv.PluginKVSetOptions(atomic=True, old_value=old)
    return kv.KVSetWithOptionsRequest(key=key, value=new, options=options)


def sync_suite(ctx: Context) -> list[Benchmark]:
    """``Collection.update`` vs KVGet + KVSetWithOptions on a grpcio stub."""
    client = PluginAPIClient(target=ctx.address)
    channel = grpc.insecure_channel(ctx.address, options=CHANNEL_OPTIONS)
    stub = api_pb2_grpc.PluginAPIStub(channel)
    ctx.defer(client.close)
    ctx.defer(channel.close)
    counters = KV(client).collection("bench", Counter)
    client.kv_set("bench:sdk", START)
    client.kv_set("bench:raw", START)
    timeout = DEFAULT_TIMEOUT

    def raw() -> None:
        old = stub.KVGet(kv.KVGetRequest(key="bench:raw"), timeout=timeout).value
        response = stub.KVSetWithOptions(_raw_update_request("bench:raw", old), timeout=timeout)
        assert response.success

    return [
        Benchmark(
            "sync kv update",
            lambda: counters.update("sdk", increment),
            raw,
            description="update() of a model, no contention vs. KVGet + KVSetWithOptions",
        )
    ]


def async_suite(ctx: Context) -> list[Benchmark]:
    """``AsyncCollection.update`` vs the same two calls on a grpc.aio stub."""
    client = AsyncPluginAPIClient(target=ctx.address)

    async def open_channel() -> grpc.aio.Channel:  # grpc.aio channels belong to a loop
        return grpc.aio.insecure_channel(ctx.address, options=CHANNEL_OPTIONS)

    channel = ctx.run(open_channel())
    stub = api_pb2_grpc.PluginAPIStub(channel)
    ctx.defer(client.close)
    ctx.defer(channel.close)
    counters = AsyncKV(client).collection("bench", Counter)
    ctx.run(client.kv_set("bench:async-sdk", START))
    ctx.run(client.kv_set("bench:async-raw", START))
    timeout = DEFAULT_TIMEOUT

    async def raw() -> None:
        got = await stub.KVGet(kv.KVGetRequest(key="bench:async-raw"), timeout=timeout)
        request = _raw_update_request("bench:async-raw", got.value)
        response = await stub.KVSetWithOptions(request, timeout=timeout)
        assert response.success

    return [
        Benchmark(
            "async kv update",
            lambda: counters.update("async-sdk", increment),
            raw,
            asynchronous=True,
            description="update() of a model, no contention (grpc.aio)",
        )
    ]
