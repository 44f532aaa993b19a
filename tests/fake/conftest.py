"""A fake Mattermost on a real port, a typed client on it, and the check that a test marked
``@ok``/``@fails`` (tests/support/coverage.py) made the calls its marks promise."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from tests.support.api_client import Clock

from mattermost_plugin import PluginAPIClient
from mattermost_plugin.host.fake_server import MODELLED, FakeMattermost, serve
from mattermost_plugin.models import Team, TeamType, User


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "api_method(*methods, outcome): the Plugin API methods a test covers"
    )


class Recorder(grpc.ServerInterceptor):  # type: ignore[misc]
    """Records the outcome of every call: ``success``, or ``error`` (an error status or an
    AppError in the response)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, set[str]] = defaultdict(set)

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
        method = details.method.rsplit("/", 1)[-1]
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        def behavior(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                response = inner(request, context)
            except BaseException:
                self.outcomes[method].add("error")
                raise
            failed = response.HasField("error") if hasattr(response, "error") else False
            self.outcomes[method].add("error" if failed else "success")
            return response

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@dataclass
class Served:
    fake: FakeMattermost
    api: PluginAPIClient
    clock: Clock
    recorder: Recorder


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    clock = Clock()
    fake = FakeMattermost(clock=clock)
    recorder = Recorder()
    server, address = serve(fake, interceptors=[recorder])
    api = PluginAPIClient(target=address, retries=0)
    try:
        yield Served(fake, api, clock, recorder)
    finally:
        api.close()
        server.stop(None)
    missing = []
    for mark in request.node.iter_markers("api_method"):
        outcome = mark.kwargs["outcome"]
        for method in mark.args:
            seen = recorder.outcomes.get(method, set())
            never_fails = method in MODELLED and MODELLED[method].never_fails
            if outcome in seen or (outcome == "error" and never_fails and seen):
                continue
            missing.append(f"{method} ({outcome}; seen: {sorted(seen) or 'no call'})")
    if missing:
        pytest.fail("the test's marks promise calls it did not make: " + ", ".join(missing))


@pytest.fixture
def fake(served: Served) -> FakeMattermost:
    return served.fake


@pytest.fixture
def api(served: Served) -> PluginAPIClient:
    return served.api


@pytest.fixture
def clock(served: Served) -> Clock:
    return served.clock


@pytest.fixture
def team(api: PluginAPIClient) -> Team:
    return api.create_team(Team(name="core", display_name="Core", type=TeamType.OPEN))


def make_user(api: PluginAPIClient, name: str, **fields: Any) -> User:
    return api.create_user(
        User(username=name, email=f"{name}@example.com", password="password1", **fields)
    )


@pytest.fixture
def alice(api: PluginAPIClient, team: Team) -> User:
    user = make_user(api, "alice")
    api.create_team_member(team.id, user.id)
    return user


@pytest.fixture
def bob(api: PluginAPIClient, team: Team) -> User:
    user = make_user(api, "bob")
    api.create_team_member(team.id, user.id)
    return user
