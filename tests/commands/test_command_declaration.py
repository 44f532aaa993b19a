"""What the plugin class checks when it is defined, and what commands contribute to it."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.commands import Greedy, Text, command
from mattermost_plugin.commands._help import parameter_docs
from mattermost_plugin.commands._routing import table_for
from mattermost_plugin.models import CommandArgs, PluginContext


def test_many_commands_bring_one_router() -> None:
    class Tools(Plugin):
        @command("tool a")
        def a(self) -> None: ...

        @command("tool b")
        def b(self) -> None: ...

        @command("other")
        async def other(self) -> None: ...

    assert [(item.hook, item.name) for item in Tools.listeners()] == [
        ("OnActivate", "commands"),
        ("ExecuteCommand", "commands"),
    ]
    assert Tools.implemented_hooks() == ["OnActivate", "ExecuteCommand"]
    # The methods stay plain methods.
    assert Tools().a() is None


def test_subclasses_inherit_replace_and_drop_commands() -> None:
    class Base(Plugin):
        @command("base one")
        def one(self) -> str:
            return "base"

        @command("base two")
        def two(self) -> None: ...

    class Child(Base):
        @command("base one")
        def one(self) -> str:  # the same command, a new handler
            return "child"

        two = None  # type: ignore[assignment]  # dropped

        @command("child")
        def three(self) -> None: ...

    assert [leaf.name for leaf in table_for(Child).leaves] == ["base one", "child"]
    assert [leaf.name for leaf in table_for(Base).leaves] == ["base one", "base two"]
    assert len(Child.listeners()) == 2


def test_a_raw_handler_and_commands_together() -> None:
    class Both(Plugin):
        @hook(HookName.ExecuteCommand)
        def execute_command(self, context: PluginContext, args: CommandArgs) -> str:
            return "raw"

        @command("typed")
        def typed(self) -> None: ...

    assert Both.implemented_hooks() == ["OnActivate", "ExecuteCommand"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "@command('todo')\ndef a(self) -> None: ...\n"
            "@command('todo add')\ndef b(self) -> None: ...",
            "/todo (a) is a command, so it cannot also have subcommands",
        ),
        (
            "@command('todo add')\ndef a(self) -> None: ...\n"
            "@command('todo')\ndef b(self) -> None: ...",
            "/todo has subcommands (/todo add), so it cannot also be a command",
        ),
        (
            "@command('x')\ndef a(self) -> None: ...\n@command('X')\ndef b(self) -> None: ...",
            "/x is already handled by a",
        ),
        ("@command('x')\ndef a(self, items: list[int]) -> None: ...", "parameter items: "),
        ("@command('x')\ndef a(self, *words: str) -> None: ...", "*words and **words cannot"),
        (
            "@command('x')\ndef a(self, text: Text, count: int) -> None: ...",
            "text takes the rest of the line, so it must be the last parameter",
        ),
        (
            "@command('x')\ndef a(self, n: Annotated[int, Greedy]) -> None: ...",
            "Greedy applies to str parameters",
        ),
        (
            "@command('x')\ndef a(self, *, text: Text = '') -> None: ...",
            "a Greedy parameter cannot be keyword-only",
        ),
        (
            "@command('x')\ndef a(self, size: Literal[1.5, 2.5]) -> None: ...",
            "Literal choices must be strings or integers",
        ),
        ("@command('x')\ndef a() -> None: ...", "a command handler is a method"),
        (
            "@command('activate')\ndef on_activate(self) -> None: ...",
            "on_activate is the name of the OnActivate hook's handler",
        ),
    ],
)
def test_signatures_that_cannot_be_commands(body: str, message: str) -> None:
    namespace: dict[str, Any] = {
        "command": command,
        "Text": Text,
        "Greedy": Greedy,
        "Literal": Literal,
        "Annotated": __import__("typing").Annotated,
        "Plugin": Plugin,
    }
    source = "class Broken(Plugin):\n" + "\n".join(f"    {line}" for line in body.splitlines())
    with pytest.raises(TypeError) as raised:
        exec(source, namespace)
    assert message in str(raised.value)
    assert "Broken." in str(raised.value)  # names the class and the method


def test_names_are_checked_by_the_decorator() -> None:
    with pytest.raises(ValueError, match="a command name is a trigger"):
        command("")
    with pytest.raises(ValueError, match="no slashes"):
        command("todo /add")

    def handler(self: object) -> None: ...

    command("a")(handler)
    with pytest.raises(TypeError, match="already the handler of /a"):
        command("b")(handler)


def test_a_type_defined_later_is_resolved_on_first_use() -> None:
    namespace: dict[str, Any] = {"command": command, "Plugin": Plugin}
    exec(
        "from __future__ import annotations\n"
        "class Later(Plugin):\n"
        "    @command('later')\n"
        "    def a(self, mode: Mode) -> None: ...\n",
        namespace,
    )
    table = table_for(namespace["Later"])
    with pytest.raises(NameError, match="cannot read the annotation"):
        table.ready()
    exec("import enum\nclass Mode(enum.Enum):\n    ON = 'on'\n", namespace)
    table.ready()
    assert table.leaves[0].usage() == "/later <mode>"


def test_docstrings_describe_parameters() -> None:
    def handler(self: object, title: str, count: int = 1) -> None:
        """Add things.

        Args:
            title (str): what to add,
                on two lines.
            count: how many.

        Returns:
            nothing.
        """

    assert parameter_docs(handler) == {"title": "what to add, on two lines.", "count": "how many."}
