"""Hook dispatch: one table-driven gRPC service for all hooks.

For each hook the plugin implements, a handler is registered under its PluginHooks method
path. A call converts the request to models (``HookSpec.args``), runs the plugin's handler
(``def`` in a bounded thread pool, ``async def`` on the event loop) under the hook timeout,
and adapts what it returned to the hook's response kind. Whatever goes wrong — the handler
raises, hangs, or returns the wrong type — is logged with the hook, the handler and the
cause, and answered by the hook's failure policy; the process keeps running.
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
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin._hookspec import FieldKind, HookSpec, ResponseKind, WireField
from mattermost_plugin._pb.pluginapi.v1 import common_pb2, hooks_lifecycle_pb2
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


async def _run_coroutine(coroutine: Coroutine[Any, Any, Any], timeout: float | None) -> Any:
    """Await a handler's coroutine in the current task, under ``timeout``."""
    if sys.version_info < (3, 11):  # no asyncio.timeout: a task of its own, and wait_for
        task = asyncio.ensure_future(contain_exits(coroutine))
        try:
            return await asyncio.wait_for(task, timeout)
        except asyncio.TimeoutError:
            if task.done() and not task.cancelled():
                return task.result()  # the handler's result or its own TimeoutError
            raise HookFailure(f"did not finish within {timeout:.3g} s") from None
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            return await coroutine
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
        if inspect.isawaitable(result):
            result = await result
        return result

    async def call_hook(self, hook: str) -> Any:
        return await self._dispatcher.invoke(hook, [], self.remaining())


