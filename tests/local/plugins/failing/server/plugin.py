"""Fails on demand, each time a few calls deep in its own code (tests of tracebacks)."""

from __future__ import annotations

from mattermost_plugin import Plugin
from mattermost_plugin.models import Command, CommandArgs, CommandResponse, PluginContext, Post


def parse_count(text: str) -> int:
    return int(text)


class Failing(Plugin):
    def on_configuration_change(self) -> None:
        limit = self.api.get_plugin_config().get("limit")
        if limit is not None:
            parse_count(str(limit))

    def on_activate(self) -> None:
        if self.api.get_plugin_config().get("fail_activate"):
            self.connect()
        self.api.register_command(Command(trigger="count"))

    def connect(self) -> None:
        raise ConnectionError("no database at db.invalid")

    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post, str]:
        parse_count(post.message)
        return post, ""

    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        return CommandResponse(text=str(parse_count(args.command.removeprefix("/count "))))


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(Failing)
