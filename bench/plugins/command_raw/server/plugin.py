"""The baseline of the command benchmark: the same command in a hand-written ExecuteCommand
handler, as plugins write it without ``@command`` (split, convert, answer a usage text)."""

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import CommandArgs, PluginContext

USAGE = "Usage: `/bench add <count> <text...>`"


class RawCommandPlugin(Plugin):
    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> str:
        words = args.command.split(None, 3)
        if len(words) < 4 or words[0].lower() != "/bench" or words[1].lower() != "add":
            return USAGE
        try:
            count = int(words[2])
        except ValueError:
            return f"Invalid count: expected a whole number, got {words[2]!r}.\n{USAGE}"
        return f"added {count}: {words[3]}"


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(RawCommandPlugin)
