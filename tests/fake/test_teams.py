"""Teams and team members of the fake, through the SDK's client over real gRPC."""

from __future__ import annotations

import pytest
from tests.fake.conftest import make_user
from tests.support.coverage import fails, ok

from mattermost_plugin import (
    AlreadyExistsError,
    NotFoundError,
    PluginAPIClient,
    ValidationError,
)
from mattermost_plugin.models import Post, Team, TeamType, User

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@ok("CreateTeam", "GetTeam", "GetTeamByName", "GetTeams", "UpdateTeam", "DeleteTeam", "SearchTeams")
def test_team_lifecycle(api: PluginAPIClient) -> None:
    team = api.create_team(Team(name="core", display_name="Core", type=TeamType.OPEN))
    assert api.get_team(team.id) == team
    assert api.get_team_by_name("core").id == team.id
    assert [c.name for c in api.get_public_channels_for_team(team.id)] == [
        "off-topic",
        "town-square",
    ]
    other = api.create_team(Team(name="docs", display_name="Writers", type=TeamType.INVITE))
    assert [t.name for t in api.get_teams()] == ["core", "docs"]
    assert [t.name for t in api.search_teams("WRI")] == ["docs"]
    team.display_name = "Core team"
    team.name = "renamed"  # the name stays
    updated = api.update_team(team)
    assert (updated.display_name, updated.name) == ("Core team", "core")
    api.delete_team(other.id)
    assert [t.name for t in api.get_teams()] == ["core"]
    assert api.get_team(other.id).delete_at > 0


@fails(
    "CreateTeam", "GetTeam", "GetTeamByName", "GetTeams", "UpdateTeam", "DeleteTeam", "SearchTeams"
)
def test_team_errors(api: PluginAPIClient, team: Team) -> None:
    with pytest.raises(AlreadyExistsError):
        api.create_team(Team(name="core", display_name="Again", type=TeamType.OPEN))
    with pytest.raises(ValidationError):
        api.create_team(Team(name="api", display_name="Reserved", type=TeamType.OPEN))
    with pytest.raises(NotFoundError):
        api.get_team("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_team_by_name("nothing")
    api.delete_team(team.id)
    assert api.get_teams() == []
    team.display_name = ""
    with pytest.raises(ValidationError):
        api.update_team(team)
    with pytest.raises(NotFoundError):
        api.delete_team("x" * 26)
    assert api.search_teams("zzz") == []


@ok(
    "CreateTeamMember",
    "CreateTeamMembers",
    "CreateTeamMembersGracefully",
    "GetTeamMember",
    "GetTeamMembers",
    "GetTeamMembersForUser",
    "GetTeamsForUser",
    "DeleteTeamMember",
    "UpdateTeamMemberRoles",
    "GetTeamStats",
)
def test_team_members(api: PluginAPIClient, team: Team) -> None:
    alice, bob, carol = (make_user(api, n) for n in ("alice", "bob", "carol"))
    member = api.create_team_member(team.id, alice.id)
    assert (member.roles, member.scheme_user, member.scheme_admin) == ("team_user", True, False)
    api.create_team_members(team.id, [bob.id], alice.id)
    results = api.create_team_members_gracefully(team.id, [carol.id, "x" * 26], alice.id)
    assert results[0].member is not None and results[0].member.user_id == carol.id
    assert results[1].error is not None and results[1].error.status_code == 404
    assert api.get_team_member(team.id, bob.id).user_id == bob.id
    assert {m.user_id for m in api.get_team_members(team.id)} == {alice.id, bob.id, carol.id}
    assert [m.team_id for m in api.get_team_members_for_user(alice.id)] == [team.id]
    assert [t.id for t in api.get_teams_for_user(alice.id)] == [team.id]
    admin = api.update_team_member_roles(team.id, alice.id, "team_user team_admin")
    assert admin.scheme_admin and admin.roles == "team_user team_admin"
    api.update_user_active(carol.id, False)
    stats = api.get_team_stats(team.id)
    assert (stats.total_member_count, stats.active_member_count) == (3, 2)
    api.delete_team_member(team.id, bob.id, alice.id)
    assert api.get_team_member(team.id, bob.id).delete_at > 0  # kept, marked
    assert api.get_teams_for_user(bob.id) == []


@fails(
    "CreateTeamMember",
    "CreateTeamMembers",
    "CreateTeamMembersGracefully",
    "GetTeamMember",
    "GetTeamMembers",
    "GetTeamMembersForUser",
    "GetTeamsForUser",
    "DeleteTeamMember",
    "UpdateTeamMemberRoles",
    "GetTeamStats",
)
def test_team_member_errors(api: PluginAPIClient, team: Team, alice: User) -> None:
    with pytest.raises(NotFoundError):
        api.create_team_member(team.id, "x" * 26)
    with pytest.raises(NotFoundError):
        api.create_team_members("x" * 26, [alice.id], "")
    with pytest.raises(NotFoundError):
        api.create_team_members_gracefully("x" * 26, [alice.id], "")
    with pytest.raises(NotFoundError):
        api.get_team_member(team.id, "x" * 26)
    assert api.get_team_members("x" * 26) == []
    assert api.get_team_members_for_user("x" * 26) == []
    with pytest.raises(NotFoundError):
        api.get_teams_for_user("x" * 26)
    with pytest.raises(NotFoundError):
        api.delete_team_member(team.id, "x" * 26, "")
    with pytest.raises(ValidationError):
        api.update_team_member_roles(team.id, alice.id, "system_admin")
    with pytest.raises(NotFoundError):
        api.get_team_stats("x" * 26)


@ok("SetTeamIcon", "GetTeamIcon", "RemoveTeamIcon", "GetTeamsUnreadForUser")
def test_team_icons_and_unreads(api: PluginAPIClient, team: Team, alice: User) -> None:
    api.set_team_icon(team.id, PNG)
    assert api.get_team_icon(team.id) == PNG
    assert api.get_team(team.id).last_team_icon_update > 0
    api.remove_team_icon(team.id)
    assert api.get_team(team.id).last_team_icon_update == 0
    town_square = api.get_channel_by_name(team.id, "town-square")
    api.create_post(Post(channel_id=town_square.id, user_id=alice.id, message="one"))
    (unread,) = api.get_teams_unread_for_user(alice.id)
    assert (unread.team_id, unread.msg_count, unread.msg_count_root) == (team.id, 1, 1)


@fails("SetTeamIcon", "GetTeamIcon", "RemoveTeamIcon", "GetTeamsUnreadForUser")
def test_team_icon_errors(api: PluginAPIClient, team: Team) -> None:
    with pytest.raises(ValidationError):
        api.set_team_icon(team.id, b"text")
    with pytest.raises(NotFoundError):  # no icon set
        api.get_team_icon(team.id)
    with pytest.raises(NotFoundError):
        api.remove_team_icon("x" * 26)
    assert api.get_teams_unread_for_user("x" * 26) == []
