"""Buttons, menus and dialogs: ``@action`` and ``@dialog`` handlers, typed and signed.

::

    from pydantic import BaseModel

    from mattermost_plugin import Plugin
    from mattermost_plugin.commands import command
    from mattermost_plugin.interactive import (
        ActionRequest, Attachment, Button, Dialog, DialogSubmission, TextElement, action, dialog,
    )
    from mattermost_plugin.models import CommandArgs, Post


    class Ticket(BaseModel):
        id: int


    class Feedback(BaseModel):
        comment: str


    class MyPlugin(Plugin):
        @command("ticket")
        def show(self, args: CommandArgs, ticket: int) -> None:
            post = Post(channel_id=args.channel_id, user_id=args.user_id, message=f"#{ticket}")
            buttons = [Button("Close", action="close", context=Ticket(id=ticket))]
            self.api.create_post(
                self.interactive.with_attachments(post, [Attachment(actions=buttons)])
            )

        @action("close")
        def close(self, request: ActionRequest[Ticket]) -> str:
            self.interactive.open_dialog(request, Dialog(
                "feedback", title="Why?", elements=[TextElement("comment", "Comment")]))
            return f"Closed #{request.context.id}"

        @dialog("feedback")
        def feedback(self, submission: DialogSubmission[Feedback]) -> None:
            self.logger.info(submission.data.comment)

Clicks and submissions are served by the SDK under the reserved prefix ``/_sdk/`` of the
plugin's URL, next to the plugin's own ``ServeHTTP`` routes. The context a button carries
and the state of a dialog are signed with a key kept in the plugin's KV store; a request
that does not carry a valid signature for what it claims is answered 403 and logged. See
``docs/interactive.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mattermost_plugin.interactive._declare import action, dialog
from mattermost_plugin.interactive._dialogs import (
    BoolElement,
    Dialog,
    Element,
    RadioElement,
    SelectElement,
    TextareaElement,
    TextElement,
)
from mattermost_plugin.interactive._interactions import Interactions
from mattermost_plugin.interactive._messages import (
    ACTION_PREFIX,
    DIALOG_PREFIX,
    Attachment,
    AttachmentField,
    Button,
    Option,
    Select,
)
from mattermost_plugin.interactive._requests import (
    ActionRequest,
    ActionResponse,
    DialogResponse,
    DialogSubmission,
)
from mattermost_plugin.interactive._signing import KEY_NAME

if TYPE_CHECKING:
    from mattermost_plugin.interactive._wire import (
        PostActionAPIResponse,
        PostActionIntegrationRequest,
        PostActionIntegrationResponse,
        SubmitDialogRequest,
        SubmitDialogResponse,
    )

__all__ = [
    "ACTION_PREFIX",
    "DIALOG_PREFIX",
    "KEY_NAME",
    "ActionRequest",
    "ActionResponse",
    "Attachment",
    "AttachmentField",
    "BoolElement",
    "Button",
    "Dialog",
    "DialogResponse",
    "DialogSubmission",
    "Element",
    "Interactions",
    "Option",
    "PostActionAPIResponse",
    "PostActionIntegrationRequest",
    "PostActionIntegrationResponse",
    "RadioElement",
    "Select",
    "SelectElement",
    "SubmitDialogRequest",
    "SubmitDialogResponse",
    "TextElement",
    "TextareaElement",
    "action",
    "dialog",
]


# The server's JSON models load with the first click or submission, not with the module.
_WIRE = frozenset(
    {
        "PostActionAPIResponse",
        "PostActionIntegrationRequest",
        "PostActionIntegrationResponse",
        "SubmitDialogRequest",
        "SubmitDialogResponse",
    }
)


def __getattr__(name: str) -> Any:
    if name not in _WIRE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from mattermost_plugin.interactive import _wire

    value = getattr(_wire, name)
    globals()[name] = value
    return value
