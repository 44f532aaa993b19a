"""Reacts to what the dev server's REST API does, the way plugins are tried by hand."""

from __future__ import annotations

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import (
    ChannelMember,
    Command,
    CommandArgs,
    CommandResponse,
    Dialog,
    FileInfo,
    OpenDialogRequest,
    PluginContext,
    Post,
    Reaction,
    User,
    WebsocketBroadcast,
)


class Reactor(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.api.register_command(Command(trigger="dialog"))
        self.api.register_command(Command(trigger="whisper"))
        self.logger.info("reactor activated")

    @hook(HookName.UserHasJoinedChannel)
    def user_has_joined_channel(
        self, context: PluginContext, member: ChannelMember, actor: User | None
    ) -> None:
        self.logger.info("joined", extra={"user_id": member.user_id})
        self.api.publish_websocket_event(
            "joined",
            {"user_id": member.user_id, "actor": actor.id if actor else ""},
            WebsocketBroadcast(channel_id=member.channel_id),
        )

    @hook(HookName.FileWillBeUploaded)
    def file_will_be_uploaded(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes
    ) -> tuple[FileInfo | None, bytes | None, str]:
        if file_info.name.startswith("virus"):
            return None, None, "no viruses here"
        if file_info.name.startswith("shout-"):
            return file_info, file_content.upper(), ""
        return file_info, file_content, ""

    @hook(HookName.UserWillLogIn)
    def user_will_log_in(self, context: PluginContext, user: User) -> str:
        return "blocked users stay out" if user.username == "blocked" else ""

    @hook(HookName.MessageWillBeUpdated)
    def message_will_be_updated(
        self, context: PluginContext, new_post: Post, old_post: Post
    ) -> tuple[Post | None, str]:
        if "forbidden" in new_post.message:
            return None, "that edit is forbidden"
        return new_post, ""

    @hook(HookName.ReactionHasBeenAdded)
    def reaction_has_been_added(self, context: PluginContext, reaction: Reaction) -> None:
        self.logger.warning("reaction", extra={"emoji": reaction.emoji_name})

    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        if args.command.startswith("/dialog"):
            self.api.open_interactive_dialog(
                OpenDialogRequest(
                    trigger_id=args.trigger_id,
                    url="/plugins/com.example.reactor/dialog",
                    dialog=Dialog(callback_id="ask", title="Ask"),
                )
            )
            return CommandResponse(response_type="ephemeral", text="")
        return CommandResponse(response_type="ephemeral", text="psst")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(Reactor)
