"""Fixtures of the mutex and job tests.

In-process: ``fake`` (a FakeMattermost on a settable clock), ``api`` and ``aio`` clients of
it over real gRPC. Across processes: ``nodes`` starts the test plugin (plugins/jobs) as
several nodes sharing one store and one clock; it runs each test on

* ``1-node``: one plugin process under the local host;
* ``3-node-local``: the local host's own cluster, ``local_mattermost(folder, nodes=3)``:
  three processes, each with its own API endpoint, on one store and one clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.support.api_client import Clock, RunAsync
from tests.support.cluster import Nodes, local_nodes

from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin.host.fake_server import FakeMattermost, serve

T = TypeVar("T")

JOBS_PLUGIN = Path(__file__).parent / "plugins" / "jobs"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeMattermost:
    return FakeMattermost(clock=clock, plugin_id="com.example.jobs")


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


# -- several nodes ---------------------------------------------------------------------------

NodesFactory = Callable[[Mapping[str, str]], AbstractContextManager[Nodes]]


@pytest.fixture(
    params=[pytest.param(1, id="1-node"), pytest.param(3, id="3-node-local")],
)
def nodes(request: pytest.FixtureRequest) -> NodesFactory:
    """``with nodes({"JOBS_PLUGIN": "tick"}) as cluster:``: the test plugin, started on
    every node with that environment."""
    count: int = request.param
    return lambda env: local_nodes(JOBS_PLUGIN, count, env)
