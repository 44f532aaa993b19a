"""Welcome bot: a bot greets people in the channels they join, and in the teams they join.

Every handler is ``async def``: it runs on the plugin's event loop and calls the Plugin API
with ``self.async_api``, so the lookups a welcome needs (the channel, the user) go out at
the same time. ``OnActivate`` makes sure the bot exists (``async_ensure_bot``: one bot
however many server nodes start at once). A KV collection remembers who was welcomed where,
so leaving and joining again does not repeat the welcome. The messages are settings.

    /welcome preview     shows you the welcome of the channel you are in
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import cached_property
from string import Template

from mattermost_plugin import Plugin
from mattermost_plugin.clock import now
from mattermost_plugin.commands import command
from mattermost_plugin.kv import AsyncCollection
from mattermost_plugin.models import (
    Channel,
    ChannelMember,
    ChannelType,
    CommandArgs,
    PluginContext,
    TeamMember,
    User,
)
from mattermost_plugin.settings import setting
from pydantic import BaseModel
from typing_extensions import override

PLACEHOLDERS = (
    "$username, $channel and $team stand for the user, the channel (its URL name: ~$channel "
    "links to it) and the team."
)


class Settings(BaseModel):
    """What the welcome bot says, and where."""

    channel_message: str = setting(
        "Welcome to ~$channel, @$username! :wave:",
        kind="longtext",
        help_text=f"Posted in a channel when someone joins it; empty: none. {PLACEHOLDERS}",
    )
    channels: str = setting(
        "",
        help_text="The channels to welcome people in, by URL name, separated by commas; "
        "empty: every public channel.",
        placeholder="town-square, off-topic",
    )
    team_message: str = setting(
        "Welcome to the $team team, @$username! Say hello in ~town-square.",
        kind="longtext",
        help_text=f"Sent as a direct message when someone joins a team; empty: none. "
        f"{PLACEHOLDERS}",
    )

    @cached_property
    def channel_names(self) -> frozenset[str]:
        """The channels named in ``channels`` (computed once per settings object)."""
        return frozenset(name.strip().lower() for name in self.channels.split(",") if name.strip())

    def welcomes_in(self, channel: Channel) -> bool:
        """Whether someone joining ``channel`` gets a welcome there."""
        if not self.channel_message:
            return False
        if self.channel_names:
            return channel.name.lower() in self.channel_names
        return channel.type is ChannelType.OPEN


def render(message: str, *, username: str, channel: str = "", team: str = "") -> str:
    """``message`` with its placeholders filled in; an unknown ``$word`` stays as it is."""
    return Template(message).safe_substitute(username=username, channel=channel, team=team)


class WelcomeBot(Plugin[Settings]):
    """Greets people, as its bot, where they arrive."""

    bot_id = ""

    @property
    def welcomed(self) -> AsyncCollection[datetime]:
        """When each user was welcomed to each channel or team, by ``<place id>:<user id>``."""
        return self.async_kv.collection("welcomed", datetime)

    @override
    async def on_activate(self) -> None:
        self.bot_id = await self.async_ensure_bot(
            "welcome", display_name="Welcome bot", description="Greets people as they arrive"
        )

    @override
    async def user_has_joined_channel(
        self, context: PluginContext, member: ChannelMember, actor: User | None
    ) -> None:
        settings = self.settings  # one snapshot for the whole call
        api = self.async_api
        channel, user = await asyncio.gather(
            api.get_channel(member.channel_id), api.get_user(member.user_id)
        )
        if user.is_bot or not settings.welcomes_in(channel):
            return
        if not await self.first_welcome(channel.id, user.id):
            return
        message = await self.channel_welcome(settings, channel, user)
        await api.create_post(channel_id=channel.id, user_id=self.bot_id, message=message)
        self.logger.info("welcomed", extra={"user_id": user.id, "channel_id": channel.id})

    @override
    async def user_has_joined_team(
        self, context: PluginContext, member: TeamMember, actor: User | None
    ) -> None:
        settings = self.settings
        if not settings.team_message:
            return
        api = self.async_api
        team, user = await asyncio.gather(
            api.get_team(member.team_id), api.get_user(member.user_id)
        )
        if user.is_bot or not await self.first_welcome(team.id, user.id):
            return
        message = render(settings.team_message, username=user.username, team=team.display_name)
        direct = await api.get_direct_channel(self.bot_id, user.id)
        await api.create_post(channel_id=direct.id, user_id=self.bot_id, message=message)
        self.logger.info("welcomed", extra={"user_id": user.id, "team_id": team.id})

    async def first_welcome(self, place_id: str, user_id: str) -> bool:
        """Record that the user is welcomed to a channel or team now; ``False`` when they
        were before. A compare-and-set (``update``) decides, so two calls cannot both win."""
        first = False

        def mark(welcomed_at: datetime | None) -> datetime:
            nonlocal first  # update() may run this more than once: the last run decides
            first = welcomed_at is None
            return welcomed_at or now()  # unchanged: nothing is written

        await self.welcomed.update(f"{place_id}:{user_id}", mark)
        return first

    @command("welcome preview")
    async def preview(self, args: CommandArgs) -> str:
        """Show the welcome of this channel, as someone joining it would see it."""
        settings = self.settings
        api = self.async_api
        channel, user = await asyncio.gather(
            api.get_channel(args.channel_id), api.get_user(args.user_id)
        )
        if not settings.welcomes_in(channel):
            return "Nobody is welcomed in this channel."
        return await self.channel_welcome(settings, channel, user)

    async def channel_welcome(self, settings: Settings, channel: Channel, user: User) -> str:
        """The welcome ``user`` gets on joining ``channel``."""
        team = await self.async_api.get_team(channel.team_id)
        return render(
            settings.channel_message,
            username=user.username,
            channel=channel.name,
            team=team.display_name,
        )


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(WelcomeBot)
