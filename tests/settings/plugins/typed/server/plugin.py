"""A plugin with a settings model and no OnConfigurationChange handler (tests/settings).
Its handlers report what they read from ``self.settings``."""

from __future__ import annotations

import asyncio
import enum
import os
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import Command, CommandArgs, PluginContext, Post
from mattermost_plugin.settings import SettingsError, setting


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Settings(BaseModel):
    """Filter settings."""

    enabled: bool = setting(True, display_name="Enable the filter")
    max_links: int = setting(3, help_text="Links a post may contain.")
    ratio: float = 0.5
    greeting: str = setting("hi", kind="longtext", section="Texts")
    api_key: SecretStr = setting(SecretStr(""), display_name="API key")
    mode: Literal["strict", "lenient"] = setting("strict", kind="radio")
    level: Level = Level.LOW
    # An invariant across two fields: a handler must never see a mix of two versions.
    version: int = Field(0, ge=0)
    version_twice: int = 0


class TypedSettingsPlugin(Plugin[Settings]):
    settings_required = os.environ.get("SETTINGS_REQUIRED") == "1"
    reject_invalid_settings = True
    changes: list[str] = []  # noqa: RUF012 - one plugin object per process

    def on_settings_changed(self, old: Settings | None, new: Settings) -> None:
        self.changes.append(f"{old.max_links if old else None}->{new.max_links}")
        self.logger.info("settings changed", extra={"max_links": new.max_links})

    async def on_settings_invalid(self, error: SettingsError) -> None:
        self.logger.warning("settings invalid", extra={"fields": sorted(error.problems)})

    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        for trigger in ("report", "changes", "save"):
            self.api.register_command(Command(trigger=trigger))

    @hook(HookName.ExecuteCommand)
    async def execute_command(self, context: PluginContext, args: CommandArgs) -> str:
        if args.command == "/changes":
            return " ".join(self.changes)
        if args.command.startswith("/save "):
            await self.async_api.save_plugin_config({"max_links": int(args.command.split()[1])})
            return "saved"
        try:
            settings = self.settings
        except SettingsError as exc:
            return f"error: {exc}"
        await asyncio.sleep(0)
        return (
            f"enabled={settings.enabled} max_links={settings.max_links} ratio={settings.ratio} "
            f"mode={settings.mode} level={settings.level.value} "
            f"key={settings.api_key.get_secret_value()}"
        )

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> Post | None:
        first = self.settings
        seen = set()
        for _ in range(200):  # read again and again while new settings may arrive
            current = self.settings
            seen.add((current.version, current.version_twice, current is first))
        mixed = [v for v in seen if v[0] * 2 != v[1] or not v[2]]
        return post.model_copy(update={"message": f"mixed={len(mixed)} v={first.version}"})


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(TypedSettingsPlugin)
