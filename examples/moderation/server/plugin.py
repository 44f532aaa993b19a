"""Moderation: keep blocked words and floods of links out of channels, and count what it stops.

Every new post goes through ``MessageWillBePosted``, every edit through
``MessageWillBeUpdated``. A post with a blocked word is rejected, or has the word masked, as
the System Console settings say; a post with more links than allowed is rejected. Each
user's counters are a value in a KV collection, changed with ``update`` so that server nodes
counting at the same moment lose nothing. System admins see them with ``/moderation stats``
and clear them with ``/moderation reset``.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from mattermost_plugin import Plugin
from mattermost_plugin.commands import command
from mattermost_plugin.errors import PluginAPIError
from mattermost_plugin.kv import Collection, KVError
from mattermost_plugin.models import CommandArgs, PluginContext, Post, User
from mattermost_plugin.settings import SettingsError, setting
from pydantic import BaseModel
from typing_extensions import override

Outcome = Literal["rejected", "masked"]

LINK = re.compile(r"https?://", re.IGNORECASE)
TOP_USERS = 5
"""How many users ``/moderation stats`` names."""
ADMINS_ONLY = "Only system admins can see or reset moderation counters."


class Settings(BaseModel):
    """What the moderation filter stops. Changes apply to the next post."""

    blocked_words: str = setting(
        "",
        kind="longtext",
        help_text="One word or phrase per line. Case does not matter; whole words only.",
    )
    action: Literal["reject", "mask"] = setting(
        "reject",
        kind="radio",
        display_name="Posts with a blocked word",
        options={"reject": "Reject the post", "mask": "Replace the word with asterisks"},
    )
    max_links: int = setting(
        5, help_text="The most links a post may contain; a post with more is rejected. 0: any."
    )

    @cached_property
    def words(self) -> frozenset[str]:
        """The blocked words and phrases, lowercased (computed once per settings object: new
        settings are a new object)."""
        return frozenset(
            line.strip().lower() for line in self.blocked_words.splitlines() if line.strip()
        )

    @cached_property
    def blocked(self) -> re.Pattern[str] | None:
        """The blocked words as one case-insensitive pattern of whole words (``None``: none)."""
        if not self.words:
            return None
        # Longest first, so that "free money" wins over "free" where both match.
        by_length = sorted(self.words, key=len, reverse=True)
        alternatives = "|".join(re.escape(word) for word in by_length)
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class Counts(BaseModel):
    """What the filter stopped of one user's posts."""

    rejected: int = 0
    masked: int = 0

    def record(self, outcome: Outcome) -> Counts:
        """Count one more ``outcome``; returns ``self``."""
        if outcome == "rejected":
            self.rejected += 1
        else:
            self.masked += 1
        return self

    def describe(self) -> str:
        """The counts in words, as the stats command shows them."""
        return f"{self.rejected} rejected, {self.masked} masked"


def moderate(message: str, settings: Settings) -> tuple[str | None, str]:
    """What becomes of ``message``: ``(message to store, "")`` to let it through, masked or
    not, or ``(None, reason)`` to reject it."""
    if settings.max_links and len(LINK.findall(message)) > settings.max_links:
        return None, f"A post may contain at most {settings.max_links} links."
    blocked = settings.blocked
    if blocked is None or not blocked.search(message):
        return message, ""
    if settings.action == "reject":
        return None, "Your post contains a word that is not allowed here."
    return blocked.sub(lambda word: "*" * len(word[0]), message), ""


class ModerationPlugin(Plugin[Settings]):
    """The filter, its counters and the commands that show them."""

    reject_invalid_settings = True  # the System Console refuses a save the model refuses

    @property
    def counts(self) -> Collection[Counts]:
        """Each user's counters, by user id (the SDK caches the collection)."""
        return self.kv.collection("counts", Counts)

    @override
    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        return self.moderated(post)

    @override
    def message_will_be_updated(
        self, context: PluginContext, new_post: Post, old_post: Post
    ) -> tuple[Post | None, str]:
        return self.moderated(new_post)  # or a clean post could be edited into a bad one

    def moderated(self, post: Post) -> tuple[Post | None, str]:
        """A new or edited post as the hooks answer it: rejected, masked or unchanged; the
        first two are counted."""
        message, reason = moderate(post.message, self.settings)
        if message is None:
            self.count(post.user_id, "rejected")
            self.logger.info("rejected a post", extra={"user_id": post.user_id, "reason": reason})
            return None, reason
        if message != post.message:
            self.count(post.user_id, "masked")
            return post.model_copy(update={"message": message}), ""
        return post, ""

    def count(self, user_id: str, outcome: Outcome) -> None:
        """Add one to a user's counter. A failure is logged, not raised: a handler that raised
        would let the post through unchanged (content hooks fail open)."""
        try:
            self.counts.update(user_id, lambda counts: (counts or Counts()).record(outcome))
        except (PluginAPIError, KVError) as exc:
            self.logger.warning("could not count a moderated post", extra={"error": str(exc)})

    def is_admin(self, user_id: str) -> bool:
        """Whether the user may see and reset the counters (a system admin)."""
        return self.api.has_permission_to(user_id, "manage_system")

    @command("moderation stats")
    def stats(self, args: CommandArgs, user: User | None = None) -> str:
        """Show what the filter stopped: the totals and the users it stopped most, or one
        user's counts.

        Args:
            user: show this user's counts only.
        """
        if not self.is_admin(args.user_id):
            return ADMINS_ONLY
        if user is not None:
            return f"@{user.username}: {(self.counts.get(user.id) or Counts()).describe()}."
        # Listing walks all of the plugin's keys: fine in a command, never in a busy hook.
        everyone = dict(self.counts.items())
        if not everyone:
            return "Nothing was moderated yet."
        total = Counts(
            rejected=sum(counts.rejected for counts in everyone.values()),
            masked=sum(counts.masked for counts in everyone.values()),
        )
        ranked = sorted(everyone.items(), key=lambda item: -(item[1].rejected + item[1].masked))
        top = ", ".join(
            f"@{self.api.get_user(user_id).username} ({counts.describe()})"
            for user_id, counts in ranked[:TOP_USERS]
        )
        return f"Posts moderated: {total.describe()}.\nMost moderated: {top}."

    @command("moderation reset")
    def reset(self, args: CommandArgs, user: User) -> str:
        """Clear a user's counters.

        Args:
            user: whose counters to clear.
        """
        if not self.is_admin(args.user_id):
            return ADMINS_ONLY
        self.counts.delete(user.id)
        return f"Cleared the counters of @{user.username}."

    def on_settings_changed(self, old: Settings | None, new: Settings) -> None:
        """Log what the filter now does (how many words, not which)."""
        self.logger.info(
            "moderation settings applied",
            extra={
                "blocked_words": len(new.words),
                "action": new.action,
                "max_links": new.max_links,
            },
        )

    def on_settings_invalid(self, error: SettingsError) -> None:
        """Settings that do not validate are not applied: the last good ones stay."""
        self.logger.warning(
            "ignoring invalid moderation settings", extra={"fields": sorted(error.problems)}
        )


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(ModerationPlugin)
