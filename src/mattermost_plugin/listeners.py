"""The listener chain: how the SDK's own features take part in hook calls.

Typed settings, slash commands, interactive actions, cluster events and jobs all need hooks
of their own (settings reload on ``OnConfigurationChange``, commands are registered on
``OnActivate`` and routed from ``ExecuteCommand``, …), also in a plugin that has no handler
for those hooks. Each feature contributes :class:`Listener` objects; for every hook, the
dispatcher runs them around the plugin's own handler, outermost first (lowest ``order``)::

    Order.RUNTIME → Order.SETTINGS → Order.COMMANDS → … → the plugin's handler

A listener is ``async def listener(call, call_next)``: it may act before and after
``await call_next()`` (which runs the rest of the chain and returns its result), or answer
the call itself without calling it (a command the SDK routes, an action URL it serves). When
the plugin has no handler for the hook, the innermost step answers ``None``, which each hook
adapts as "nothing to change".

``Implemented()`` lists every hook with a handler *or* a listener, so the server calls them.
A listener that raises fails the hook call like a failing handler (logged, answered by the
hook's failure policy).

Where listeners come from: a class attribute (a decorated method, a descriptor, a mount)
that has a ``__mattermost_listeners__`` attribute — a callable taking the plugin class and
returning listeners — contributes them when the class is defined; the runtime adds its own
(``Order.RUNTIME``). Equal listeners (same hook, function, order and name) run once, however
many attributes contribute them: a feature whose attributes share one router returns the same
``Listener`` from each. :meth:`mattermost_plugin.Plugin.listeners` lists a class's chain.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from mattermost_plugin.plugin import Plugin

__all__ = [
    "CallNext",
    "HookCall",
    "Listener",
    "ListenerFunc",
    "Order",
    "pinned",
]

T = TypeVar("T")


class Order(IntEnum):
    """Where the SDK's features sit in a hook's chain: lower runs first (outermost)."""

    RUNTIME = 0
    """The runtime's own duties, e.g. ``OnConfigurationChange`` once before ``OnActivate``."""
    SETTINGS = 100
    """Typed settings: loaded before any other listener or handler sees them."""
    CLUSTER = 200
    """Cluster events routed to ``@on_cluster_event`` handlers."""
    COMMANDS = 300
    """Slash commands: registered on activation, routed from ``ExecuteCommand``."""
    INTERACTIVE = 400
    """Buttons, menus and dialogs: the reserved HTTP prefix of ``ServeHTTP``."""
    JOBS = 500
    """Background jobs: started after activation, stopped before deactivation."""


class HookCall(Protocol):
    """One call of a hook, as a listener sees it."""

    @property
    def hook(self) -> str:
        """The Go name of the hook, e.g. ``"OnActivate"``."""

    @property
    def plugin(self) -> Plugin[Any]:
        """The plugin object."""

    @property
    def plugin_id(self) -> str:
        """The plugin's id (its manifest's)."""

    @property
    def args(self) -> list[Any]:
        """The arguments the plugin's handler receives (models, in the hook's order)."""

    def remaining(self) -> float | None:
        """Seconds left of the hook's deadline (``None``: no deadline, as for ServeHTTP)."""

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run plugin code the way handlers run: a ``def`` function in the hook thread pool,
        an ``async def`` one on the event loop, within the time left; a returned awaitable
        is awaited."""

    async def call_hook(self, hook: str) -> Any:
        """Run another hook's whole chain (listeners and handler) with no arguments, within
        the time left: how the runtime calls ``OnConfigurationChange`` before ``OnActivate``."""


CallNext = Callable[[], Awaitable[Any]]
ListenerFunc = Callable[[HookCall, CallNext], Awaitable[Any]]


@dataclass(frozen=True)
class Listener:
    """One step of a hook's chain."""

    hook: str
    """The Go name of the hook."""
    func: ListenerFunc
    order: int
    """Position in the chain (see :class:`Order`); equal orders keep definition order."""
    name: str
    """What the step is, for logs: ``"settings"``, ``"commands"``, …"""


def listeners_of(value: object, owner: type[Plugin[Any]]) -> Iterable[Listener]:
    """The listeners a class attribute contributes (none for ordinary attributes)."""
    provider = getattr(value, "__mattermost_listeners__", None)
    if provider is None or not callable(provider):
        return ()
    found: Iterable[Listener] = provider(owner)
    return found


# -- values pinned for the length of one hook call -------------------------------------------
_PINS: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "mattermost_plugin_call_pins", default=None
)


def pinned(key: str, current: Callable[[], T]) -> T:
    """``current()``, read once per hook call: later reads in the same call (in any thread
    or task the call runs in) get the same object, even if the value was swapped meanwhile.
    Outside a hook call, always the latest value."""
    pins = _PINS.get()
    if pins is None:
        return current()
    try:
        value: T = pins[key]
    except KeyError:
        value = pins[key] = current()
    return value


def new_pins() -> dict[str, Any]:
    """A fresh pin table, made by the dispatcher for each hook call."""
    return {}


def set_pins(pins: dict[str, Any] | None) -> contextvars.Token[dict[str, Any] | None]:
    return _PINS.set(pins)


def reset_pins(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _PINS.reset(token)


def current_pins() -> dict[str, Any] | None:
    return _PINS.get()
