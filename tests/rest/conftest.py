"""A dev server in this process (so that tests can look at the fake's state directly),
running tests/dev/plugins/reactor, and helpers to talk to its REST API as several users."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.dev import REPO, copy_plugin, start_dev

from mattermost_plugin.host.dev_server import DevServer
from mattermost_plugin.host.fake_server import FakeMattermost

REACTOR = REPO / "tests" / "dev" / "plugins" / "reactor"


@dataclass
class Dev:
    server: DevServer
    admin: httpx.Client
    """Requests without a token: the dev server's default admin."""
    output: io.StringIO

    @property
    def fake(self) -> FakeMattermost:
        return self.server.local.server

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=20)

    def user(self, username: str, *, password: str = "Password1!", team: bool = True) -> User:
        """A new user (in the team ``local`` unless ``team=False``) logged in."""
        created = self.admin.post(
            "/api/v4/users",
            json={"username": username, "email": f"{username}@example.com", "password": password},
        )
        assert created.status_code == 201, created.text
        user = created.json()
        if team:
            joined = self.admin.post(
                f"/api/v4/teams/{self.team_id}/members",
                json={"team_id": self.team_id, "user_id": user["id"]},
            )
            assert joined.status_code == 201, joined.text
        login = httpx.post(
            timeout=30,
            url=f"{self.server.url}/api/v4/users/login",
            json={"login_id": username, "password": password},
        )
        assert login.status_code == 200, login.text
        return User(
            user["id"], username, login.headers["Token"], self.client(login.headers["Token"])
        )

    @property
    def team_id(self) -> str:
        return self.server.local.team.id

    @property
    def town_square(self) -> str:
        return self.server.local.channel.id


@dataclass
class User:
    id: str
    username: str
    token: str
    http: httpx.Client


@contextmanager
def running_dev(folder: Path) -> Iterator[Dev]:
    """A dev server for a copy of the reactor plugin in ``folder``."""
    server, output = start_dev(copy_plugin(REACTOR, folder))
    admin = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield Dev(server, admin, output)
    finally:
        admin.close()
        server.stop()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    with running_dev(tmp_path_factory.mktemp("rest") / "reactor") as running:
        yield running


def assert_app_error(
    response: httpx.Response, status: int, error_id: str | None = None
) -> dict[str, Any]:
    """The answer is the server's AppError JSON with this status (and id)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"id", "message", "detailed_error", "request_id", "status_code"}, body
    assert body["status_code"] == status and body["message"]
    if error_id is not None:
        assert body["id"] == error_id, body
    return body


def state_of(fake: FakeMattermost) -> dict[str, Any]:
    """Everything the fake stores, encoded, to compare before and after a request."""
    with fake.transaction():
        tables = {
            table.kind: {repr(key): table.codec.encode(value) for key, value in table.items()}
            for table in fake._tables()
        }
        return {"tables": tables, "config": repr(fake.config)}
