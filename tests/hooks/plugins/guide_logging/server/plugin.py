# mypy: allow-untyped-defs
# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's "Logger Access" (SDK Reference) and "Logging Guidelines" (Best Practices)
# snippets, as written. The guidelines' lines use channel_id, user_id and error, which the
# guide leaves undefined: here they come from a posted message.
from mattermost_plugin import Plugin, hook, HookName


class MyPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.logger.debug("Debug message")
        self.logger.info("Info message")
        self.logger.warning("Warning message")
        self.logger.error("Error message")

    @hook(HookName.MessageHasBeenPosted)
    def on_message(self, context, post):
        channel_id, user_id = post.channel_id, post.user_id
        error = "the webhook answered 502"
        self.logger.debug(f"Processing message in channel {channel_id}")
        self.logger.info(f"User {user_id} action completed")
        self.logger.warning(f"Rate limit approaching for user {user_id}")
        self.logger.error(f"Failed to process webhook: {error}")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
