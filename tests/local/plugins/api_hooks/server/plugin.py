"""Records every hook the local host runs, to check that API calls run them as the server
does (tests/local/test_api_hooks.py).

Each notification hook appends ``{"hook": ..., ...}`` to the JSON list under the KV key
``events`` (with compare-and-set: hooks run concurrently). ``MessageWillBePosted`` rejects
``reject``, upper-cases ``shout ...`` and, for ``nest N``, posts ``nest N-1`` through the
API from inside the hook (``nest 0`` reads a user): nested hooks, each calling the API.
With ``NEST_ASYNC`` set, that handler is ``async def`` and uses the async client.
``FileWillBeUploaded`` rejects ``bad.txt`` and upper-cases the content of ``upper.txt``;
``UserWillLogIn`` rejects the user ``blocked``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mattermost_plugin import Plugin
from mattermost_plugin.models import (
    Bot,
    Channel,
    ChannelMember,
    ChannelType,
    FileInfo,
    PluginContext,
    Post,
    Preference,
    Reaction,
    TeamMember,
    User,
)


def _actor(actor: User | None) -> str | None:
    return actor.id if actor is not None else None


class ApiHooks(Plugin):
    bot_id = ""

    def record(self, hook: str, **fields: Any) -> None:
        while True:
            raw = self.api.kv_get("events") or b""
            entries = json.loads(raw) if raw else []
            entries.append({"hook": hook, **fields})
            if self.api.kv_compare_and_set("events", raw, json.dumps(entries).encode()):
                return

    def on_activate(self) -> None:
        self.bot_id = self.api.ensure_bot_user(Bot(username="recorder", display_name="Rec"))

    def _will_post(self, post: Post) -> tuple[Post | None, str]:
        if post.message == "reject":
            return None, "no rejects"
        if post.message.startswith("shout "):
            post.message = post.message.removeprefix("shout ").upper()
        return post, ""

    if os.environ.get("NEST_ASYNC"):

        async def message_will_be_posted(
            self, context: PluginContext, post: Post, /
        ) -> tuple[Post | None, str]:
            if post.message.startswith("nest "):
                depth = int(post.message.split()[1])
                if depth:
                    await self.async_api.create_post(
                        channel_id=post.channel_id,
                        user_id=post.user_id,
                        message=f"nest {depth - 1}",
                    )
                else:
                    await self.async_api.get_user(post.user_id)
            return self._will_post(post)

    else:

        def message_will_be_posted(
            self, context: PluginContext, post: Post, /
        ) -> tuple[Post | None, str]:
            if post.message.startswith("nest "):
                depth = int(post.message.split()[1])
                if depth:
                    self.api.create_post(
                        channel_id=post.channel_id,
                        user_id=post.user_id,
                        message=f"nest {depth - 1}",
                    )
                else:
                    self.api.get_user(post.user_id)
            return self._will_post(post)

    def message_has_been_posted(self, context: PluginContext, post: Post, /) -> None:
        # A plugin sees its own posts too; it tells them apart by its bot's id.
        self.record("posted", message=post.message, own=post.user_id == self.bot_id)

    def message_will_be_updated(
        self, context: PluginContext, new_post: Post, old_post: Post, /
    ) -> tuple[Post | None, str]:
        if new_post.message == "reject":
            return None, "no rejected edits"
        return new_post, ""

    def message_has_been_updated(
        self, context: PluginContext, new_post: Post, old_post: Post, /
    ) -> None:
        self.record("updated", new=new_post.message, old=old_post.message)

    def message_has_been_deleted(self, context: PluginContext, post: Post, /) -> None:
        self.record("deleted", message=post.message)

    def reaction_has_been_added(self, context: PluginContext, reaction: Reaction, /) -> None:
        self.record("reaction_added", emoji=reaction.emoji_name, user_id=reaction.user_id)

    def reaction_has_been_removed(self, context: PluginContext, reaction: Reaction, /) -> None:
        self.record("reaction_removed", emoji=reaction.emoji_name, user_id=reaction.user_id)

    def user_has_been_created(self, context: PluginContext, user: User, /) -> None:
        self.record("user_created", username=user.username)

    def user_has_been_deactivated(self, context: PluginContext, user: User, /) -> None:
        self.record("user_deactivated", username=user.username, delete_at=user.delete_at)

    def channel_has_been_created(self, context: PluginContext, channel: Channel, /) -> None:
        self.record("channel_created", name=channel.name, type=ChannelType(channel.type).name)

    def user_has_joined_channel(
        self, context: PluginContext, member: ChannelMember, actor: User | None, /
    ) -> None:
        self.record(
            "joined_channel",
            channel_id=member.channel_id,
            user_id=member.user_id,
            actor=_actor(actor),
        )

    def user_has_left_channel(
        self, context: PluginContext, member: ChannelMember, actor: User | None, /
    ) -> None:
        self.record(
            "left_channel",
            channel_id=member.channel_id,
            user_id=member.user_id,
            actor=_actor(actor),
        )

    def user_has_joined_team(
        self, context: PluginContext, member: TeamMember, actor: User | None, /
    ) -> None:
        self.record(
            "joined_team", team_id=member.team_id, user_id=member.user_id, actor=_actor(actor)
        )

    def user_has_left_team(
        self, context: PluginContext, member: TeamMember, actor: User | None, /
    ) -> None:
        self.record(
            "left_team", team_id=member.team_id, user_id=member.user_id, actor=_actor(actor)
        )

    def preferences_have_changed(
        self, context: PluginContext, preferences: list[Preference], /
    ) -> None:
        self.record("preferences", names=[p.name for p in preferences])

    def file_will_be_uploaded(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes, /
    ) -> tuple[FileInfo | None, bytes | None, str]:
        self.record("file_will_be_uploaded", name=file_info.name, size=len(file_content))
        if file_info.name == "bad.txt":
            return None, None, "no bad files"
        if file_info.name == "upper.txt":
            file_info.name = "UPPER.TXT"
            return file_info, file_content.upper(), ""
        return None, None, ""

    def user_will_log_in(self, context: PluginContext, user: User, /) -> str | None:
        self.record("will_log_in", username=user.username)
        return "not today" if user.username == "blocked" else None

    def user_has_logged_in(self, context: PluginContext, user: User, /) -> None:
        self.record("logged_in", username=user.username)


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(ApiHooks)
