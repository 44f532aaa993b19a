"""Fixtures for the ServeHTTP tests: ``serve(plugin)`` starts a real hook server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tests.support.http import HookServer

from mattermost_plugin.plugin import Plugin


@pytest.fixture
def serve() -> Iterator[Callable[[Plugin], HookServer]]:
    servers: list[HookServer] = []

    def start(plugin: Plugin) -> HookServer:
        server = HookServer(plugin)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def server_for(serve: Callable[[Plugin], HookServer]) -> Callable[[type[Plugin]], HookServer]:
    """``server_for(PluginClass)``: serve a fresh instance of the class."""

    def start(plugin_class: type[Plugin]) -> HookServer:
        return serve(plugin_class())

    return start
