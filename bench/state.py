"""KV collections: ``update`` against the raw KV calls it makes, and updates under contention.

The baseline of ``kv update`` is what a plugin writes without the SDK to change a JSON value
safely: ``KVGet``, ``json`` decode, change, encode, ``KVSetWithOptions`` (atomic, with the old
value) on a raw grpcio stub. The SDK side is ``collection.update(key, fn)`` on a Pydantic
model: the same two calls, plus validation on the way in and out (the written JSON is also
checked to read back). Without contention both sides write on their first attempt.

``contention`` (reported, no target) runs processes x threads incrementing one key for a few
seconds, each process with its own client, as plugin processes on cluster nodes do, and
reports the increments per second that succeeded; it also checks the final count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import grpc
import grpc.aio
from pydantic import BaseModel

from bench.harness import Benchmark, Context
from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2 as kv
from mattermost_plugin._pb.pluginapi.v1 import api_pb2_grpc
from mattermost_plugin._transport import CHANNEL_OPTIONS, DEFAULT_TIMEOUT
from mattermost_plugin.kv import KV, AsyncKV, UpdateConflictError

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


# --------------------------------------------------------------------------- contention


def _worker(address: str, key: str, threads: int, seconds: float) -> None:
    """One process: ``threads`` threads incrementing ``key`` until the time is up; prints
    ``{"ok": n, "gave_up": n}``."""
    counts = {"ok": 0, "gave_up": 0}
    lock = threading.Lock()
    with PluginAPIClient(target=address) as client:
        counter = KV(client).collection("contention", int)
        deadline = time.monotonic() + seconds

        def loop() -> None:
            while time.monotonic() < deadline:
                try:
                    counter.update(key, lambda n: (n or 0) + 1)
                    outcome = "ok"
                except UpdateConflictError:
                    outcome = "gave_up"
                with lock:
                    counts[outcome] += 1

        workers = [threading.Thread(target=loop) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    print(json.dumps(counts), flush=True)


def contention(
    address: str, processes: int = 3, threads: int = 4, seconds: float = 3.0
) -> dict[str, Any]:
    """Run the worker processes against ``address``; the reported entry."""
    key = f"hot-{time.monotonic_ns()}"
    argv = [sys.executable, "-m", "bench.state", address, key, str(threads), str(seconds)]
    started = time.monotonic()
    running = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    results = [json.loads(p.communicate(timeout=seconds + 60)[0]) for p in running]
    elapsed = time.monotonic() - started
    ok = sum(r["ok"] for r in results)
    with PluginAPIClient(target=address) as client:
        final = KV(client).collection("contention", int).get(key)
    return {
        "name": "kv update under contention",
        "processes": processes,
        "threads_per_process": threads,
        "seconds": seconds,
        "increments_per_s": round(ok / seconds, 1),
        "gave_up": sum(r["gave_up"] for r in results),
        "final_equals_successes": final == ok,
        "wall_s": round(elapsed, 2),
    }


def table(entry: dict[str, Any]) -> str:
    return (
        f"kv update under contention: {entry['processes']} processes x "
        f"{entry['threads_per_process']} threads on one key for {entry['seconds']:g} s: "
        f"{entry['increments_per_s']:.0f} increments/s, {entry['gave_up']} gave up, final "
        f"count {'matches' if entry['final_equals_successes'] else 'DOES NOT MATCH'} the "
        "successes"
    )


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
