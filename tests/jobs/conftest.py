"""Fixtures of the mutex and job tests.

In-process: ``fake`` (a FakeMattermost on a settable clock), ``api`` and ``aio`` clients of
it over real gRPC. Across processes: ``nodes`` starts the test plugin (plugins/jobs) as
several nodes sharing one store and one clock; it runs each test on

* ``1-node``: one plugin process;
* ``3-processes``: three plugin processes on one fake server (:class:`ProcessNodes`);
* ``3-node-local``: the local host's own cluster, ``local_mattermost(folder, nodes=3)``,
  skipped until that exists (:class:`LocalClusterNodes` says what it must offer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.support.api_client import Clock, RunAsync
from tests.support.cluster import Nodes, process_nodes

from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin.clock import TestClock
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.host.supervisor import LogLine

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


class LocalClusterNodes:
    """:class:`~tests.support.cluster.Nodes` on the N-node local host. Written against the
    API it is expected to have (the switch-on checklist is in the report of issue 20):
    ``local_mattermost(folder, nodes=3, env=...)`` whose ``.nodes[i]`` each have
    ``pid``, ``kill()`` (SIGKILL), ``start()``, ``stop()`` (OnDeactivate, exit), ``get(path,
    query=...)`` through that node's ServeHTTP and ``logs``; the host's ``api`` and ``clock``
    (:class:`TestClock`) are shared by all nodes."""

    def __init__(self, local: Any) -> None:
        self._local = local
        self.count: int = len(local.nodes)
        self.api: PluginAPIClient = local.api
        self.clock: TestClock = local.clock

    def get(self, node: int, path: str, **query: object) -> dict[str, Any]:
        text = "&".join(f"{k}={v}" for k, v in query.items())
        answer = self._local.nodes[node].get(path, query=text, timeout=60.0)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def pid(self, node: int) -> int | None:
        pid: int | None = self._local.nodes[node].pid
        return pid

    def kill(self, node: int) -> None:
        self._local.nodes[node].kill()

    def start(self, node: int) -> None:
        self._local.nodes[node].start()

    def stop(self, node: int) -> None:
        self._local.nodes[node].stop()

    def logs(self) -> list[tuple[int, LogLine]]:
        return [(i, line) for i, node in enumerate(self._local.nodes) for line in node.logs]


@contextmanager
def _local_cluster(env: Mapping[str, str]) -> Iterator[Nodes]:
    from mattermost_plugin.host.local import local_mattermost

    options: dict[str, Any] = {"nodes": 3, "env": dict(env)}
    with local_mattermost(JOBS_PLUGIN, **options) as local:
        yield LocalClusterNodes(local)


@pytest.fixture(
    params=[
        pytest.param(1, id="1-node"),
        pytest.param(3, id="3-processes"),
        pytest.param(
            "local",
            id="3-node-local",
            marks=pytest.mark.skip(reason="needs local_mattermost(..., nodes=3)"),
        ),
    ]
)
def nodes(request: pytest.FixtureRequest) -> NodesFactory:
    """``with nodes({"JOBS_PLUGIN": "tick"}) as cluster:``: the test plugin, started on
    every node with that environment."""
    if request.param == "local":
        return _local_cluster
    count: int = request.param
    return lambda env: process_nodes(JOBS_PLUGIN, count, env)
