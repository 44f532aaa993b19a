"""The baseline of the hook benchmark: a raw grpcio PluginHooks servicer doing the same work.

Written as a plugin author would without the SDK: the generated servicer and the message
check on the protobuf directly. Three ways to serve it, chosen by the first argument:

* ``inline`` (default): a grpc.aio server (as the SDK uses) running the check on the loop;
* ``in-thread``: the same server running the check in a thread pool (``run_in_executor``),
  as blocking code must: what the hand-off to a thread and back costs before any SDK code;
* ``threaded-server``: grpc's synchronous server, its handler submitting the check to a
  pool and waiting with a timeout, the fastest raw way measured here to run blocking code
  under a deadline the plugin enforces itself.
"""

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2, hooks_pb2_grpc

MODE = sys.argv[1] if len(sys.argv) > 1 else "inline"
TIMEOUT = 30.0
pool = ThreadPoolExecutor(16)


def check(
    request: hooks_message_pb2.MessageWillBePostedRequest,
) -> hooks_message_pb2.MessageWillBePostedResponse:
    if "badword" in request.post.message.lower():
        return hooks_message_pb2.MessageWillBePostedResponse(rejection_reason="Message blocked")
    return hooks_message_pb2.MessageWillBePostedResponse()


class AsyncHooks(hooks_pb2_grpc.PluginHooksServicer):
    async def MessageWillBePosted(
        self, request: hooks_message_pb2.MessageWillBePostedRequest, context: Any
    ) -> hooks_message_pb2.MessageWillBePostedResponse:
        if MODE == "in-thread":
            return await asyncio.get_running_loop().run_in_executor(pool, check, request)
        return check(request)


class ThreadedHooks(hooks_pb2_grpc.PluginHooksServicer):
    def MessageWillBePosted(
        self, request: hooks_message_pb2.MessageWillBePostedRequest, context: Any
    ) -> hooks_message_pb2.MessageWillBePostedResponse:
        return pool.submit(check, request).result(timeout=TIMEOUT)


def handshake(port: int) -> None:
    sys.stdout.write(f"1|1|tcp|127.0.0.1:{port}|grpc\n")
    sys.stdout.flush()


async def serve_async() -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    hooks_pb2_grpc.add_PluginHooksServicer_to_server(AsyncHooks(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    handshake(port)
    await server.wait_for_termination()


def serve_threaded() -> None:
    server = grpc.server(ThreadPoolExecutor(16), options=[("grpc.so_reuseport", 0)])
    hooks_pb2_grpc.add_PluginHooksServicer_to_server(ThreadedHooks(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    handshake(port)
    server.wait_for_termination()


if MODE == "threaded-server":
    serve_threaded()
elif MODE in ("inline", "in-thread"):
    asyncio.run(serve_async())
else:
    sys.exit(f"unknown mode {MODE!r}: inline, in-thread or threaded-server")
