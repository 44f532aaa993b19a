"""Misbehaves on demand: ServeHTTP handlers that never answer (and count how often they
were cancelled), floods of log lines on stderr, and log lines full of secrets."""

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
        if path == "/log-secrets":
            config = await self.async_api.get_plugin_config()  # its secret values: hidden
            self.logger.info(
                f"calling the webhook with {config.get('WebhookSecret')}",
                extra={
                    "SigningKey": config.get("SigningKey"),
                    "config": config,
                    "access_token": "tok-123456",
                    "kv_key": "token_count",
                    "author_id": "u1",
                },
            )
            pairs = {"password": "hunter22", "key": "k1", "greeting": "hi"}
            await self.async_api.log_info("through the API", **pairs)
            return HTTPResponse(200, {}, b"logged")
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