def _is_coroutine_function(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


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
            message = _is_error_value(spec, result)
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


# -- return adaptation ----------------------------------------------------------------------
def _expected_scalar(spec: HookSpec, name: str) -> tuple[type, ...]:
    field = spec.response.DESCRIPTOR.fields_by_name[name]
    t = field.type
    if t == field.TYPE_STRING:
        return (str,)
    if t == field.TYPE_BYTES:
        return (bytes,)
    if t == field.TYPE_BOOL:
        return (bool,)
    return (int,)


def _scalar(spec: HookSpec, out: WireField, value: Any) -> Any:
    expected = _expected_scalar(spec, out.name)
    bad_bool = isinstance(value, bool) and bool not in expected
    if not isinstance(value, expected) or bad_bool:
        names = " or ".join(t.__name__ for t in expected)
        raise TypeError(f"{out.name}: expected {names}, got {type(value).__name__}")
    return value


def _wire(spec: HookSpec, out: WireField, value: Any) -> Any:
    return _scalar(spec, out, value) if out.kind is FieldKind.SCALAR else out.to_wire(value)


def _original_for(spec: HookSpec, out: WireField) -> WireField | None:
    """The request field a ``modified_*`` output replaces (same model, or same suffix)."""
    for arg in spec.args:
        if out.kind is FieldKind.MESSAGE and arg.kind is FieldKind.MESSAGE:
            if arg.model == out.model:
                return arg
        elif out.kind is arg.kind and arg.name.endswith(out.name.removeprefix("modified_")):
            return arg
    return None


def _error(message: str, where: str) -> common_pb2.AppError:
    # The server rebuilds the error from where, id, detailed_error and status_code and
    # ignores message (PROTOCOL.md §6): the readable text must be in detailed_error.
    return common_pb2.AppError(
        id="plugin.hook.error",
        message=message,
        detailed_error=message,
        status_code=500,
        where=where,
    )


def _is_error_value(spec: HookSpec, result: Any) -> str | None:
    """A returned Exception, or a str where the hook expects no text, means failure."""
    if isinstance(result, BaseException):
        return str(result) or type(result).__name__
    text_output = any(
        o.kind is FieldKind.SCALAR and _expected_scalar(spec, o.name) == (str,)
        for o in spec.outputs
    )
    if isinstance(result, str) and not text_output:
        return result or None
    return None


def adapt_result(
    spec: HookSpec, request: Message, args: list[Any], result: Any, where: str = "python plugin"
) -> Message:
    """Turn a handler's return value into the hook's response message; ``where`` names the
    plugin and the handler in an error it reports."""
    response = spec.response()
    has_error_field = "error" in spec.response.DESCRIPTOR.fields_by_name
    if spec.kind is ResponseKind.VOID:
        return response
    if spec.name == "ExecuteCommand":
        return _adapt_command(spec, result)
    if spec.kind is ResponseKind.ERROR or (has_error_field and result is not None):
        message = _is_error_value(spec, result)
        if message is not None:
            if not has_error_field:
                raise TypeError(f"returned {result!r}, but {spec.name} cannot report an error")
            return spec.response(error=_error(message, where))
        if spec.kind is ResponseKind.ERROR:
            if result is not None and result != "":
                raise TypeError(f"returned {type(result).__name__}; return None, or an error")
            return response
    if spec.kind is ResponseKind.WILL_BE:
        return _adapt_will_be(spec, request, args, result)
    return _adapt_value(spec, request, args, result)


def _adapt_will_be(spec: HookSpec, request: Message, args: list[Any], result: Any) -> Message:
    modified = [o for o in spec.outputs if o.name != "rejection_reason"]
    if result is None:
        values: list[Any] = [None] * len(modified)
        reason: Any = ""
    elif isinstance(result, str):
        values, reason = [None] * len(modified), result
    elif isinstance(result, tuple):
        if len(result) == len(modified) + 1:
            values, reason = list(result[:-1]), result[-1]
        elif len(result) == 2:  # (first value, reason), e.g. FileWillBeUploaded without content
            values, reason = [result[0]] + [None] * (len(modified) - 1), result[1]
        else:
            raise TypeError(
                f"returned a {len(result)}-tuple; expected ({', '.join(o.name for o in modified)}, "
                "rejection_reason)"
            )
    else:
        values, reason = [result] + [None] * (len(modified) - 1), ""
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise TypeError(f"rejection reason: expected str, got {type(reason).__name__}")
    if reason:
        return spec.response(rejection_reason=reason)
    fields: dict[str, Any] = {}
    for out, value in zip(modified, values, strict=True):
        if value is None:
            continue
        wire = _wire(spec, out, value)
        original = _original_for(spec, out)
        # Send a value only when the handler changed it: posts reach hooks without props
        # and metadata, and echoing an unchanged copy back could drop them.
        if original is not None:
            before = args[spec.args.index(original)]
            # Immutable bytes are compared with what the handler got: reading the field
            # again would copy it (a whole upload, for FileWillBeUploaded).
            if not isinstance(before, bytes):
                before = getattr(request, original.name)
            if before == wire:
                continue
        fields[out.name] = wire
    return spec.response(**fields)


def _adapt_command(spec: HookSpec, result: Any) -> Message:
    """ExecuteCommand always answers with a response: the server shows "command not found"
    when a handled command answers none (PROTOCOL.md §6). None is an empty ephemeral
    answer, a str an ephemeral text; a dict or a CommandResponse is sent as it is."""
    if isinstance(result, BaseException):
        raise result
    if result is None:
        result = {"response_type": "ephemeral", "text": ""}
    elif isinstance(result, str):
        result = {"response_type": "ephemeral", "text": result}
    (out,) = spec.outputs
    return spec.response(**{out.name: out.to_wire(result)})


def command_failure_text(args: list[Any]) -> str:
    """What the user sees when a command's handler failed (the error itself is logged)."""
    command = getattr(args[-1], "command", "") if args else ""
    trigger = command.split()[0] if command.split() else "the command"
    return f"{trigger} failed: an error occurred in the plugin. It has been logged."


def _adapt_value(spec: HookSpec, request: Message, args: list[Any], result: Any) -> Message:
    (out,) = spec.outputs  # every value hook has exactly one result field
    if out.kind is FieldKind.MESSAGES and out.name in request.DESCRIPTOR.fields_by_name:
        return _adapt_consumed(spec, request, out, result)
    if result is None:
        if out.kind is FieldKind.SCALAR and _expected_scalar(spec, out.name) == (bool,):
            return spec.response(**{out.name: True})  # "no objection"
        return spec.response()
    if out.kind is FieldKind.JSON:
        # Read the original from the request again: the handler may have changed the dict
        # it got in place and returned it, which must count as a change.
        original = next((f.read(request) for f in spec.args if f.kind is out.kind), None)
        if not isinstance(result, dict):
            raise TypeError(f"{out.name}: expected a dict, got {type(result).__name__}")
        if result == original:
            return spec.response()
    return spec.response(**{out.name: _wire(spec, out, result)})


def _adapt_consumed(spec: HookSpec, request: Message, out: WireField, result: Any) -> Message:
    """MessagesWillBeConsumed: a non-empty answer replaces every post the server hands out,
    and posts reach the plugin without props, metadata and participants (PROTOCOL.md §6).
    So answer nothing (the server keeps its originals) unless the handler changed a post."""
    if result is None:
        return spec.response()
    posts = _wire(spec, out, result)
    if list(posts) == list(getattr(request, out.name)):
        return spec.response()
    if not posts:
        logging.getLogger("mattermost_plugin.hooks").warning(
            "MessagesWillBeConsumed: the handler returned no posts, but the server keeps "
            "all of them when the answer is empty; filter some posts out instead"
        )
    return spec.response(**{out.name: posts})


def failure_response(
    spec: HookSpec,
    request: Message,
    plugin_class: type[Plugin],
    exc: BaseException,
    where: str = "python plugin",
    args: list[Any] | None = None,
) -> Message:
    """The answer when a handler failed, by the hook's policy (see ``Plugin``)."""
    fields = spec.response.DESCRIPTOR.fields_by_name
    if spec.name in plugin_class.fail_closed_hooks and "rejection_reason" in fields:
        return spec.response(rejection_reason=plugin_class.failure_rejection_reason)
    if spec.kind is ResponseKind.WILL_BE:
        return spec.response()  # fail open: the original goes through unchanged
    if spec.name == "MessagesWillBeConsumed":
        return spec.response()  # the server keeps its own posts, unchanged
    if spec.name == "ConfigurationWillBeSaved":
        return spec.response()  # fail open: the configuration is saved as it is
    if spec.name == "ExecuteCommand":
        # An error would reach the user as a bare error id: answer them in words instead.
        text = command_failure_text(args or [])
        return _adapt_command(spec, text)
    if "error" in fields:
        return spec.response(error=_error(str(exc) or type(exc).__name__, where))
    return spec.response()
