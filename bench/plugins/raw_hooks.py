"""The baseline of the hook benchmark: a raw grpcio PluginHooks servicer doing the same work.

Written as a plugin author would without the SDK: a grpc.aio server (as the SDK uses), the
generated servicer, and the message check on the protobuf directly. With ``--in-thread`` the
check runs in a thread pool (``run_in_executor``), as blocking code must: the reference row
that shows what the hand-off to a thread and back costs before any SDK code runs.
"""

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2, hooks_pb2_grpc

IN_THREAD = "--in-thread" in sys.argv
pool = ThreadPoolExecutor(16)


def check(
    request: hooks_message_pb2.MessageWillBePostedRequest,
) -> hooks_message_pb2.MessageWillBePostedResponse:
    if "badword" in request.post.message.lower():
        return hooks_message_pb2.MessageWillBePostedResponse(rejection_reason="Message blocked")
    return hooks_message_pb2.MessageWillBePostedResponse()


class Hooks(hooks_pb2_grpc.PluginHooksServicer):
    async def MessageWillBePosted(
        self, request: hooks_message_pb2.MessageWillBePostedRequest, context: Any
    ) -> hooks_message_pb2.MessageWillBePostedResponse:
        if IN_THREAD:
            return await asyncio.get_running_loop().run_in_executor(pool, check, request)
        return check(request)


async def main() -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    hooks_pb2_grpc.add_PluginHooksServicer_to_server(Hooks(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"1|1|tcp|127.0.0.1:{port}|grpc\n")
    sys.stdout.flush()
    await server.wait_for_termination()


asyncio.run(main())
