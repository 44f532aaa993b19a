"""Handlers named after their hooks, with ``@override`` (tests/hooks/test_typed_hooks.py).

No ``@hook`` but on ``filter_edit``: ``Plugin`` registers a method named after a hook as its
handler, and mypy checks it against the hook's declaration (tests/typed_hooks).
"""

from __future__ import annotations

from typing_extensions import override

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import CommandArgs, CommandResponse, PluginContext, Post, User


class TypedPlugin(Plugin):
    @override
    def on_activate(self) -> None:
        self.logger.info("typed activated", extra={"plugin_id": self.api.get_plugin_id()})

    @override
    async def message_will_be_posted(
        self, context: PluginContext, post: Post
    ) -> tuple[Post | None, str]:
        if "spam" in post.message:
            return None, "no spam"
        return post.model_copy(update={"message": post.message.upper()}), ""

    @override
    def user_will_log_in(self, context: PluginContext, user: User) -> str:
        return "locked" if user.username == "locked" else ""

    @override
    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        return CommandResponse(response_type="ephemeral", text=f"ran {args.command}")

    @hook(HookName.MessageWillBeUpdated)
    def filter_edit(self, context: PluginContext, new_post: Post, old_post: Post) -> None:
        pass

    def helper(self) -> str:  # not a hook: never registered
        return "help"


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(TypedPlugin)
