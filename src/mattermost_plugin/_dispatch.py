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
from mattermost_plugin.plugin import Plugin

T = TypeVar("T")

SERVICE = "mattermost.pluginapi.v1.PluginHooks"
DEFAULT_TIMEOUT = 30.0
DEFAULT_WORKERS = 16
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
        try:
            self.result = self.handler(*self.args)
        except EXITS as exc:
            self.error = HandlerExit(exc)
        except BaseException as exc:
            self.error = exc
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


class HookDispatcher:
    """Runs a plugin's handlers for the hooks the server calls."""

    def __init__(self, plugin: Plugin, logger: logging.Logger | None = None) -> None:
        self.plugin = plugin
        self.logger = logger or logging.getLogger("mattermost_plugin.hooks")
        self.timeout = plugin.hook_timeout or _env_number(
            "MATTERMOST_PLUGIN_HOOK_TIMEOUT", DEFAULT_TIMEOUT
        )
        workers = plugin.max_workers or int(
            _env_number("MATTERMOST_PLUGIN_HOOK_WORKERS", DEFAULT_WORKERS)
        )
        self.max_workers = max(1, workers)
        self._pool = HookThreads(self.max_workers)
        self._lock = threading.Lock()
        self._busy = 0
        self._stuck: set[_Call] = set()  # calls that passed their timeout
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._async_hooks: dict[str, bool] = {}

    # -- registration ---------------------------------------------------------------------
    def register(self, server: grpc.aio.Server) -> None:
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            "Implemented": grpc.unary_unary_rpc_method_handler(
                self._implemented,
                request_deserializer=hooks_lifecycle_pb2.ImplementedRequest.FromString,
                response_serializer=hooks_lifecycle_pb2.ImplementedResponse.SerializeToString,
            )
        }
        for name in type(self.plugin).implemented_hooks():
            spec = HOOKS[name]
            if spec.kind is ResponseKind.STREAM:
                from mattermost_plugin.http import serve_http_handler

                handlers[name] = serve_http_handler(self, spec)
                continue
            handlers[name] = grpc.unary_unary_rpc_method_handler(
                functools.partial(self._unary, spec),
                request_deserializer=spec.request.FromString,
                response_serializer=spec.response.SerializeToString,
            )
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

    async def _implemented(
        self,
        request: hooks_lifecycle_pb2.ImplementedRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> hooks_lifecycle_pb2.ImplementedResponse:
        return hooks_lifecycle_pb2.ImplementedResponse(hooks=type(self.plugin).implemented_hooks())

    def handler_for(self, hook_name: str) -> Callable[..., Any]:
        attr = type(self.plugin).__hook_handlers__[hook_name]
        handler: Callable[..., Any] = getattr(self.plugin, attr)
        return handler

    # -- a unary hook call ----------------------------------------------------------------
    async def _unary(
        self, spec: HookSpec, request: Message, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Message:
        if self._stopping:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the plugin is shutting down")
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            return await self._answer(spec, request, context)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _answer(
        self, spec: HookSpec, request: Message, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Message:
        handler = self.handler_for(spec.name)
        try:
            args = [f.read(request) for f in spec.args]
            result = await self.run_handler(spec.name, handler, args, self._timeout(context))
            return adapt_result(spec, request, args, result)
        except Exception as exc:
            self._log_failure(spec.name, handler, exc)
            return failure_response(spec, request, type(self.plugin), exc)

    def _timeout(self, context: grpc.aio.ServicerContext[Any, Any]) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return self.timeout
        return max(0.0, min(self.timeout, remaining - DEADLINE_MARGIN))

    async def run_handler(
        self, hook_name: str, handler: Callable[..., Any], args: list[Any], timeout: float | None
    ) -> Any:
        """Run one handler: coroutines on the loop, plain functions in the pool."""
        if self._is_async(hook_name, handler):
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

    def _log_failure(self, hook_name: str, handler: Callable[..., Any], exc: BaseException) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        self.logger.error(
            "hook %s: handler %s failed: %s",
            hook_name,
            name,
            exc if str(exc) else type(exc).__name__,
            exc_info=exc if not isinstance(exc, HookFailure) else None,
            extra={"hook": hook_name, "handler": name},
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


def _error(message: str) -> common_pb2.AppError:
    return common_pb2.AppError(
        id="plugin.hook.error", message=message, status_code=500, where="python plugin"
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


def adapt_result(spec: HookSpec, request: Message, args: list[Any], result: Any) -> Message:
    """Turn a handler's return value into the hook's response message."""
    response = spec.response()
    has_error_field = "error" in spec.response.DESCRIPTOR.fields_by_name
    if spec.kind is ResponseKind.VOID:
        return response
    if spec.kind is ResponseKind.ERROR or (has_error_field and result is not None):
        message = _is_error_value(spec, result)
        if message is not None:
            if not has_error_field:
                raise TypeError(f"returned {result!r}, but {spec.name} cannot report an error")
            return spec.response(error=_error(message))
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


def _adapt_value(spec: HookSpec, request: Message, args: list[Any], result: Any) -> Message:
    (out,) = spec.outputs  # every value hook has exactly one result field
    if result is None:
        if out.kind is FieldKind.MESSAGES and out.name in request.DESCRIPTOR.fields_by_name:
            return spec.response(**{out.name: getattr(request, out.name)})  # keep them all
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


def failure_response(
    spec: HookSpec, request: Message, plugin_class: type[Plugin], exc: BaseException
) -> Message:
    """The answer when a handler failed, by the hook's policy (see ``Plugin``)."""
    fields = spec.response.DESCRIPTOR.fields_by_name
    if spec.name in plugin_class.fail_closed_hooks and "rejection_reason" in fields:
        return spec.response(rejection_reason=plugin_class.failure_rejection_reason)
    if spec.kind is ResponseKind.WILL_BE:
        return spec.response()  # fail open: the original goes through unchanged
    if "posts" in fields and "posts" in request.DESCRIPTOR.fields_by_name:
        return spec.response(posts=getattr(request, "posts"))  # noqa: B009
    if spec.name == "ConfigurationWillBeSaved":
        return spec.response()  # fail open: the configuration is saved as it is
    if "error" in fields:
        return spec.response(error=_error(str(exc) or type(exc).__name__))
    return spec.response()
