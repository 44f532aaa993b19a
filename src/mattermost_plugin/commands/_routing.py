"""A plugin class's commands as a tree, and the two listeners that serve them.

``OnActivate`` (after the plugin's own handler succeeded): register one ``Command`` per
trigger. ``ExecuteCommand``: a line whose trigger has ``@command`` handlers is parsed and
answered here (the handler's result, help, or a usage message); any other trigger goes on
to the plugin's own ExecuteCommand handler. Both listeners are the same objects for every
command and every class, so a class lists them once however many commands it has.
"""

from __future__ import annotations

import contextlib
import functools
import re
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mattermost_plugin._generated.hook_methods import HOOK_METHODS
from mattermost_plugin.commands._declare import CommandInfo, UsageError, command_of
from mattermost_plugin.commands._help import (
    arguments_usage,
    describe,
    parameter_docs,
    parameter_lines,
)
from mattermost_plugin.commands._parse import Scanner, parse_arguments
from mattermost_plugin.commands._signature import CommandSignature, Mention, analyze
from mattermost_plugin.errors import NotFoundError, ValidationError
from mattermost_plugin.listeners import CallNext, HookCall, Listener, Order

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient
    from mattermost_plugin.models import Command, CommandArgs
    from mattermost_plugin.plugin import Plugin

__all__ = ["CommandTable", "Leaf", "listeners_for", "table_for"]

_ID = re.compile(r"^[a-z0-9]{26}$")


class CommandFailed(Exception):
    """A command handler raised: the message names the command and the handler (the
    dispatcher logs it with the traceback and answers the user in words)."""


class Leaf:
    """One ``@command`` handler. ``signature`` is ``None`` until its annotations resolve (a
    type defined later in the module)."""

    __slots__ = ("attr", "description", "info", "owner", "signature")

    def __init__(self, info: CommandInfo, attr: str, owner: str, description: str) -> None:
        self.info, self.attr, self.owner, self.description = info, attr, owner, description
        self.signature: CommandSignature | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def where(self) -> str:
        return f"{self.owner}.{self.attr} (/{self.name})"

    def analyze(self) -> CommandSignature:
        if self.signature is None:
            self.signature = analyze(self.info.func, self.where, parameter_docs(self.info.func))
        return self.signature

    def usage(self) -> str:
        signature = self.analyze()
        arguments = arguments_usage(signature)
        return f"/{self.name} {arguments}".rstrip()


class Group:
    """A trigger or subcommand word with subcommands under it."""

    __slots__ = ("children", "path")

    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path
        self.children: dict[str, Leaf | Group] = {}

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def leaves(self) -> Iterable[Leaf]:
        for child in self.children.values():
            if isinstance(child, Leaf):
                yield child
            else:
                yield from child.leaves()


