"""Hook dispatch: one table-driven gRPC service for all hooks.

For each hook the plugin implements, a handler is registered under its PluginHooks method
path. A call converts the request to models (``HookSpec.args``), runs the plugin's handler
(``def`` in a bounded thread pool, ``async def`` on the event loop) under the hook timeout,
and adapts what it returned to the hook's response kind (``_answers``). Whatever goes
wrong — the handler raises, hangs, or returns the wrong type — is logged with the hook, the
handler and the cause, and answered by the hook's failure policy; the process keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from types import CoroutineType, FunctionType, MethodType
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from mattermost_plugin._answers import adapt_result, error_value, failure_response
from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin._hookspec import HookSpec, ResponseKind
from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2
from mattermost_plugin._threads import HookThreads
from mattermost_plugin.listeners import (
    HookCall,
    Listener,
    Order,
    current_pins,
    new_pins,
    reset_pins,
    set_pins,
)
from mattermost_plugin.plugin import Plugin

T = TypeVar("T")

SERVICE = "mattermost.pluginapi.v1.PluginHooks"
DEFAULT_TIMEOUT = 30.0
DEFAULT_WORKERS = 16
DEFAULT_HTTP_WORKERS = 64
LARGE_REQUEST = 64 * 1024
"""Hook requests at least this big (bytes on the wire) are parsed and converted to models in
a thread, so the event loop keeps answering health checks and other hooks meanwhile."""
# Leave the host a moment to receive our answer before its own deadline fires.
DEADLINE_MARGIN = 0.05


class HookFailure(Exception):
    """A handler failed: raised, timed out, or returned something the hook cannot send."""


EXITS = (SystemExit, KeyboardInterrupt)


class HandlerExit(Exception):
    """A handler raised SystemExit or KeyboardInterrupt (argparse exits on ``--help``, for
    one). Out of a task, either would stop the event loop and the plugin with it; the SDK
    turns it into this and treats it like any other failure of the handler."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        self.__cause__ = exc


async def contain_exits(awaitable: Awaitable[T]) -> T:
    """Await handler code, SystemExit and KeyboardInterrupt becoming :class:`HandlerExit`.

    Needed where handler code runs in a task of its own: ``asyncio.Task`` re-raises those
    two out of the event loop before anyone awaiting the task could catch them."""
    try:
        return await awaitable
    except EXITS as exc:
        raise HandlerExit(exc) from exc


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        logging.getLogger("mattermost_plugin").warning(
            "ignoring %s=%r: not a number; using %s", name, raw, default
        )
        return default
    return value if value > 0 else default


