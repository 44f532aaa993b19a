"""Fixtures for the API client tests: real gRPC servers in this process, no mocks.

* ``fake`` / ``address``: the in-memory fake Mattermost (``host.fake_server``) on a free port.
* ``api``: a client of it, parametrized over ``PluginAPIClient`` and ``AsyncPluginAPIClient``
  (the latter through ``tests.support.api_client.AsyncBridge``), so one test covers both.
* ``serve_servicer``: start any ``PluginAPIServicer`` (tiny hand-written ones for timeouts,
  retries and error styles) on a free port; stopped after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from typing import cast

import grpc
import pytest
from tests.support.api_client import AsyncBridge, Clock, LoopThread, ServeServicer

from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin._pb.pluginapi.v1 import api_pb2_grpc
from mattermost_plugin.host.fake_server import FakeMattermost, serve


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeMattermost:
    return FakeMattermost(clock=clock)


@pytest.fixture
def address(fake: FakeMattermost) -> Iterator[str]:
    server, addr = serve(fake)
    yield addr
    server.stop(grace=None)


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    return cast(str, request.param)


@pytest.fixture
def api(flavor: str, address: str) -> Iterator[PluginAPIClient]:
    """A client of the fake; the async one is typed as the sync one through the bridge."""
    if flavor == "sync":
        with PluginAPIClient(target=address) as client:
            yield client
        return
    loop = LoopThread()
    async_client = AsyncPluginAPIClient(target=address)
    try:
        yield cast(PluginAPIClient, AsyncBridge(async_client, loop))
    finally:
        loop.run(async_client.close())
        loop.stop()


@pytest.fixture
def serve_servicer() -> Iterator[ServeServicer]:
    """Start a real gRPC server for a servicer; returns its ``host:port``."""
    servers: list[grpc.Server] = []

    def start(servicer: object) -> str:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        api_pb2_grpc.add_PluginAPIServicer_to_server(
            cast(api_pb2_grpc.PluginAPIServicer, servicer), server
        )
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        server.stop(grace=None)
