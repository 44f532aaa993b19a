"""``/api/v4/teams``: teams, their members and their channels."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2, team_pb2
from mattermost_plugin.host._rest import Call, fake_errors, forbidden, invalid_body, route
from mattermost_plugin.host._rest_json import (
    TEAM_TYPE_LETTERS,
    channel_json,
    team_json,
    team_member_json,
)
from mattermost_plugin.host.fake_server._state import OPEN

_TEAM_TYPES = {letter: kind for kind, letter in TEAM_TYPE_LETTERS.items()}


def _team(call: Call, team_id: str) -> team_pb2.Team:
    with call.fake.transaction(), fake_errors():
        found = team_pb2.Team()
        found.CopyFrom(call.fake._team(team_id))
        return found


def _is_open(team: team_pb2.Team) -> bool:
    return team.type == team_pb2.TEAM_TYPE_OPEN or team.allow_open_invite


def _require_view(call: Call, team: team_pb2.Team) -> None:
    """Members and admins see a team; others an open one."""
    with call.fake.transaction():
        allowed = call.fake.has_permission_to_team(call.user_id, team.id, "view_team")
    if not allowed and not _is_open(team):
        raise forbidden("view_team", call.user_id)


@route("POST", "/api/v4/teams")
def create_team(call: Call) -> None:
    """``{"name", "display_name", "type": "O" | "I"}``: a team with its default channels;
    its creator joins as a team admin (``create_team``)."""
    body = call.body("team")
    template = team_pb2.Team(
        name=body.string("name", required=True),
        display_name=body.string("display_name", required=True),
        type=_TEAM_TYPES.get(body.string("type"), team_pb2.TEAM_TYPE_UNSPECIFIED),
        description=body.string("description"),
        company_name=body.string("company_name"),
        allowed_domains=body.string("allowed_domains"),
        allow_open_invite=body.boolean("allow_open_invite"),
    )
    call.require("create_team")
    team = call.invoke("CreateTeam", api_user_team_pb2.CreateTeamRequest(team=template)).team
    call.invoke(
        "CreateTeamMember",
        api_user_team_pb2.CreateTeamMemberRequest(team_id=team.id, user_id=call.user_id),
    )
    call.invoke(
        "UpdateTeamMemberRoles",
        api_user_team_pb2.UpdateTeamMemberRolesRequest(
            team_id=team.id, user_id=call.user_id, new_roles="team_user team_admin"
        ),
    )
    call.dev.emit("server", f"created team {team.name} ({team.id})")
    call.respond(201, team_json(team))


@route("GET", "/api/v4/teams")
def get_teams(call: Call) -> None:
    """The teams the user may see: all for a system admin; else open ones and their own."""
    admin = call.is_admin()
    with call.fake.transaction():
        teams = [
            team_json(t)
            for t in sorted(call.fake.teams.values(), key=lambda t: t.name)
            if not t.delete_at
            and (admin or _is_open(t) or call.fake._active_member(t.id, call.user_id))
        ]
    call.respond(200, teams)


@route("GET", "/api/v4/teams/name/{team_name}")
def get_team_by_name(call: Call) -> None:
    team = call.invoke(
        "GetTeamByName", api_user_team_pb2.GetTeamByNameRequest(name=call.params["team_name"])
    ).team
    _require_view(call, team)
    call.respond(200, team_json(team))


@route("GET", "/api/v4/teams/{team_id}")
def get_team(call: Call) -> None:
    team = _team(call, call.params["team_id"])
    _require_view(call, team)
    call.respond(200, team_json(team))


@route("POST", "/api/v4/teams/{team_id}/members")
def add_team_member(call: Call) -> None:
    """``{"team_id", "user_id"}``: a user joins the team and its default channels
    (``UserHasJoinedTeam``). Joining an open team oneself needs ``join_public_teams``;
    adding someone ``add_user_to_team`` in the team."""
    team_id = call.params["team_id"]
    body = call.body("team_member")
    if body.string("team_id") != team_id:
        raise invalid_body("team_id")
    user_id = body.string("user_id", required=True)
    team = _team(call, team_id)
    if user_id == call.user_id and _is_open(team):
        call.require("join_public_teams")
    else:
        call.require_team(team_id, "add_user_to_team")
    actor = "" if user_id == call.user_id else call.user_id
    members = call.invoke(
        "CreateTeamMembers",
        api_user_team_pb2.CreateTeamMembersRequest(
            team_id=team_id, user_ids=[user_id], requestor_id=actor
        ),
    ).team_members
    call.respond(201, team_member_json(members[0]))


@route("GET", "/api/v4/teams/{team_id}/members")
def get_team_members(call: Call) -> None:
    team = _team(call, call.params["team_id"])
    _require_view(call, team)
    with call.fake.transaction():
        members = [
            team_member_json(m)
            for (t, _), m in call.fake.team_members.items()
            if t == team.id and not m.delete_at
        ]
    call.respond(200, members)


@route("GET", "/api/v4/teams/{team_id}/members/{user_id}")
def get_team_member(call: Call) -> None:
    team = _team(call, call.params["team_id"])
    _require_view(call, team)
    member = call.invoke(
        "GetTeamMember",
        api_user_team_pb2.GetTeamMemberRequest(team_id=team.id, user_id=call.param_user()),
    ).team_member
    call.respond(200, team_member_json(member))


@route("DELETE", "/api/v4/teams/{team_id}/members/{user_id}")
def remove_team_member(call: Call) -> None:
    """A user leaves the team and its channels (``UserHasLeftTeam``): themself, or by
    someone with ``remove_user_from_team``."""
    team_id, user_id = call.params["team_id"], call.param_user()
    _team(call, team_id)
    if user_id != call.user_id:
        call.require_team(team_id, "remove_user_from_team")
    actor = "" if user_id == call.user_id else call.user_id
    call.invoke(
        "DeleteTeamMember",
        api_user_team_pb2.DeleteTeamMemberRequest(
            team_id=team_id, user_id=user_id, requestor_id=actor
        ),
    )
    call.ok()


@route("GET", "/api/v4/teams/{team_id}/channels")
def get_public_channels(call: Call) -> None:
    """The team's open channels (``list_team_channels``)."""
    team = _team(call, call.params["team_id"])
    call.require_team(team.id, "list_team_channels")
    with call.fake.transaction():
        channels = [
            channel_json(c)
            for c in sorted(call.fake.channels.values(), key=lambda c: c.display_name)
            if c.team_id == team.id and c.type == OPEN and not c.delete_at
        ]
    call.respond(200, channels)


@route("GET", "/api/v4/teams/{team_id}/channels/name/{channel_name}")
def get_channel_by_name(call: Call) -> None:
    team_id, name = call.params["team_id"], call.params["channel_name"]
    with call.fake.transaction(), fake_errors():
        channel = call.fake._channel_by_name(team_id, name, include_deleted=False)
        channel_id = channel.id
    call.require_read_channel(channel_id)
    with call.fake.transaction():
        shown = channel_json(call.fake.channels[channel_id])
    call.respond(200, shown)


ROUTES = [
    create_team,
    get_teams,
    get_team_by_name,
    get_team,
    add_team_member,
    get_team_members,
    get_team_member,
    remove_team_member,
    get_public_channels,
    get_channel_by_name,
]
