# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's SDK Reference, "API Client Access", as written, in a plugin class.
# The test creates "user-id", "bot-user-id" and "channel-id" in the fake server first.
from mattermost_plugin import Plugin, hook, HookName


class MyPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        # Get server info
        version = self.api.get_server_version()  # noqa: F841

        # Get user
        user = self.api.get_user("user-id")
        self.logger.info(f"User: {user.username}")

        # Create a post
        post = self.api.create_post(  # noqa: F841
            channel_id="channel-id",
            user_id="bot-user-id",
            message="Hello from Python!"
        )


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
