"""A to-do list in slash commands only: no hook handler of its own (tests/commands).

Every argument type the commands layer offers appears once: greedy text, an Enum option, a
yes/no flag, int, float, Literal, a user and a channel mention, optional parameters, and the
invocation (CommandArgs, PluginContext) asked for by type.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Literal

from pydantic import BaseModel

from mattermost_plugin import Plugin
from mattermost_plugin.commands import Text, UsageError, command
from mattermost_plugin.models import Channel, CommandArgs, CommandResponse, PluginContext, User


class Priority(enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Item(BaseModel):
    title: str
    priority: str = "normal"
    done: bool = False
    assignee: str = ""
    hours: float = 0.0


class TodoPlugin(Plugin):
    def _items(self, user_id: str) -> list[Item]:
        return self.api.kv_get_as(f"todo:{user_id}", list[Item]) or []

    def _save(self, user_id: str, items: list[Item]) -> None:
        self.api.kv_set(f"todo:{user_id}", [item.model_dump() for item in items])

    def _item(self, items: list[Item], number: int) -> Item:
        if not 1 <= number <= len(items):
            raise UsageError(f"There is no item #{number}.", param="item")
        return items[number - 1]

    @command("todo add")
    def add(self, args: CommandArgs, title: Text, *, priority: Priority = Priority.NORMAL) -> str:
        """Add an item to your list.

        Args:
            title: what there is to do.
            priority: how soon it matters.
        """
        items = self._items(args.user_id)
        items.append(Item(title=title, priority=priority.value))
        self._save(args.user_id, items)
        return f"Added #{len(items)}: {title} ({priority.value})"

    @command("todo list")
    async def list_items(self, args: CommandArgs, *, all: bool = False) -> str:
        """Show your list (open items; --all for done ones too)."""
        items = self._items(args.user_id)
        shown = [
            f"{number}. {'~~' if item.done else ''}{item.title}{'~~' if item.done else ''}"
            for number, item in enumerate(items, 1)
            if all or not item.done
        ]
        return "\n".join(shown) or "Nothing to do."

    @command("todo done")
    def done(self, args: CommandArgs, item: int) -> str:
        """Mark an item done."""
        items = self._items(args.user_id)
        self._item(items, item).done = True
        self._save(args.user_id, items)
        return f"Done: #{item}"

    @command("todo assign")
    def assign(self, args: CommandArgs, item: int, assignee: User) -> str:
        """Give an item to someone."""
        items = self._items(args.user_id)
        self._item(items, item).assignee = assignee.id
        self._save(args.user_id, items)
        return f"#{item} is now @{assignee.username}'s"

    @command("todo share")
    def share(self, args: CommandArgs, item: int, channel: Channel) -> CommandResponse:
        """Post an item in a channel."""
        entry = self._item(self._items(args.user_id), item)
        return CommandResponse(
            response_type="in_channel", channel_id=channel.id, text=f"To do: {entry.title}"
        )

    @command("todo estimate")
    def estimate(
        self, args: CommandArgs, item: int, amount: float, unit: Literal["h", "d"] = "h"
    ) -> str:
        """Say how long an item takes.

        Args:
            amount: how many units.
            unit: hours or days.
        """
        items = self._items(args.user_id)
        hours = amount * (8 if unit == "d" else 1)
        self._item(items, item).hours = hours
        self._save(args.user_id, items)
        return f"#{item}: {hours:g} h"

    @command("todo where")
    async def where(self, context: PluginContext, args: CommandArgs) -> str:
        """Say where the command ran."""
        await asyncio.sleep(0)
        return f"user={args.user_id} channel={args.channel_id} request={bool(context.request_id)}"

    @command("todo broken")
    def broken(self) -> str:
        """Fail, for the tests."""
        raise RuntimeError("the handler broke")

    @command("echo")
    def echo(self, word: str, times: int = 1, *, shout: bool = False) -> str | None:
        """Repeat a word (quote it to keep its spaces)."""
        if times == 0:
            return None
        text = " ".join([word] * times)
        return text.upper() if shout else text


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(TodoPlugin)
