"""Channel members: joining and leaving (with the hooks the server runs), roles and
notification settings, and the server's membership rules (open and private channels take
members of their team; direct and group messages take no one)."""

from __future__ import annotations

from collections.abc import Mapping

from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    channel_pb2,
    hooks_user_channel_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    bad_request,
    forbidden,
    not_found,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    OPEN,
    PRIVATE,
    FakeState,
    is_guest,
    paged,
)

DEFAULT_CHANNEL_NOTIFY_PROPS = {
    "desktop": "default",
    "email": "default",
    "push": "default",
    "mark_unread": "all",
    "ignore_channel_mentions": "default",
}
DEFAULT_CHANNEL = "town-square"
"""The channel every member of a team is in; only guests may leave it."""

_NOTIFY_VALUES = {
    "desktop": {"default", "all", "mention", "none"},
    "push": {"default", "all", "mention", "none"},
    "email": {"default", "all", "mention", "none", "true", "false"},
    "mark_unread": {"all", "mention"},
    "ignore_channel_mentions": {"default", "off", "on"},
}


class MembersAPI(FakeState):
    def new_channel_member(
        self, channel: channel_pb2.Channel, user: user_pb2.User, *, admin: bool = False
    ) -> api_channel_post_pb2.ChannelMember:
        """Store a membership row (no rule checked, no hook: the callers do that)."""
        guest = is_guest(user)
        roles = (
            "channel_guest" if guest else "channel_user channel_admin" if admin else "channel_user"
        )
        member = api_channel_post_pb2.ChannelMember(
            channel_id=channel.id,
            user_id=user.id,
            roles=roles,
            scheme_guest=guest,
            scheme_user=not guest,
            scheme_admin=admin and not guest,
            notify_props=DEFAULT_CHANNEL_NOTIFY_PROPS,
            last_update_at=self.now_ms(),
        )
        self.channel_members.setdefault(channel.id, {})[user.id] = member
        self.publish(
            "user_added", {"user_id": user.id, "team_id": channel.team_id}, channel_id=channel.id
        )
        return member

    def join_channel(
        self, channel_id: str, user_id: str, *, actor_id: str = ""
    ) -> api_channel_post_pb2.ChannelMember:
        """The server's ``AddChannelMember``: an open or private channel of a team the user
        is in (a deleted channel, a direct or group message: 400; not in the team: 403).
        A member already is returned as is; a new one runs ``UserHasJoinedChannel`` with
        the actor (``None`` when the user joined on their own)."""
        channel = self._channel(channel_id)
        user = self._user(user_id)
        actor = self._user(actor_id) if actor_id and actor_id != user_id else None
        existing = self._members(channel_id).get(user_id)
        if existing is not None:
            return existing
        if channel.type not in (OPEN, PRIVATE):
            raise bad_request(
                "api.channel.add_user_to_channel.type.app_error",
                "users cannot be added to a direct or group message",
            )
        if channel.delete_at:
            raise bad_request(
                "api.channel.add_user.to.channel.failed.deleted.app_error",
                "cannot add a user to a deleted channel",
            )
        if not self._active_member(channel.team_id, user_id):
            raise forbidden(
                "api.channel.add_user.to.channel.failed.app_error",
                "the user is not a member of the channel's team",
            )
        member = self.new_channel_member(channel, user)
        request = hooks_user_channel_pb2.UserHasJoinedChannelRequest
        self.fire(
            "UserHasJoinedChannel",
            lambda: (
                request(plugin_context=self.plugin_context(), channel_member=member, actor=actor)
                if actor is not None
                else request(plugin_context=self.plugin_context(), channel_member=member)
            ),
        )
        return member

    def _joined(
        self, member: api_channel_post_pb2.ChannelMember, actor: user_pb2.User | None
    ) -> hooks_user_channel_pb2.UserHasJoinedChannelRequest:
        request = hooks_user_channel_pb2.UserHasJoinedChannelRequest(
            plugin_context=self.plugin_context(), channel_member=member
        )
        if actor is not None:
            request.actor.CopyFrom(actor)
        return request

    def leave_channel(self, channel_id: str, user_id: str, *, actor_id: str = "") -> None:
        """The server's ``LeaveChannel`` (``RemoveUserFromChannel`` when ``actor_id`` is
        another user): not a direct or group message, not the default channel (guests
        excepted), not the last member of a private channel; then ``UserHasLeftChannel``
        runs with the member and the actor (the user, unless ``actor_id``)."""
        channel = self._channel(channel_id)
        user = self._user(user_id)
        actor = self._user(actor_id) if actor_id else user
        members = self._members(channel_id)
        member = members.get(user_id)
        if channel.type not in (OPEN, PRIVATE):
            raise bad_request(
                "api.channel.leave.direct.app_error", "direct and group messages cannot be left"
            )
        if member is None:
            key = f"{channel_id}/{user_id}"
            raise not_found("app.channel.get_member.missing.app_error", "channel member", key)
        if channel.name == DEFAULT_CHANNEL and not is_guest(user):
            raise bad_request(
                "api.channel.remove.default.app_error", f"users cannot leave {DEFAULT_CHANNEL}"
            )
        if channel.type == PRIVATE and len(members) == 1:
            raise bad_request(
                "api.channel.leave.last_member.app_error",
                "the last member of a private channel cannot leave it; delete it instead",
            )
        del members[user_id]
        self.channel_members.touch(channel_id)
        self.publish(
            "user_removed",
            {"user_id": user_id, "channel_id": channel_id, "remover_id": actor.id},
            channel_id=channel_id,
        )
        self.fire(
            "UserHasLeftChannel",
            lambda: hooks_user_channel_pb2.UserHasLeftChannelRequest(
                plugin_context=self.plugin_context(), channel_member=member, actor=actor
            ),
        )

    def _member(self, channel_id: str, user_id: str) -> api_channel_post_pb2.ChannelMember:
        member = self._members(channel_id).get(user_id)
        if member is None:
            key = f"{channel_id}/{user_id}"
            raise not_found("app.channel.get_member.missing.app_error", "channel member", key)
        self.channel_members.touch(channel_id)
        return member

    @status(hooks=("UserHasJoinedChannel",))
    def AddChannelMember(
        self, request: api_channel_post_pb2.AddChannelMemberRequest, context: Ctx
    ) -> api_channel_post_pb2.AddChannelMemberResponse:
        """Adds a team member to an open or private channel (no one joins a direct or group
        message); UserHasJoinedChannel runs without an actor."""
        member = self.join_channel(request.channel_id, request.user_id)
        return api_channel_post_pb2.AddChannelMemberResponse(channel_member=member)

    @status(hooks=("UserHasJoinedChannel",))
    def AddUserToChannel(
        self, request: api_channel_post_pb2.AddUserToChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.AddUserToChannelResponse:
        """As AddChannelMember; UserHasJoinedChannel gets ``as_user_id``'s user as the
        actor."""
        member = self.join_channel(request.channel_id, request.user_id, actor_id=request.as_user_id)
        return api_channel_post_pb2.AddUserToChannelResponse(channel_member=member)

    @status(hooks=("UserHasLeftChannel",))
    def DeleteChannelMember(
        self, request: api_channel_post_pb2.DeleteChannelMemberRequest, context: Ctx
    ) -> api_channel_post_pb2.DeleteChannelMemberResponse:
        """The user leaves the channel, as the plugin API's DeleteChannelMember does
        (``LeaveChannel``); UserHasLeftChannel runs with the user as the actor."""
        self.leave_channel(request.channel_id, request.user_id)
        return api_channel_post_pb2.DeleteChannelMemberResponse()

    @status
    def GetChannelMember(
        self, request: api_channel_post_pb2.GetChannelMemberRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelMemberResponse:
        """A user's membership of a channel."""
        member = self._member(request.channel_id, request.user_id)
        return api_channel_post_pb2.GetChannelMemberResponse(channel_member=member)

    @status
    def GetChannelMembers(
        self, request: api_channel_post_pb2.GetChannelMembersRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelMembersResponse:
        """A channel's members, a page at a time."""
        self._channel(request.channel_id)
        members = list(self._members(request.channel_id).values())
        return api_channel_post_pb2.GetChannelMembersResponse(
            channel_members=paged(members, request.page, request.per_page)
        )

    @status
    def GetChannelMembersByIds(
        self, request: api_channel_post_pb2.GetChannelMembersByIdsRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelMembersByIdsResponse:
        """The memberships of the given users (those who are members)."""
        self._channel(request.channel_id)
        members = self._members(request.channel_id)
        found = [members[u] for u in request.user_ids if u in members]
        return api_channel_post_pb2.GetChannelMembersByIdsResponse(channel_members=found)

    @status
    def GetChannelMembersForUser(
        self, request: api_channel_post_pb2.GetChannelMembersForUserRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelMembersForUserResponse:
        """A user's memberships in the channels of a team and in their direct and group
        messages, a page at a time."""
        self._user(request.user_id)
        found = [
            members[request.user_id]
            for channel_id, members in self.channel_members.items()
            if request.user_id in members
            and self.channels[channel_id].team_id in (request.team_id, "")
        ]
        found.sort(key=lambda m: m.channel_id)
        return api_channel_post_pb2.GetChannelMembersForUserResponse(
            channel_members=paged(found, request.page, request.per_page)
        )

    @status
    def UpdateChannelMemberRoles(
        self, request: api_channel_post_pb2.UpdateChannelMemberRolesRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdateChannelMemberRolesResponse:
        """Sets a member's channel roles (``channel_user``, ``channel_admin``; guests keep
        ``channel_guest``); other role names are refused (400)."""
        member = self._member(request.channel_id, request.user_id)
        wanted = set(request.new_roles.split())
        allowed = {"channel_guest"} if member.scheme_guest else {"channel_user", "channel_admin"}
        if not wanted <= allowed:
            unknown = ", ".join(sorted(wanted - allowed))
            raise bad_request(
                "api.channel.update_channel_member_roles.scheme_role.app_error",
                f"not a channel role for this member: {unknown}",
            )
        if not member.scheme_guest:
            member.scheme_admin = "channel_admin" in wanted
            member.roles = "channel_user channel_admin" if member.scheme_admin else "channel_user"
        member.last_update_at = self.now_ms()
        return api_channel_post_pb2.UpdateChannelMemberRolesResponse(channel_member=member)

    def _set_notify_props(
        self, member: api_channel_post_pb2.ChannelMember, props: Mapping[str, str]
    ) -> None:
        for key, value in props.items():
            allowed = _NOTIFY_VALUES.get(key)
            if allowed is not None and value not in allowed:
                raise bad_request(
                    "model.channel_member.is_valid.notify_level.app_error",
                    f"invalid value {value!r} for the notification setting {key!r}",
                )
        member.notify_props.update(props)
        member.last_update_at = self.now_ms()

    @status
    def UpdateChannelMemberNotifications(
        self, request: api_channel_post_pb2.UpdateChannelMemberNotificationsRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdateChannelMemberNotificationsResponse:
        """Merges notification settings into a member's (known settings take only their
        known values)."""
        member = self._member(request.channel_id, request.user_id)
        self._set_notify_props(member, dict(request.notifications))
        return api_channel_post_pb2.UpdateChannelMemberNotificationsResponse(channel_member=member)

    @status
    def PatchChannelMembersNotifications(
        self, request: api_channel_post_pb2.PatchChannelMembersNotificationsRequest, context: Ctx
    ) -> api_channel_post_pb2.PatchChannelMembersNotificationsResponse:
        """Merges notification settings into several memberships, all or none."""
        members = [self._member(m.channel_id, m.user_id) for m in request.members]
        props = dict(request.notify_props)
        for key, value in props.items():  # check before changing any
            allowed = _NOTIFY_VALUES.get(key)
            if allowed is not None and value not in allowed:
                raise bad_request(
                    "model.channel_member.is_valid.notify_level.app_error",
                    f"invalid value {value!r} for the notification setting {key!r}",
                )
        for member in members:
            self._set_notify_props(member, props)
        return api_channel_post_pb2.PatchChannelMembersNotificationsResponse()
