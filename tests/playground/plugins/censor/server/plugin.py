"""What the playground shows besides the to-do example: MessageWillBePosted rejecting and
rewriting posts, an in-channel command answer, a menu on a post, and a dialog with every
kind of field (``/survey``)."""

from __future__ import annotations

from mattermost_plugin import (
    ActionRequest,
    ActionResponse,
    DialogResponse,
    DialogSubmission,
    HookName,
    Plugin,
    action,
    dialog,
    hook,
)
from mattermost_plugin.interactive import (
    Attachment,
    BoolElement,
    Dialog,
    RadioElement,
    Select,
    SelectElement,
    TextareaElement,
)
from mattermost_plugin.models import Command, CommandArgs, CommandResponse, PluginContext, Post

SURVEY = Dialog(
    "survey",
    title="Survey",
    introduction_text="Three questions, **quickly**.",
    submit_label="Send",
    notify_on_cancel=True,
    elements=[
        SelectElement("colour", "Colour", options=["red", "green", "blue"]),
        RadioElement("size", "Size", options=["S", "M", "L"], default="M"),
        BoolElement("agree", "Terms", placeholder="I agree", optional=False),
        TextareaElement("notes", "Notes", optional=True, help_text="Anything else?"),
    ],
)


class Censor(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.api.register_command(
            Command(
                trigger="shout",
                auto_complete=True,
                auto_complete_desc="Say it louder, in the channel",
                auto_complete_hint="[text]",
            )
        )
        self.api.register_command(
            Command(trigger="pick", auto_complete=True, auto_complete_desc="Pick a colour")
        )
        self.api.register_command(
            Command(trigger="survey", auto_complete=True, auto_complete_desc="Open a dialog")
        )

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if "badword" in post.message:
            return None, "mind your language"
        if "darn" in post.message:
            post.message = post.message.replace("darn", "d**n")
        return post, ""

    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        if args.command.startswith("/survey"):
            self.interactive.open_dialog(args, SURVEY)
            return CommandResponse()
        if args.command.startswith("/pick"):
            menu = Select("Colour", action="pick", options=["red", "green", "blue"])
            post = Post(channel_id=args.channel_id, user_id=args.user_id, message="Pick a colour")
            self.api.create_post(
                self.interactive.with_attachments(post, [Attachment(actions=[menu])])
            )
            return CommandResponse()
        text = args.command.partition(" ")[2] or "nothing to say"
        return CommandResponse(response_type="in_channel", text=text.upper() + "!")

    @action("pick")
    def picked(self, request: ActionRequest) -> ActionResponse:
        """The menu: the post says what was picked, without the menu."""
        chosen = request.selected_option or "nothing"
        return ActionResponse(update=Post(message=f"You picked {chosen}"))

    @dialog("survey")
    def surveyed(self, submission: DialogSubmission) -> DialogResponse | None:
        """Says what was submitted (or that it was cancelled), only to the user; a blue
        colour is refused by its field."""
        values = submission.values
        if values.get("colour") == "blue":
            return DialogResponse({"colour": "Not blue, please."})
        shown = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
        text = "Survey cancelled" if submission.cancelled else f"Survey: {shown}"
        note = Post(channel_id=submission.channel_id, user_id=submission.user_id, message=text)
        self.api.send_ephemeral_post(submission.user_id, note)
        return None


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(Censor)
