"""What the playground shows besides the to-do example: MessageWillBePosted rejecting and
rewriting posts, an in-channel command answer, and a menu on a post."""

from __future__ import annotations

from mattermost_plugin import ActionRequest, ActionResponse, HookName, Plugin, action, hook
from mattermost_plugin.interactive import Attachment, Select
from mattermost_plugin.models import Command, CommandArgs, CommandResponse, PluginContext, Post


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

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if "badword" in post.message:
            return None, "mind your language"
        if "darn" in post.message:
            post.message = post.message.replace("darn", "d**n")
        return post, ""

    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
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


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(Censor)
