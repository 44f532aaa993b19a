"""The nodes of a local Mattermost: ``LocalMattermost(folder, nodes=3)`` runs the plugin as a
cluster on one machine.

As on a Mattermost high-availability cluster, each node runs its own process of the plugin,
and the plugin's API calls are served by its own node (here: each node's process dials its
own loopback gRPC endpoint). Every endpoint serves the same
:class:`~mattermost_plugin.host.fake_server.FakeMattermost`, so the nodes share the store
(KV, posts, users, config, ...) and the clock, and nothing else: module globals and caches
are per process, exactly where cluster bugs hide.

Which node serves what (:meth:`LocalCore._serving`):

* a hook that the plugin's own API call runs (``CreatePost`` runs ``MessageWillBePosted``)
  runs on the node that made the call, as on the server;
* anything else the local server does (a post, a slash command, an HTTP request, a
  request to the dev server's REST API, a bare ``call_hook``) is served by one node, the
  next live one in round robin, and every hook of that flow runs there (a load balancer
  sends a request to one node, and that node runs its hooks);
* ``OnActivate`` runs on every node as it starts, ``OnConfigurationChange`` on every node;
* a cluster event the plugin publishes reaches ``OnPluginClusterEvent`` on every *other*
  live node once (not the sender); one published from outside the nodes (the host's own
  ``api`` client) reaches every node.

This module holds what identifies the serving node (a context variable, set by a server
interceptor on each node's endpoint) and :class:`LocalNode`, the handle of one node.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc

from mattermost_plugin.host._local_types import HTTPResult, LogRecord

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from mattermost_plugin.host.local import LocalMattermost
    from mattermost_plugin.host.supervisor import PluginSupervisor

__all__ = ["LocalNode", "NodeInterceptor", "current_node", "on_node"]

_SERVING: contextvars.ContextVar[LocalNode | None] = contextvars.ContextVar(
    "local_mattermost_serving_node", default=None
)


def current_node() -> LocalNode | None:
    """The node serving the current call (``None``: none picked yet)."""
    return _SERVING.get()


@contextlib.contextmanager
def on_node(node: LocalNode) -> Iterator[LocalNode]:
    """Serve what runs in the block (on this thread) on ``node``."""
    token = _SERVING.set(node)
    try:
        yield node
    finally:
        _SERVING.reset(token)


class NodeInterceptor(grpc.ServerInterceptor):
    """On a node's API endpoint: the calls it serves are that node's, so the hooks they run
    run on that node's plugin process."""

    def __init__(self, node: LocalNode) -> None:
        self.node = node

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler  # streamed answers run no hooks
        behavior = handler.unary_unary
        node = self.node

        def served(request: Any, context: grpc.ServicerContext) -> Any:
            with on_node(node):
                return behavior(request, context)

        return handler._replace(unary_unary=served)


class LocalNode:
    """One node of a local cluster: its plugin process (:attr:`supervisor`) and the API
    endpoint it dials (:attr:`api_target`). ``mm.nodes[1].kill()`` SIGKILLs its process,
    ``start()`` starts it again, ``get(...)`` sends an HTTP request through this node."""

    def __init__(self, local: LocalMattermost, index: int) -> None:
        self.local = local
        self.index = index
        self.supervisor: PluginSupervisor | None = None
        """The supervisor of this node's plugin process (``None`` while stopped)."""
        self.api_target = ""
        """The loopback address of this node's Plugin API endpoint."""
        self.server: grpc.Server | None = None

    def __repr__(self) -> str:
        return f"<LocalNode {self.index} pid={self.pid} running={self.running}>"

    @property
    def name(self) -> str:
        """``node 1`` (what events and errors call it)."""
        return f"node {self.index}"

    @property
    def pid(self) -> int | None:
        """The plugin process id (``None`` while stopped)."""
        supervisor = self.supervisor
        return None if supervisor is None else supervisor.pid

    @property
    def running(self) -> bool:
        """Whether the plugin process is up and activated (a killed process is not, even
        before its health check notices)."""
        supervisor = self.supervisor
        return (
            supervisor is not None
            and supervisor.state == "running"
            and supervisor.returncode is None
        )

    def kill(self) -> None:
        """SIGKILL the plugin process (no ``OnDeactivate``, nothing cleaned up) and wait
        for it to exit. Whether it comes back depends on the restart policy: by default its
        health check restarts it within about a second, as the server's does."""
        supervisor = self.supervisor
        process = supervisor.process if supervisor is not None else None
        if supervisor is None or process is None or process.poll() is not None:
            raise RuntimeError(f"{self.name} is not running")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        self.local._emit(
            "plugin", f"killed {self.name} (pid {process.pid})", level="warn", fields=self._field()
        )

    def start(self) -> None:
        """Start this node's plugin again (after :meth:`kill` or :meth:`stop`); raises
        :class:`~mattermost_plugin.host.supervisor.PluginStartError` when it fails."""
        self.local._start_node(self)

    def stop(self) -> None:
        """Stop this node's plugin as the server does (``OnDeactivate``, then exit)."""
        self.local._stop_node(self)

    @property
    def logs(self) -> list[LogRecord]:
        """This node's lines among the host's latest log lines."""
        return [record for record in self.local.logs if record.node == self.index]

    def call_hook(self, hook: str, request: Message, *, timeout: float | None = None) -> Any:
        """:meth:`LocalMattermost.call_hook` on this node."""
        with on_node(self):
            return self.local.call_hook(hook, request, timeout=timeout)

    def http(self, method: str, path: str, **options: Any) -> HTTPResult:
        """:meth:`LocalMattermost.http` through this node's ``ServeHTTP``."""
        with on_node(self):
            return self.local.http(method, path, **options)

    def get(self, path: str, **options: Any) -> HTTPResult:
        """``GET`` through this node's ``ServeHTTP`` (see :meth:`http`)."""
        return self.http("GET", path, **options)

    def post(self, path: str, **options: Any) -> HTTPResult:
        """``POST`` through this node's ``ServeHTTP`` (see :meth:`http`)."""
        return self.http("POST", path, **options)

    def _field(self) -> dict[str, int]:
        return {"node": self.index}
