"""``@command`` next to a plugin's own OnActivate and ExecuteCommand handlers (tests/commands):
the raw handler receives every trigger no ``@command`` claims."""

from __future__ import annotations

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.commands import command
from mattermost_plugin.models import Command, CommandArgs, PluginContext


class MixedPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> str | None:
        if self.api.get_plugin_config().get("fail"):
            return "refusing to start"
        self.api.register_command(Command(trigger="legacy", auto_complete=True))
        return None

    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> str:
        return f"raw: {args.command}"

    @command("typed hello")
    def hello(self, name: str = "world") -> str:
        """Greet someone."""
        return f"typed: hello {name}"


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(MixedPlugin)
