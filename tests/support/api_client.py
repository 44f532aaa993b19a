"""Helpers for testing the Plugin API clients against real gRPC servers.

``AsyncBridge`` lets one blocking test body drive an ``AsyncPluginAPIClient`` for real: each
coroutine method is awaited on an event loop running in a background thread (``LoopThread``).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from mattermost_plugin import AsyncPluginAPIClient
from mattermost_plugin._pb.pluginapi.v1 import api_pb2_grpc

T = TypeVar("T")

# The generated servicer declares all ~236 methods abstract; test servicers override one or
# two and leave the rest to the base class, which answers UNIMPLEMENTED. For the type checker
# the base is plain ``object`` (as in host.fake_server); at run time it is the real servicer.
if TYPE_CHECKING:
    ServicerBase = object
else:
    ServicerBase = api_pb2_grpc.PluginAPIServicer

ServeServicer = Callable[[object], str]
"""Start a real gRPC server for a ``ServicerBase`` subclass and return its ``host:port``."""

RunAsync = Callable[[Callable[[AsyncPluginAPIClient], Coroutine[Any, Any, Any]]], Any]
"""Run a coroutine function with a fresh ``AsyncPluginAPIClient``; its result."""


class Clock:
    """A settable clock for the fake server, so KV expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LoopThread:
    """An event loop running in a daemon thread; ``run(coro)`` blocks for the result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class AsyncBridge:
    """An ``AsyncPluginAPIClient`` with the blocking interface of ``PluginAPIClient``.

    The async transport, grpc.aio channel and error mapping are the real ones; only the
    ``await`` happens on the ``LoopThread`` instead of in the test.
    """

    def __init__(self, client: AsyncPluginAPIClient, loop: LoopThread) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run(attr(*args, **kwargs))

        return call


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine on a fresh event loop (the tests do not use pytest-asyncio)."""
    return asyncio.run(coro)
