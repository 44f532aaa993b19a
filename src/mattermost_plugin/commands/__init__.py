"""Typed slash commands: ``@command`` methods whose parameters are the command's arguments.

::

    from mattermost_plugin import Plugin
    from mattermost_plugin.commands import Text, command
    from mattermost_plugin.models import User


    class TodoPlugin(Plugin):
        @command("todo add")
        def add(self, title: Text) -> str:
            \"\"\"Add an item to your list.\"\"\"
            ...
            return f"Added {title!r}."

        @command("todo assign")
        def assign(self, item: int, assignee: User) -> str:
            \"\"\"Give an item to someone.\"\"\"
            return f"#{item} is now @{assignee.username}'s."

The SDK registers ``/todo`` on activation, parses ``/todo assign 3 @alice`` into
``(3, User(...))``, answers ``/todo help`` (and a bare ``/todo``) with the usage of each
subcommand, and answers a wrong or missing argument with an ephemeral usage message naming
it. See ``docs/commands.md`` for the argument types and the rules of the command line.
"""

from __future__ import annotations

from mattermost_plugin.commands._declare import Greedy, Text, UsageError, command

__all__ = ["Greedy", "Text", "UsageError", "command"]
