"""``@action`` and ``@dialog``: what a plugin module imports.

Kept light (start-up matters): the routing is imported when a class with handlers is
defined, not with this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mattermost_plugin.interactive._messages import check_name

if TYPE_CHECKING:
    from mattermost_plugin.listeners import Listener
    from mattermost_plugin.plugin import Plugin

__all__ = ["HandlerInfo", "action", "dialog", "handler_of"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "__mattermost_interactive__"
Kind = Literal["action", "dialog"]


class HandlerInfo:
    """What ``@action`` / ``@dialog`` record on a method."""

    __slots__ = ("func", "kind", "name")

    def __init__(self, kind: Kind, name: str, func: Callable[..., Any]) -> None:
        self.kind, self.name, self.func = kind, name, func

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name!r} {self.func.__qualname__}>"


def _provide_listeners(owner: type[Plugin]) -> Iterable[Listener]:
    from mattermost_plugin.interactive import _routing

    return _routing.listeners_for(owner)


def _marker(kind: Kind, name: str) -> Callable[[F], F]:
    check_name(kind, name)

    def register(func: F) -> F:
        if not callable(func):
            raise TypeError(f"@{kind}({name!r}) decorates a method, not {func!r}")
        existing = getattr(func, _ATTRIBUTE, None)
        if existing is not None:
            raise TypeError(f"{func.__qualname__} is already the handler of {existing!r}")
        setattr(func, _ATTRIBUTE, HandlerInfo(kind, name, func))
        func.__mattermost_listeners__ = _provide_listeners  # type: ignore[attr-defined]
        return func

    return register


def action(name: str) -> Callable[[F], F]:
    """Make a plugin method the handler of the buttons and menus whose ``action`` is
    ``name``: ``Button("Approve", action="approve", context=...)``.

    The method takes one argument, an :class:`ActionRequest` (``ActionRequest[Model]``
    validates the context into ``Model``), and returns an :class:`ActionResponse`, a
    ``str`` (text only the user who clicked sees) or ``None``. It may be ``def`` or
    ``async def``. The SDK serves the clicks under ``/plugins/<id>/_sdk/actions/``, checks
    the signature of the context and the user, and answers the server.
    """
    return _marker("action", name)


def dialog(name: str) -> Callable[[F], F]:
    """Make a plugin method the handler of the submissions of ``Dialog(name, ...)``.

    The method takes one argument, a :class:`DialogSubmission`
    (``DialogSubmission[Model]`` validates the values into ``Model``; what does not
    validate is answered as field errors without calling the method), and returns
    ``None`` (the dialog closes), a :class:`DialogResponse`, a ``dict`` of field errors or
    a ``str`` error (the dialog stays open and shows them).
    """
    return _marker("dialog", name)


def handler_of(value: object) -> HandlerInfo | None:
    """The action or dialog a class attribute handles, if any."""
    info = getattr(value, _ATTRIBUTE, None)
    return info if isinstance(info, HandlerInfo) else None
