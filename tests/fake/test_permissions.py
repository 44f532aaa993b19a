"""Permissions: the server's default roles, checked against answers written down here
independently of the table in fake_server/roles.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.coverage import fails, ok

from mattermost_plugin import NotFoundError, PluginAPIClient, ValidationError
from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2 as cp
from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2 as ut
from mattermost_plugin._pb.pluginapi.v1 import channel_pb2, team_pb2, user_pb2
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.host.fake_server.roles import DOCUMENTED
from mattermost_plugin.models import Channel, ChannelType, Team, User

# Which team and channel roles grant each documented permission by default (a system
# admin has them all; no other system role has any of them).
GRANTED_BY = {
    "manage_system": set(),
    "manage_team": {"team_admin"},
    "manage_channel_roles": {"team_admin", "channel_admin"},
    "create_post": {"channel_user", "channel_admin", "channel_guest"},
    "read_channel": {"channel_user", "channel_admin", "channel_guest"},
    "edit_others_posts": {"team_admin"},
    "delete_others_posts": {"team_admin"},
    "create_public_channel": {"team_user", "team_admin"},
    "create_private_channel": {"team_user", "team_admin"},
}


def expected(
    permission: str, system: str, team: str, channel: str, level: str, *, dm: bool = False
) -> bool:
    """The server's answer for a user with these roles (``""``: not a member), asked at
    ``level`` (``system``, ``team`` or ``channel``); a direct message has no team, so a
    question about it skips the team roles."""
    if system == "system_admin":
        return True
    held = set()
    if (level == "team" or (level == "channel" and not dm)) and team:
        held |= {team, "team_user"} if team == "team_admin" else {team}
    if level == "channel" and channel:
        held |= {channel, "channel_user"} if channel == "channel_admin" else {channel}
    return bool(GRANTED_BY[permission] & held)


def test_the_documented_permissions_are_the_ones_pinned_here() -> None:
    assert set(DOCUMENTED) == set(GRANTED_BY)


class World:
    """A fake with one team and one channel of a kind, and a user with the given roles."""

    def __init__(self, system: str, team_role: str, channel_role: str, kind: str) -> None:
        fake = self.fake = FakeMattermost()
        guest = system == "system_guest"
        self.user = fake.invoke(
            "CreateUser",
            ut.CreateUserRequest(
                user=user_pb2.User(
                    username="u", email="u@example.com", password="password1", roles=system
                )
            ),
        ).user
        other = fake.invoke(
            "CreateUser",
            ut.CreateUserRequest(
                user=user_pb2.User(username="o", email="o@example.com", password="password1")
            ),
        ).user
        self.team = fake.invoke(
            "CreateTeam",
            ut.CreateTeamRequest(
                team=team_pb2.Team(name="t1", display_name="T", type=team_pb2.TEAM_TYPE_OPEN)
            ),
        ).team
        if team_role:
            fake.invoke(
                "CreateTeamMember",
                ut.CreateTeamMemberRequest(team_id=self.team.id, user_id=self.user.id),
            )
            if team_role == "team_admin" and not guest:
                fake.invoke(
                    "UpdateTeamMemberRoles",
                    ut.UpdateTeamMemberRolesRequest(
                        team_id=self.team.id, user_id=self.user.id, new_roles="team_user team_admin"
                    ),
                )
        if kind == "D":
            self.channel = fake.invoke(
                "GetDirectChannel",
                cp.GetDirectChannelRequest(user_id_1=other.id, user_id_2=self.user.id),
            ).channel
            if not channel_role:  # a DM of two others
                third = fake.invoke(
                    "CreateUser",
                    ut.CreateUserRequest(
                        user=user_pb2.User(
                            username="t", email="t@example.com", password="password1"
                        )
                    ),
                ).user
                self.channel = fake.invoke(
                    "GetDirectChannel",
                    cp.GetDirectChannelRequest(user_id_1=other.id, user_id_2=third.id),
                ).channel
            return
        channel_type = (
            channel_pb2.CHANNEL_TYPE_OPEN if kind == "O" else channel_pb2.CHANNEL_TYPE_PRIVATE
        )
        self.channel = fake.invoke(
            "CreateChannel",
            cp.CreateChannelRequest(
                channel=channel_pb2.Channel(
                    team_id=self.team.id, name="c1", display_name="C", type=channel_type
                )
            ),
        ).channel
        if channel_role and team_role:
            fake.join_channel(self.channel.id, self.user.id)
            if channel_role == "channel_admin" and not guest:
                fake.invoke(
                    "UpdateChannelMemberRoles",
                    cp.UpdateChannelMemberRolesRequest(
                        channel_id=self.channel.id,
                        user_id=self.user.id,
                        new_roles="channel_user channel_admin",
                    ),
                )


def effective(system: str, team: str, channel: str, kind: str) -> tuple[str, str]:
    """The team and channel roles the user ends up with (guests hold the guest roles; a
    channel membership needs a team one, except in a DM, which has no team)."""
    guest = system == "system_guest"
    team_role = ("team_guest" if guest else team) if team else ""
    if kind == "D":
        return team_role, ("channel_guest" if guest else "channel_user") if channel else ""
    if not (channel and team):
        return team_role, ""
    return team_role, "channel_guest" if guest else channel


@given(
    system=st.sampled_from(["system_user", "system_admin", "system_guest"]),
    team=st.sampled_from(["", "team_user", "team_admin"]),
    channel=st.sampled_from(["", "channel_user", "channel_admin"]),
    kind=st.sampled_from(["O", "P", "D"]),
    permission=st.sampled_from(DOCUMENTED),
)
def test_any_user_permission_and_channel_type_answer_as_the_table_predicts(
    system: str, team: str, channel: str, kind: str, permission: str
) -> None:
    world = World(system, team, channel, kind)
    team_role, channel_role = effective(system, team, channel, kind)
    fake, user = world.fake, world.user.id
    asks = {
        "system": fake.has_permission_to(user, permission),
        "team": fake.has_permission_to_team(user, world.team.id, permission),
        "channel": fake.has_permission_to_channel(user, world.channel.id, permission),
    }
    for level, answer in asks.items():
        want = expected(permission, system, team_role, channel_role, level, dm=kind == "D")
        assert answer is want, (level, system, team_role, channel_role, kind, permission)
    # Reading follows membership: private channels, DMs and GMs are for their members;
    # an open channel is readable by its team.
    readable = fake.can_read_channel(user, world.channel.id)
    member = user in fake._members(world.channel.id)
    public_to_team = kind == "O" and bool(team_role) and team_role != "team_guest"
    assert readable is (system == "system_admin" or member or public_to_team)


PERMISSIONS = ("HasPermissionTo", "HasPermissionToTeam", "HasPermissionToChannel")


@ok(*PERMISSIONS, "RolesGrantPermission", "UpdateUserRoles")
def test_permission_methods(api: PluginAPIClient, team: Team, alice: User) -> None:
    channel = api.create_channel(
        Channel(team_id=team.id, name="dev", display_name="Dev", type=ChannelType.PRIVATE)
    )
    api.add_channel_member(channel.id, alice.id)
    assert api.has_permission_to_team(alice.id, team.id, "create_public_channel")
    assert api.has_permission_to_channel(alice.id, channel.id, "create_post")
    assert not api.has_permission_to(alice.id, "manage_system")
    assert api.update_user_roles(alice.id, "system_user system_admin").roles == (
        "system_user system_admin"
    )
    assert api.has_permission_to(alice.id, "manage_system")
    assert api.roles_grant_permission(["team_user", "team_admin"], "manage_team")


@fails(*PERMISSIONS, "RolesGrantPermission", "UpdateUserRoles")
def test_permission_methods_negative(api: PluginAPIClient, team: Team, alice: User) -> None:
    town_square = api.get_channel_by_name(team.id, "town-square")
    assert not api.has_permission_to("x" * 26, "create_team")  # an unknown user: no
    assert not api.has_permission_to_team(alice.id, team.id, "manage_team")
    assert not api.has_permission_to_channel(alice.id, town_square.id, "manage_channel_roles")
    assert not api.roles_grant_permission(["system_user"], "no_such_permission")
    with pytest.raises(ValidationError):
        api.update_user_roles(alice.id, "system_user superhero")
    with pytest.raises(NotFoundError):
        api.update_user_roles("x" * 26, "system_user")


def test_guests_and_membership_rules() -> None:
    world = World("system_guest", "team_user", "channel_user", "O")
    member = world.fake._members(world.channel.id)[world.user.id]
    assert (member.roles, member.scheme_guest) == ("channel_guest", True)
    assert not world.fake.has_permission_to_team(
        world.user.id, world.team.id, "create_public_channel"
    )
    assert world.fake.can_post(world.user.id, world.channel.id)
    outsider = World("system_user", "team_user", "", "P")
    assert not outsider.fake.can_read_channel(outsider.user.id, outsider.channel.id)
    assert not outsider.fake.can_post(outsider.user.id, outsider.channel.id)
    public = World("system_user", "team_user", "", "O")
    assert public.fake.can_read_channel(public.user.id, public.channel.id)
    assert not public.fake.can_post(public.user.id, public.channel.id)  # join it first
