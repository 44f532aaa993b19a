"""The gRPC side of ServeHTTP: one call, its request stream, its answer stream."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import inspect
import logging
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
import grpc.aio

from mattermost_plugin._dispatch import EXITS, HandlerExit
from mattermost_plugin._pb.pluginapi.v1 import hooks_http_pb2
from mattermost_plugin.listeners import new_pins, reset_pins, set_pins

if TYPE_CHECKING:
    from mattermost_plugin._dispatch import HookDispatcher
    from mattermost_plugin._hookspec import HookSpec
from mattermost_plugin.http._message import (
    MAX_CHUNK,
    Chunk,
    ClientDisconnected,
    HTTPRequest,
    _BodySource,
    _error_response,
    _is_async,
    _prepare,
    _Prepared,
    _resolve,
    _split,
    _to_bytes,
)

_log = logging.getLogger("mattermost_plugin.http")


# -- the gRPC side ----------------------------------------------------------------------------
ServeContext: TypeAlias = (
    "grpc.aio.ServicerContext[hooks_http_pb2.ServeHTTPRequest, hooks_http_pb2.ServeHTTPResponse]"
)


class _BodyFailedAfterStart(Exception):
    pass


class _StreamGone(ClientDisconnected):
    """Writing to the ServeHTTP stream failed: the call is over (the client went away)."""


async def _write(context: ServeContext, message: hooks_http_pb2.ServeHTTPResponse) -> None:
    """``context.write``; a write the call refuses (cancelled between two writes: grpc raises
    ``ExecuteBatchError``, not CancelledError) is the client going away, not a handler failure."""
    try:
        await context.write(message)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise _StreamGone(f"the ServeHTTP call has ended: {exc!r}") from exc


class _ServeHTTP:
    """Serves ServeHTTP calls for one dispatcher."""

    def __init__(self, dispatcher: HookDispatcher, hook_name: str) -> None:
        self.dispatcher = dispatcher
        self.hook_name = hook_name

    @property
    def pool(self) -> concurrent.futures.Executor:
        return self.dispatcher.http_pool

    async def serve(
        self,
        request_iterator: AsyncIterator[hooks_http_pb2.ServeHTTPRequest],
        context: ServeContext,
    ) -> None:
        """One ServeHTTP call (a coroutine function: grpc.aio checks for one)."""
        if self.dispatcher._stopping:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the plugin is shutting down")
        in_flight = self.dispatcher._in_flight
        task = asyncio.current_task()
        if task is not None:
            in_flight.add(task)
        try:
            await self._serve(request_iterator, context)
        finally:
            if task is not None:
                in_flight.discard(task)

    async def _serve(
        self,
        request_iterator: AsyncIterator[hooks_http_pb2.ServeHTTPRequest],
        context: ServeContext,
    ) -> None:
        loop = asyncio.get_running_loop()
        messages = request_iterator.__aiter__()
        try:
            first = await messages.__anext__()
        except StopAsyncIteration:
            first = None
        if first is None or not first.HasField("init"):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "ServeHTTP: the first request message must carry init",
            )
            return
        source = _BodySource(loop)
        request = HTTPRequest._from_wire(first.init, source)
        reader: asyncio.Task[None] | None = None
        chunk = first.body_chunk
        if chunk:
            await source.put(chunk)
        if first.body_complete:
            await source.finish()
        else:
            reader = asyncio.ensure_future(self._read_rest(messages, request))
        handler = self.dispatcher.handler_for(self.hook_name)
        token = set_pins(new_pins())
        # One context for every step this request runs in the pool (the handler, each next()
        # of its body, close()): steps may land on different threads, and code such as
        # Flask's stream_with_context sets a context variable in one step, resets it in another.
        steps = contextvars.copy_context()

        async def innermost() -> Any:
            if handler is None:  # only SDK listeners serve HTTP here, and none took this path
                return {"status_code": 404, "body": "Not found"}
            return await self._call(handler, request, steps)

        try:
            try:
                result = await self.dispatcher.invoke(
                    self.hook_name, [request.plugin_context, request], None, innermost
                )
                prepared = _prepare(result)
            except (asyncio.CancelledError, ClientDisconnected):
                raise
            except Exception as exc:
                self._log_failure(exc)
                prepared = _error_response()
            try:
                await self._send(context, prepared, steps)
            except _BodyFailedAfterStart as failed:
                cause = failed.__cause__ or failed
                self._log_failure(cause, "the response body failed after it started")
                await context.abort(
                    grpc.StatusCode.INTERNAL,
                    "the plugin failed while sending the response body",
                )
        except asyncio.CancelledError:
            request._client_gone("the HTTP client went away")
            _log.debug("ServeHTTP %s %s: the client went away", request.method, request.path)
            raise
        except _StreamGone as exc:  # nothing can be sent any more, not even a status
            request._client_gone("the HTTP client went away")
            _log.debug("ServeHTTP %s %s: %s", request.method, request.path, exc)
        except ClientDisconnected as exc:
            # The request stream broke (or the handler saw the disconnect before the
            # cancellation reached this task): there is no one to answer.
            request._client_gone("the HTTP client went away")
            await context.abort(grpc.StatusCode.CANCELLED, f"ServeHTTP: {exc}")
        finally:
            reset_pins(token)
            if reader is not None:
                reader.cancel()
            source.fail(ClientDisconnected("the ServeHTTP call has ended"))

    def _log_failure(self, exc: BaseException, what: str = "") -> None:
        if what:
            exc_to_log: BaseException = _ContextError(f"{what}: {exc}")
            exc_to_log.__cause__ = exc
        else:
            exc_to_log = exc
        dispatcher = self.dispatcher
        dispatcher._log_failure(self.hook_name, dispatcher.describe(self.hook_name), exc_to_log)

    @staticmethod
    async def _read_rest(
        messages: AsyncIterator[hooks_http_pb2.ServeHTTPRequest], request: HTTPRequest
    ) -> None:
        # A request stream that ends early (grpc.aio ends it when the call is cancelled,
        # possibly before the handler task is) means the client is gone: ``cancelled`` is set
        # before the reader sees ClientDisconnected.
        source = request._source
        assert source is not None
        try:
            while True:
                try:
                    message = await messages.__anext__()
                except StopAsyncIteration:
                    request._client_gone("the request body ended before body_complete")
                    return
                chunk = message.body_chunk  # a copy on each access (upb)
                if chunk:
                    await source.put(chunk)
                if message.body_complete:
                    await source.finish()
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            request._client_gone(f"reading the request body failed: {exc}")

    async def _call(
        self, handler: Callable[..., Any], request: HTTPRequest, steps: contextvars.Context
    ) -> Any:
        try:
            if _is_async(handler):
                result = await handler(request.plugin_context, request)
            else:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(
                    self.pool, steps.run, handler, request.plugin_context, request
                )
            if inspect.isawaitable(result):
                result = await result
        except EXITS as exc:
            raise HandlerExit(exc) from exc
        return result

    async def _send(
        self, context: ServeContext, prepared: _Prepared, steps: contextvars.Context
    ) -> None:
        init = hooks_http_pb2.ServeHTTPResponseInit(
            status_code=prepared.status_code,
            headers=[
                hooks_http_pb2.HTTPHeader(key=name, values=values)
                for name, values in prepared.headers.grouped()
            ],
        )
        Response = hooks_http_pb2.ServeHTTPResponse
        if prepared.fixed is not None:
            await _write(context, Response(init=init))
            pieces = _split(prepared.fixed) if prepared.fixed else []
            for piece in pieces[:-1]:
                await _write(context, Response(body_chunk=piece))
            await _write(
                context, Response(body_chunk=pieces[-1] if pieces else b"", body_complete=True)
            )
            return
        await _write(context, Response(init=init, flush=True))
        assert prepared.stream is not None
        write = context.write
        try:
            async with contextlib.aclosing(self._chunks(prepared, steps)) as chunks:
                async for chunk in chunks:
                    data = _to_bytes(chunk)
                    if not data:
                        continue
                    # The hot loop: context.write inline, its failure is the stream's (_write)
                    try:
                        if len(data) <= MAX_CHUNK:
                            await write(Response(body_chunk=data, flush=True))
                            continue
                        pieces = _split(data)
                        last = len(pieces) - 1
                        for i, piece in enumerate(pieces):
                            await write(Response(body_chunk=piece, flush=i == last))
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        raise _StreamGone(f"the ServeHTTP call has ended: {exc!r}") from exc
        except (asyncio.CancelledError, ClientDisconnected):
            raise
        except (Exception, *EXITS) as exc:  # a body that calls sys.exit() fails like any other
            raise _BodyFailedAfterStart() from exc
        await _write(context, Response(body_complete=True))

    async def _chunks(
        self, prepared: _Prepared, steps: contextvars.Context
    ) -> AsyncGenerator[Chunk, None]:
        body = prepared.stream
        if isinstance(body, AsyncIterable):
            iterator = body.__aiter__()
            try:
                while True:
                    try:
                        item = await iterator.__anext__()
                    except StopAsyncIteration:
                        return
                    yield item
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    with contextlib.suppress(Exception):
                        await aclose()
        assert isinstance(body, Iterable)
        if prepared.sync_inline:
            for item in body:
                yield item
            return
        pump = _SyncPump(body, self.pool, steps)
        try:
            while True:
                item = await pump.get()
                if item is _END:
                    return
                yield item
        finally:
            pump.close()


_END = object()
SYNC_BODY_RUN_AHEAD = 1024 * 1024
"""Bytes a ``def`` body iterator may produce ahead of what was sent (and at most 64 items)."""
_RUN_AHEAD_ITEMS = 64


def _item_size(item: object) -> int:
    return len(item) if isinstance(item, bytes | bytearray | memoryview | str) else 0


class _SyncPump:
    """Iterate a sync response body (a generator, a WSGI iterable) in the pool, for the loop.

    One pool task calls ``next()`` repeatedly and hands each item to the loop at once (so an
    item is sent as soon as it is produced, as before), running ahead of the writes by at
    most :data:`SYNC_BODY_RUN_AHEAD` bytes; it then returns its thread, and the loop starts
    another task once half of that is sent. Compared with one pool round trip per item, the
    iterator and the loop work side by side, and the loop is woken only when it waits.
    ``close()`` closes the iterator in the pool, never while a ``next()`` runs, exactly once.
    Each step (``iter``, every ``next``, ``close``) runs in ``steps``, the request's context,
    entered once at a time.
    """

    def __init__(
        self,
        iterable: Iterable[Any],
        pool: concurrent.futures.Executor,
        steps: contextvars.Context,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.pool = pool
        self.steps = steps
        self._iterable: Iterable[Any] | None = iterable
        self._iterator: Iterator[Any] | None = None
        self._lock = threading.Lock()
        self._items: collections.deque[tuple[Any, BaseException | None]] = collections.deque()
        self._bytes = 0
        self._running = False  # a pool task is iterating
        self._finished = False  # the iterator is exhausted, or raised
        self._closed = False  # the loop is done with it: close it
        self._waiter: asyncio.Future[None] | None = None

    def _full(self) -> bool:
        return self._bytes >= SYNC_BODY_RUN_AHEAD or len(self._items) >= _RUN_AHEAD_ITEMS

    def _start(self) -> None:
        """Start a pool task (lock held)."""
        self.pool.submit(self._produce)
        self._running = True

    def _produce(self) -> None:
        """The pool task: iterate until the buffer is full, the end, or ``close()``."""
        while True:
            item: Any
            error: BaseException | None = None
            try:
                if self._iterator is None:
                    assert self._iterable is not None
                    self._iterator = self.steps.run(iter, self._iterable)
                    self._iterable = None
                item = self.steps.run(next, self._iterator, _END)
            except BaseException as exc:  # handed to the loop, raised there
                item, error = _END, HandlerExit(exc) if isinstance(exc, EXITS) else exc
            with self._lock:
                if self._closed:
                    self._running = False
                    break
                self._items.append((item, error))
                self._bytes += _item_size(item)
                if item is _END:
                    self._finished = True
                    self._running = False
                elif self._full():
                    self._running = False
                going_on = self._running
                waiter, self._waiter = self._waiter, None
            if waiter is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                    self.loop.call_soon_threadsafe(_resolve, waiter)
            if not going_on:
                return
        self._close_iterator()  # close() came while next() ran: close here, in order

    async def get(self) -> Any:
        """The next item, ``_END`` at the end; raises what the iterator raised."""
        while True:
            with self._lock:
                if self._items:
                    item, error = self._items.popleft()
                    self._bytes -= _item_size(item)
                    if (
                        not self._running
                        and not self._finished
                        and self._bytes <= SYNC_BODY_RUN_AHEAD // 2
                        and len(self._items) <= _RUN_AHEAD_ITEMS // 2
                    ):
                        self._start()
                    break
                if not self._running and not self._finished:
                    self._start()
                waiter = self._waiter = self.loop.create_future()
            await waiter
        if error is not None:
            raise error
        return item

    def close(self) -> None:
        """Stop iterating and close the iterator (in the pool, after a running ``next()``)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._items.clear()
            running = self._running
        if running:
            return  # the pool task closes it when its next() returns
        try:
            self.pool.submit(self._close_iterator)
        except RuntimeError:  # the pool is shut down: the process is stopping
            self._close_iterator()

    def _close_iterator(self) -> None:
        close = getattr(self._iterator, "close", None)
        if close is None:
            return
        try:
            self.steps.run(close)
        except (Exception, *EXITS):
            _log.exception("closing the response body iterator failed")


class _ContextError(Exception):
    pass


def serve_http_handler(
    dispatcher: HookDispatcher, spec: HookSpec
) -> grpc.RpcMethodHandler[hooks_http_pb2.ServeHTTPRequest, hooks_http_pb2.ServeHTTPResponse]:
    """The gRPC method handler of ServeHTTP for ``dispatcher`` (used by ``HookDispatcher``)."""
    return grpc.stream_stream_rpc_method_handler(
        _ServeHTTP(dispatcher, spec.name).serve,
        request_deserializer=hooks_http_pb2.ServeHTTPRequest.FromString,
        response_serializer=hooks_http_pb2.ServeHTTPResponse.SerializeToString,
    )
