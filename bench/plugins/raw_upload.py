"""The baseline of the upload benchmark: FileWillBeUploaded on a raw grpc.aio servicer.

Written as a plugin author would without the SDK, with the same filter as
``file_filter``: the generated servicer, the check on the protobuf, no cap on messages.
"""

import asyncio
import sys
from typing import Any

import grpc

from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2, hooks_pb2_grpc

Request = hooks_message_pb2.FileWillBeUploadedRequest
Response = hooks_message_pb2.FileWillBeUploadedResponse


class Hooks(hooks_pb2_grpc.PluginHooksServicer):
    async def FileWillBeUploaded(self, request: Request, context: Any) -> Response:
        if request.file_content.startswith(b"MZ"):
            return Response(rejection_reason="no executables")
        if request.file_info.name.startswith("shout"):
            return Response(modified_content=request.file_content.upper())
        return Response()


async def serve() -> None:
    server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", -1),
        ]
    )
    hooks_pb2_grpc.add_PluginHooksServicer_to_server(Hooks(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"1|1|tcp|127.0.0.1:{port}|grpc\n")
    sys.stdout.flush()
    await server.wait_for_termination()


asyncio.run(serve())
