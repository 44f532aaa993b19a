"""The guide's message filter (Hook Reference, "Allow/Reject/Modify Pattern")."""

from __future__ import annotations

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import PluginContext, Post

SPAM_PHRASES = ("spam", "buy now", "free money")
BAD_WORDS = ("darn", "heck")


class MyPlugin(Plugin):
    def contains_spam(self, post: Post) -> bool:
        return any(phrase in post.message.lower() for phrase in SPAM_PHRASES)

    def sanitize(self, message: str) -> str:
        for word in BAD_WORDS:
            message = message.replace(word, "*" * len(word))
        return message

    @hook(HookName.MessageWillBePosted)
    def filter_message(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if self.contains_spam(post):
            self.logger.info("Rejected spam", extra={"user_id": post.user_id})
            return None, "Message rejected: spam detected"
        post.message = self.sanitize(post.message)
        return post, ""


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(MyPlugin)
