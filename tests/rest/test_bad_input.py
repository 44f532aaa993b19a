"""Bad input answers the server's error and changes nothing: bodies with a field of the
wrong type (hypothesis, per route), bodies that are no JSON object, unknown and malformed
ids. The fake's whole state is compared before and after each request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.rest.conftest import Dev, assert_app_error, state_of

UNKNOWN = "a" * 26
JSON_SCALARS = {
    "string": st.text(max_size=10),
    "number": st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "list": st.lists(st.integers(), max_size=3),
    "object": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
}
# Which JSON kinds a field of each type does not accept (null is the zero value, as in Go).
WRONG = {
    "string": ["number", "boolean", "list", "object"],
    "boolean": ["string", "number", "list", "object"],
    "strings": ["string", "number", "boolean", "object"],
    "object": ["string", "number", "boolean", "list"],
}


@dataclass(frozen=True)
class Case:
    method: str
    path: Callable[[Dev], str]
    body: Callable[[Dev], dict[str, Any]]
    fields: dict[str, str]


def _post_id(dev: Dev) -> str:
    with dev.fake.transaction():
        return next(p.id for p in dev.fake.posts.values() if not p.delete_at)


CASES = {
    "create user": Case(
        "POST",
        lambda d: "/api/v4/users",
        lambda d: {"username": "newbie", "email": "newbie@example.com", "password": "Password1!"},
        {"username": "string", "email": "string", "password": "string", "props": "object"},
    ),
    "patch user": Case(
        "PUT",
        lambda d: "/api/v4/users/me/patch",
        lambda d: {"nickname": "n"},
        {"nickname": "string", "first_name": "string", "props": "object"},
    ),
    "activate user": Case(
        "PUT",
        lambda d: f"/api/v4/users/{d.server.local.user.id}/active",
        lambda d: {"active": True},
        {"active": "boolean"},
    ),
    "login": Case(
        "POST",
        lambda d: "/api/v4/users/login",
        lambda d: {"login_id": "admin", "password": "administrator"},
        {"login_id": "string", "password": "string", "device_id": "string"},
    ),
    "create token": Case(
        "POST",
        lambda d: "/api/v4/users/me/tokens",
        lambda d: {"description": "d"},
        {"description": "string"},
    ),
    "create team": Case(
        "POST",
        lambda d: "/api/v4/teams",
        lambda d: {"name": "newteam", "display_name": "New", "type": "O"},
        {
            "name": "string",
            "display_name": "string",
            "type": "string",
            "allow_open_invite": "boolean",
        },
    ),
    "add team member": Case(
        "POST",
        lambda d: f"/api/v4/teams/{d.team_id}/members",
        lambda d: {"team_id": d.team_id, "user_id": d.server.local.user.id},
        {"team_id": "string", "user_id": "string"},
    ),
    "create channel": Case(
        "POST",
        lambda d: "/api/v4/channels",
        lambda d: {"team_id": d.team_id, "name": "newc", "display_name": "N", "type": "O"},
        {"team_id": "string", "name": "string", "display_name": "string", "type": "string"},
    ),
    "patch channel": Case(
        "PUT",
        lambda d: f"/api/v4/channels/{d.town_square}/patch",
        lambda d: {"purpose": "p"},
        {"purpose": "string", "header": "string"},
    ),
    "add channel member": Case(
        "POST",
        lambda d: f"/api/v4/channels/{d.town_square}/members",
        lambda d: {"user_id": d.server.local.user.id},
        {"user_id": "string"},
    ),
    "create post": Case(
        "POST",
        lambda d: "/api/v4/posts",
        lambda d: {"channel_id": d.town_square, "message": "m"},
        {
            "channel_id": "string",
            "message": "string",
            "root_id": "string",
            "props": "object",
            "file_ids": "strings",
        },
    ),
    "patch post": Case(
        "PUT",
        lambda d: f"/api/v4/posts/{_post_id(d)}/patch",
        lambda d: {"message": "m"},
        {"message": "string", "is_pinned": "boolean", "file_ids": "strings", "props": "object"},
    ),
    "add reaction": Case(
        "POST",
        lambda d: "/api/v4/reactions",
        lambda d: {"user_id": d.server.local.user.id, "post_id": _post_id(d), "emoji_name": "x"},
        {"user_id": "string", "post_id": "string", "emoji_name": "string"},
    ),
    "execute command": Case(
        "POST",
        lambda d: "/api/v4/commands/execute",
        lambda d: {"channel_id": d.town_square, "command": "/whisper"},
        {"channel_id": "string", "command": "string", "root_id": "string"},
    ),
}


@pytest.fixture(scope="module", autouse=True)
def a_post(dev: Dev) -> None:
    assert dev.admin.post("/api/v4/posts", json={"channel_id": "town-square", "message": "p"})


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_field_of_the_wrong_type_is_the_servers_400_and_changes_nothing(
    dev: Dev, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(CASES)), label="route")
    case = CASES[name]
    field = data.draw(st.sampled_from(sorted(case.fields)), label="field")
    kind = data.draw(st.sampled_from(WRONG[case.fields[field]]), label="wrong kind")
    value = data.draw(JSON_SCALARS[kind], label="value")
    body = {**case.body(dev), field: value}
    path = case.path(dev)
    before = state_of(dev.fake)
    answer = dev.admin.request(case.method, path, json=body)
    error = assert_app_error(answer, 400, "api.context.invalid_body_param.app_error")
    assert field in error["message"] or field in error["detailed_error"], (name, error)
    assert state_of(dev.fake) == before, (name, field, value)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"12", b"{not json", b"true"])
def test_a_body_that_is_no_json_object_is_a_400(dev: Dev, name: str, raw: bytes) -> None:
    case = CASES[name]
    before = state_of(dev.fake)
    answer = dev.admin.request(case.method, case.path(dev), content=raw)
    assert_app_error(answer, 400, "api.context.invalid_body_param.app_error")
    assert state_of(dev.fake) == before


UNKNOWN_IDS = [
    ("GET", f"/api/v4/users/{UNKNOWN}", None, 404),
    ("PUT", f"/api/v4/users/{UNKNOWN}/patch", {"nickname": "x"}, 404),
    ("PUT", f"/api/v4/users/{UNKNOWN}/active", {"active": False}, 404),
    ("GET", f"/api/v4/teams/{UNKNOWN}", None, 404),
    ("POST", f"/api/v4/teams/{UNKNOWN}/members", {"team_id": UNKNOWN, "user_id": UNKNOWN}, 404),
    ("DELETE", f"/api/v4/teams/{UNKNOWN}/members/me", None, 404),
    ("GET", f"/api/v4/channels/{UNKNOWN}", None, 404),
    ("POST", f"/api/v4/channels/{UNKNOWN}/members", {"user_id": UNKNOWN}, 404),
    ("DELETE", f"/api/v4/channels/{UNKNOWN}", None, 404),
    ("POST", "/api/v4/posts", {"channel_id": UNKNOWN, "message": "x"}, 404),
    ("GET", f"/api/v4/posts/{UNKNOWN}", None, 404),
    ("PUT", f"/api/v4/posts/{UNKNOWN}/patch", {"message": "x"}, 404),
    ("DELETE", f"/api/v4/posts/{UNKNOWN}", None, 404),
    ("POST", "/api/v4/reactions", {"user_id": "me", "post_id": UNKNOWN, "emoji_name": "x"}, 403),
    ("GET", f"/api/v4/files/{UNKNOWN}", None, 404),
    ("POST", f"/api/v4/plugins/{UNKNOWN}/enable", None, 404),
    ("GET", "/api/v4/users/bad-id", None, 400),
    ("GET", "/api/v4/posts/bad-id", None, 400),
    ("GET", "/api/v4/teams/BAD", None, 400),
    ("DELETE", "/api/v4/users/me/posts/bad/reactions/x", None, 400),
    ("POST", "/api/v4/plugins/%2e%2e/enable", None, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), UNKNOWN_IDS)
def test_unknown_and_malformed_ids_answer_the_servers_error_and_change_nothing(
    dev: Dev, method: str, path: str, body: dict[str, Any] | None, status: int
) -> None:
    before = state_of(dev.fake)
    answer = dev.admin.request(method, path, json=body)
    assert_app_error(answer, status)
    assert state_of(dev.fake) == before
