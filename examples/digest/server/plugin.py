"""Digest: once a day, a bot posts a summary of the day's posts in a channel.

The summary is a cluster job (``@job``): however many server nodes run the plugin, one of
them posts it, once a day, at 08:00 UTC, and if that node dies another one takes over. The
tests move the SDK's clock a day forward instead of waiting for one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from mattermost_plugin import HookName, JobRun, Plugin, hook, job
from mattermost_plugin.models import Post
from mattermost_plugin.settings import setting
from pydantic import BaseModel

DIGEST_TIME = timedelta(hours=8)
"""When the digest is posted each day, after midnight UTC."""
MAX_QUOTED = 10
"""Posts quoted in a digest; the rest are counted."""


class Settings(BaseModel):
    """Where the daily digest goes."""

    team: str = setting("local", help_text="The team (its URL name) of the channel.")
    channel: str = setting("town-square", help_text="The channel (its URL name) to summarize.")


def _ms(moment: datetime) -> int:
    """``moment`` in milliseconds since the epoch, as Mattermost stamps posts."""
    return int(moment.timestamp() * 1000)


def summarize(day: datetime, posts: Iterable[Post], names: dict[str, str]) -> str:
    """The digest of ``posts`` (written on ``day``), authors shown by ``names[user_id]``."""
    ordered = sorted(posts, key=lambda post: post.create_at)
    title = f"#### Daily digest for {day:%A, %B} {day.day}, {day.year}"
    if not ordered:
        return f"{title}\nNo posts that day."
    authors = Counter(names.get(post.user_id, "someone") for post in ordered)
    people = ", ".join(f"@{name} ({count})" for name, count in authors.most_common())
    lines = [
        title,
        f"{len(ordered)} post{'s' if len(ordered) != 1 else ''} by {people}.",
        "",
    ]
    for post in ordered[:MAX_QUOTED]:
        first_line = post.message.strip().splitlines()[0] if post.message.strip() else "(no text)"
        if len(first_line) > 80:
            first_line = first_line[:79] + "…"
        lines.append(f"- **@{names.get(post.user_id, 'someone')}**: {first_line}")
    if len(ordered) > MAX_QUOTED:
        lines.append(f"- … and {len(ordered) - MAX_QUOTED} more")
    return "\n".join(lines)


class DigestPlugin(Plugin[Settings]):
    """The bot, and the daily job that posts as it."""

    bot_id = ""

    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        """Make sure the bot exists (every node does; one bot results)."""
        self.bot_id = self.ensure_bot(
            "digest", display_name="Digest", description="Posts a daily summary of the channel"
        )
        self.logger.info("digest bot ready", extra={"bot_id": self.bot_id})

    @job(every=timedelta(days=1), offset=DIGEST_TIME)
    def post_digest(self, run: JobRun) -> None:
        """Summarize the 24 hours before the run was due."""
        settings = self.settings
        team = self.api.get_team_by_name(settings.team)
        channel = self.api.get_channel_by_name(team.id, settings.channel)
        end = run.scheduled_for
        start = end - timedelta(days=1)
        since = self.api.get_posts_since(channel.id, _ms(start))
        posts = [
            post
            for post in since.posts.values()
            if _ms(start) <= post.create_at < _ms(end)
            and not post.delete_at
            and not post.type  # system messages (joins, header changes) are not news
            and post.user_id != self.bot_id
        ]
        names = {
            user_id: self.api.get_user(user_id).username
            for user_id in {post.user_id for post in posts}
        }
        message = summarize(start, posts, names)
        self.api.create_post(channel_id=channel.id, user_id=self.bot_id, message=message)
        self.logger.info("digest posted", extra={"channel": channel.name, "posts": len(posts)})


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(DigestPlugin)
