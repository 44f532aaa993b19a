"""Channels: open and private ones, direct and group messages, lookups and stats."""

from __future__ import annotations

import hashlib

from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    channel_pb2,
    hooks_user_channel_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server._members import MembersAPI
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
    GROUP,
    OPEN,
    PRIVATE,
    new_id,
    paged,
)

GROUP_MIN_USERS, GROUP_MAX_USERS = 3, 8


class ChannelsAPI(MembersAPI):
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

    def create_channel(self, template: channel_pb2.Channel) -> channel_pb2.Channel:
        """The server's ``CreateChannel`` (without adding the creator, as the plugin API
        asks): an open or private channel with a valid, unique name in an existing team;
        ``ChannelHasBeenCreated`` runs."""
        channel = channel_pb2.Channel()
        channel.CopyFrom(template)
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
        self._channel_created(channel)
        return channel

    def _channel_created(self, channel: channel_pb2.Channel) -> None:
        self.publish(
            "channel_created",
            {"channel_id": channel.id, "team_id": channel.team_id},
            team_id=channel.team_id,
        )
        self.fire(
            "ChannelHasBeenCreated",
            lambda: hooks_user_channel_pb2.ChannelHasBeenCreatedRequest(
                plugin_context=self.plugin_context(), channel=channel
            ),
        )

    @status(hooks=("ChannelHasBeenCreated",))
    def CreateChannel(
        self, request: api_channel_post_pb2.CreateChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.CreateChannelResponse:
        """Creates an open or private channel (its creator is not added, as the plugin API
        asks); ChannelHasBeenCreated runs."""
        channel = self.create_channel(request.channel)
        return api_channel_post_pb2.CreateChannelResponse(channel=channel)

    @status
    def GetChannel(
        self, request: api_channel_post_pb2.GetChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelResponse:
        """A channel by id (archived ones too)."""
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
        """A team's channel by name (archived ones with ``include_deleted``)."""
        channel = self._channel_by_name(request.team_id, request.name, request.include_deleted)
        return api_channel_post_pb2.GetChannelByNameResponse(channel=channel)

    @status
    def GetChannelByNameForTeamName(
        self, request: api_channel_post_pb2.GetChannelByNameForTeamNameRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelByNameForTeamNameResponse:
        """A channel by its team's name and its own."""
        team = next((t for t in self.teams.values() if t.name == request.team_name), None)
        if team is None:
            raise not_found("app.team.get_by_name.missing.app_error", "team", request.team_name)
        channel = self._channel_by_name(team.id, request.channel_name, request.include_deleted)
        return api_channel_post_pb2.GetChannelByNameForTeamNameResponse(channel=channel)

    @status(never_fails=True)
    def GetPublicChannelsForTeam(
        self, request: api_channel_post_pb2.GetPublicChannelsForTeamRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPublicChannelsForTeamResponse:
        """A team's open channels, by display name, a page at a time."""
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

    @status(never_fails=True)
    def GetChannelsForTeamForUser(
        self, request: api_channel_post_pb2.GetChannelsForTeamForUserRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelsForTeamForUserResponse:
        """The channels of a team a user is in, with their direct and group messages."""
        channels = [
            c
            for c in self.channels.values()
            if c.team_id in (request.team_id, "")  # DMs and group messages belong to no team
            and request.user_id in self.channel_members.get(c.id, {})
            and (request.include_deleted or not c.delete_at)
        ]
        return api_channel_post_pb2.GetChannelsForTeamForUserResponse(channels=channels)

    def _conversation(
        self,
        kind: channel_pb2.ChannelType.ValueType,
        name: str,
        users: list[user_pb2.User],
        display: str,
    ) -> channel_pb2.Channel:
        """The direct or group message of exactly these users, created (with them as its
        only members, and ``ChannelHasBeenCreated``) when it does not exist yet."""
        for channel in self.channels.values():
            if channel.type == kind and channel.name == name:
                return channel
        now = self.now_ms()
        channel = channel_pb2.Channel(
            id=new_id(), name=name, display_name=display, type=kind, create_at=now, update_at=now
        )
        self.channels[channel.id] = channel
        self.channel_members[channel.id] = {}
        for user in users:
            self.new_channel_member(channel, user)
        self._channel_created(channel)
        return channel

    def direct_channel(self, user_id_1: str, user_id_2: str) -> channel_pb2.Channel:
        """The direct message of two users (a user with themself: one member)."""
        first, second = sorted((user_id_1, user_id_2))
        users = [self._user(first)] if first == second else [self._user(first), self._user(second)]
        return self._conversation(DIRECT, f"{first}__{second}", users, "")

    @status(hooks=("ChannelHasBeenCreated",))
    def GetDirectChannel(
        self, request: api_channel_post_pb2.GetDirectChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.GetDirectChannelResponse:
        """The direct message of two users, created on first use (ChannelHasBeenCreated
        runs then)."""
        channel = self.direct_channel(request.user_id_1, request.user_id_2)
        return api_channel_post_pb2.GetDirectChannelResponse(channel=channel)

    @status(hooks=("ChannelHasBeenCreated",))
    def GetGroupChannel(
        self, request: api_channel_post_pb2.GetGroupChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.GetGroupChannelResponse:
        """The group message of 3 to 8 users, created on first use (ChannelHasBeenCreated
        runs then; the server may not announce group messages, unverified)."""
        ids = sorted(set(request.user_ids))
        if not GROUP_MIN_USERS <= len(ids) <= GROUP_MAX_USERS:
            raise bad_request(
                "api.channel.create_group.bad_size.app_error",
                f"a group message has {GROUP_MIN_USERS} to {GROUP_MAX_USERS} users, not {len(ids)}",
            )
        users = [self._user(i) for i in ids]
        name = hashlib.sha1("".join(ids).encode()).hexdigest()  # the server's group name
        display = ", ".join(sorted(u.username for u in users))
        channel = self._conversation(GROUP, name, users, display)
        return api_channel_post_pb2.GetGroupChannelResponse(channel=channel)

    @status
    def UpdateChannel(
        self, request: api_channel_post_pb2.UpdateChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdateChannelResponse:
        """Changes a channel's names, header and purpose (a valid, free name); counters and times
        stay the server's."""
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
        self.publish("channel_updated", {"channel": channel}, channel_id=channel.id)
        return api_channel_post_pb2.UpdateChannelResponse(channel=channel)

    @status
    def DeleteChannel(
        self, request: api_channel_post_pb2.DeleteChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.DeleteChannelResponse:
        """Archives an open or private channel (``delete_at``); direct and group messages stay."""
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
        self.publish(
            "channel_deleted",
            {"channel_id": channel.id, "delete_at": channel.delete_at},
            team_id=channel.team_id,
        )
        return api_channel_post_pb2.DeleteChannelResponse()

    @status
    def GetChannelStats(
        self, request: api_channel_post_pb2.GetChannelStatsRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelStatsResponse:
        """A channel's member and pinned post counts."""
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

    @status(never_fails=True)
    def SearchChannels(
        self, request: api_channel_post_pb2.SearchChannelsRequest, context: Ctx
    ) -> api_channel_post_pb2.SearchChannelsResponse:
        """The team's open channels whose name or display name, or a word of it, starts
        with the term (any case), by display name."""
        term = request.term.lower()

        def matches(channel: channel_pb2.Channel) -> bool:
            words = [channel.name, *channel.name.split("-"), *channel.display_name.lower().split()]
            return any(word.lower().startswith(term) for word in words)

        found = sorted(
            (
                c
                for c in self.channels.values()
                if c.team_id == request.team_id
                and c.type == OPEN
                and not c.delete_at
                and matches(c)
            ),
            key=lambda c: c.display_name,
        )
        return api_channel_post_pb2.SearchChannelsResponse(channels=found)
