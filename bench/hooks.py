"""Hook round trip: MessageWillBePosted through the SDK vs a raw grpcio servicer.

Both sides are plugin processes answering the same request with the same work (reject a
post containing "badword", else let it through unchanged); the host side is a plain
PluginHooks stub, as the Mattermost server's is. The SDK side adds what it promises: the
request read into models, the handler run in the hook thread pool under a timeout, the
return value adapted (and compared, so an unchanged post is not sent back).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc

from bench.harness import Benchmark, Context
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2, hooks_pb2_grpc, post_pb2

HERE = Path(__file__).parent
TARGET_RATIO = 1.15
ENV = {
    "MATTERMOST_PLUGIN": "Securely message teams, anywhere.",
    "PLUGIN_PROTOCOL_VERSIONS": "1",
    "PLUGIN_MIN_PORT": "20000",
    "PLUGIN_MAX_PORT": "25000",
}


def _start(argv: list[str], cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        argv, cwd=cwd, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
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
    process, address = _start(argv, cwd)
    channel = grpc.insecure_channel(address)
    ctx.defer(lambda: _stop(process))
    ctx.defer(channel.close)
    return hooks_pb2_grpc.PluginHooksStub(channel)


def suite(ctx: Context) -> list[Benchmark]:
    plugin = [sys.executable, "server/plugin.py"]
    raw = _stub(ctx, [sys.executable, str(HERE / "plugins" / "raw_hooks.py")], HERE)
    request = hooks_message_pb2.MessageWillBePostedRequest(
        post=post_pb2.Post(
            id="p" * 26, channel_id="c" * 26, user_id="u" * 26, message="hello, benchmark"
        )
    )

    def baseline() -> object:
        return raw.MessageWillBePosted(request, timeout=30)

    benchmarks = []
    for name, folder, how in (
        ("hook MessageWillBePosted", "message_filter", "a def handler (hook thread pool)"),
        ("hook MWBP async handler", "message_filter_async", "an async def handler (event loop)"),
    ):
        stub = _stub(ctx, plugin, HERE / "plugins" / folder)

        def sdk(stub: hooks_pb2_grpc.PluginHooksStub = stub) -> object:
            return stub.MessageWillBePosted(request, timeout=30)

        benchmarks.append(
            Benchmark(
                name,
                sdk,
                baseline,
                target_ratio=TARGET_RATIO,
                description=f"host → plugin → host round trip: SDK plugin with {how} "
                "vs a raw grpc.aio servicer",
            )
        )
    return benchmarks
