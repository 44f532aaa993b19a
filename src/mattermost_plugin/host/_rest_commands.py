"""``GET /api/v4/teams/{team_id}/commands/autocomplete``: the slash commands a client offers
as the user types (the playground lists the plugin's with their hints). Running one is
``POST /api/v4/commands/execute`` (``_rest_posts``)."""

from __future__ import annotations

from typing import Any

from mattermost_plugin._generated.converters.api_remaining import command_from_pb
from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2
from mattermost_plugin.host._rest import Call, fake_errors, route


def _command_json(command: api_remaining_pb2.Command) -> dict[str, Any]:
    data = command_from_pb(command).model_dump(mode="json")
    data["token"] = ""  # a custom command's secret: no client needs it to list commands
    return data


@route("GET", "/api/v4/teams/{team_id}/commands/autocomplete")
def list_autocomplete_commands(call: Call) -> None:
    """The team's commands offered in autocomplete, as the server lists them: its own
    (``/away``, ``/join``, ...), the plugin's (``plugin_id`` set) and the team's custom
    ones, each group by trigger (``view_team``)."""
    team_id = call.params["team_id"]
    with call.fake.transaction(), fake_errors():
        call.fake._team(team_id)
    call.require_team(team_id, "view_team")
    listed = call.invoke("ListCommands", api_remaining_pb2.ListCommandsRequest(team_id=team_id))
    call.respond(200, [_command_json(c) for c in listed.commands if c.auto_complete])


ROUTES = [list_autocomplete_commands]
