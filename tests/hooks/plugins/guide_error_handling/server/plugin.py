# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's Best Practices, "Error Handling", as written, with the initialize() it calls:
# it needs a "database_url" in the plugin's settings.
from mattermost_plugin import Plugin, hook, HookName


class MyPlugin(Plugin):
    def initialize(self) -> None:
        config = self.api.get_plugin_config()
        if not config.get("database_url"):
            raise ValueError("database_url is not configured")
        self.logger.info("Initialized", extra={"database_url": config["database_url"]})

    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        try:
            self.initialize()
        except Exception as e:
            self.logger.error(f"Failed to initialize: {e}")
            raise  # Re-raise to indicate activation failure


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
