"""Rejects and rewrites posts, the two outcomes of MessageWillBePosted the playground shows."""

from __future__ import annotations

from mattermost_plugin import HookName, Plugin, hook
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

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if "badword" in post.message:
            return None, "mind your language"
        if "darn" in post.message:
            post.message = post.message.replace("darn", "d**n")
            return post, ""
        return post, ""

    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        text = args.command.partition(" ")[2] or "nothing to say"
        return CommandResponse(response_type="in_channel", text=text.upper() + "!")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(Censor)
