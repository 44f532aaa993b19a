"""ServeHTTP streaming: 16 MiB up and 16 MiB down through the SDK vs a raw grpc.aio servicer.

Both sides are plugin processes: the SDK plugin ``plugins/http_stream`` (an ``async def``
handler reading ``request.astream()`` and answering an async generator of 64 KiB chunks; a
second process runs the ``def`` variant, ``request.stream()`` and a generator in the hook
thread pool) and the baseline ``plugins/raw_http.py``, ServeHTTP written by hand on the
protobufs. The host side is the same for both, as the Mattermost server's would be: a raw
``PluginHooksStub.ServeHTTP`` bidi call, the upload sent as 64 KiB ``body_chunk`` messages,
the download's chunks counted. One call is one 16 MiB transfer, so MiB/s = 16 / seconds per
call; the median throughput of each side is printed at the end of the run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc

from bench.harness import Benchmark, Context
from mattermost_plugin._pb.pluginapi.v1 import hooks_http_pb2, hooks_pb2_grpc
from mattermost_plugin.host.http_bridge import build_init

HERE = Path(__file__).parent
PLUGIN = HERE / "plugins" / "http_stream"
RAW = HERE / "plugins" / "raw_http.py"
MiB = 1024 * 1024
SIZE = 16 * MiB
CHUNK = 64 * 1024
CALLS = 5  # transfers per side per round
TARGET_RATIO = 1.25  # the SDK keeps at least 80 % of the baseline's throughput
TIMEOUT = 60.0
ENV = {
    "MATTERMOST_PLUGIN": "Securely message teams, anywhere.",
    "PLUGIN_PROTOCOL_VERSIONS": "1",
    "PLUGIN_MIN_PORT": "20000",
    "PLUGIN_MAX_PORT": "25000",
}

Request = hooks_http_pb2.ServeHTTPRequest


def _start(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**os.environ, **ENV, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    fields = process.stdout.readline().decode().strip().split("|")
    if len(fields) < 5:
        process.kill()
        process.wait()
        raise RuntimeError(f"{argv}: no handshake")
    return process, fields[3]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def _stub(
    ctx: Context, argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> hooks_pb2_grpc.PluginHooksStub:
    process, address = _start(argv, cwd, env or {})
    channel = grpc.insecure_channel(address)
    ctx.defer(lambda: _stop(process))
    ctx.defer(channel.close)
    return hooks_pb2_grpc.PluginHooksStub(channel)


# -- the host side, the same for both plugins -------------------------------------------------
_BLOCK = os.urandom(CHUNK)


def _upload_messages() -> Iterator[hooks_http_pb2.ServeHTTPRequest]:
    """The upload as the server sends it: init with the first chunk, …, body_complete."""
    init = build_init("POST", "/upload", plugin_id="com.example.bench-http", content_length=SIZE)
    count = SIZE // CHUNK
    yield Request(init=init, body_chunk=_BLOCK)
    for i in range(1, count):
        yield Request(body_chunk=_BLOCK, body_complete=i == count - 1)


_DOWNLOAD = Request(
    init=build_init("GET", "/download", query=f"bytes={SIZE}", plugin_id="com.example.bench-http"),
    body_complete=True,
)


def upload(stub: hooks_pb2_grpc.PluginHooksStub) -> None:
    """POST 16 MiB in 64 KiB chunks; check the plugin counted them all."""
    answer = b""
    for message in stub.ServeHTTP(_upload_messages(), timeout=TIMEOUT):
        answer += message.body_chunk
        if message.body_complete:
            break
    if answer != str(SIZE).encode():
        raise AssertionError(f"upload: the plugin answered {answer!r}")


def download(stub: hooks_pb2_grpc.PluginHooksStub) -> None:
    """GET 16 MiB; count the bytes as they stream in."""
    size = 0
    for message in stub.ServeHTTP(iter([_DOWNLOAD]), timeout=TIMEOUT):
        size += len(message.body_chunk)
        if message.body_complete:
            break
    if size != SIZE:
        raise AssertionError(f"download: got {size} bytes, not {SIZE}")


# -- throughput report ------------------------------------------------------------------------
class Throughput:
    """Seconds per call of each side of each benchmark (warm-up included), for MiB/s."""

    def __init__(self) -> None:
        self.samples: dict[tuple[str, str], list[float]] = {}

    def timed(self, name: str, side: str, call: Callable[[], None]) -> Callable[[], None]:
        samples = self.samples.setdefault((name, side), [])
        clock = time.perf_counter

        def run() -> None:
            started = clock()
            call()
            samples.append(clock() - started)

        return run

    def mib_per_s(self, name: str, side: str) -> float | None:
        samples = self.samples.get((name, side))
        return SIZE / MiB / statistics.median(samples) if samples else None

    def report(self) -> None:
        names = dict.fromkeys(name for name, _ in self.samples)
        for name in names:
            sdk, base = self.mib_per_s(name, "sdk"), self.mib_per_s(name, "baseline")
            if sdk is None or base is None:
                continue
            print(
                f"  {name}: SDK {sdk:.0f} MiB/s, baseline {base:.0f} MiB/s "
                f"({sdk / base:.2f}x the baseline's throughput), median per 16 MiB transfer",
                flush=True,
            )


def suite(ctx: Context) -> list[Benchmark]:
    python = sys.executable
    raw = _stub(ctx, [python, str(RAW)], HERE)
    plugins = {
        "async": _stub(ctx, [python, "server/plugin.py"], PLUGIN, {"BENCH_HTTP_HANDLER": "async"}),
        "sync": _stub(ctx, [python, "server/plugin.py"], PLUGIN, {"BENCH_HTTP_HANDLER": "sync"}),
    }
    throughput = Throughput()
    ctx.defer(throughput.report)
    benchmarks = []
    for kind, how in (
        ("async", "an async def handler (request.astream(), async generator body)"),
        ("sync", "a def handler (request.stream(), generator body, hook thread pool)"),
    ):
        sdk_stub = plugins[kind]
        for direction, transfer in (("up", upload), ("down", download)):
            name = f"http {direction} 16MiB {kind}"

            def sdk(
                stub: hooks_pb2_grpc.PluginHooksStub = sdk_stub,
                transfer: Callable[[hooks_pb2_grpc.PluginHooksStub], None] = transfer,
            ) -> None:
                transfer(stub)

            def baseline(
                transfer: Callable[[hooks_pb2_grpc.PluginHooksStub], None] = transfer,
            ) -> None:
                transfer(raw)

            benchmarks.append(
                Benchmark(
                    name,
                    throughput.timed(name, "sdk", sdk),
                    throughput.timed(name, "baseline", baseline),
                    calls=CALLS,
                    target_ratio=TARGET_RATIO,
                    description=f"ServeHTTP {direction}load of 16 MiB in 64 KiB chunks (one call = "
                    f"one transfer; MiB/s = 16e6 / µs): SDK plugin with {how} vs a raw "
                    "grpc.aio servicer on the protobufs",
                )
            )
    return benchmarks
