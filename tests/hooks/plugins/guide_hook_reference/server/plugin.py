# mypy: allow-untyped-defs
# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's Hook Reference snippets, as written, in one plugin class; the guide's
# "Testing Your Plugin" test imports MyPlugin from here. The helpers the snippets call
# (is_valid, contains_spam, sanitize, is_blocked) are the guide's, left undefined there.
import re

from mattermost_plugin import Plugin, hook, HookName
from mattermost_plugin.models import Post

SPAM_PHRASES = ("spam", "buy now", "free money")
BAD_WORDS = ("darn", "heck")
BLOCKED_USER_IDS = frozenset({"blocked-user-id"})


class MyPlugin(Plugin):
    # -- helpers the snippets use ---------------------------------------------------------
    def contains_spam(self, post: Post) -> bool:
        text = post.message.lower()
        return any(phrase in text for phrase in SPAM_PHRASES)

    def sanitize(self, message: str) -> str:
        for word in BAD_WORDS:
            message = re.sub(word, "*" * len(word), message, flags=re.IGNORECASE)
        return message

    def is_valid(self, post: Post) -> bool:
        return not self.contains_spam(post) and self.sanitize(post.message) == post.message

    def is_blocked(self, user_id: str) -> bool:
        return user_id in BLOCKED_USER_IDS

    # -- Lifecycle Hooks ------------------------------------------------------------------
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.logger.info("Plugin activated!")

    @hook(HookName.OnDeactivate)
    def on_deactivate(self) -> None:
        self.logger.info("Plugin deactivated!")

    @hook(HookName.OnConfigurationChange)
    def on_config_change(self) -> None:
        self.logger.info("Configuration changed!")

    # -- Message Hooks: Allow/Reject/Modify Pattern ---------------------------------------
    @hook(HookName.MessageWillBePosted)
    def filter_message(self, context, post):
        # Allow: return the post (optionally modified) with empty rejection
        if self.is_valid(post):
            return post, ""

        # Reject: return None with rejection reason
        if self.contains_spam(post):
            return None, "Message rejected: spam detected"

        # Modify: modify the post and return it
        post.message = self.sanitize(post.message)
        return post, ""

    # -- User Hooks -----------------------------------------------------------------------
    @hook(HookName.UserWillLogIn)
    def on_user_login(self, context, user):
        if self.is_blocked(user.id):
            return "Login blocked by plugin"
        return ""  # Allow login

    # -- Channel and Team Hooks -----------------------------------------------------------
    @hook(HookName.UserHasJoinedChannel)
    def on_user_joined(self, context, channel_member, actor_id):
        self.logger.info(
            f"User {channel_member.user_id} joined channel {channel_member.channel_id}"
        )

    # -- Command Hook ---------------------------------------------------------------------
    @hook(HookName.ExecuteCommand)
    def execute_command(self, context, args):
        if args.command == "/hello":
            return {
                "response_type": "ephemeral",
                "text": "Hello from Python!"
            }
        return {"response_type": "ephemeral", "text": "Unknown command"}


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
