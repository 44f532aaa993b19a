"""``@hook`` and ``HookName``: how a plugin says which hooks it implements.

``HookName`` is generated from the protocol (``_generated/hook_table.py``); ``@hook`` accepts
a member or its string name and checks it right away, so a typo fails when the module is
imported, not when the server never calls the handler.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

from mattermost_plugin._generated.hook_table import HOOKS, HookName

__all__ = ["HookName", "hook", "hook_name_of"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "__mattermost_hook__"


def _resolve(name: HookName | str) -> str:
    value = name.value if isinstance(name, HookName) else name
    if value in HOOKS:
        return value
    if value == "ServeMetrics":
        raise ValueError(
            "ServeMetrics is not available to Python plugins: the wire protocol has no RPC "
            "for it (the server answers 501)"
        )
    close = difflib.get_close_matches(str(value), list(HOOKS), n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ValueError(f"unknown hook {value!r}{hint} (see HookName for the {len(HOOKS)} hooks)")


def hook(name: HookName | str) -> Callable[[F], F]:
    """Register the decorated method as the plugin's handler of hook ``name``.

    ``@hook(HookName.MessageWillBePosted)`` and ``@hook("MessageWillBePosted")`` are the
    same. Handlers may be ``def`` (run in a thread pool) or ``async def`` (run on the event
    loop). A plugin has at most one handler per hook; ``Plugin`` checks that, and the
    handler's arity, when the class is defined.
    """
    hook_name = _resolve(name)

    def register(func: F) -> F:
        existing = getattr(func, _ATTRIBUTE, None)
        if existing is not None and existing != hook_name:
            raise TypeError(f"{func.__qualname__} is already the handler of {existing}")
        setattr(func, _ATTRIBUTE, hook_name)
        return func

    return register


def hook_name_of(obj: object) -> str | None:
    """The hook an attribute of a plugin class handles, if it is a handler."""
    func = getattr(obj, "__func__", obj)
    name = getattr(func, _ATTRIBUTE, None)
    return name if isinstance(name, str) else None
