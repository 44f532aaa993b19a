"""Buttons, menus and dialogs in a real plugin (tests/interactive): every kind of answer,
typed and untyped contexts and forms, sync and async handlers, a failing handler, and its
own ServeHTTP routes next to the SDK's reserved prefix."""

from __future__ import annotations

import datetime

from pydantic import BaseModel, field_validator

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.commands import Text, command
from mattermost_plugin.interactive import (
    ActionRequest,
    ActionResponse,
    Attachment,
    BoolElement,
    Button,
    Dialog,
    DialogResponse,
    DialogSubmission,
    Option,
    RadioElement,
    Select,
    SelectElement,
    TextareaElement,
    TextElement,
    action,
    dialog,
)
from mattermost_plugin.models import CommandArgs, PluginContext, Post


class Vote(BaseModel):
    topic: str
    weight: int


class Poll(BaseModel):
    question: str
    due: datetime.date
    votes: int | None = None
    urgent: bool = False
    size: str = "m"
    owner: str | None = None

    @field_validator("question")
    @classmethod
    def not_shouting(cls, value: str) -> str:
        if value.isupper() and len(value) > 3:
            raise ValueError("no shouting")
        return value


FIELDS = [
    TextElement("question", "Question", max_length=40),
    TextElement("due", "Due", placeholder="YYYY-MM-DD"),
    TextElement("votes", "Votes", subtype="number", optional=True),
    BoolElement("urgent", "Urgent", placeholder="It is urgent"),
    RadioElement(
        "size", "Size", options=[Option("Small", "s"), Option("Medium", "m")], default="m"
    ),
    SelectElement("owner", "Owner", data_source="users", optional=True),
    TextareaElement("notes", "Notes", optional=True, min_length=3),
]


class BoardPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: object) -> dict[str, object]:
        return {"status_code": 200, "body": "own route"}

    def _buttons(self, topic: str) -> list[Attachment]:
        return [
            Attachment(
                text=f"Vote on {topic}",
                actions=[
                    Button("Up", action="vote", context=Vote(topic=topic, weight=1), style="good"),
                    Button("Down", action="vote", context={"topic": topic, "weight": -1}),
                    Select("Weight", action="weigh", options=["1", "2", "3"], context=topic),
                    Button("Raw", action="raw", context={"n": 1.5, "list": [1, "a", None]}),
                    Button("Edit", action="edit", context=topic),
                    Button("Boom", action="boom"),
                    Button("Retire", action="retire", context=topic),
                ],
            )
        ]

    @command("board post")
    def post(self, args: CommandArgs, topic: Text) -> str:
        """Post a board with buttons."""
        post = Post(channel_id=args.channel_id, user_id=args.user_id, message=f"Board: {topic}")
        created = self.api.create_post(
            self.interactive.with_attachments(post, self._buttons(topic))
        )
        return created.id

    @command("board mine")
    async def mine(self, args: CommandArgs, topic: Text) -> str:
        """Post a board only you see."""
        post = Post(channel_id=args.channel_id, user_id=args.user_id, message=f"Mine: {topic}")
        signed = self.interactive.with_attachments(post, self._buttons(topic), ephemeral=True)
        sent = await self.async_api.send_ephemeral_post(args.user_id, signed)
        return sent.id

    @command("board poll")
    def poll(self, args: CommandArgs, topic: Text = "") -> None:
        """Open the poll dialog."""
        self.interactive.open_dialog(
            args,
            Dialog(
                "poll",
                title="New poll",
                elements=FIELDS,
                state={"topic": topic},
                notify_on_cancel=topic == "notify",
            ),
        )

    @action("vote")
    def vote(self, request: ActionRequest[Vote]) -> ActionResponse:
        vote = request.context
        assert request.post is not None or request.post_id
        message = request.post.message if request.post is not None else "?"
        return ActionResponse(
            f"{request.user_id} voted {vote.weight:+d} on {vote.topic} ({message}, "
            f"{request.channel_id}, {request.action_id})"
        )

    @action("weigh")
    async def weigh(self, request: ActionRequest[str]) -> str:
        return f"{request.context} weighs {request.selected_option} ({request.type})"

    @action("raw")
    def raw(self, request: ActionRequest) -> str:
        return repr(request.context)

    @action("edit")
    def edit(self, request: ActionRequest[str]) -> ActionResponse:
        if request.post is None:  # an ephemeral board: the whole post is given again
            return ActionResponse(
                update=Post(message=f"Edited: {request.context}"),
                attachments=[
                    Attachment(
                        text="again", actions=[Button("Edit", action="edit", context="again")]
                    )
                ],
            )
        return ActionResponse(
            "edited",
            attachments=[
                Attachment(
                    text="only edit", actions=[Button("Edit", action="edit", context="twice")]
                )
            ],
        )

    @action("retire")
    def retire(self, request: ActionRequest[str]) -> ActionResponse:
        self.interactive.open_dialog(
            request, Dialog("poll", title="Retire?", elements=FIELDS[:1], state="retire")
        )
        return ActionResponse(
            update=Post(message=f"{request.context}: retired"),
            goto_location="https://example.com/r",
        )

    @action("boom")
    def boom(self, request: ActionRequest) -> str:
        raise RuntimeError("the boom button exploded")

    @dialog("poll")
    def poll_submitted(self, submission: DialogSubmission[Poll]) -> DialogResponse | str | None:
        if submission.cancelled:
            self.api.kv_set("poll-cancelled", submission.user_id)
            return None
        poll = submission.data
        if poll.due < datetime.date(2000, 1, 1):
            return DialogResponse({"due": "too long ago"})
        if poll.question == "error":
            return "general trouble"
        self.api.kv_set(
            "poll",
            {
                "poll": poll.model_dump(mode="json"),
                "state": submission.state,
                "values": submission.values,
                "user": submission.user_id,
            },
        )
        return None


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(BoardPlugin)
