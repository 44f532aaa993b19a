"""A plugin running as several nodes: what the cluster tests (tests/jobs) run against.

:class:`Nodes` is the interface the tests use. :class:`ProcessNodes` provides it today: N
plugin processes, each under its own :class:`PluginSupervisor`, against one
:class:`FakeMattermost` served over gRPC, sharing one KV store and one :class:`TestClock`.
That is what a cluster is to a plugin (its processes share the database and nothing else),
minus the server's own cluster messaging, which these tests do not use.

``LocalClusterNodes`` adapts the N-node local host (``local_mattermost(folder, nodes=3)``)
once it exists; until then the fixture's parameter for it is skipped (tests/jobs/conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from tests.support.plugins import plugin_id_of

from mattermost_plugin import PluginAPIClient
from mattermost_plugin.clock import TestClock
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.host.http_bridge import send_request
from mattermost_plugin.host.supervisor import LogLine, PluginSupervisor, RestartPolicy

# No health-check restarts during a test: a killed node stays dead until the test starts it.
NO_RESTARTS = RestartPolicy(ping_interval=3600.0)


class Nodes(Protocol):
    """A plugin running on ``count`` nodes that share one store and one clock."""

    count: int
    api: PluginAPIClient
    """A client of the shared store (the test's own node-independent access)."""
    clock: TestClock

    def get(self, node: int, path: str, **query: object) -> dict[str, Any]:
        """``GET path?query`` through node ``node``'s ServeHTTP; the JSON answer (200 only)."""

    def pid(self, node: int) -> int | None:
        """The plugin process id of a node (``None`` while it is down)."""

    def kill(self, node: int) -> None:
        """SIGKILL the node's plugin process: no OnDeactivate, nothing cleaned up."""

    def start(self, node: int) -> None:
        """Start a node's plugin again (after :meth:`kill` or :meth:`stop`)."""

    def stop(self, node: int) -> None:
        """Stop a node's plugin the way the server does (OnDeactivate, then exit)."""

    def logs(self) -> list[tuple[int, LogLine]]:
        """Every node's log lines so far, with the node's index."""


class ProcessNodes:
    """:class:`Nodes` as processes on one fake server (see the module doc)."""

    def __init__(
        self, plugin_dir: Path, count: int, env: Mapping[str, str], hook_timeout: float = 10.0
    ) -> None:
        self.plugin_dir = plugin_dir
        self.count = count
        self.clock = TestClock.temporary()
        self.fake = FakeMattermost(plugin_id=plugin_id_of(plugin_dir), clock=self.clock.time)
        self._server, self.address = serve(self.fake)
        self.api = PluginAPIClient(target=self.address, retries=0)
        self._env = {
            "MATTERMOST_PLUGIN_PATH": str(plugin_dir),
            **self.clock.env(),
            **env,
        }
        self._hook_timeout = hook_timeout
        self._supervisors: list[PluginSupervisor | None] = [None] * count
        self._old_logs: list[tuple[int, LogLine]] = []

    def _new_supervisor(self) -> PluginSupervisor:
        return PluginSupervisor(
            self.plugin_dir,
            api_target=self.address,
            env=self._env,
            python=sys.executable,
            hook_timeout=self._hook_timeout,
            deactivate_timeout=10.0,
            restart_policy=NO_RESTARTS,
        )

    def start(self, node: int) -> None:
        supervisor = self._supervisors[node]
        if supervisor is not None:
            self._retire(node, supervisor)
        supervisor = self._new_supervisor()
        self._supervisors[node] = supervisor
        supervisor.start()

    def stop(self, node: int) -> None:
        supervisor = self._supervisors[node]
        if supervisor is not None:
            supervisor.stop()
            self._retire(node, supervisor)

    def kill(self, node: int) -> None:
        supervisor = self._supervisors[node]
        assert supervisor is not None and supervisor.pid is not None, f"node {node} is down"
        os.kill(supervisor.pid, signal.SIGKILL)
        process = supervisor.process
        if process is not None:
            process.wait(10)

    def _retire(self, node: int, supervisor: PluginSupervisor) -> None:
        supervisor.stop()
        self._old_logs.extend((node, line) for line in supervisor.logs.since(0))
        self._supervisors[node] = None

    def pid(self, node: int) -> int | None:
        supervisor = self._supervisors[node]
        return None if supervisor is None else supervisor.pid

    def get(self, node: int, path: str, **query: object) -> dict[str, Any]:
        supervisor = self._supervisors[node]
        assert supervisor is not None, f"node {node} is down"
        text = "&".join(f"{k}={v}" for k, v in query.items())
        with send_request(
            supervisor.channel,
            "GET",
            path,
            query=text,
            plugin_id=supervisor.plugin_id,
            timeout=60.0,
        ) as response:
            body = response.read()
        assert response.status_code == 200, body
        answer: dict[str, Any] = json.loads(body)
        return answer

    def logs(self) -> list[tuple[int, LogLine]]:
        lines = list(self._old_logs)
        for node, supervisor in enumerate(self._supervisors):
            if supervisor is not None:
                lines.extend((node, line) for line in supervisor.logs.since(0))
        return lines

    def close(self) -> None:
        for node in range(self.count):
            supervisor = self._supervisors[node]
            if supervisor is not None:
                supervisor.stop()
        self.api.close()
        self._server.stop(None)
        self.clock.close()


@contextmanager
def process_nodes(
    plugin_dir: Path, count: int, env: Mapping[str, str] | None = None
) -> Iterator[ProcessNodes]:
    """``count`` started nodes of ``plugin_dir``; all stopped after."""
    nodes = ProcessNodes(plugin_dir, count, env or {})
    try:
        for node in range(count):
            nodes.start(node)
        yield nodes
    finally:
        nodes.close()


NodesFactory = Callable[..., AbstractContextManager[Nodes]]
"""``factory(plugin_dir, env={...})``: started nodes of the plugin, stopped after."""


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll ``condition`` until it returns something truthy (returned), or fail after
    ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)
