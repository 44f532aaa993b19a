"""Helpers for the ServeHTTP tests (tests/http): a real hook server in this process.

:class:`HookServer` runs ``HookDispatcher(plugin)`` on a ``grpc.aio`` server bound to
127.0.0.1:0, on an event loop in a background thread, and gives the tests a real (sync)
channel and ``PluginHooksStub`` to it. Nothing is mocked.
"""

from __future__ import annotations

import re
from typing import Any

import grpc
import grpc.aio
from tests.support.api_client import LoopThread

from mattermost_plugin._dispatch import HookDispatcher
from mattermost_plugin._pb.pluginapi.v1 import hooks_pb2_grpc
from mattermost_plugin.host.http_bridge import BridgeResponse, send_request
from mattermost_plugin.plugin import Plugin

MiB = 1024 * 1024


class HookServer:
    """``plugin``'s hooks served over gRPC on loopback; ``close()`` stops everything."""

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin
        self.loop = LoopThread()
        self.dispatcher = HookDispatcher(plugin)

        async def start() -> tuple[grpc.aio.Server, int]:
            server = grpc.aio.server()
            self.dispatcher.register(server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            return server, port

        self.server, port = self.loop.run(start())
        self.address = f"127.0.0.1:{port}"
        self.channel = grpc.insecure_channel(self.address)
        self.stub = hooks_pb2_grpc.PluginHooksStub(self.channel)

    def request(self, method: str, path: str, **kwargs: Any) -> BridgeResponse:
        """One HTTP request through ServeHTTP (see ``host.http_bridge.send_request``)."""
        kwargs.setdefault("timeout", 60)
        return send_request(self.channel, method, path, **kwargs)

    def close(self) -> None:
        self.channel.close()
        self.loop.run(self.server.stop(None))
        self.dispatcher.close()
        self.loop.stop()


def peak_rss_reset() -> None:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss() -> int:
    """This process's peak resident set size (VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        match = re.search(r"VmHWM:\s+(\d+) kB", f.read())
    assert match is not None
    return int(match.group(1)) * 1024


def current_rss() -> int:
    with open("/proc/self/status") as f:
        match = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    assert match is not None
    return int(match.group(1)) * 1024
