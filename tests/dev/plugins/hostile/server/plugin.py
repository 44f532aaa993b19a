"""Misbehaves on demand: ServeHTTP handlers that never answer (and count how often they
were cancelled), and floods of log lines on stderr."""

from __future__ import annotations

import asyncio
import sys
import threading

from mattermost_plugin import HookName, HTTPResponse, Plugin, hook
from mattermost_plugin.http import HTTPRequest
from mattermost_plugin.models import PluginContext

CANCELLED = {"async": 0, "sync": 0}
WAITING = {"async": 0, "sync": 0}
RELEASE = threading.Event()


class Hostile(Plugin):
    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> object:
        path = request.path
        if path == "/size":
            return HTTPResponse.json({"size": len(await request.read())})
        if path == "/hang":
            WAITING["async"] += 1
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                CANCELLED["async"] += 1
                raise
            finally:
                WAITING["async"] -= 1
        if path == "/hang-sync":
            return await asyncio.get_running_loop().run_in_executor(None, _block)
        if path == "/counts":
            return HTTPResponse.json({"cancelled": CANCELLED, "waiting": WAITING})
        if path == "/release":
            RELEASE.set()
            return HTTPResponse(200, {}, b"released")
        if path == "/flood":
            params = request.query_params
            lines, size = int(params.get("lines", ["0"])[0]), int(params.get("big", ["0"])[0])
            _flood(lines, size)
            return HTTPResponse(200, {}, b"flooded")
        return HTTPResponse(404, {}, b"not here")


def _block() -> HTTPResponse:
    WAITING["sync"] += 1
    try:
        RELEASE.wait(30)
    finally:
        WAITING["sync"] -= 1
    return HTTPResponse(200, {}, b"late")


def _flood(lines: int, size: int) -> None:
    out = sys.stderr.buffer
    for i in range(lines):
        out.write(b"flood line %d\n" % i)
    if size:
        piece = b"x" * (1 << 20)
        for _ in range(size >> 20):
            out.write(piece)
        out.write(b"\n")
    out.flush()


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(Hostile)