class _Call:
    """One ``def`` handler call, from the loop to a hook thread and back.

    Its flags change under the dispatcher's lock: ``started`` when a thread picks it up,
    ``finished`` when the handler returned or raised, ``abandoned`` when it timed out before
    any thread was free. The outcome reaches the loop through ``future``."""

    __slots__ = (
        "abandoned",
        "args",
        "dispatcher",
        "error",
        "finished",
        "future",
        "handler",
        "hook_name",
        "loop",
        "pins",
        "result",
        "started",
    )

    def __init__(
        self,
        dispatcher: HookDispatcher,
        hook_name: str,
        handler: Callable[..., Any],
        args: list[Any],
    ) -> None:
        self.dispatcher, self.hook_name, self.handler, self.args = (
            dispatcher,
            hook_name,
            handler,
            args,
        )
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[Any] = self.loop.create_future()
        self.started = self.finished = self.abandoned = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.pins = current_pins()  # the call's pinned values follow it into the thread

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result

    def __call__(self) -> None:
        """In a hook thread: run the handler, hand the outcome to the loop."""
        dispatcher = self.dispatcher
        with dispatcher._lock:
            if self.abandoned:
                return
            self.started = True
            dispatcher._busy += 1
        started = time.monotonic()
        token = set_pins(self.pins)
        try:
            self.result = self.handler(*self.args)
        except EXITS as exc:
            self.error = HandlerExit(exc)
        except BaseException as exc:
            self.error = exc
        finally:
            reset_pins(token)
        with dispatcher._lock:
            dispatcher._busy -= 1
            self.finished = True
            was_stuck = self in dispatcher._stuck
            dispatcher._stuck.discard(self)
        with contextlib.suppress(RuntimeError):  # a closed loop: stopping, nobody waits
            self.loop.call_soon_threadsafe(self._deliver)
        if was_stuck:
            dispatcher.logger.warning(
                "hook %s: handler %s returned after %.1f s, past its timeout",
                self.hook_name,
                getattr(self.handler, "__qualname__", self.handler),
                time.monotonic() - started,
                extra={"hook": self.hook_name},
            )

    def _deliver(self) -> None:
        if self.future.done():  # timed out, or the host went away
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.result)

    def cancel(self) -> None:
        """Dropped from the queue at shutdown: never runs."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.future.cancel)


class _Resumed:
    """The rest of a coroutine whose first step has run and yielded ``pending``: awaiting
    it goes on where the coroutine stopped (what ``await`` does, from its second step)."""

    __slots__ = ("coroutine", "pending")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coroutine, self.pending = coroutine, pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, value = self.coroutine, self.pending
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as exc:  # the task cancelled, or a future failed
                try:
                    value = coroutine.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    value = coroutine.send(sent)
                except StopIteration as done:
                    return done.value


async def _run_coroutine(coroutine: Awaitable[Any], timeout: float | None) -> Any:
    """Await a handler's coroutine in the current task, under ``timeout``.

    Its first step runs right away, with no timer: a filter such as MessageWillBePosted
    usually returns without awaiting anything, and arming and cancelling a timer was a
    good part of what an async hook call cost. Only a handler that suspends gets one,
    for the time left."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    rest: Awaitable[Any] = coroutine  # another awaitable (a Future, say) is awaited as is
    if type(coroutine) is CoroutineType:
        try:
            pending = coroutine.send(None)
        except StopIteration as done:
            return done.value
        except EXITS as exc:
            raise HandlerExit(exc) from exc
        rest = _Resumed(coroutine, pending)
    if sys.version_info < (3, 11):  # no asyncio.timeout: a task of its own, and wait_for
        task = asyncio.ensure_future(contain_exits(rest))
        left = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            return await asyncio.wait_for(task, left)
        except asyncio.TimeoutError:
            if task.done() and not task.cancelled():
                return task.result()  # the handler's result or its own TimeoutError
            raise HookFailure(f"did not finish within {timeout:.3g} s") from None
    scope = asyncio.timeout_at(deadline)
    try:
        async with scope:
            return await rest
    except EXITS as exc:
        raise HandlerExit(exc) from exc
    except TimeoutError:
        # TimeoutError is also what a handler raises when its own I/O times out.
        if scope.expired():
            raise HookFailure(f"did not finish within {timeout:.3g} s") from None
        raise


class _HookCall:
    """One hook call, as listeners see it (``mattermost_plugin.listeners.HookCall``)."""

    __slots__ = ("_deadline", "_dispatcher", "args", "hook", "plugin", "plugin_id")

    def __init__(
        self, dispatcher: HookDispatcher, hook: str, args: list[Any], deadline: float | None
    ) -> None:
        self._dispatcher, self.hook, self.args, self._deadline = dispatcher, hook, args, deadline
        self.plugin, self.plugin_id = dispatcher.plugin, dispatcher.plugin_id

    def remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        result = await self._dispatcher.run_handler(
            self.hook, func, list(args), self.remaining(), is_async=_is_coroutine_function(func)
        )
        if type(result) not in _NOT_AWAITABLE and inspect.isawaitable(result):
            result = await result
        return result

    async def call_hook(self, hook: str) -> Any:
        return await self._dispatcher.invoke(hook, [], self.remaining())


