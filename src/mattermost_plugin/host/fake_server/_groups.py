"""User groups (custom, LDAP-like and plugin-owned), their members, and their links to
teams and channels (syncables), for the methods the server answers (PROTOCOL.md §6 lists
the group methods it does not)."""

from __future__ import annotations

import re

from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2, user_pb2
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    not_found,
    status,
)
from mattermost_plugin.host.fake_server._state import FakeState, new_id, paged

_GROUP_NAME_RE = re.compile(r"^[a-z0-9.\-_]{1,64}$")
SYNCABLE_TYPES = ("Team", "Channel")


def _valid_source(source: str) -> bool:
    return source in ("custom", "ldap") or (source.startswith("plugin_") and len(source) > 7)


class GroupsAPI(FakeState):
    def _group(self, group_id: str) -> api_remaining_pb2.Group:
        group = self.groups.get(group_id)
        if group is None or group.delete_at:
            raise not_found("app.group.no_rows", "group", group_id)
        return group

    def _group_users(self, group_id: str) -> list[str]:
        return [u for (g, u), m in self.group_members.items() if g == group_id and not m.delete_at]

    @status
    def CreateGroup(
        self, request: api_remaining_pb2.CreateGroupRequest, context: Ctx
    ) -> api_remaining_pb2.CreateGroupResponse:
        """Creates a group: a display name, a source (``custom``, ``ldap`` or
        ``plugin_<id>``), a remote id unless custom, a free lower-case name when it can be
        mentioned (400; a taken name 409)."""
        group = api_remaining_pb2.Group()
        group.CopyFrom(request.group)
        if not group.display_name or not _valid_source(group.source):
            raise bad_request("model.group.display_name.app_error", "a display name and a source")
        if group.source != "custom" and not group.remote_id:
            raise bad_request("model.group.remote_id.app_error", "a remote id is required")
        if (group.allow_reference or group.name) and not _GROUP_NAME_RE.match(group.name):
            raise bad_request("model.group.name.invalid_chars.app_error", "invalid name")
        if group.name and any(g.name == group.name for g in self.groups.values()):
            raise FakeAppError("app.custom_group.unique_name", "the name is taken", 409)
        group.id = new_id()
        group.create_at = group.update_at = self.now_ms()
        self.groups[group.id] = group
        return api_remaining_pb2.CreateGroupResponse(group=group)

    @status
    def GetGroup(
        self, request: api_remaining_pb2.GetGroupRequest, context: Ctx
    ) -> api_remaining_pb2.GetGroupResponse:
        """A group by id."""
        return api_remaining_pb2.GetGroupResponse(group=self._group(request.group_id))

    @status
    def GetGroupByName(
        self, request: api_remaining_pb2.GetGroupByNameRequest, context: Ctx
    ) -> api_remaining_pb2.GetGroupByNameResponse:
        """A group by name."""
        for group in self.groups.values():
            if group.name == request.name and not group.delete_at:
                return api_remaining_pb2.GetGroupByNameResponse(group=group)
        raise not_found("app.group.no_rows", "group", request.name)

    @status
    def GetGroupsBySource(
        self, request: api_remaining_pb2.GetGroupsBySourceRequest, context: Ctx
    ) -> api_remaining_pb2.GetGroupsBySourceResponse:
        """The groups of a source, by display name (400 for an unknown kind of source)."""
        if not _valid_source(request.group_source):
            raise bad_request(
                "app.group.invalid_source", f"unknown source {request.group_source!r}"
            )
        found = sorted(
            (
                g
                for g in self.groups.values()
                if g.source == request.group_source and not g.delete_at
            ),
            key=lambda g: g.display_name,
        )
        return api_remaining_pb2.GetGroupsBySourceResponse(groups=found)

    @status(never_fails=True)
    def GetGroupsForUser(
        self, request: api_remaining_pb2.GetGroupsForUserRequest, context: Ctx
    ) -> api_remaining_pb2.GetGroupsForUserResponse:
        """The groups a user is a member of, by display name."""
        found = sorted(
            (
                self.groups[g]
                for (g, u), m in self.group_members.items()
                if u == request.user_id and not m.delete_at and not self.groups[g].delete_at
            ),
            key=lambda g: g.display_name,
        )
        return api_remaining_pb2.GetGroupsForUserResponse(groups=found)

    @status
    def GetGroupMemberUsers(
        self, request: api_remaining_pb2.GetGroupMemberUsersRequest, context: Ctx
    ) -> api_remaining_pb2.GetGroupMemberUsersResponse:
        """A group's members, by username, a page at a time."""
        self._group(request.group_id)
        users: list[user_pb2.User] = sorted(
            (self.users[u] for u in self._group_users(request.group_id) if u in self.users),
            key=lambda u: u.username,
        )
        page = paged(users, request.page, request.per_page)
        return api_remaining_pb2.GetGroupMemberUsersResponse(users=page)

    @status
    def UpsertGroupMember(
        self, request: api_remaining_pb2.UpsertGroupMemberRequest, context: Ctx
    ) -> api_remaining_pb2.UpsertGroupMemberResponse:
        """Makes a user a member of a group (again, if they left)."""
        self._group(request.group_id)
        self._user(request.user_id)
        key = (request.group_id, request.user_id)
        member = self.group_members.get(key)
        if member is None:
            member = api_remaining_pb2.GroupMember(
                group_id=request.group_id, user_id=request.user_id, create_at=self.now_ms()
            )
            self.group_members[key] = member
        member.delete_at = 0
        return api_remaining_pb2.UpsertGroupMemberResponse(group_member=member)

    @status
    def DeleteGroupMember(
        self, request: api_remaining_pb2.DeleteGroupMemberRequest, context: Ctx
    ) -> api_remaining_pb2.DeleteGroupMemberResponse:
        """Removes a member from a group (kept, marked deleted)."""
        member = self.group_members.get((request.group_id, request.user_id))
        if member is None or member.delete_at:
            key = f"{request.group_id}/{request.user_id}"
            raise not_found("app.group.no_rows", "group member", key)
        member.delete_at = self.now_ms()
        return api_remaining_pb2.DeleteGroupMemberResponse(group_member=member)

    @status
    def DeleteGroup(
        self, request: api_remaining_pb2.DeleteGroupRequest, context: Ctx
    ) -> api_remaining_pb2.DeleteGroupResponse:
        """Deletes a group (kept, marked deleted)."""
        group = self._group(request.group_id)
        group.delete_at = group.update_at = self.now_ms()
        return api_remaining_pb2.DeleteGroupResponse(group=group)

    # --- syncables: a group's teams and channels ---------------------------------------

    def _syncable(
        self, group_id: str, syncable_id: str, kind: str
    ) -> api_remaining_pb2.GroupSyncable:
        found = self.group_syncables.get((group_id, syncable_id, kind))
        if found is None or found.delete_at:
            key = f"{group_id}/{kind}/{syncable_id}"
            raise not_found("app.group.no_rows", "group syncable", key)
        return found

    def _check_syncable(self, syncable: api_remaining_pb2.GroupSyncable) -> None:
        self._group(syncable.group_id)
        if syncable.syncable_type not in SYNCABLE_TYPES:
            raise bad_request(
                "app.group.invalid_syncable_type", "the syncable type is Team or Channel"
            )
        if syncable.syncable_type == "Team":
            self._team(syncable.syncable_id)
        else:
            self._channel(syncable.syncable_id)

    @status
    def GetGroupSyncable(
        self, request: api_remaining_pb2.GetGroupSyncableRequest, context: Ctx
    ) -> api_remaining_pb2.GetGroupSyncableResponse:
        """A group's link to a team or a channel."""
        found = self._syncable(request.group_id, request.syncable_id, request.syncable_type)
        return api_remaining_pb2.GetGroupSyncableResponse(group_syncable=found)

    @status
    def UpsertGroupSyncable(
        self, request: api_remaining_pb2.UpsertGroupSyncableRequest, context: Ctx
    ) -> api_remaining_pb2.UpsertGroupSyncableResponse:
        """Links a group to a team or a channel (both must exist)."""
        syncable = api_remaining_pb2.GroupSyncable()
        syncable.CopyFrom(request.group_syncable)
        self._check_syncable(syncable)
        key = (syncable.group_id, syncable.syncable_id, syncable.syncable_type)
        current = self.group_syncables.get(key)
        now = self.now_ms()
        syncable.create_at = current.create_at if current is not None else now
        syncable.update_at, syncable.delete_at = now, 0
        self.group_syncables[key] = syncable
        return api_remaining_pb2.UpsertGroupSyncableResponse(group_syncable=syncable)

    @status
    def UpdateGroupSyncable(
        self, request: api_remaining_pb2.UpdateGroupSyncableRequest, context: Ctx
    ) -> api_remaining_pb2.UpdateGroupSyncableResponse:
        """Changes an existing link (auto-add, scheme admin)."""
        change = request.group_syncable
        current = self._syncable(change.group_id, change.syncable_id, change.syncable_type)
        current.auto_add = change.auto_add
        current.scheme_admin = change.scheme_admin
        current.update_at = self.now_ms()
        return api_remaining_pb2.UpdateGroupSyncableResponse(group_syncable=current)

    @status
    def DeleteGroupSyncable(
        self, request: api_remaining_pb2.DeleteGroupSyncableRequest, context: Ctx
    ) -> api_remaining_pb2.DeleteGroupSyncableResponse:
        """Removes a link (kept, marked deleted)."""
        found = self._syncable(request.group_id, request.syncable_id, request.syncable_type)
        found.delete_at = self.now_ms()
        return api_remaining_pb2.DeleteGroupSyncableResponse(group_syncable=found)
