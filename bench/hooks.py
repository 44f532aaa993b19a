"""Hook round trip: MessageWillBePosted through the SDK vs a raw grpcio servicer.

Both sides are plugin processes answering the same request with the same work (reject a
post containing "badword", else let it through unchanged); the host side is a plain
PluginHooks stub, as the Mattermost server's is. The SDK side adds what it promises: the
request read into models, the handler run under a timeout, the return value adapted (and
compared, so an unchanged post is not sent back).

A ``def`` handler runs in the hook thread pool (blocking code must not stall the event loop
that serves every other call), so its baseline is a raw servicer that also runs the check in
a thread pool; an ``async def`` handler runs on the loop, so its baseline runs the check
inline. Reference rows without targets show the rest: the def handler against the inline
servicer; against grpc's synchronous server running the check in a pool under a timeout
(the fastest raw way measured here to guard blocking code with a deadline, and a design
the SDK does not use: its async handlers and streaming ServeHTTP need the event loop);
and what the hand-off to a thread and back costs with no SDK at all.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc

from bench.harness import Benchmark, Context
from mattermost_plugin._pb.pluginapi.v1 import (
    hooks_lifecycle_pb2,
    hooks_message_pb2,
    hooks_pb2_grpc,
    post_pb2,
)

HERE = Path(__file__).parent
TARGET_RATIO = 1.15
ENV = {
    "MATTERMOST_PLUGIN": "Securely message teams, anywhere.",
    "PLUGIN_PROTOCOL_VERSIONS": "1",
    "PLUGIN_MIN_PORT": "20000",
    "PLUGIN_MAX_PORT": "25000",
}


def _start(argv: list[str], cwd: Path, api: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, **ENV, "MATTERMOST_PLUGIN_API_TARGET": api}
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    fields = process.stdout.readline().decode().strip().split("|")
    if len(fields) < 5:
        process.kill()
        raise RuntimeError(f"{argv}: no handshake")
    return process, fields[3]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def _stub(ctx: Context, argv: list[str], cwd: Path) -> hooks_pb2_grpc.PluginHooksStub:
    process, address = _start(argv, cwd, ctx.address)
    channel = grpc.insecure_channel(address)
    ctx.defer(lambda: _stop(process))
    ctx.defer(channel.close)
    return hooks_pb2_grpc.PluginHooksStub(channel)


def _sdk_stub(ctx: Context, folder: str) -> hooks_pb2_grpc.PluginHooksStub:
    """An SDK plugin activated as the server does it (OnConfigurationChange loads its typed
    settings, then OnActivate), and shown to filter before it is measured: a handler that
    fails answers "allowed" too, so the timings alone could not tell."""
    stub = _stub(ctx, [sys.executable, "server/plugin.py"], HERE / "plugins" / folder)
    for answer in (
        stub.OnConfigurationChange(hooks_lifecycle_pb2.OnConfigurationChangeRequest()),
        stub.OnActivate(hooks_lifecycle_pb2.OnActivateRequest()),
    ):
        if answer.HasField("error"):
            raise RuntimeError(f"{folder}: activation failed: {answer.error.message}")
    bad = hooks_message_pb2.MessageWillBePostedRequest(post=post_pb2.Post(message="a badword"))
    if not stub.MessageWillBePosted(bad, timeout=30).rejection_reason:
        raise RuntimeError(f"{folder}: the filter did not reject a blocked word")
    return stub


def suite(ctx: Context) -> list[Benchmark]:
    request = hooks_message_pb2.MessageWillBePostedRequest(
        post=post_pb2.Post(
            id="p" * 26, channel_id="c" * 26, user_id="u" * 26, message="hello, benchmark"
        )
    )

    def caller(stub: hooks_pb2_grpc.PluginHooksStub) -> Callable[[], object]:
        return lambda: stub.MessageWillBePosted(request, timeout=30)

    raw_plugin = [sys.executable, str(HERE / "plugins" / "raw_hooks.py")]
    sdk_def = caller(_sdk_stub(ctx, "message_filter"))
    sdk_async = caller(_sdk_stub(ctx, "message_filter_async"))
    raw_inline = caller(_stub(ctx, raw_plugin, HERE))
    raw_in_thread = caller(_stub(ctx, [*raw_plugin, "in-thread"], HERE))
    raw_threaded = caller(_stub(ctx, [*raw_plugin, "threaded-server"], HERE))
    round_trip = "host → plugin → host round trip"
    return [
        Benchmark(
            "hook MWBP def handler",
            sdk_def,
            raw_in_thread,
            target_ratio=TARGET_RATIO,
            description=f"{round_trip}: SDK plugin with a def handler (hook thread pool, "
            "timeout) vs a raw grpc.aio servicer running the same check in a thread pool "
            "(run_in_executor), as blocking code must not run on the event loop",
        ),
        Benchmark(
            "hook MWBP async handler",
            sdk_async,
            raw_inline,
            target_ratio=TARGET_RATIO,
            description=f"{round_trip}: SDK plugin with an async def handler (event loop, "
            "timeout) vs a raw grpc.aio servicer running the check on the event loop",
        ),
        Benchmark(
            "hook MWBP def vs inline",
            sdk_def,
            raw_inline,
            target_ratio=math.inf,
            description="reference: the def handler against the raw servicer that runs the "
            "check inline on the event loop; the difference is mostly the next row",
        ),
        Benchmark(
            "hook MWBP def vs threaded",
            sdk_def,
            raw_threaded,
            target_ratio=math.inf,
            description="reference: the def handler against a raw synchronous grpc.server "
            "whose handler submits the check to a thread pool and waits with a timeout",
        ),
        Benchmark(
            "hook hand-off (no SDK)",
            raw_in_thread,
            raw_inline,
            target_ratio=math.inf,
            description="reference, no SDK on either side: the raw servicer running its check "
            "in a thread (run_in_executor) vs inline on the loop, i.e. what leaving the "
            "event loop and coming back costs on this machine, before any SDK code runs",
        ),
    ]