# What handlers usually return, known not to be awaitable without asking the ABCs.
_NOT_AWAITABLE = frozenset({type(None), str, dict, bool, int, tuple, list})


def _is_coroutine_function(func: Callable[..., Any]) -> bool:
    if type(func) is MethodType and type(func.__func__) is FunctionType:
        return _method_is_async(func.__func__)  # a plugin method, bound anew on every call
    return _callable_is_async(func)


def _callable_is_async(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


# inspect's answer takes a few µs, on the path of every @command call; the functions behind
# bound methods are few (a class's methods), so a small cache keeps them.
_method_is_async = functools.lru_cache(maxsize=256)(_callable_is_async)


class HookDispatcher:
    """Runs a plugin's handlers, and the SDK's listeners around them, for the hooks the
    server calls."""

    def __init__(
        self,
        plugin: Plugin,
        logger: logging.Logger | None = None,
        *,
        plugin_id: str = "plugin",
    ) -> None:
        self.plugin = plugin
        self.plugin_id = plugin_id
        self.logger = logger or logging.getLogger("mattermost_plugin.hooks")
        self.timeout = plugin.hook_timeout or _env_number(
            "MATTERMOST_PLUGIN_HOOK_TIMEOUT", DEFAULT_TIMEOUT
        )
        workers = plugin.max_workers or int(
            _env_number("MATTERMOST_PLUGIN_HOOK_WORKERS", DEFAULT_WORKERS)
        )
        self.max_workers = max(1, workers)
        self._pool = HookThreads(self.max_workers)
        http_workers = plugin.http_workers or int(
            _env_number("MATTERMOST_PLUGIN_HTTP_WORKERS", DEFAULT_HTTP_WORKERS)
        )
        # ServeHTTP's def handlers (and their bodies, WSGI apps) have threads of their own: a
        # handler blocked on a slow client must never hold a thread a content hook needs.
        self.http_pool = HookThreads(max(1, http_workers), name="http")
        self._lock = threading.Lock()
        self._busy = 0
        self._stuck: set[_Call] = set()  # calls that passed their timeout
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._async_hooks: dict[str, bool] = {}
        plugin_class = type(plugin)
        self.implemented = plugin_class.implemented_hooks()
        self._handlers: dict[str, Callable[..., Any]] = {
            name: getattr(plugin, attr) for name, attr in plugin_class.__hook_handlers__.items()
        }
        self._chains = self._build_chains(plugin_class.listeners())
        self._wheres: dict[str, str] = {}

    def _build_chains(self, listeners: list[Listener]) -> dict[str, tuple[Listener, ...]]:
        if "OnConfigurationChange" in self.implemented:
            runtime = Listener(
                "OnActivate", self._configure_before_activation, Order.RUNTIME, "runtime"
            )
            listeners = [runtime, *listeners]
        chains: dict[str, list[Listener]] = {}
        for listener in sorted(listeners, key=lambda item: item.order):
            chains.setdefault(listener.hook, []).append(listener)
        return {hook: tuple(steps) for hook, steps in chains.items()}

    # -- registration ---------------------------------------------------------------------
    def register(self, server: grpc.aio.Server) -> None:
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            "Implemented": grpc.unary_unary_rpc_method_handler(
                self._implemented,
                request_deserializer=hooks_lifecycle_pb2.ImplementedRequest.FromString,
                response_serializer=hooks_lifecycle_pb2.ImplementedResponse.SerializeToString,
            )
        }
        for name in self.implemented:
            spec = HOOKS[name]
            if spec.kind is ResponseKind.STREAM:
                from mattermost_plugin.http import serve_http_handler

                handlers[name] = serve_http_handler(self, spec)
                continue
            # Raw bytes in: small requests are parsed on the loop, big ones in a thread.
            handlers[name] = grpc.unary_unary_rpc_method_handler(
                functools.partial(self._unary, spec),
                request_deserializer=None,
                response_serializer=spec.response.SerializeToString,
            )
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

    async def _implemented(
        self,
        request: hooks_lifecycle_pb2.ImplementedRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> hooks_lifecycle_pb2.ImplementedResponse:
        return hooks_lifecycle_pb2.ImplementedResponse(hooks=self.implemented)

    def handler_for(self, hook_name: str) -> Callable[..., Any] | None:
        """The plugin's own handler of a hook (``None`` when only SDK listeners take part)."""
        return self._handlers.get(hook_name)

    def describe(self, hook_name: str) -> str:
        """Who answers a hook, for logs: the handler's name, or the SDK listeners'."""
        handler = self._handlers.get(hook_name)
        if handler is not None:
            return str(getattr(handler, "__qualname__", handler))
        names = sorted({listener.name for listener in self._chains.get(hook_name, ())})
        return f"the SDK's {', '.join(names) or 'default'} listener"

    # -- a unary hook call ----------------------------------------------------------------
    async def _unary(
        self, spec: HookSpec, raw: bytes, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Message:
        if self._stopping:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the plugin is shutting down")
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        token = set_pins(new_pins())
        try:
            return await self._answer(spec, raw, context)
        finally:
            reset_pins(token)
            if task is not None:
                self._in_flight.discard(task)

    async def _answer(
        self, spec: HookSpec, raw: bytes, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Message:
        large = len(raw) >= LARGE_REQUEST
        request: Message | None = None
        args: list[Any] = []
        try:
            if large:
                request, args = await asyncio.to_thread(_parse_and_read, spec, raw)
            else:
                request = spec.request.FromString(raw)
                args = [f.read(request) for f in spec.args]
        except Exception as exc:  # a malformed request: there is nothing to run a handler on
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{spec.name}: {exc}")
        assert request is not None
        where = self._where(spec.name)
        try:
            result = await self.invoke(spec.name, args, self._timeout(context))
            if large:
                return await asyncio.to_thread(adapt_result, spec, request, args, result, where)
            return adapt_result(spec, request, args, result, where)
        except Exception as exc:
            self._log_failure(spec.name, self.describe(spec.name), exc)
            return failure_response(spec, request, type(self.plugin), exc, where, args)

    def _where(self, hook_name: str) -> str:
        where = self._wheres.get(hook_name)
        if where is None:
            where = self._wheres[hook_name] = f"plugin {self.plugin_id}: {self.describe(hook_name)}"
        return where

    def _timeout(self, context: grpc.aio.ServicerContext[Any, Any]) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return self.timeout
        return max(0.0, min(self.timeout, remaining - DEADLINE_MARGIN))

    async def invoke(
        self,
        hook_name: str,
        args: list[Any],
        timeout: float | None,
        innermost: Callable[[], Awaitable[Any]] | None = None,
    ) -> Any:
        """Run a hook's chain: the SDK's listeners, outermost first, around the plugin's
        handler (``innermost`` replaces how the handler is called; ServeHTTP's does)."""
        steps = self._chains.get(hook_name)
        handler = self._handlers.get(hook_name)

        async def run_handler() -> Any:
            if innermost is not None:
                return await innermost()
            if handler is None:
                return None  # only listeners take part: "nothing to change"
            return await self.run_handler(hook_name, handler, args, call.remaining())

        if not steps:
            if innermost is None and handler is not None:  # the hot path: no listeners
                return await self.run_handler(hook_name, handler, args, timeout)
            deadline = None if timeout is None else time.monotonic() + timeout
            call = _HookCall(self, hook_name, args, deadline)
            return await run_handler()
        deadline = None if timeout is None else time.monotonic() + timeout
        call = _HookCall(self, hook_name, args, deadline)
        if len(steps) == 1:  # the usual chain (ExecuteCommand routed by @command, say)
            return await steps[0].func(call, run_handler)

        async def step(index: int) -> Any:
            if index == len(steps):
                return await run_handler()
            return await steps[index].func(call, lambda: step(index + 1))

        return await step(0)

    async def _configure_before_activation(
        self, call: HookCall, call_next: Callable[[], Awaitable[Any]]
    ) -> Any:
        """The plugin contract: ``OnConfigurationChange`` once before ``OnActivate``. The
        server's gRPC host does not make that call (PROTOCOL.md §6), so the runtime does; a
        failure is logged and activation goes on, as in Go's plugin runtime."""
        spec = HOOKS["OnConfigurationChange"]
        try:
            result = await call.call_hook("OnConfigurationChange")
            message = error_value(spec, result)
            if message is not None:
                raise HookFailure(message)
        except Exception as exc:
            self.logger.error(
                "OnConfigurationChange before OnActivate failed; activating anyway: %s",
                exc if str(exc) else type(exc).__name__,
                exc_info=exc if not isinstance(exc, HookFailure) else None,
                extra={"hook": "OnConfigurationChange"},
            )
        return await call_next()

    async def run_handler(
        self,
        hook_name: str,
        handler: Callable[..., Any],
        args: list[Any],
        timeout: float | None,
        *,
        is_async: bool | None = None,
    ) -> Any:
        """Run one handler: coroutines on the loop, plain functions in the pool."""
        if is_async is None:
            is_async = self._is_async(hook_name, handler)
        if is_async:
            return await _run_coroutine(handler(*args), timeout)
        call = _Call(self, hook_name, handler, args)
        with self._lock:
            if self._busy >= self.max_workers:
                self.logger.warning(
                    "all %d hook threads are busy (%d past their timeout); %s waits for one",
                    self.max_workers,
                    len(self._stuck),
                    hook_name,
                    extra={"hook": hook_name},
                )
        self._pool.run_soon(call)
        future = call.future
        # A plain timer instead of wait_for(shield(…)): this is the hot path of every hook.
        expired: list[bool] = []

        def expire() -> None:
            expired.append(True)
            future.cancel()

        timer = call.loop.call_later(timeout, expire) if timeout is not None else None
        try:
            return await future
        except asyncio.CancelledError:
            if not expired:  # the call itself was cancelled (the host went away)
                raise
            with self._lock:
                started, finished = call.started, call.finished
                if not started:
                    call.abandoned = True  # no thread ever runs it now
                elif not finished:
                    self._stuck.add(call)
                busy = self._busy
            if finished:  # it just made it: the thread recorded its outcome
                return call.outcome()
            if not started:
                raise HookFailure(
                    f"not run: no hook thread was free within {timeout:.3g} s "
                    f"({busy} of {self.max_workers} busy)"
                ) from None
            raise HookFailure(
                f"did not finish within {timeout:.3g} s; its thread stays busy until it "
                f"returns ({busy} of {self.max_workers} hook threads busy)"
            ) from None
        finally:
            if timer is not None:
                timer.cancel()

    def _is_async(self, hook_name: str, handler: Callable[..., Any]) -> bool:
        found = self._async_hooks.get(hook_name)
        if found is None:
            found = self._async_hooks[hook_name] = inspect.iscoroutinefunction(handler)
        return found

    def _log_failure(self, hook_name: str, who: str, exc: BaseException) -> None:
        self.logger.error(
            "hook %s: handler %s failed: %s",
            hook_name,
            who,
            exc if str(exc) else type(exc).__name__,
            exc_info=exc if not isinstance(exc, HookFailure) else None,
            extra={"hook": hook_name, "handler": who},
        )

    # -- stopping -------------------------------------------------------------------------
    async def drain(self, budget: float) -> None:
        """Stop taking hooks and give the running ones up to ``budget`` seconds."""
        self._stopping = True
        pending = [t for t in self._in_flight if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(0.0, budget))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.http_pool.shutdown(wait=False, cancel_futures=True)


def _parse_and_read(spec: HookSpec, raw: bytes) -> tuple[Message, list[Any]]:
    """A large request, parsed and converted to the handler's arguments (in a thread)."""
    request = spec.request.FromString(raw)
    return request, [f.read(request) for f in spec.args]
