"""ServeHTTP answered with raw messages, below the SDK's checks: what a buggy or hostile
plugin in any language could send. The path picks the answer (see ANSWERS)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc

from mattermost_plugin._pb.pluginapi.v1 import hooks_http_pb2, hooks_lifecycle_pb2, hooks_pb2_grpc
from mattermost_plugin._process import PluginProcess

# path -> (status, [(name, value)], [body parts])
ANSWERS: dict[str, tuple[int, list[tuple[str, str]], list[bytes]]] = {
    "/long": (200, [("Content-Length", "5")], [b"01234", b"56789"]),
    "/short": (200, [("Content-Length", "10")], [b"01234"]),
    "/exact": (200, [("Content-Length", "10")], [b"01234", b"56789"]),
    "/bad-length": (200, [("Content-Length", "-3")], [b"chunked anyway"]),
    "/two-lengths": (200, [("Content-Length", "3"), ("Content-Length", "4")], [b"abcd"]),
    "/crlf": (200, [("X-Note", "a\r\nInjected: yes"), ("X-Fine", "y")], [b"ok"]),
    "/nul": (200, [("X-Note", "a\x00b")], [b"ok"]),
    "/bad-name": (200, [("Bad Name", "x"), ("X-Evil\r\nInjected", "x"), ("X-Fine", "y")], [b"ok"]),
    "/latin1": (200, [("X-Name", "caf\u00e9")], [b"ok"]),
    "/unicode": (200, [("X-Name", "snow \u2603")], [b"ok"]),
    "/informational": (103, [], [b""]),
}


class Hooks(hooks_pb2_grpc.PluginHooksServicer):
    async def Implemented(
        self, request: hooks_lifecycle_pb2.ImplementedRequest, context: Any
    ) -> hooks_lifecycle_pb2.ImplementedResponse:
        return hooks_lifecycle_pb2.ImplementedResponse(hooks=["ServeHTTP"])

    async def ServeHTTP(  # type: ignore[override]
        self, requests: AsyncIterator[hooks_http_pb2.ServeHTTPRequest], context: Any
    ) -> AsyncIterator[hooks_http_pb2.ServeHTTPResponse]:
        path = ""
        async for message in requests:
            if message.HasField("init"):
                path = message.init.url.split("?", 1)[0]
            if message.body_complete:
                break
        status, headers, parts = ANSWERS.get(path, (404, [], [b"not here"]))
        init = hooks_http_pb2.ServeHTTPResponseInit(
            status_code=status,
            headers=[hooks_http_pb2.HTTPHeader(key=k, values=[v]) for k, v in headers],
        )
        for i, part in enumerate(parts):
            yield hooks_http_pb2.ServeHTTPResponse(
                init=init if i == 0 else None,
                body_chunk=part,
                flush=True,
                body_complete=i == len(parts) - 1,
            )


def register(server: grpc.aio.Server) -> None:
    hooks_pb2_grpc.add_PluginHooksServicer_to_server(Hooks(), server)  # type: ignore[abstract]


if __name__ == "__main__":
    sys.exit(PluginProcess(register).run())
