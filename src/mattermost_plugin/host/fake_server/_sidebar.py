"""Sidebar categories: per user and team, Favorites, Channels and Direct Messages (the
server's defaults, made on first use) and the user's custom ones, in order."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2
from mattermost_plugin.host.fake_server._rpc import Ctx, bad_request, not_found, status
from mattermost_plugin.host.fake_server._state import FakeState, new_id

Category = api_channel_post_pb2.SidebarCategoryWithChannels
_DEFAULTS = (
    ("favorites", "Favorites"),
    ("channels", "Channels"),
    ("direct_messages", "Direct Messages"),
)


class SidebarAPI(FakeState):
    def _categories(self, user_id: str, team_id: str) -> list[Category]:
        """The user's categories in a team, made on first use; the user must be in it."""
        self._user(user_id)
        self._team(team_id)
        if not self._active_member(team_id, user_id):
            raise not_found("app.channel.sidebar_categories.app_error", "team member", user_id)
        key = (user_id, team_id)
        stored = self.sidebar.get(key)
        if stored is None:
            stored = api_channel_post_pb2.OrderedSidebarCategories(
                categories=[
                    Category(
                        id=f"{kind}_{user_id}_{team_id}",
                        user_id=user_id,
                        team_id=team_id,
                        type=kind,
                        display_name=name,
                    )
                    for kind, name in _DEFAULTS
                ]
            )
            self.sidebar[key] = stored
        return list(stored.categories)

    def _with_channels(
        self, user_id: str, team_id: str, categories: list[Category]
    ) -> list[Category]:
        """The categories with their channels: a channel of the user's is in the category
        it was put in, else in Channels (a team's) or Direct Messages (a DM or GM)."""
        placed = {c for category in categories for c in category.channel_ids}
        result = []
        for category in categories:
            filled = Category()
            filled.CopyFrom(category)
            if category.type in ("channels", "direct_messages"):
                team_ids = (team_id,) if category.type == "channels" else ("",)
                filled.channel_ids.extend(
                    sorted(
                        cid
                        for cid, members in self.channel_members.items()
                        if user_id in members
                        and cid not in placed
                        and self.channels[cid].team_id in team_ids
                        and not self.channels[cid].delete_at
                    )
                )
            result.append(filled)
        return result

    def _save(self, user_id: str, team_id: str, categories: list[Category]) -> None:
        stored = self.sidebar[(user_id, team_id)]
        del stored.categories[:]
        stored.categories.extend(categories)
        self.sidebar.touch((user_id, team_id))

    def _place(self, categories: list[Category], target: Category) -> None:
        """Move ``target``'s channels out of every other category (a channel is in one)."""
        moved = set(target.channel_ids)
        for category in categories:
            if category.id != target.id:
                kept = [c for c in category.channel_ids if c not in moved]
                del category.channel_ids[:]
                category.channel_ids.extend(kept)

    @status
    def GetChannelSidebarCategories(
        self, request: api_channel_post_pb2.GetChannelSidebarCategoriesRequest, context: Ctx
    ) -> api_channel_post_pb2.GetChannelSidebarCategoriesResponse:
        """A team member's sidebar categories in order, with their channels (404 for a user
        who is not in the team)."""
        categories = self._with_channels(
            request.user_id, request.team_id, self._categories(request.user_id, request.team_id)
        )
        ordered = api_channel_post_pb2.OrderedSidebarCategories(
            categories=categories, order=[c.id for c in categories]
        )
        return api_channel_post_pb2.GetChannelSidebarCategoriesResponse(categories=ordered)

    @status
    def CreateChannelSidebarCategory(
        self, request: api_channel_post_pb2.CreateChannelSidebarCategoryRequest, context: Ctx
    ) -> api_channel_post_pb2.CreateChannelSidebarCategoryResponse:
        """Adds a custom category (a display name is required) before the default Channels
        one; the channels it lists move into it."""
        categories = self._categories(request.user_id, request.team_id)
        new = Category()
        new.CopyFrom(request.new_category)
        if not new.display_name:
            raise bad_request(
                "model.sidebar_category.is_valid.display_name.app_error", "a name is required"
            )
        new.id = f"custom_{new_id()}"
        new.user_id, new.team_id, new.type = request.user_id, request.team_id, "custom"
        position = next(i for i, c in enumerate(categories) if c.type == "channels")
        categories.insert(position, new)
        self._place(categories, new)
        self._save(request.user_id, request.team_id, categories)
        (created,) = [
            c
            for c in self._with_channels(request.user_id, request.team_id, categories)
            if c.id == new.id
        ]
        return api_channel_post_pb2.CreateChannelSidebarCategoryResponse(category=created)

    @status
    def UpdateChannelSidebarCategories(
        self, request: api_channel_post_pb2.UpdateChannelSidebarCategoriesRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdateChannelSidebarCategoriesResponse:
        """Changes the user's categories (display name of custom ones, sorting, muted,
        collapsed, channels); each must be one of the user's (404); the channels listed
        move into it."""
        categories = self._categories(request.user_id, request.team_id)
        by_id = {c.id: c for c in categories}
        for change in request.categories:
            current = by_id.get(change.id)
            if current is None:
                raise not_found("app.channel.sidebar_categories.app_error", "category", change.id)
            if current.type == "custom" and change.display_name:
                current.display_name = change.display_name
            current.sorting, current.muted, current.collapsed = (
                change.sorting,
                change.muted,
                change.collapsed,
            )
            if current.type in ("custom", "favorites"):
                del current.channel_ids[:]
                current.channel_ids.extend(change.channel_ids)
                self._place(categories, current)
        self._save(request.user_id, request.team_id, categories)
        changed = {c.id for c in request.categories}
        updated = [
            c
            for c in self._with_channels(request.user_id, request.team_id, categories)
            if c.id in changed
        ]
        return api_channel_post_pb2.UpdateChannelSidebarCategoriesResponse(categories=updated)
