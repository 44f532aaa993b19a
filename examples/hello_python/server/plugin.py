"""Hello Python: the example plugin of the user guide, completed.

It shows the lifecycle hooks (OnActivate, OnDeactivate), a message filter
(MessageWillBePosted), a slash command (/hello through ExecuteCommand), the API client and
logging.
"""

from __future__ import annotations

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import Command, CommandArgs, CommandResponse, PluginContext, Post

BLOCKED_WORDS = ("badword",)


class HelloPythonPlugin(Plugin):
    """The guide's plugin: each handler is a method marked with ``@hook``."""

    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        """Log the server's version and register /hello."""
        self.logger.info("Hello Python plugin activated!")
        version = self.api.get_server_version()
        self.logger.info(f"Server version: {version}")
        self.api.register_command(
            Command(
                trigger="hello",
                display_name="Hello",
                description="Say hello from Python",
                auto_complete=True,
                auto_complete_desc="Say hello from Python",
                auto_complete_hint="[name]",
            )
        )

    @hook(HookName.OnDeactivate)
    def on_deactivate(self) -> None:
        """Say goodbye in the log."""
        self.logger.info("Hello Python plugin deactivated!")

    @hook(HookName.MessageWillBePosted)
    def filter_message(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        """Reject posts with a blocked word; let the rest through unchanged."""
        for word in BLOCKED_WORDS:
            if word in post.message.lower():
                self.logger.info("Blocked a message", extra={"user_id": post.user_id})
                return None, "Message blocked"
        return post, ""

    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        """``/hello [name]``: greet the name (or the world) and the user who asked."""
        words = args.command.split()
        if not words or words[0] != "/hello":
            return CommandResponse(response_type="ephemeral", text="Unknown command")
        name = " ".join(words[1:]) or "world"
        user = self.api.get_user(args.user_id)
        self.logger.info("Said hello", extra={"user": user.username})
        return CommandResponse(
            response_type="ephemeral",
            text=f"Hello, {name}! (from Python, asked by @{user.username})",
        )


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(HelloPythonPlugin)
