"""Fixtures for the state tests: the fake Mattermost served over real gRPC in this process.

``api`` is a ``PluginAPIClient`` of it; ``aio`` runs a coroutine with an
``AsyncPluginAPIClient`` of the same server (one event loop per call, closed after).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from tests.support.api_client import Clock, RunAsync

from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin.host.fake_server import FakeMattermost, serve

T = TypeVar("T")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeMattermost:
    return FakeMattermost(clock=clock, plugin_id="com.example.state")


@pytest.fixture
def address(fake: FakeMattermost) -> Iterator[str]:
    server, addr = serve(fake)
    yield addr
    server.stop(grace=None)


@pytest.fixture
def api(address: str) -> Iterator[PluginAPIClient]:
    with PluginAPIClient(target=address, retries=0) as client:
        yield client


@pytest.fixture
def aio(address: str) -> RunAsync:
    """``aio(lambda api: coroutine)``: run it with a fresh async client; its result."""

    def run(body: Callable[[AsyncPluginAPIClient], Coroutine[Any, Any, T]]) -> T:
        async def main() -> T:
            async with AsyncPluginAPIClient(target=address, retries=0) as client:
                return await body(client)

        return asyncio.run(main())

    return run
