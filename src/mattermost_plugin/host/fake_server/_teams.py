"""Teams and team members."""

from __future__ import annotations

from typing import TypeVar

from mattermost_plugin._pb.pluginapi.v1 import (
    api_user_team_pb2,
    channel_pb2,
    hooks_user_channel_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server._channels import ChannelsAPI
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    not_found,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    OPEN,
    RESERVED_TEAM_NAMES,
    TEAM_NAME_RE,
    is_guest,
    is_image,
    new_id,
    paged,
)

DEFAULT_CHANNELS = {"town-square": "Town Square", "off-topic": "Off-Topic"}
"""The channels the server creates with a team and puts every new member in."""

TeamHookRequest = TypeVar(
    "TeamHookRequest",
    hooks_user_channel_pb2.UserHasJoinedTeamRequest,
    hooks_user_channel_pb2.UserHasLeftTeamRequest,
)
UserHasJoinedTeam = hooks_user_channel_pb2.UserHasJoinedTeamRequest
UserHasLeftTeam = hooks_user_channel_pb2.UserHasLeftTeamRequest


class TeamsAPI(ChannelsAPI):
    # ----------------------------------------------------------------------- teams (status)

    @status(hooks=("ChannelHasBeenCreated",))
    def CreateTeam(
        self, request: api_user_team_pb2.CreateTeamRequest, context: Ctx
    ) -> api_user_team_pb2.CreateTeamResponse:
        """Creates a team with its default channels, town-square and off-topic (each runs
        ChannelHasBeenCreated)."""
        team = team_pb2.Team()
        team.CopyFrom(request.team)
        if team.id:
            raise bad_request("app.team.save.existing.app_error", "the team already has an id")
        name_ok = 2 <= len(team.name) <= 64 and TEAM_NAME_RE.match(team.name)
        if not name_ok or team.name in RESERVED_TEAM_NAMES:
            raise bad_request("model.team.is_valid.name.app_error", f"invalid name {team.name!r}")
        if not team.display_name or len(team.display_name) > 64:
            raise bad_request("model.team.is_valid.name.app_error", "invalid display name")
        if team.type == team_pb2.TEAM_TYPE_UNSPECIFIED:
            raise bad_request("model.team.is_valid.type.app_error", "the team type is required")
        if any(t.name == team.name for t in self.teams.values()):
            raise FakeAppError(
                "store.sql_team.save_team.existing.app_error",
                f"a team named {team.name!r} already exists",
                409,
            )
        team.id = new_id()
        team.create_at = team.update_at = self.now_ms()
        team.invite_id = team.invite_id or new_id()
        self.teams[team.id] = team
        for name, display_name in DEFAULT_CHANNELS.items():  # as the server's CreateTeam
            self.create_channel(
                channel_pb2.Channel(
                    team_id=team.id, name=name, display_name=display_name, type=OPEN
                )
            )
        return api_user_team_pb2.CreateTeamResponse(team=team)

    @status
    def GetTeam(
        self, request: api_user_team_pb2.GetTeamRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamResponse:
        """A team by id (archived ones too)."""
        return api_user_team_pb2.GetTeamResponse(team=self._team(request.team_id))

    @status
    def GetTeamByName(
        self, request: api_user_team_pb2.GetTeamByNameRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamByNameResponse:
        """A team by name."""
        for team in self.teams.values():
            if team.name == request.name:
                return api_user_team_pb2.GetTeamByNameResponse(team=team)
        raise not_found("app.team.get_by_name.missing.app_error", "team", request.name)

    @status(never_fails=True)
    def GetTeams(
        self, request: api_user_team_pb2.GetTeamsRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamsResponse:
        """The teams (not archived ones), by name."""
        teams = sorted((t for t in self.teams.values() if not t.delete_at), key=lambda t: t.name)
        return api_user_team_pb2.GetTeamsResponse(teams=teams)

    @status
    def UpdateTeam(
        self, request: api_user_team_pb2.UpdateTeamRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateTeamResponse:
        """Changes a team's display name, description, company, domains and invite setting (name and
        type stay)."""
        team = self._team(request.team.id)
        new = request.team
        if not new.display_name or len(new.display_name) > 64:
            raise bad_request("model.team.is_valid.name.app_error", "invalid display name")
        # app.UpdateTeam copies only these fields; the name and type stay.
        team.display_name = new.display_name
        team.description = new.description
        team.company_name = new.company_name
        team.allowed_domains = new.allowed_domains
        team.allow_open_invite = new.allow_open_invite
        team.update_at = self.now_ms()
        return api_user_team_pb2.UpdateTeamResponse(team=team)

    @status
    def DeleteTeam(
        self, request: api_user_team_pb2.DeleteTeamRequest, context: Ctx
    ) -> api_user_team_pb2.DeleteTeamResponse:
        """Archives a team (``delete_at``): it stays readable."""
        team = self._team(request.team_id)  # the plugin API soft-deletes
        team.delete_at = team.update_at = self.now_ms()
        return api_user_team_pb2.DeleteTeamResponse()

    @status
    def GetTeamMember(
        self, request: api_user_team_pb2.GetTeamMemberRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamMemberResponse:
        """A user's membership of a team (a removed one has ``delete_at``)."""
        member = self.team_members.get((request.team_id, request.user_id))
        if member is None:
            key = f"{request.team_id}/{request.user_id}"
            raise not_found("app.team.get_member.missing.app_error", "team member", key)
        return api_user_team_pb2.GetTeamMemberResponse(team_member=member)

    @status(never_fails=True)
    def GetTeamMembers(
        self, request: api_user_team_pb2.GetTeamMembersRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamMembersResponse:
        """A team's members, a page at a time."""
        members = [
            m for (t, _), m in self.team_members.items() if t == request.team_id and not m.delete_at
        ]
        return api_user_team_pb2.GetTeamMembersResponse(
            team_members=paged(members, request.page, request.per_page)
        )

    @status(never_fails=True)
    def GetTeamMembersForUser(
        self, request: api_user_team_pb2.GetTeamMembersForUserRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamMembersForUserResponse:
        """A user's team memberships, a page at a time."""
        members = [
            m for (_, u), m in self.team_members.items() if u == request.user_id and not m.delete_at
        ]
        return api_user_team_pb2.GetTeamMembersForUserResponse(
            team_members=paged(members, request.page, request.per_page)
        )

    @status
    def GetTeamsForUser(
        self, request: api_user_team_pb2.GetTeamsForUserRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamsForUserResponse:
        """The teams a user is in."""
        self._user(request.user_id)
        teams = [t for t in self.teams.values() if self._active_member(t.id, request.user_id)]
        return api_user_team_pb2.GetTeamsForUserResponse(teams=teams)

    def join_team(self, team_id: str, user_id: str, *, actor_id: str = "") -> team_pb2.TeamMember:
        """The server's ``JoinUserToTeam``: a new (or re-activated) membership runs
        ``UserHasJoinedTeam`` with the actor (``None`` when the user joined on their own),
        and a user who is not a guest joins the team's default channels (the server does
        that without a hook per channel). A member already is returned as is."""
        team = self._team(team_id)
        user = self._user(user_id)
        actor = self._user(actor_id) if actor_id else None
        if team.delete_at:
            raise bad_request("api.team.add_user_to_team.deleted.app_error", "the team is deleted")
        key = (team_id, user_id)
        member = self.team_members.get(key)
        if member is not None and not member.delete_at:
            return member
        guest = is_guest(user)
        if member is None:
            member = team_pb2.TeamMember(team_id=team_id, user_id=user_id, create_at=self.now_ms())
            self.team_members[key] = member
        member.roles = "team_guest" if guest else "team_user"
        member.scheme_guest, member.scheme_user, member.scheme_admin = guest, not guest, False
        member.delete_at = 0  # re-joining reactivates the old membership
        self.publish("added_to_team", {"team_id": team_id, "user_id": user_id}, user_id=user_id)
        self.fire("UserHasJoinedTeam", lambda: self._team_change(UserHasJoinedTeam, member, actor))
        if not guest:
            for channel in self.channels.values():
                default = channel.team_id == team_id and channel.name in DEFAULT_CHANNELS
                if default and not channel.delete_at and user_id not in self._members(channel.id):
                    self.new_channel_member(channel, user)
                    self.channel_members.touch(channel.id)
        return member

    def _team_change(
        self,
        request_cls: type[TeamHookRequest],
        member: team_pb2.TeamMember,
        actor: user_pb2.User | None,
    ) -> TeamHookRequest:
        request = request_cls(plugin_context=self.plugin_context(), team_member=member)
        if actor is not None:
            request.actor.CopyFrom(actor)
        return request

    @status(hooks=("UserHasJoinedTeam",))
    def CreateTeamMember(
        self, request: api_user_team_pb2.CreateTeamMemberRequest, context: Ctx
    ) -> api_user_team_pb2.CreateTeamMemberResponse:
        """Adds a user to a team and its default channels; UserHasJoinedTeam runs without
        an actor."""
        member = self.join_team(request.team_id, request.user_id)
        return api_user_team_pb2.CreateTeamMemberResponse(team_member=member)

    @status(hooks=("UserHasJoinedTeam",))
    def CreateTeamMembers(
        self, request: api_user_team_pb2.CreateTeamMembersRequest, context: Ctx
    ) -> api_user_team_pb2.CreateTeamMembersResponse:
        """Adds users to a team, stopping at the first failure (those added before stay);
        UserHasJoinedTeam runs for each with the requestor as the actor."""
        members = [
            self.join_team(request.team_id, user_id, actor_id=request.requestor_id)
            for user_id in request.user_ids
        ]
        return api_user_team_pb2.CreateTeamMembersResponse(team_members=members)

    @status(hooks=("UserHasJoinedTeam",))
    def CreateTeamMembersGracefully(
        self, request: api_user_team_pb2.CreateTeamMembersGracefullyRequest, context: Ctx
    ) -> api_user_team_pb2.CreateTeamMembersGracefullyResponse:
        """As CreateTeamMembers, but a user who cannot join gets an error of their own and
        the others still join; an unknown team fails the whole call."""
        self._team(request.team_id)
        results = []
        for user_id in request.user_ids:
            result = api_user_team_pb2.TeamMemberWithError(user_id=user_id)
            try:
                result.member.CopyFrom(
                    self.join_team(request.team_id, user_id, actor_id=request.requestor_id)
                )
            except FakeAppError as exc:
                result.error.CopyFrom(exc.to_proto("CreateTeamMembersGracefully"))
            results.append(result)
        return api_user_team_pb2.CreateTeamMembersGracefullyResponse(team_members=results)

    @status(hooks=("UserHasLeftTeam",))
    def DeleteTeamMember(
        self, request: api_user_team_pb2.DeleteTeamMemberRequest, context: Ctx
    ) -> api_user_team_pb2.DeleteTeamMemberResponse:
        """Removes a user from a team and its channels (the membership stays, with
        ``delete_at``); UserHasLeftTeam runs with the requestor as the actor."""
        member = self.team_members.get((request.team_id, request.user_id))
        if member is None or member.delete_at:
            key = f"{request.team_id}/{request.user_id}"
            raise not_found("app.team.get_member.missing.app_error", "team member", key)
        actor = self._user(request.requestor_id) if request.requestor_id else None
        member.delete_at = self.now_ms()
        self.publish(
            "leave_team",
            {"team_id": request.team_id, "user_id": request.user_id},
            team_id=request.team_id,
        )
        # Leaving a team also leaves its channels (in one store call, without hooks).
        for channel in self.channels.values():
            if channel.team_id == request.team_id:
                self._members(channel.id).pop(request.user_id, None)
                self.channel_members.touch(channel.id)
        self.fire("UserHasLeftTeam", lambda: self._team_change(UserHasLeftTeam, member, actor))
        return api_user_team_pb2.DeleteTeamMemberResponse()

    @status
    def UpdateTeamMemberRoles(
        self, request: api_user_team_pb2.UpdateTeamMemberRolesRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateTeamMemberRolesResponse:
        """Sets a member's team roles (``team_user``, ``team_admin``; guests keep
        ``team_guest``); other role names are refused (400)."""
        member = self.team_members.get((request.team_id, request.user_id))
        if member is None or member.delete_at:
            key = f"{request.team_id}/{request.user_id}"
            raise not_found("app.team.get_member.missing.app_error", "team member", key)
        wanted = set(request.new_roles.split())
        allowed = {"team_guest"} if member.scheme_guest else {"team_user", "team_admin"}
        if not wanted <= allowed:
            unknown = ", ".join(sorted(wanted - allowed))
            raise bad_request(
                "api.team.update_team_member_roles.scheme_role.app_error",
                f"not a team role for this member: {unknown}",
            )
        if not member.scheme_guest:
            member.scheme_admin = "team_admin" in wanted
            member.roles = "team_user team_admin" if member.scheme_admin else "team_user"
        return api_user_team_pb2.UpdateTeamMemberRolesResponse(team_member=member)

    @status
    def GetTeamStats(
        self, request: api_user_team_pb2.GetTeamStatsRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamStatsResponse:
        """How many members a team has, and how many of them are active users."""
        self._team(request.team_id)
        members = [
            m for (t, _), m in self.team_members.items() if t == request.team_id and not m.delete_at
        ]
        active = [
            m for m in members if m.user_id in self.users and not self.users[m.user_id].delete_at
        ]
        stats = api_user_team_pb2.TeamStats(
            team_id=request.team_id,
            total_member_count=len(members),
            active_member_count=len(active),
        )
        return api_user_team_pb2.GetTeamStatsResponse(team_stats=stats)

    @status(never_fails=True)
    def SearchTeams(
        self, request: api_user_team_pb2.SearchTeamsRequest, context: Ctx
    ) -> api_user_team_pb2.SearchTeamsResponse:
        """Teams whose name or display name starts with the term (any case), by name."""
        term = request.term.lower()
        found = sorted(
            (
                t
                for t in self.teams.values()
                if not t.delete_at
                and (t.name.lower().startswith(term) or t.display_name.lower().startswith(term))
            ),
            key=lambda t: t.name,
        )
        return api_user_team_pb2.SearchTeamsResponse(teams=found)

    @status(never_fails=True)
    def GetTeamsUnreadForUser(
        self, request: api_user_team_pb2.GetTeamsUnreadForUserRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamsUnreadForUserResponse:
        """For each team of the user, the messages (and root messages) in its channels the
        user has not read (the fake keeps no read marks: all of them) and mentions (0)."""
        unreads = []
        for team in sorted(self.teams.values(), key=lambda t: t.name):
            if team.delete_at or not self._active_member(team.id, request.user_id):
                continue
            unread = team_pb2.TeamUnread(team_id=team.id)
            for channel in self.channels.values():
                member = self._members(channel.id).get(request.user_id)
                if channel.team_id == team.id and member is not None:
                    unread.msg_count += max(channel.total_msg_count - member.msg_count, 0)
                    unread.msg_count_root += max(
                        channel.total_msg_count_root - member.msg_count_root, 0
                    )
            unreads.append(unread)
        return api_user_team_pb2.GetTeamsUnreadForUserResponse(team_unreads=unreads)

    @status
    def GetTeamIcon(
        self, request: api_user_team_pb2.GetTeamIconRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamIconResponse:
        """The team's icon (404 when it has none)."""
        self._team(request.team_id)
        icon = self.team_icons.get(request.team_id)
        if icon is None:
            raise not_found(
                "api.team.get_team_icon.read_file.app_error", "team icon", request.team_id
            )
        return api_user_team_pb2.GetTeamIconResponse(icon=icon)

    @status
    def SetTeamIcon(
        self, request: api_user_team_pb2.SetTeamIconRequest, context: Ctx
    ) -> api_user_team_pb2.SetTeamIconResponse:
        """Sets the team's icon (an image, else 400)."""
        team = self._team(request.team_id)
        if not is_image(request.data):
            raise bad_request(
                "api.team.set_team_icon.decode.app_error", "the image cannot be decoded"
            )
        self.team_icons[team.id] = request.data
        team.last_team_icon_update = team.update_at = self.now_ms()
        return api_user_team_pb2.SetTeamIconResponse()

    @status
    def RemoveTeamIcon(
        self, request: api_user_team_pb2.RemoveTeamIconRequest, context: Ctx
    ) -> api_user_team_pb2.RemoveTeamIconResponse:
        """Removes the team's icon."""
        team = self._team(request.team_id)
        self.team_icons.pop(team.id, None)
        team.last_team_icon_update = 0
        team.update_at = self.now_ms()
        return api_user_team_pb2.RemoveTeamIconResponse()
