"""``GET /api/v4/teams/{team_id}/commands/autocomplete``: what the message box offers."""

from __future__ import annotations

from tests.playground.conftest import Playground
from tests.rest.conftest import assert_app_error

from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2


def test_the_plugins_commands_are_listed_with_their_hints(censor_playground: Playground) -> None:
    team = censor_playground.server.local.team.id
    answer = censor_playground.http.get(f"/api/v4/teams/{team}/commands/autocomplete")
    assert answer.status_code == 200, answer.text
    commands = {c["trigger"]: c for c in answer.json()}
    shout = commands["shout"]
    assert shout["plugin_id"] == "com.example.censor"
    assert shout["auto_complete_hint"] == "[text]"
    assert shout["auto_complete_desc"] == "Say it louder, in the channel"
    assert commands["pick"]["plugin_id"] == "com.example.censor"
    assert commands["echo"]["plugin_id"] == ""  # the server's own are listed too
    assert all(c["auto_complete"] and c["token"] == "" for c in commands.values())


def test_only_commands_offered_in_autocomplete(censor_playground: Playground) -> None:
    local = censor_playground.server.local
    local._invoke(
        "RegisterCommand",
        api_remaining_pb2.RegisterCommandRequest(
            command=api_remaining_pb2.Command(trigger="hidden", auto_complete=False)
        ),
    )
    answer = censor_playground.http.get(f"/api/v4/teams/{local.team.id}/commands/autocomplete")
    assert "hidden" not in {c["trigger"] for c in answer.json()}


def test_a_team_one_cannot_see_or_that_is_not_there(censor_playground: Playground) -> None:
    http = censor_playground.http
    created = http.post(
        "/api/v4/users",
        json={"username": "outsider", "email": "outsider@example.com", "password": "Password1!"},
    )
    assert created.status_code == 201, created.text
    outsider = {"Mattermost-User-Id": created.json()["id"]}
    team = censor_playground.server.local.team.id
    path = f"/api/v4/teams/{team}/commands/autocomplete"
    assert_app_error(http.get(path, headers=outsider), 403)
    assert_app_error(http.get("/api/v4/teams/" + "a" * 26 + "/commands/autocomplete"), 404)
    assert_app_error(http.get("/api/v4/teams/nope/commands/autocomplete"), 400)
    assert_app_error(http.get(path, headers={"Mattermost-User-Id": ""}), 401)
