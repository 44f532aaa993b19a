"""One algorithm for both clients: multi-step API work written once, run sync or async.

An algorithm is a generator that yields *steps* and gets each step's outcome back: a
:class:`Call` (a Plugin API method by name) sends back the method's result or throws its
exception in, :class:`Sleep` pauses, :class:`Await` awaits what user code returned (only
the async driver can). :func:`run_sync` drives the generator with a ``PluginAPIClient``,
:func:`run_async` with an ``AsyncPluginAPIClient``, so e.g. ``Collection.update`` and
``AsyncCollection.update`` share every line of their logic, as httpx's clients share one
design.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient

__all__ = ["Await", "Call", "Sleep", "Step", "Steps", "call", "run_async", "run_sync"]

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """Call the Plugin API method ``method`` with these arguments."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def call(method: str, *args: Any, **kwargs: Any) -> Call:
    return Call(method, args, kwargs)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Await:
    """Await a value user code returned (a coroutine from an ``async def`` callback)."""

    awaitable: Awaitable[Any]


Step = Call | Sleep | Await
Steps = Generator[Step, Any, T]


def run_sync(steps: Steps[T], api: PluginAPIClient) -> T:
    """Drive ``steps`` with blocking calls."""
    outcome: Any = None
    error: Exception | None = None
    while True:
        try:
            step = steps.send(outcome) if error is None else steps.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        outcome, error = None, None
        try:
            if isinstance(step, Call):
                outcome = getattr(api, step.method)(*step.args, **step.kwargs)
            elif isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                if inspect.iscoroutine(step.awaitable):
                    step.awaitable.close()  # never awaited: no "was never awaited" warning
                raise TypeError(
                    "an async function was passed where a plain one is needed; use the "
                    "async twin (e.g. AsyncCollection) for async callbacks"
                )
        except Exception as exc:
            error = exc


async def run_async(steps: Steps[T], api: AsyncPluginAPIClient) -> T:
    """Drive ``steps`` with awaited calls."""
    outcome: Any = None
    error: Exception | None = None
    while True:
        try:
            step = steps.send(outcome) if error is None else steps.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        outcome, error = None, None
        try:
            if isinstance(step, Call):
                outcome = await getattr(api, step.method)(*step.args, **step.kwargs)
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                outcome = await step.awaitable
        except Exception as exc:
            error = exc
