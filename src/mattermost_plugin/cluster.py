"""Cluster events (``self.cluster.publish(...)``, ``@on_cluster_event`` handlers) and the
cluster mutex (``self.cluster.mutex(name)``, :mod:`mattermost_plugin.mutex`).

In a high-availability deployment each server node runs its own process of the plugin. One
process tells the others something (drop a cache, reload a file) with a cluster event::

    class Invalidate(BaseModel):
        keys: list[str]

    class MyPlugin(Plugin):
        def forget(self, keys: list[str]) -> None:
            self.cache.drop(keys)
            self.cluster.publish("cache-invalidate", Invalidate(keys=keys))

        @on_cluster_event("cache-invalidate")
        def on_invalidate(self, payload: Invalidate) -> None:
            self.cache.drop(payload.keys)

The server delivers an event to the plugin on every *other* node (``PublishPluginClusterEvent``
→ ``OnPluginClusterEvent``), never back to the sender, and not at all on a single server: do
the local work yourself, as ``forget`` does. A payload is bytes as they are, or anything
Pydantic serializes (a model, a dict, …) as JSON; the handler's parameter annotation says what
to decode it into (``bytes``, or no annotation, for the raw bytes; no parameter at all for
events without payload). A payload that does not validate is logged with the event id and the
field, and the handler is not called. Events with ids no handler claims reach the plugin's own
``OnPluginClusterEvent`` handler, if it has one.

Handlers take part in hooks through the listener chain (:mod:`mattermost_plugin.listeners`,
``Order.CLUSTER``); ``def`` handlers run in the hook thread pool, ``async def`` ones on the
event loop, within the hook's deadline.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic
import pydantic_core

from mattermost_plugin._model_base import describe_errors
from mattermost_plugin.listeners import CallNext, HookCall, Listener, Order
from mattermost_plugin.models.api_remaining import (
    PluginClusterEvent,
    PluginClusterEventSendOptions,
)

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient
    from mattermost_plugin.mutex import AsyncMutex, Mutex, Seconds
    from mattermost_plugin.plugin import Plugin

__all__ = ["AsyncCluster", "Cluster", "on_cluster_event"]

F = TypeVar("F", bound=Callable[..., Any])

_EVENT_ID = "__mattermost_cluster_event__"
HOOK = "OnPluginClusterEvent"


def _event(
    event_id: str, payload: object, reliable: bool
) -> tuple[PluginClusterEvent, PluginClusterEventSendOptions]:
    _check_event_id(event_id)
    if isinstance(payload, bytes | bytearray | memoryview):
        data = bytes(payload)
    else:
        try:
            data = pydantic_core.to_json(payload, by_alias=True)
        except pydantic_core.PydanticSerializationError as exc:
            raise TypeError(
                f"cluster event {event_id!r}: the payload is neither bytes nor something "
                f"Pydantic can turn into JSON: {exc}"
            ) from None
    send_type = "reliable" if reliable else "best_effort"
    return PluginClusterEvent(id=event_id, data=data), PluginClusterEventSendOptions(
        send_type=send_type
    )


def _check_event_id(event_id: object) -> None:
    if not isinstance(event_id, str) or not event_id:
        raise ValueError(f"a cluster event id is a non-empty str, got {event_id!r}")


class Cluster:
    """Publishes cluster events with a ``PluginAPIClient`` (a plugin has one as
    ``self.cluster``)."""

    def __init__(self, api: PluginAPIClient) -> None:
        self.api = api

    def publish(self, event_id: str, payload: object = b"", *, reliable: bool = True) -> None:
        """Send ``payload`` to this plugin on every other node of the cluster.

        ``payload`` is bytes, or a model (or anything else Pydantic serializes) sent as
        JSON. ``reliable=False`` uses the cluster's best-effort channel (cheaper, may drop).
        On a server without a cluster nothing is delivered.
        """
        event, options = _event(event_id, payload, reliable)
        self.api.publish_plugin_cluster_event(event, opts=options)

    def mutex(
        self,
        name: str,
        *,
        lease: Seconds = 15,
        timeout: Seconds | None = None,
        max_hold: Seconds | None = 600.0,
    ) -> Mutex:
        """A lock held across every node: ``with self.cluster.mutex("sync", timeout=5):``.

        ``lease``: whole seconds the lock outlives a holder that stopped renewing it (a
        crashed node); ``timeout``: how long ``with`` and ``lock()`` wait (``None``: for
        ever); ``max_hold``: after this long the lease is no longer renewed. See
        :mod:`mattermost_plugin.mutex` for what a lost lease means to the holder.
        """
        from mattermost_plugin.mutex import Mutex

        return Mutex(self.api, name, lease=lease, timeout=timeout, max_hold=max_hold)


class AsyncCluster:
    """:class:`Cluster` with an ``AsyncPluginAPIClient`` (``self.async_cluster``)."""

    def __init__(self, api: AsyncPluginAPIClient) -> None:
        self.api = api

    async def publish(self, event_id: str, payload: object = b"", *, reliable: bool = True) -> None:
        """:meth:`Cluster.publish`, as a coroutine."""
        event, options = _event(event_id, payload, reliable)
        await self.api.publish_plugin_cluster_event(event, opts=options)

    def mutex(
        self,
        name: str,
        *,
        lease: Seconds = 15,
        timeout: Seconds | None = None,
        max_hold: Seconds | None = 600.0,
    ) -> AsyncMutex:
        """:meth:`Cluster.mutex` for ``async with``."""
        from mattermost_plugin.mutex import AsyncMutex

        return AsyncMutex(self.api, name, lease=lease, timeout=timeout, max_hold=max_hold)


def on_cluster_event(event_id: str) -> Callable[[F], F]:
    """Make the decorated plugin method the handler of cluster event ``event_id``.

    The method is ``(self, payload)`` — the payload decoded into the parameter's annotation
    (a model, ``dict``, …; ``bytes`` or none: the raw bytes) — or ``(self)``. One handler per
    event id; the class checks that, the signature and the annotation when it is defined.
    """
    _check_event_id(event_id)

    def register(func: F) -> F:
        existing = getattr(func, _EVENT_ID, None)
        if existing is not None:
            raise TypeError(f"{func.__qualname__} already handles cluster event {existing!r}")
        setattr(func, _EVENT_ID, event_id)
        provider = _ListenerProvider(func, event_id)
        setattr(func, "__mattermost_listeners__", provider)  # noqa: B010 - a dunder on a function
        return func

    return register


class _ListenerProvider:
    """What ``Plugin`` asks for the listeners of one ``@on_cluster_event`` method."""

    def __init__(self, func: Callable[..., Any], event_id: str) -> None:
        self.func, self.event_id = func, event_id

    def __call__(self, owner: type[Plugin]) -> Iterator[Listener]:
        func, event_id = self.func, self.event_id
        name = f"{owner.__name__}.{func.__name__}"
        if not inspect.isfunction(func):
            raise TypeError(f"{name}: @on_cluster_event goes on a plain method")
        for attr in dir(owner):
            other = inspect.getattr_static(owner, attr, None)
            if getattr(other, _EVENT_ID, None) == event_id and other is not func:
                raise TypeError(
                    f"{owner.__name__} has two handlers for cluster event {event_id!r}: "
                    f"{func.__name__} and {attr}"
                )
        decode = _decoder(name, event_id, func)
        yield Listener(HOOK, _route(func, event_id, name, decode), Order.CLUSTER, "cluster")


Decoder = Callable[[bytes], Any] | None  # None: the handler takes no payload


def _decoder(name: str, event_id: str, func: Callable[..., Any]) -> Decoder:
    signature = inspect.signature(func)
    try:
        signature.bind(None, None)
    except TypeError:
        try:
            signature.bind(None)
        except TypeError:
            raise TypeError(
                f"{name} handles cluster event {event_id!r}; define it as (self, payload) or (self)"
            ) from None
        return None
    parameter = list(signature.parameters.values())[1]
    if parameter.annotation is inspect.Parameter.empty:
        return bytes
    try:
        annotation = typing.get_type_hints(func).get(parameter.name, bytes)
    except Exception as exc:
        raise TypeError(
            f"{name}: cannot resolve the annotation of {parameter.name}: {exc}"
        ) from exc
    if annotation is bytes:
        return bytes
    try:
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)
    except pydantic.PydanticUserError as exc:
        raise TypeError(f"{name}: cannot decode cluster events into {annotation!r}: {exc}") from exc
    return adapter.validate_json


def _route(
    func: Callable[..., Any], event_id: str, name: str, decode: Decoder
) -> Callable[[HookCall, CallNext], Any]:
    async def route(call: HookCall, call_next: CallNext) -> Any:
        _context, event = call.args
        if event.id != event_id:
            return await call_next()
        logger = call.plugin.logger
        extra = {"event_id": event_id, "handler": name}
        args: list[Any] = []
        if decode is not None:
            try:
                args.append(decode(event.data))
            except pydantic.ValidationError as exc:
                logger.error(
                    "cluster event %r: the payload does not validate for %s: %s",
                    event_id,
                    name,
                    describe_errors(exc),
                    extra=extra,
                )
                return None
        try:
            await call.run(types.MethodType(func, call.plugin), *args)
        except Exception as exc:
            logger.error(
                "cluster event %r: %s failed: %s",
                event_id,
                name,
                exc if str(exc) else type(exc).__name__,
                exc_info=exc,
                extra=extra,
            )
        return None

    return route