class CommandTable:
    """The commands of one plugin class (its own and inherited ones), by trigger."""

    def __init__(self, owner: type) -> None:
        self.roots: dict[str, Leaf | Group] = {}
        self.leaves: list[Leaf] = []
        for attr, info in _declared(owner):
            hook = HOOK_METHODS.get(attr)
            if hook is not None:
                raise TypeError(
                    f"{owner.__name__}.{attr} handles /{info.name}, but {attr} is the name of "
                    f"the {hook} hook's handler; give the command's method another name"
                )
            leaf = Leaf(info, attr, owner.__name__, describe(info.func, info.description))
            self._insert(leaf)
            self.leaves.append(leaf)
        self._ready = False
        with contextlib.suppress(NameError):  # a type defined later: checked on first use
            self.ready()

    def _insert(self, leaf: Leaf) -> None:
        path = leaf.info.path
        siblings = self.roots
        for depth, word in enumerate(path[:-1]):
            node = siblings.get(word)
            if isinstance(node, Leaf):
                raise TypeError(
                    f"{leaf.where}: /{node.name} ({node.attr}) is a command, so it cannot "
                    "also have subcommands; name it as a subcommand instead"
                )
            if node is None:
                node = siblings[word] = Group(path[: depth + 1])
            siblings = node.children
        existing = siblings.get(path[-1])
        if isinstance(existing, Leaf):
            raise TypeError(f"{leaf.where}: /{leaf.name} is already handled by {existing.attr}")
        if isinstance(existing, Group):
            subs = ", ".join(f"/{child.name}" for child in existing.leaves())
            raise TypeError(
                f"{leaf.where}: /{leaf.name} has subcommands ({subs}), so it cannot also be "
                "a command; a bare /" + leaf.name + " lists them"
            )
        siblings[path[-1]] = leaf

    def ready(self) -> None:
        """Read every handler's signature (raises ``TypeError``/``NameError``)."""
        if not self._ready:
            for leaf in self.leaves:
                leaf.analyze()
            self._ready = True

    def registrations(self) -> list[Command]:
        """One ``Command`` per trigger, for ``RegisterCommand``."""
        from mattermost_plugin.models import Command

        commands = []
        for trigger, node in self.roots.items():
            if isinstance(node, Leaf):
                description = node.description
                hint = arguments_usage(node.analyze())
            else:
                words = [*node.children, *([] if "help" in node.children else ["help"])]
                description = f"Subcommands: {', '.join(words)}. /{trigger} help describes them."
                hint = f"[{'|'.join(words)}]"
            commands.append(
                Command(
                    trigger=trigger,
                    display_name=trigger,
                    description=description,
                    auto_complete=True,
                    auto_complete_desc=description,
                    auto_complete_hint=hint,
                )
            )
        return commands


def _declared(owner: type) -> list[tuple[str, CommandInfo]]:
    """The ``@command`` attributes of a class and its bases, base-first in definition order;
    an attribute redefined in a subclass replaces the base's."""
    values: dict[str, object] = {}
    for klass in reversed(owner.__mro__):
        values.update(vars(klass))
    found = []
    for attr, value in values.items():
        info = command_of(value)
        if info is not None:
            found.append((attr, info))
    return found


_TABLES: weakref.WeakKeyDictionary[type, CommandTable] = weakref.WeakKeyDictionary()


_last: tuple[type, CommandTable] | None = None  # a plugin process asks for one class


def table_for(owner: type) -> CommandTable:
    """The command table of a plugin class, built once."""
    global _last
    last = _last
    if last is not None and last[0] is owner:
        return last[1]
    table = _TABLES.get(owner)
    if table is None:
        table = _TABLES[owner] = CommandTable(owner)
    _last = (owner, table)
    return table


# -- the listeners ----------------------------------------------------------------------------


async def _register_commands(call: HookCall, call_next: CallNext) -> Any:
    """OnActivate: the plugin's own activation first; if it succeeded, register the triggers."""
    table = table_for(type(call.plugin))
    table.ready()  # an annotation that never resolved fails activation, with its reason
    result = await call_next()
    if isinstance(result, BaseException) or (isinstance(result, str) and result):
        return result  # activation failed: the server will not keep the plugin running
    api = call.plugin.async_api
    for command in table.registrations():
        try:
            await api.register_command(command, timeout=call.remaining())
        except Exception as exc:
            raise RuntimeError(f"registering /{command.trigger} failed: {exc}") from exc
    call.plugin.logger.debug(
        "registered slash commands: %s", ", ".join(f"/{t}" for t in table.roots)
    )
    return result


async def _route_command(call: HookCall, call_next: CallNext) -> Any:
    """ExecuteCommand: answer the triggers with ``@command`` handlers, pass on the rest."""
    args = call.args[-1]
    scanner = Scanner(args.command)
    first = scanner.word()
    table = table_for(type(call.plugin))
    node = table.roots.get(first[1:].lower()) if first.startswith("/") else None
    if node is None:
        return await call_next()
    while isinstance(node, Group):
        word = scanner.word()
        if not word:
            return _group_help(node)
        child = node.children.get(word.lower())
        if child is None:
            if word.lower() == "help":
                return _help_for(node, scanner)
            return f"Unknown command /{node.name} {_cut(word)}.\n\n{_group_help(node)}"
        node = child
    try:
        return await _run(node, scanner, call, args)
    except UsageError as exc:
        return _usage_answer(node, exc)


