"""The HTTP helpers of the local server: every method, as the default user unless told
otherwise (tests/local/plugins/workbench answers ``/request`` with what it received)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.local.test_local import WORKBENCH

from mattermost_plugin.testing import ANONYMOUS, LocalMattermost, local_mattermost

pytestmark = pytest.mark.mattermost_plugin("plugins/workbench", hook_timeout=10.0)


def seen(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def test_requests_are_the_default_users_unless_told_otherwise(
    mattermost: LocalMattermost,
) -> None:
    admin = mattermost.user.id
    assert seen(mattermost.get("/request"))["user"] == admin
    assert seen(mattermost.http("GET", "/request"))["user"] == admin
    with mattermost.stream("GET", "/request") as response:
        assert b'"user": "' + admin.encode() in response.read()

    alice = mattermost.create_user("alice")
    assert seen(mattermost.get("/request", user=alice))["user"] == alice.id
    assert seen(mattermost.post("/request", user=alice.id))["user"] == alice.id
    # No user at all, as for someone not logged in; a header of the caller's is no way in.
    assert seen(mattermost.get("/request", user=ANONYMOUS))["user"] is None
    forged = mattermost.get("/request", user=ANONYMOUS, headers={"Mattermost-User-Id": alice.id})
    assert seen(forged)["user"] is None
    with pytest.raises(ValueError, match="user=ANONYMOUS"):
        mattermost.get("/request", user="")


def test_every_method(mattermost: LocalMattermost) -> None:
    for helper, method in (
        (mattermost.post, "POST"),
        (mattermost.put, "PUT"),
        (mattermost.patch, "PATCH"),
    ):
        answer = seen(helper("/request", json_body={"n": 1}, query="a=1"))
        assert answer["method"] == method
        assert answer["query"] == "a=1"
        assert answer["content_type"] == "application/json"
        assert answer["body"] == '{"n": 1}'
        assert seen(helper("/request", body="raw"))["body"] == "raw"
    for helper, method in ((mattermost.get, "GET"), (mattermost.delete, "DELETE")):
        answer = seen(helper("/request?b=2"))
        assert (answer["method"], answer["query"], answer["body"]) == (method, "b=2", "")


def test_without_defaults_a_user_must_be_named() -> None:
    with local_mattermost(WORKBENCH, defaults=False, hook_timeout=10.0) as local:
        with pytest.raises(ValueError, match="no default user"):
            local.get("/request")
        assert seen(local.get("/request", user=ANONYMOUS))["user"] is None
        assert seen(local.get("/request", user="someone"))["user"] == "someone"
