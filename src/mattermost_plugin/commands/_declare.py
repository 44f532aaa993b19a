"""``@command``, ``Greedy``/``Text`` and ``UsageError``: what a plugin module imports.

Kept light on purpose (start-up matters): the signature analysis, the parser and the
routing are imported when a plugin class with commands is defined, not with this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

if TYPE_CHECKING:
    from mattermost_plugin.listeners import Listener
    from mattermost_plugin.plugin import Plugin

__all__ = ["Greedy", "Text", "UsageError", "command", "command_of"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "__mattermost_command__"


class Greedy:
    """Marks a ``str`` parameter that takes the rest of the command line, spaces, quotes
    and all: ``note: Annotated[str, Greedy]`` (or the alias :data:`Text`). It must be the
    last parameter the command line fills."""


Text: TypeAlias = Annotated[str, Greedy]
"""A ``str`` parameter that takes the rest of the command line (see :class:`Greedy`)."""


class UsageError(Exception):
    """A command line that does not fit the command. The user sees the message and the
    command's usage, as an ephemeral answer. Handlers may raise it too, for checks the
    types cannot express (``raise UsageError("priority must be positive")``)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        """The parameter the problem is about, when there is one."""


class CommandInfo:
    """What ``@command`` records on a handler (a plain class: no dataclass machinery at
    import time)."""

    __slots__ = ("description", "func", "path")

    def __init__(
        self, path: tuple[str, ...], description: str | None, func: Callable[..., Any]
    ) -> None:
        self.path = path
        """The trigger and the subcommand words, lowercase: ``("todo", "add")``."""
        self.description = description
        self.func = func

    def __repr__(self) -> str:
        return f"<command /{self.name} {self.func.__qualname__}>"

    @property
    def name(self) -> str:
        return " ".join(self.path)


def _path_of(name: str) -> tuple[str, ...]:
    words = name.split()
    if words:
        words[0] = words[0].removeprefix("/")
    path = tuple(word.lower() for word in words)
    if not path or any(not word or "/" in word for word in path):
        raise ValueError(
            f"@command({name!r}): a command name is a trigger and optional subcommand "
            "words, e.g. 'todo' or 'todo add' (no slashes after the leading one)"
        )
    return path


def _provide_listeners(owner: type[Plugin]) -> Iterable[Listener]:
    from mattermost_plugin.commands import _routing

    return _routing.listeners_for(owner)


def command(name: str, *, description: str | None = None) -> Callable[[F], F]:
    """Make a plugin method the handler of the slash command ``name``.

    ``name`` is the trigger, then any subcommand words: ``@command("todo add")`` handles
    ``/todo add …``; commands that share a trigger are its subcommands, and ``/todo help``
    (or a bare ``/todo``) lists them. The method's parameters are the command's arguments,
    parsed from the command line by their type (``str``, ``int``, ``float``, ``bool``,
    ``Literal[...]``, an ``Enum``, ``User``, ``Channel``, :data:`Text` for the rest of the
    line); parameters typed ``CommandArgs`` or ``PluginContext`` receive the invocation
    instead. ``description`` defaults to the docstring's first paragraph.

    The method stays a plain method (call it in unit tests as usual); it may be ``def`` or
    ``async def`` and returns a ``str`` (an ephemeral answer), a ``CommandResponse``, a
    dict or ``None``. The plugin class checks the signature when it is defined; the SDK
    registers the triggers on activation and routes ``ExecuteCommand`` to the handlers (a
    plugin's own ExecuteCommand handler still receives every other trigger).
    """
    path = _path_of(name)

    def register(func: F) -> F:
        if not callable(func):
            raise TypeError(f"@command({name!r}) decorates a method, not {func!r}")
        existing = getattr(func, _ATTRIBUTE, None)
        if existing is not None:
            raise TypeError(f"{func.__qualname__} is already the handler of /{existing.name}")
        setattr(func, _ATTRIBUTE, CommandInfo(path, description, func))
        func.__mattermost_listeners__ = _provide_listeners  # type: ignore[attr-defined]
        return func

    return register


def command_of(value: object) -> CommandInfo | None:
    """The command a class attribute handles, if it is an ``@command`` method."""
    info = getattr(value, _ATTRIBUTE, None)
    return info if isinstance(info, CommandInfo) else None
