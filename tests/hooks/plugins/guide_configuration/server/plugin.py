# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's Best Practices, "Configuration", as written. The /config command is not in
# the guide: it shows the test what the plugin loaded.
from mattermost_plugin import Plugin, hook, HookName
from mattermost_plugin.models import CommandArgs, CommandResponse, PluginContext


class MyPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        config = self.api.get_plugin_config()
        self.api_key = config.get("api_key", "")
        self.enabled_features = config.get("features", [])

    @hook(HookName.OnConfigurationChange)
    def on_config_change(self) -> None:
        # Reload configuration
        config = self.api.get_plugin_config()
        self.api_key = config.get("api_key", "")

    @hook(HookName.ExecuteCommand)
    def show_config(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        text = f"api_key={self.api_key!r} features={self.enabled_features!r}"
        return CommandResponse(response_type="ephemeral", text=text)


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
