"""The SDK side of the command benchmark: ``/bench add <count> <text...>`` as an @command."""

from mattermost_plugin import Plugin
from mattermost_plugin.commands import Text, command


class TypedCommandPlugin(Plugin):
    @command("bench add")
    def add(self, count: int, text: Text) -> str:
        return f"added {count}: {text}"


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(TypedCommandPlugin)
