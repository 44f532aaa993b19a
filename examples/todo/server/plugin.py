"""To do: a Mattermost plugin written in Python.

    /todo add --due 2030-01-31 buy milk   add an item (without a title, a dialog asks)
    /todo list                            your open items, each with a Done button
    /todo done 2                          mark item #2 done
    GET /plugins/com.example.todo/items   your items, as JSON

Each user's list is one KV value, changed with compare-and-set so that two clicks at once
cannot lose an update.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI
from mattermost_plugin import (
    ActionRequest,
    ActionResponse,
    DialogResponse,
    DialogSubmission,
    Plugin,
    PluginAPIClient,
    action,
    dialog,
    mount_asgi,
)
from mattermost_plugin.commands import Text, UsageError, command
from mattermost_plugin.integrations.fastapi import API, UserId, handle_api_errors
from mattermost_plugin.interactive import Attachment, Button, Dialog, TextElement
from mattermost_plugin.models import CommandArgs, Post
from pydantic import BaseModel
from typing_extensions import override

T = TypeVar("T")


class Item(BaseModel):
    """One thing to do."""

    id: int
    title: str
    due: datetime.date | None = None
    done: bool = False

    def line(self) -> str:
        """The item as a list shows it: number, title, due date; struck through when done."""
        due = f" (due {self.due.isoformat()})" if self.due else ""
        text = f"#{self.id} {self.title}{due}"
        return f"~~{text}~~" if self.done else text


class TodoList(BaseModel):
    """One user's list, as stored in the KV store."""

    next_id: int = 1
    items: list[Item] = []

    def add(self, title: str, due: datetime.date | None) -> Item:
        """Add an item with the next number."""
        item = Item(id=self.next_id, title=title, due=due)
        self.items.append(item)
        self.next_id += 1
        return item

    def complete(self, item_id: int) -> Item:
        """Mark the item ``item_id`` done (raises ``LookupError`` when there is none)."""
        for item in self.items:
            if item.id == item_id:
                item.done = True
                return item
        raise LookupError(f"There is no item #{item_id}.")

    def open_items(self) -> list[Item]:
        """The items not done yet."""
        return [item for item in self.items if not item.done]


class ItemRef(BaseModel):
    """What a Done button carries (signed by the SDK: users cannot change it)."""

    id: int


class NewItem(BaseModel):
    """What the "add" dialog submits, typed: a bad date is shown next to its field."""

    title: str
    due: datetime.date | None = None


def _key(user_id: str) -> str:
    """The KV key of a user's list."""
    return f"todo:{user_id}"


def load(api: PluginAPIClient, user_id: str) -> TodoList:
    """A user's list (empty when they have none)."""
    return api.kv_get_as(_key(user_id), TodoList) or TodoList()


def change(api: PluginAPIClient, user_id: str, edit: Callable[[TodoList], T]) -> T:
    """Apply ``edit`` to the user's list and store it, retrying if it changed meanwhile."""
    for _ in range(10):
        old = api.kv_get(_key(user_id)) or b""
        todo = TodoList.model_validate_json(old) if old else TodoList()
        result = edit(todo)
        if api.kv_compare_and_set(_key(user_id), old, todo.model_dump_json().encode()):
            return result
    raise RuntimeError("the list kept changing; try again")


def parse_due(text: str | None) -> datetime.date | None:
    """The ``--due`` option as a date (raises ``UsageError``, shown to the user, when it is
    not one)."""
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"Invalid due: expected a date like 2030-01-31, got {text!r}.") from None


ADD_DIALOG = Dialog(
    "add",
    title="Add an item",
    submit_label="Add",
    elements=[
        TextElement("title", "Title", max_length=100, placeholder="What is there to do?"),
        TextElement("due", "Due date", optional=True, placeholder="YYYY-MM-DD"),
    ],
)

app = FastAPI()
handle_api_errors(app)


@app.get("/items")
def my_items(user_id: UserId, api: API) -> list[Item]:
    """The logged-in user's items (401 without a session)."""
    return load(api, user_id).items


class TodoPlugin(Plugin):
    """The commands, the Done button, the add dialog, and the web app mounted on ServeHTTP."""

    serve_http = mount_asgi(app)
    bot_id = ""

    @override
    def on_activate(self) -> None:
        """Make sure the bot that shows the lists exists."""
        self.bot_id = self.ensure_bot("todo", display_name="To do")

    def list_post(self, channel_id: str, todo: TodoList) -> tuple[Post, list[Attachment]]:
        """The message and attachments showing a list, a Done button for each open item."""
        items = todo.open_items()
        message = f"You have {len(items)} open item(s)." if items else "Nothing to do."
        attachments = [
            Attachment(
                text=item.line(),
                actions=[Button("Done", action="done", context=ItemRef(id=item.id))],
            )
            for item in items
        ]
        return Post(channel_id=channel_id, user_id=self.bot_id, message=message), attachments

    @command("todo add")
    def add(self, args: CommandArgs, title: Text = "", *, due: str | None = None) -> str | None:
        """Add an item to your list (without a title, a dialog asks for it).

        Args:
            title: what there is to do.
            due: when it is due, as 2030-01-31.
        """
        if not title:
            self.interactive.open_dialog(args, ADD_DIALOG)
            return None
        day = parse_due(due)
        item = change(self.api, args.user_id, lambda todo: todo.add(title, day))
        return f"Added {item.line()}"

    @command("todo list")
    def list_items(self, args: CommandArgs) -> None:
        """Show your open items, each with a Done button."""
        post, attachments = self.list_post(args.channel_id, load(self.api, args.user_id))
        signed = self.interactive.with_attachments(post, attachments, ephemeral=True)
        self.api.send_ephemeral_post(args.user_id, signed)

    @command("todo done")
    def done(self, args: CommandArgs, item: int) -> str:
        """Mark an item done.

        Args:
            item: the item's number.
        """
        try:
            finished = change(self.api, args.user_id, lambda todo: todo.complete(item))
        except LookupError as exc:
            raise UsageError(str(exc)) from None
        return f"Done: {finished.line()}"

    @action("done")
    def done_clicked(self, request: ActionRequest[ItemRef]) -> ActionResponse:
        """The Done button: mark the item done and show the list again without it."""
        item_id = request.context.id

        def complete(todo: TodoList) -> TodoList:
            todo.complete(item_id)
            return todo

        try:
            todo = change(self.api, request.user_id, complete)
        except LookupError as exc:
            return ActionResponse(str(exc))
        post, attachments = self.list_post(request.channel_id, todo)
        return ActionResponse(update=post, attachments=attachments)

    @dialog("add")
    def add_submitted(self, submission: DialogSubmission[NewItem]) -> DialogResponse | None:
        """The "add" dialog: a date in the past keeps it open, with the reason by the field."""
        new = submission.data
        if new.due is not None and new.due < datetime.date.today():
            return DialogResponse({"due": "That date has passed."})
        item = change(self.api, submission.user_id, lambda todo: todo.add(new.title, new.due))
        if submission.channel_id:
            note = Post(
                channel_id=submission.channel_id,
                user_id=self.bot_id,
                message=f"Added {item.line()}",
            )
            self.api.send_ephemeral_post(submission.user_id, note)
        return None


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(TodoPlugin)
