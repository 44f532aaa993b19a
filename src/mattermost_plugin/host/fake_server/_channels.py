"""Channels, channel members and direct messages."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    channel_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    not_found,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    CHANNEL_NAME_RE,
    DIRECT,
    OPEN,
    PRIVATE,
    FakeState,
    new_id,
    paged,
)

DEFAULT_CHANNEL_NOTIFY_PROPS = {
    "desktop": "default",
    "email": "default",
    "push": "default",
    "mark_unread": "all",
    "ignore_channel_mentions": "default",
}


class ChannelsAPI(FakeState):
    def _check_channel(self, channel: channel_pb2.Channel, *, exclude_id: str = "") -> None:
        if len(channel.name) > 64 or not CHANNEL_NAME_RE.match(channel.name):
            raise bad_request(
                "model.channel.is_valid.name.app_error", f"invalid channel name {channel.name!r}"
            )
        if not channel.display_name or len(channel.display_name) > 64:
            raise bad_request(
                "model.channel.is_valid.display_name.app_error", "invalid channel display name"
            )
        for other in self.channels.values():
            if (
                other.id != exclude_id
                and other.team_id == channel.team_id
                and other.name == channel.name
            ):
                raise FakeAppError(
                    "store.sql_channel.save_channel.exists.app_error",
                    f"a channel named {channel.name!r} already exists in the team",
                    409,
                )

    def _add_channel_member(
        self, channel_id: str, user_id: str
    ) -> api_channel_post_pb2.ChannelMember:
        channel = self._channel(channel_id)
        self._user(user_id)
        if channel.delete_at:
            raise bad_request(
                "api.channel.add_user.to.channel.failed.deleted.app_error",
                "cannot add a user to a deleted channel",
            )
        if channel.type in (OPEN, PRIVATE) and not self._active_member(channel.team_id, user_id):
            raise FakeAppError(
                "api.channel.add_user.to.channel.failed.app_error",
                "the user is not a member of the channel's team",
                403,
            )
        members = self.channel_members.setdefault(channel_id, {})
        if user_id not in members:  # adding an existing member is a no-op, as on the server
            members[user_id] = api_channel_post_pb2.ChannelMember(
                channel_id=channel_id,
                user_id=user_id,
                roles="channel_user",
                scheme_user=True,
                notify_props=DEFAULT_CHANNEL_NOTIFY_PROPS,
                last_update_at=self.now_ms(),
            )
        return members[user_id]

    # ----------------------------------------------------------------------- channels (status)

    @status
    def CreateChannel(
        self, request: api_channel_post_pb2.CreateChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.CreateChannelResponse:
        channel = channel_pb2.Channel()
        channel.CopyFrom(request.channel)
        if channel.id:
            raise bad_request("store.sql_channel.save.existing.app_error", "channel has an id")
        if channel.type not in (OPEN, PRIVATE):
            raise bad_request(
                "api.channel.create_channel.direct_channel.app_error",
                "only open and private channels can be created; use GetDirectChannel",
            )
        self._team(channel.team_id)
        self._check_channel(channel)
        channel.id = new_id()
        channel.create_at = channel.update_at = self.now_ms()
        self.channels[channel.id] = channel
        self.channel_members[channel.id] = {}
        return api_channel_post_pb2.CreateChannelResponse(channel=channel)

    @status
    def GetChannel(
        self, request: api_channel_post_pb2.GetChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelResponse:
        return api_channel_post_pb2.GetChannelResponse(channel=self._channel(request.channel_id))

    def _channel_by_name(
        self, team_id: str, name: str, include_deleted: bool
    ) -> channel_pb2.Channel:
        for channel in self.channels.values():
            same = channel.team_id == team_id and channel.name == name
            if same and (include_deleted or not channel.delete_at):
                return channel
        raise not_found("app.channel.get_by_name.missing.app_error", "channel", name)

    @status
    def GetChannelByName(
        self, request: api_channel_post_pb2.GetChannelByNameRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelByNameResponse:
        channel = self._channel_by_name(request.team_id, request.name, request.include_deleted)
        return api_channel_post_pb2.GetChannelByNameResponse(channel=channel)

    @status
    def GetChannelByNameForTeamName(
        self, request: api_channel_post_pb2.GetChannelByNameForTeamNameRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelByNameForTeamNameResponse:
        team = next((t for t in self.teams.values() if t.name == request.team_name), None)
        if team is None:
            raise not_found("app.team.get_by_name.missing.app_error", "team", request.team_name)
        channel = self._channel_by_name(team.id, request.channel_name, request.include_deleted)
        return api_channel_post_pb2.GetChannelByNameForTeamNameResponse(channel=channel)

    @status
    def GetPublicChannelsForTeam(
        self, request: api_channel_post_pb2.GetPublicChannelsForTeamRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPublicChannelsForTeamResponse:
        channels = sorted(
            (
                c
                for c in self.channels.values()
                if c.team_id == request.team_id and c.type == OPEN and not c.delete_at
            ),
            key=lambda c: c.display_name,
        )
        return api_channel_post_pb2.GetPublicChannelsForTeamResponse(
            channels=paged(channels, request.page, request.per_page)
        )

    @status
    def GetChannelsForTeamForUser(
        self, request: api_channel_post_pb2.GetChannelsForTeamForUserRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelsForTeamForUserResponse:
        channels = [
            c
            for c in self.channels.values()
            if c.team_id in (request.team_id, "")  # DMs and group messages belong to no team
            and request.user_id in self.channel_members.get(c.id, {})
            and (request.include_deleted or not c.delete_at)
        ]
        return api_channel_post_pb2.GetChannelsForTeamForUserResponse(channels=channels)

    @status
    def GetDirectChannel(
        self, request: api_channel_post_pb2.GetDirectChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.GetDirectChannelResponse:
        first, second = sorted((request.user_id_1, request.user_id_2))
        self._user(first)
        self._user(second)
        name = f"{first}__{second}"
        for channel in self.channels.values():
            if channel.type == DIRECT and channel.name == name:
                return api_channel_post_pb2.GetDirectChannelResponse(channel=channel)
        now = self.now_ms()
        channel = channel_pb2.Channel(
            id=new_id(), name=name, type=DIRECT, create_at=now, update_at=now
        )
        self.channels[channel.id] = channel
        self.channel_members[channel.id] = {}
        for user_id in {first, second}:
            self._add_channel_member(channel.id, user_id)
        return api_channel_post_pb2.GetDirectChannelResponse(channel=channel)

    @status
    def UpdateChannel(
        self, request: api_channel_post_pb2.UpdateChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdateChannelResponse:
        old = self._channel(request.channel.id)
        channel = channel_pb2.Channel()
        channel.CopyFrom(request.channel)
        channel.team_id = old.team_id  # a channel cannot move between teams
        self._check_channel(channel, exclude_id=old.id)
        # Server-maintained fields survive whatever the plugin sent.
        for name in ("create_at", "delete_at", "creator_id", "last_post_at", "total_msg_count"):
            setattr(channel, name, getattr(old, name))
        channel.last_root_post_at = old.last_root_post_at
        channel.total_msg_count_root = old.total_msg_count_root
        channel.update_at = self.now_ms()
        self.channels[channel.id] = channel
        return api_channel_post_pb2.UpdateChannelResponse(channel=channel)

    @status
    def DeleteChannel(
        self, request: api_channel_post_pb2.DeleteChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.DeleteChannelResponse:
        channel = self._channel(request.channel_id)
        if channel.type not in (OPEN, PRIVATE):
            raise bad_request(
                "api.channel.delete_channel.type.invalid", "direct and group messages stay"
            )
        if channel.delete_at:
            raise bad_request(
                "api.channel.delete_channel.deleted.app_error", "the channel is already deleted"
            )
        channel.delete_at = channel.update_at = self.now_ms()
        return api_channel_post_pb2.DeleteChannelResponse()

    @status
    def AddChannelMember(
        self, request: api_channel_post_pb2.AddChannelMemberRequest, context: Ctx
    ) -> api_channel_post_pb2.AddChannelMemberResponse:
        member = self._add_channel_member(request.channel_id, request.user_id)
        return api_channel_post_pb2.AddChannelMemberResponse(channel_member=member)

    @status
    def AddUserToChannel(
        self, request: api_channel_post_pb2.AddUserToChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.AddUserToChannelResponse:
        member = self._add_channel_member(request.channel_id, request.user_id)
        return api_channel_post_pb2.AddUserToChannelResponse(channel_member=member)

    @status
    def GetChannelMember(
        self, request: api_channel_post_pb2.GetChannelMemberRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelMemberResponse:
        member = self.channel_members.get(request.channel_id, {}).get(request.user_id)
        if member is None:
            key = f"{request.channel_id}/{request.user_id}"
            raise not_found("app.channel.get_member.missing.app_error", "channel member", key)
        return api_channel_post_pb2.GetChannelMemberResponse(channel_member=member)

    @status
    def GetChannelMembers(
        self, request: api_channel_post_pb2.GetChannelMembersRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelMembersResponse:
        self._channel(request.channel_id)
        members = list(self.channel_members.get(request.channel_id, {}).values())
        return api_channel_post_pb2.GetChannelMembersResponse(
            channel_members=paged(members, request.page, request.per_page)
        )

    @status
    def GetChannelMembersByIds(
        self, request: api_channel_post_pb2.GetChannelMembersByIdsRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelMembersByIdsResponse:
        members = self.channel_members.get(request.channel_id, {})
        found = [members[u] for u in request.user_ids if u in members]
        return api_channel_post_pb2.GetChannelMembersByIdsResponse(channel_members=found)

    @status
    def DeleteChannelMember(
        self, request: api_channel_post_pb2.DeleteChannelMemberRequest, context: Ctx
    ) -> api_channel_post_pb2.DeleteChannelMemberResponse:
        self._channel(request.channel_id)
        if self.channel_members[request.channel_id].pop(request.user_id, None) is None:
            key = f"{request.channel_id}/{request.user_id}"
            raise not_found("app.channel.get_member.missing.app_error", "channel member", key)
        return api_channel_post_pb2.DeleteChannelMemberResponse()

    @status
    def GetChannelStats(
        self, request: api_channel_post_pb2.GetChannelStatsRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelStatsResponse:
        self._channel(request.channel_id)
        stats = api_channel_post_pb2.ChannelStats(
            channel_id=request.channel_id,
            member_count=len(self.channel_members.get(request.channel_id, {})),
            pinnedpost_count=sum(
                1
                for p in self.posts.values()
                if p.channel_id == request.channel_id and p.is_pinned and not p.delete_at
            ),
        )
        return api_channel_post_pb2.GetChannelStatsResponse(channel_stats=stats)
