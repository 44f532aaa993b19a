"""Teams and team members."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import (
    api_user_team_pb2,
    team_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    not_found,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    RESERVED_TEAM_NAMES,
    TEAM_NAME_RE,
    FakeState,
    new_id,
    paged,
)


class TeamsAPI(FakeState):
    # ----------------------------------------------------------------------- teams (status)

    @status
    def CreateTeam(
        self, request: api_user_team_pb2.CreateTeamRequest, context: Ctx
    ) -> api_user_team_pb2.CreateTeamResponse:
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
        return api_user_team_pb2.CreateTeamResponse(team=team)

    @status
    def GetTeam(
        self, request: api_user_team_pb2.GetTeamRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamResponse:
        return api_user_team_pb2.GetTeamResponse(team=self._team(request.team_id))

    @status
    def GetTeamByName(
        self, request: api_user_team_pb2.GetTeamByNameRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamByNameResponse:
        for team in self.teams.values():
            if team.name == request.name:
                return api_user_team_pb2.GetTeamByNameResponse(team=team)
        raise not_found("app.team.get_by_name.missing.app_error", "team", request.name)

    @status
    def GetTeams(
        self, request: api_user_team_pb2.GetTeamsRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamsResponse:
        teams = sorted((t for t in self.teams.values() if not t.delete_at), key=lambda t: t.name)
        return api_user_team_pb2.GetTeamsResponse(teams=teams)

    @status
    def UpdateTeam(
        self, request: api_user_team_pb2.UpdateTeamRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateTeamResponse:
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
        team = self._team(request.team_id)  # the plugin API soft-deletes
        team.delete_at = team.update_at = self.now_ms()
        return api_user_team_pb2.DeleteTeamResponse()

    @status
    def CreateTeamMember(
        self, request: api_user_team_pb2.CreateTeamMemberRequest, context: Ctx
    ) -> api_user_team_pb2.CreateTeamMemberResponse:
        self._team(request.team_id)
        self._user(request.user_id)
        key = (request.team_id, request.user_id)
        member = self.team_members.get(key)
        if member is None:
            member = team_pb2.TeamMember(
                team_id=request.team_id,
                user_id=request.user_id,
                roles="team_user",
                scheme_user=True,
                create_at=self.now_ms(),
            )
            self.team_members[key] = member
        member.delete_at = 0  # re-joining reactivates the old membership
        return api_user_team_pb2.CreateTeamMemberResponse(team_member=member)

    @status
    def GetTeamMember(
        self, request: api_user_team_pb2.GetTeamMemberRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamMemberResponse:
        member = self.team_members.get((request.team_id, request.user_id))
        if member is None:
            key = f"{request.team_id}/{request.user_id}"
            raise not_found("app.team.get_member.missing.app_error", "team member", key)
        return api_user_team_pb2.GetTeamMemberResponse(team_member=member)

    @status
    def GetTeamMembers(
        self, request: api_user_team_pb2.GetTeamMembersRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamMembersResponse:
        members = [
            m for (t, _), m in self.team_members.items() if t == request.team_id and not m.delete_at
        ]
        return api_user_team_pb2.GetTeamMembersResponse(
            team_members=paged(members, request.page, request.per_page)
        )

    @status
    def GetTeamMembersForUser(
        self, request: api_user_team_pb2.GetTeamMembersForUserRequest, context: Ctx
    ) -> api_user_team_pb2.GetTeamMembersForUserResponse:
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
        self._user(request.user_id)
        teams = [t for t in self.teams.values() if self._active_member(t.id, request.user_id)]
        return api_user_team_pb2.GetTeamsForUserResponse(teams=teams)

    @status
    def DeleteTeamMember(
        self, request: api_user_team_pb2.DeleteTeamMemberRequest, context: Ctx
    ) -> api_user_team_pb2.DeleteTeamMemberResponse:
        member = self.team_members.get((request.team_id, request.user_id))
        if member is None or member.delete_at:
            key = f"{request.team_id}/{request.user_id}"
            raise not_found("app.team.get_member.missing.app_error", "team member", key)
        member.delete_at = self.now_ms()
        # Leaving a team also leaves its channels.
        for channel in self.channels.values():
            if channel.team_id == request.team_id:
                self.channel_members.get(channel.id, {}).pop(request.user_id, None)
        return api_user_team_pb2.DeleteTeamMemberResponse()
