"""A plugin running as several nodes: what the cluster tests (tests/jobs, tests/state) run
against.

:class:`Nodes` is the interface the tests use; :class:`LocalClusterNodes` provides it on the
local host's own cluster, ``local_mattermost(folder, nodes=N)``: N plugin processes, each
with its own API endpoint, sharing one store and one :class:`TestClock`, with cluster
events delivered between them. Killed nodes stay down until the test starts them
(:data:`NO_RESTARTS`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from mattermost_plugin import PluginAPIClient
from mattermost_plugin.clock import TestClock
from mattermost_plugin.host.local import NO_RESTARTS, LocalMattermost, LogRecord, local_mattermost


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

    def logs(self) -> list[tuple[int, LogRecord]]:
        """Every node's log lines so far, with the node's index."""


class LocalClusterNodes:
    """:class:`Nodes` on a started ``local_mattermost(folder, nodes=N)``."""

    def __init__(self, local: LocalMattermost) -> None:
        self.local = local
        self.count = len(local.nodes)
        self.api = local.api
        self.clock = local.clock

    def get(self, node: int, path: str, **query: object) -> dict[str, Any]:
        text = "&".join(f"{k}={v}" for k, v in query.items())
        answer = self.local.nodes[node].get(path, query=text, timeout=60.0)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def pid(self, node: int) -> int | None:
        return self.local.nodes[node].pid

    def kill(self, node: int) -> None:
        self.local.nodes[node].kill()

    def start(self, node: int) -> None:
        self.local.nodes[node].start()

    def stop(self, node: int) -> None:
        self.local.nodes[node].stop()

    def logs(self) -> list[tuple[int, LogRecord]]:
        return [(r.node or 0, r) for r in self.local.logs if r.source == "stderr"]


@contextmanager
def local_nodes(
    plugin_dir: Path, count: int, env: Mapping[str, str] | None = None, hook_timeout: float = 10.0
) -> Iterator[LocalClusterNodes]:
    """``count`` started nodes of ``plugin_dir`` on the local host; all stopped after."""
    with local_mattermost(
        plugin_dir,
        nodes=count,
        env=dict(env or {}),
        hook_timeout=hook_timeout,
        restart_policy=NO_RESTARTS,
    ) as local:
        yield LocalClusterNodes(local)


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
