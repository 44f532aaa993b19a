"""The smallest useful plugin: what spawn time and idle memory are measured on."""

from mattermost_plugin import HookName, Plugin, hook


class MinimalPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.logger.info("activated")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(MinimalPlugin)
