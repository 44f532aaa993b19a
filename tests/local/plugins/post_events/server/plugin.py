"""Records what the edit, delete, reaction and preference hooks get (test_post_events.py).

Each notification hook appends ``{"hook": ..., ...}`` to the JSON list under the KV key
``events``; ``MessageWillBeUpdated`` records its call under ``will_be_updated`` and, by the
edited message, rejects (``reject``), rewrites (``shout ...``), raises (``raise``), sleeps
past the hook deadline (``slow``) or crashes (``crash``).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import PluginContext, Post, Preference, Reaction


def post_fields(post: Post) -> dict[str, Any]:
    return {
        "id": post.id,
        "message": post.message,
        "channel_id": post.channel_id,
        "user_id": post.user_id,
        "edit_at": post.edit_at,
        "delete_at": post.delete_at,
        "is_pinned": post.is_pinned,
        "props": post.props,
    }


def reaction_fields(reaction: Reaction) -> dict[str, Any]:
    return {
        "user_id": reaction.user_id,
        "post_id": reaction.post_id,
        "emoji_name": reaction.emoji_name,
        "channel_id": reaction.channel_id,
        "create_at": reaction.create_at,
        "delete_at": reaction.delete_at,
    }


class PostEvents(Plugin):
    def record(self, key: str, entry: dict[str, Any]) -> None:
        while True:  # compare-and-set: hooks run concurrently
            raw = self.api.kv_get(key) or b""
            entries = json.loads(raw) if raw else []
            entries.append(entry)
            if self.api.kv_compare_and_set(key, raw, json.dumps(entries).encode()):
                return

    @hook(HookName.MessageWillBeUpdated)
    def message_will_be_updated(
        self, context: PluginContext, new_post: Post, old_post: Post
    ) -> tuple[Post | None, str]:
        self.record(
            "will_be_updated",
            {
                "request_id": context.request_id,
                "new": post_fields(new_post),
                "old": post_fields(old_post),
            },
        )
        text = new_post.message
        if text == "reject":
            return None, "edits to 'reject' are refused"
        if text == "raise":
            raise RuntimeError("the edit hook broke")
        if text == "crash":
            os._exit(3)
        if text.startswith("slow"):
            time.sleep(3.0)
        if text.startswith("shout "):
            new_post.message = text.removeprefix("shout ").upper()
        return new_post, ""

    @hook(HookName.MessageHasBeenUpdated)
    def message_has_been_updated(
        self, context: PluginContext, new_post: Post, old_post: Post
    ) -> None:
        self.record(
            "events",
            {"hook": "updated", "new": post_fields(new_post), "old": post_fields(old_post)},
        )

    @hook(HookName.MessageHasBeenDeleted)
    def message_has_been_deleted(self, context: PluginContext, post: Post) -> None:
        self.record("events", {"hook": "deleted", "post": post_fields(post)})

    @hook(HookName.ReactionHasBeenAdded)
    def reaction_has_been_added(self, context: PluginContext, reaction: Reaction) -> None:
        self.record("events", {"hook": "reaction_added", "reaction": reaction_fields(reaction)})

    @hook(HookName.ReactionHasBeenRemoved)
    def reaction_has_been_removed(self, context: PluginContext, reaction: Reaction) -> None:
        self.record("events", {"hook": "reaction_removed", "reaction": reaction_fields(reaction)})

    @hook(HookName.PreferencesHaveChanged)
    def preferences_have_changed(
        self, context: PluginContext, preferences: list[Preference]
    ) -> None:
        self.record(
            "events",
            {
                "hook": "preferences",
                "preferences": [
                    {"user_id": p.user_id, "category": p.category, "name": p.name, "value": p.value}
                    for p in preferences
                ],
            },
        )


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(PostEvents)
