"""The baseline of the ServeHTTP benchmark: a raw grpc.aio PluginHooks servicer.

ServeHTTP written by hand on the protobufs, as a plugin author would without the SDK, doing
what the SDK plugin (``http_stream``) does: ``/upload`` consumes the body chunks and answers
their size, ``/download?bytes=N`` answers N bytes in 64 KiB chunks.
"""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc

from mattermost_plugin._pb.pluginapi.v1 import hooks_http_pb2, hooks_pb2_grpc

CHUNK = 64 * 1024
BLOCK = os.urandom(CHUNK)
Response = hooks_http_pb2.ServeHTTPResponse


def _start(status: int, content_type: str) -> hooks_http_pb2.ServeHTTPResponseInit:
    header = hooks_http_pb2.HTTPHeader(key="Content-Type", values=[content_type])
    return hooks_http_pb2.ServeHTTPResponseInit(status_code=status, headers=[header])


class Hooks(hooks_pb2_grpc.PluginHooksServicer):
    async def ServeHTTP(
        self, request_iterator: AsyncIterator[hooks_http_pb2.ServeHTTPRequest], context: Any
    ) -> AsyncIterator[hooks_http_pb2.ServeHTTPResponse]:
        messages = request_iterator.__aiter__()
        first = await messages.__anext__()
        url = urlsplit(first.init.url)
        if url.path == "/upload":
            size = len(first.body_chunk)
            complete = first.body_complete
            while not complete:
                message = await messages.__anext__()
                size += len(message.body_chunk)
                complete = message.body_complete
            yield Response(
                init=_start(200, "text/plain"), body_chunk=str(size).encode(), body_complete=True
            )
            return
        count = int(parse_qs(url.query).get("bytes", ["0"])[0]) // CHUNK
        yield Response(init=_start(200, "application/octet-stream"), flush=True)
        for _ in range(count):
            yield Response(body_chunk=BLOCK, flush=True)
        yield Response(body_complete=True)


async def main() -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    hooks_pb2_grpc.add_PluginHooksServicer_to_server(Hooks(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"1|1|tcp|127.0.0.1:{port}|grpc\n")
    sys.stdout.flush()
    await server.wait_for_termination()


asyncio.run(main())
