"""Permissions: what the server's default roles (:mod:`.roles`) let a user do, system-wide,
in a team and in a channel. The plugin API itself checks no permission (a plugin acts with
full rights); these answer the plugin's questions, and the REST front asks them for users."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
    api_user_team_pb2,
)
from mattermost_plugin.host.fake_server._rpc import Ctx, bad_request, status
from mattermost_plugin.host.fake_server._state import OPEN, FakeState
from mattermost_plugin.host.fake_server.roles import ROLE_PERMISSIONS, member_roles, roles_grant

SYSTEM_ROLES = frozenset(role for role in ROLE_PERMISSIONS if role.startswith("system_"))


class PermissionsAPI(FakeState):
    def has_permission_to(self, user_id: str, permission: str) -> bool:
        """The user's system roles grant ``permission`` (an unknown user: no)."""
        user = self.users.get(user_id)
        return user is not None and roles_grant(user.roles.split(), permission)

    def has_permission_to_team(self, user_id: str, team_id: str, permission: str) -> bool:
        """The user's active team membership or system roles grant ``permission``."""
        if not team_id or not user_id:
            return False
        member = self.team_members.get((team_id, user_id))
        if member is not None and not member.delete_at:
            roles = member_roles(
                member.roles,
                guest=member.scheme_guest,
                user=member.scheme_user,
                admin=member.scheme_admin,
                scope="team",
            )
            if roles_grant(roles, permission):
                return True
        return self.has_permission_to(user_id, permission)

    def has_permission_to_channel(self, user_id: str, channel_id: str, permission: str) -> bool:
        """The user's channel membership, the channel's team membership or system roles
        grant ``permission`` (a direct or group message has no team)."""
        if not channel_id:
            return False
        member = self._members(channel_id).get(user_id)
        if member is not None:
            roles = member_roles(
                member.roles,
                guest=member.scheme_guest,
                user=member.scheme_user,
                admin=member.scheme_admin,
                scope="channel",
            )
            if roles_grant(roles, permission):
                return True
        channel = self.channels.get(channel_id)
        if channel is not None and channel.team_id:
            return self.has_permission_to_team(user_id, channel.team_id, permission)
        return self.has_permission_to(user_id, permission)

    def can_read_channel(self, user_id: str, channel_id: str) -> bool:
        """The server's rule for reading a channel: ``read_channel`` in it (its members),
        or, for an open channel, ``read_public_channel`` in its team. Private channels,
        direct and group messages are for their members (and system admins)."""
        if self.has_permission_to_channel(user_id, channel_id, "read_channel"):
            return True
        channel = self.channels.get(channel_id)
        return (
            channel is not None
            and channel.type == OPEN
            and self.has_permission_to_team(user_id, channel.team_id, "read_public_channel")
        )

    def can_post(self, user_id: str, channel_id: str) -> bool:
        """The server's rule for posting: ``create_post`` in the channel (its members,
        system admins, ``system_post_all``), or ``create_post_public`` for an open
        channel (``system_post_all_public``)."""
        if self.has_permission_to_channel(user_id, channel_id, "create_post"):
            return True
        channel = self.channels.get(channel_id)
        return (
            channel is not None
            and channel.type == OPEN
            and self.has_permission_to_channel(user_id, channel_id, "create_post_public")
        )

    @status(never_fails=True)
    def HasPermissionTo(
        self, request: api_user_team_pb2.HasPermissionToRequest, context: Ctx
    ) -> api_user_team_pb2.HasPermissionToResponse:
        """Whether the user's system roles grant the permission (the server's default
        roles; an unknown user or permission: false)."""
        allowed = self.has_permission_to(request.user_id, request.permission_id)
        return api_user_team_pb2.HasPermissionToResponse(has_permission=allowed)

    @status(never_fails=True)
    def HasPermissionToTeam(
        self, request: api_user_team_pb2.HasPermissionToTeamRequest, context: Ctx
    ) -> api_user_team_pb2.HasPermissionToTeamResponse:
        """Whether the user's team roles (an active member's) or system roles grant the
        permission."""
        allowed = self.has_permission_to_team(
            request.user_id, request.team_id, request.permission_id
        )
        return api_user_team_pb2.HasPermissionToTeamResponse(has_permission=allowed)

    @status(never_fails=True)
    def HasPermissionToChannel(
        self, request: api_user_team_pb2.HasPermissionToChannelRequest, context: Ctx
    ) -> api_user_team_pb2.HasPermissionToChannelResponse:
        """Whether the user's channel roles, team roles or system roles grant the
        permission."""
        allowed = self.has_permission_to_channel(
            request.user_id, request.channel_id, request.permission_id
        )
        return api_user_team_pb2.HasPermissionToChannelResponse(has_permission=allowed)

    @status(never_fails=True)
    def RolesGrantPermission(
        self, request: api_remaining_pb2.RolesGrantPermissionRequest, context: Ctx
    ) -> api_remaining_pb2.RolesGrantPermissionResponse:
        """Whether any of the named roles includes the permission (unknown roles grant
        nothing)."""
        allowed = roles_grant(request.role_names, request.permission_id)
        return api_remaining_pb2.RolesGrantPermissionResponse(has_permission=allowed)

    @status
    def UpdateUserRoles(
        self, request: api_user_team_pb2.UpdateUserRolesRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateUserRolesResponse:
        """Sets a user's system roles (space-separated names of system roles the table
        knows; others are refused, 400)."""
        user = self._user(request.user_id)
        roles = request.new_roles.split()
        unknown = sorted(set(roles) - SYSTEM_ROLES)
        if unknown:
            raise bad_request(
                "api.roles.patch_roles.not_allowed_permission.error",
                f"not a system role: {', '.join(unknown)}",
            )
        user.roles = " ".join(roles)
        user.update_at = self.now_ms()
        return api_user_team_pb2.UpdateUserRolesResponse(user=user)