async def _run(leaf: Leaf, scanner: Scanner, call: HookCall, args: CommandArgs) -> Any:
    signature = leaf.signature or leaf.analyze()
    values = parse_arguments(signature, scanner)
    if signature.mentions:
        for name, value in values.items():
            if isinstance(value, Mention):
                values[name] = await _resolve(value, name, call, args)
    method = getattr(call.plugin, leaf.attr)
    if signature.plain is not None:
        positional = [values.get(name, default) for name, default in signature.plain]
    else:
        positional = []
        keywords: dict[str, Any] = {}
        for param in signature.params:
            if param.name in values:
                value = values[param.name]
            elif param.inject:
                value = args if param.inject == "args" else call.args[0]
            else:
                value = param.default
            if param.keyword:
                keywords[param.name] = value
            else:
                positional.append(value)
        if keywords:
            method = functools.partial(method, **keywords)
    try:
        return await call.run(method, *positional)
    except UsageError:
        raise
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        raise CommandFailed(f"/{leaf.name} ({leaf.owner}.{leaf.attr}): {reason}") from exc


async def _resolve(mention: Mention, param: str, call: HookCall, args: CommandArgs) -> Any:
    """``@name`` → ``User``, ``~name`` → ``Channel`` (in the command's team), via the API."""
    api: AsyncPluginAPIClient = call.plugin.async_api
    name = mention.name
    try:
        if mention.kind == "user":
            if _ID.match(name):
                try:
                    return await api.get_user(name, timeout=call.remaining())
                except NotFoundError:
                    pass  # a 26-letter username, perhaps
            return await api.get_user_by_username(name, timeout=call.remaining())
        return await api.get_channel_by_name(args.team_id, name, timeout=call.remaining())
    except (NotFoundError, ValidationError):
        where = "@" + name if mention.kind == "user" else f"~{name} in this team"
        raise UsageError(f"Invalid {param}: no {mention.kind} {where}.", param=param) from None


# -- answers --------------------------------------------------------------------------------


def _cut(word: str, limit: int = 40) -> str:
    return word if len(word) <= limit else word[: limit - 1] + "…"


def _group_help(group: Group) -> str:
    lines = [f"**/{group.name}** commands:"]
    for leaf in group.leaves():
        summary = f": {leaf.description}" if leaf.description else ""
        lines.append(f"- `{leaf.usage()}`{summary}")
    lines.append(f"- `/{group.name} help [command]`: describe a command")
    return "\n".join(lines)


def _leaf_help(leaf: Leaf) -> str:
    lines = [f"`{leaf.usage()}`"]
    if leaf.description:
        lines.append(leaf.description)
    params = parameter_lines(leaf.analyze())
    if params:
        lines.extend(["", *params])
    return "\n".join(lines)


def _help_for(group: Group, scanner: Scanner) -> str:
    """``/todo help`` lists the subcommands; ``/todo help add`` describes one."""
    node: Leaf | Group = group
    while isinstance(node, Group):
        word = scanner.word().lower()
        if not word:
            return _group_help(node)
        child = node.children.get(word)
        if child is None:
            return f"Unknown command /{node.name} {_cut(word)}.\n\n{_group_help(node)}"
        node = child
    return _leaf_help(node)


def _usage_answer(leaf: Leaf, error: UsageError) -> str:
    usage = f"Usage: `{leaf.usage()}`"
    if len(leaf.info.path) > 1:
        group = " ".join(leaf.info.path[:-1])
        return f"{error.message}\n{usage} (`/{group} help {leaf.info.path[-1]}` for details)"
    params = parameter_lines(leaf.analyze())
    return "\n".join([error.message, usage, *params])


_LISTENERS = (
    Listener("OnActivate", _register_commands, Order.COMMANDS, "commands"),
    Listener("ExecuteCommand", _route_command, Order.COMMANDS, "commands"),
)


def listeners_for(owner: type[Plugin]) -> tuple[Listener, ...]:
    """What an ``@command`` method contributes to its class's chain (checked now: names
    that clash and signatures that cannot be commands fail the class definition)."""
    table_for(owner)
    return _LISTENERS
