"""The SDK side of the ServeHTTP benchmark: stream the body in, stream 64 KiB chunks out.

``POST /upload`` reads the request body chunk by chunk and answers its size;
``GET /download?bytes=N`` answers N bytes yielded 64 KiB at a time. ``BENCH_HTTP_HANDLER``
picks the handler: ``async`` (``async def``, on the event loop; the default) or ``sync``
(``def``, in the hook thread pool, its body generator too).
"""

import os
from collections.abc import AsyncIterator, Iterator

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.http import HTTPRequest, HTTPResponse
from mattermost_plugin.models import PluginContext

CHUNK = 64 * 1024
BLOCK = os.urandom(CHUNK)
HEADERS = {"Content-Type": "application/octet-stream"}


def _size(request: HTTPRequest) -> int:
    return int(request.query_params.get("bytes", ["0"])[0])


class AsyncHTTPPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        if request.path == "/upload":
            size = 0
            async for chunk in request.astream():
                size += len(chunk)
            return HTTPResponse(200, {"Content-Type": "text/plain"}, str(size))

        async def body(count: int) -> AsyncIterator[bytes]:
            for _ in range(count):
                yield BLOCK

        return HTTPResponse(200, HEADERS, body(_size(request) // CHUNK))


class SyncHTTPPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        if request.path == "/upload":
            size = 0
            for chunk in request.stream():
                size += len(chunk)
            return HTTPResponse(200, {"Content-Type": "text/plain"}, str(size))

        def body(count: int) -> Iterator[bytes]:
            for _ in range(count):
                yield BLOCK

        return HTTPResponse(200, HEADERS, body(_size(request) // CHUNK))


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    sync = os.environ.get("BENCH_HTTP_HANDLER") == "sync"
    run_plugin(SyncHTTPPlugin if sync else AsyncHTTPPlugin)
