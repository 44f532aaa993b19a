"""ServeHTTP: answer HTTP requests sent to ``/plugins/<plugin id>/...``.

The server streams each request to the plugin and the plugin streams its answer back, both in
chunks of at most 64 KiB (PROTOCOL.md §4). This module turns that into three ways of writing
the handler, from simplest to most capable.

**Return a dict** (the guide's form)::

    @hook(HookName.ServeHTTP)
    def serve_http(self, context, request):
        if request.path == "/api/hello":
            return {"status_code": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": '{"message": "Hello from Python!"}'}
        return {"status_code": 404, "body": "Not found"}

``headers`` maps a name to a string or a list of strings; ``body`` is ``str`` (sent as
UTF-8) or ``bytes``. Returning ``None`` answers 200 with no body, as a Go handler that writes
nothing does.

**Return an** :class:`HTTPResponse`, whose body may also be a generator (``def`` handlers)
or an async generator (``async def`` handlers). Each item the generator yields is sent
(split into 64 KiB chunks) and flushed right away, which is what server-sent events and
progress output need::

    @hook(HookName.ServeHTTP)
    async def serve_http(self, context, request):
        async def events():
            for i in range(3):
                yield f"data: {i}\\n\\n"
                await asyncio.sleep(1)
        return HTTPResponse(200, {"Content-Type": "text/event-stream"}, events())

The request body can be read whole (``request.body`` in ``def`` handlers, ``await
request.read()`` in ``async def`` ones) or streamed without buffering it
(``for chunk in request.stream()`` / ``async for chunk in request.astream()``). The answer
may start before the request body has arrived: the body is read concurrently.

**Mount an ASGI or WSGI application** (Starlette, FastAPI, Flask, …) as the handler::

    app = FastAPI()

    class MyPlugin(Plugin):
        serve_http = mount_asgi(app)          # or mount_wsgi(flask_app)

        @hook(HookName.OnActivate)
        async def on_activate(self):
            await self.serve_http.startup()   # runs the app's lifespan startup

        @hook(HookName.OnDeactivate)
        async def on_deactivate(self):
            await self.serve_http.shutdown()  # and its shutdown

A mount placed in the class body *is* the plugin's ServeHTTP handler (no ``@hook`` needed).
The app sees the request path below ``/plugins/<plugin id>``, with that prefix as its
``root_path`` (``SCRIPT_NAME`` for WSGI) so the URLs it builds are right. Without an explicit
``startup()``, an ASGI app's lifespan starts before its first request.

Handlers run like other hooks — ``def`` ones in a thread pool (so are ``def`` generators and
WSGI apps; a pool of their own, ``Plugin.http_workers``, so that slow HTTP clients never hold
a thread a hook needs), ``async def`` ones on the event loop — but ServeHTTP has no time
limit: it ends when the answer is complete or the HTTP client goes away. When the client goes
away, ``request.cancelled`` is set, reading the body raises :class:`ClientDisconnected`, an
``async def`` handler (or async body generator) gets ``asyncio.CancelledError``, body
iteration stops, and an ASGI app receives ``http.disconnect``. A handler that raises, or
returns something that is not an answer (e.g. a status that is not an int in 100-999), is
logged with the hook, the handler and the cause, and answered with 500 when nothing was sent
yet; when the body had already started, the stream is aborted so the client sees a truncated
response rather than a silently short one. The plugin process keeps running either way.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import functools
import inspect
import io
import json as _json
import logging
import sys
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast
from urllib.parse import parse_qs, unquote, unquote_to_bytes, urlsplit

import grpc
import grpc.aio

from mattermost_plugin._dispatch import EXITS, HandlerExit, contain_exits
from mattermost_plugin._generated.converters.hooks_common import plugin_context_from_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_http_pb2
from mattermost_plugin.listeners import new_pins, reset_pins, set_pins
from mattermost_plugin.models.hooks_common import PluginContext

if TYPE_CHECKING:
    from mattermost_plugin._dispatch import HookDispatcher
    from mattermost_plugin._hookspec import HookSpec
    from mattermost_plugin.plugin import Plugin

__all__ = [
    "MAX_CHUNK",
    "AsgiMount",
    "ClientDisconnected",
    "HTTPRequest",
    "HTTPResponse",
    "Headers",
    "WsgiMount",
    "asgi_mounts",
    "mount_asgi",
    "mount_wsgi",
]

MAX_CHUNK = 64 * 1024
"""Largest body chunk in one ServeHTTP message, either way."""
REQUEST_QUEUE_CHUNKS = 16
"""Request chunks held while the handler has not read them (backpressure beyond that)."""
ASGI_DISCONNECT_GRACE = 1.0
"""Seconds an ASGI app may run after ``http.disconnect`` before it is cancelled."""
LIFESPAN_TIMEOUT = 30.0

_log = logging.getLogger("mattermost_plugin.http")

HeadersLike: TypeAlias = "Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]"
Chunk: TypeAlias = "bytes | bytearray | memoryview | str"
Body: TypeAlias = "Chunk | Iterable[Chunk] | AsyncIterable[Chunk]"

_ERROR_BODY = b"500 Internal Server Error\n"
_TEXT_PLAIN = "text/plain; charset=utf-8"


class ClientDisconnected(ConnectionError):
    """The HTTP client went away (the server cancelled the ServeHTTP stream).

    Raised by reading the request body after that, and by an ASGI app's ``send``.
    """


# -- headers ----------------------------------------------------------------------------------
class Headers(Mapping[str, str]):
    """HTTP headers: case-insensitive, multi-valued, read-only.

    ``headers["content-type"]`` is the first value (like Go's ``Header.Get``), ``get_all``
    every value in order, ``multi_items()`` every (name, value) pair. Iterating gives each
    name once, as first written.
    """

    __slots__ = ("_items",)
    _items: list[tuple[str, str]]

    def __init__(self, headers: HeadersLike | None = None) -> None:
        items: list[tuple[str, str]] = []
        if isinstance(headers, Headers):
            items = list(headers._items)
        elif isinstance(headers, Mapping):
            for name, value in headers.items():
                if isinstance(value, str):
                    items.append((_header_name(name), value))
                elif isinstance(value, list | tuple):
                    for v in value:
                        items.append((_header_name(name), _header_value(name, v)))
                else:
                    raise TypeError(
                        f"header {name!r}: expected a str or a list of str, "
                        f"got {type(value).__name__}"
                    )
        elif headers is not None:
            for pair in headers:
                name, value = pair
                items.append((_header_name(name), _header_value(name, value)))
        self._items = items

    @classmethod
    def _from_pb(cls, headers: Iterable[hooks_http_pb2.HTTPHeader]) -> Headers:
        self = cls()
        self._items = [(h.key, v) for h in headers for v in h.values]
        return self

    def __getitem__(self, name: str) -> str:
        key = name.lower()
        for k, v in self._items:
            if k.lower() == key:
                return v
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower()
        return any(k.lower() == key for k, _ in self._items)

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``, in order (empty when absent)."""
        key = name.lower()
        return [v for k, v in self._items if k.lower() == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair, in order; a name repeats once per value."""
        return list(self._items)

    def grouped(self) -> list[tuple[str, list[str]]]:
        """(name, values) per distinct name, names as first written."""
        groups: dict[str, tuple[str, list[str]]] = {}
        for k, v in self._items:
            groups.setdefault(k.lower(), (k, []))[1].append(v)
        return list(groups.values())

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, _ in self.grouped()])

    def __len__(self) -> int:
        return len({k.lower() for k, _ in self._items})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        other_headers = other if isinstance(other, Headers) else Headers(other)

        def canonical(h: Headers) -> dict[str, list[str]]:
            return {name.lower(): values for name, values in h.grouped()}

        # Names compare case-insensitively, and so does their order; a name's values do not.
        return canonical(self) == canonical(other_headers)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


def _header_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"header names must be str, got {type(name).__name__}")
    return name


def _header_value(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"header {name!r}: values must be str, got {type(value).__name__}")
    return value


_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def _check_response_headers(headers: Headers) -> None:
    for name, value in headers.multi_items():
        if not name or not set(name) <= _TOKEN_CHARS:
            raise ValueError(f"invalid response header name {name!r}")
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"response header {name!r}: the value contains CR, LF or NUL")


# -- request body source ----------------------------------------------------------------------
class _BodySource:
    """Request body chunks as they arrive from the host, in a bounded buffer.

    The host side (``put``, ``finish``, ``fail``) runs on the event loop; a reader is either
    a coroutine on the loop (``aget``) or a thread (``get``: a ``def`` handler, a WSGI app).
    A thread waits on a condition the loop notifies directly, so a chunk costs it no trip
    through the loop, and chunks already buffered cost none at all; the loop is only called
    back when a putter waits for room.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._items: collections.deque[bytes | None] = collections.deque()
        self._lock = threading.Lock()
        self._readable = threading.Condition(self._lock)  # a thread waiting for an item
        self._waiter: asyncio.Future[None] | None = None  # a coroutine waiting for an item
        self._room: asyncio.Future[None] | None = None  # the putter waiting for room
        self._error: ClientDisconnected | None = None
        self._ended = False

    async def put(self, chunk: bytes | None) -> None:
        """Add a chunk (None: the end), waiting while REQUEST_QUEUE_CHUNKS are unread."""
        while True:
            with self._lock:
                if self._error is not None:
                    return  # nobody will read it
                if len(self._items) < REQUEST_QUEUE_CHUNKS:
                    self._items.append(chunk)
                    self._readable.notify()
                    waiter, self._waiter = self._waiter, None
                    break
                room = self._room = self.loop.create_future()
            await room
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def finish(self) -> None:
        await self.put(None)

    def fail(self, error: ClientDisconnected) -> None:
        """Wake any reader with ``error`` (on the loop). Buffered chunks are dropped."""
        with self._lock:
            if self._ended or self._error is not None:
                return
            self._error = error
            self._items.clear()
            self._readable.notify_all()
            waiter, self._waiter = self._waiter, None
            room, self._room = self._room, None
        for future in (waiter, room):
            if future is not None and not future.done():
                future.set_result(None)

    def _take(self) -> tuple[bytes | None, asyncio.Future[None] | None]:
        """The next item and the putter to wake, with the lock held and an item there."""
        item = self._items.popleft()
        if item is None:
            self._ended = True
        room, self._room = self._room, None
        return item, room

    async def aget(self) -> bytes | None:
        """The next chunk, or None at the end of the body."""
        while True:
            with self._lock:
                if self._error is not None:
                    raise self._error
                if self._ended:
                    return None
                if self._items:
                    item, room = self._take()
                    break
                waiter = self._waiter = self.loop.create_future()
            await waiter
        if room is not None and not room.done():
            room.set_result(None)
        return item

    def get(self) -> bytes | None:
        """``aget`` for a thread other than the loop's."""
        _refuse_on_event_loop("reading the request body with stream() or .body")
        with self._lock:
            while not self._items and self._error is None and not self._ended:
                self._readable.wait()
            if self._error is not None:
                raise self._error
            if self._ended:
                return None
            item, room = self._take()
        if room is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the call is over
                self.loop.call_soon_threadsafe(_resolve, room)
        return item


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _refuse_on_event_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{what} blocks, and this is the event loop: in an async def handler use "
        "`await request.read()` or `async for chunk in request.astream()`"
    )


# -- request ----------------------------------------------------------------------------------
class HTTPRequest:
    """One HTTP request to the plugin (``/plugins/<plugin id>/...``).

    Attributes:
        method: ``"GET"``, ``"POST"``, …
        url: the URL as the server sent it: the path below ``/plugins/<plugin id>`` and the
            query, e.g. ``"/api/items?page=2"``.
        path: the decoded path of ``url``, e.g. ``"/api/items"``.
        raw_path: the same, still percent-encoded.
        query: the raw query string, without ``?`` (``"page=2"``).
        query_params: the query parsed into ``{name: [values]}``.
        headers: :class:`Headers`, case-insensitive and multi-valued. As in Go, the ``Host``
            header is not among them: see ``host``.
        host: the host the request was sent to.
        remote_addr: the client's address, ``"ip:port"``.
        request_uri: the unmodified request target, ``"/plugins/<id>/api/items?page=2"``.
        root_path: the part of ``request_uri``'s path before ``path``
            (``"/plugins/<plugin id>"``), or ``""`` when it cannot be told.
        proto: ``"HTTP/1.1"``, …
        content_length: the body length, or None when unknown.
        plugin_context: the request's :class:`~mattermost_plugin.models.PluginContext`
            (also passed to the handler as ``context``).
        cancelled: a ``threading.Event`` set when the HTTP client goes away.
        user_id: the ``Mattermost-User-Id`` header: the logged-in user, or ``""``.

    The body is read at most once, either whole (``body``, ``await read()``) or as chunks
    (``stream()``, ``astream()``). A request can be built directly for unit tests:
    ``HTTPRequest(method="POST", url="/api/x", body=b"...")``.
    """

    def __init__(
        self,
        *,
        method: str = "GET",
        url: str = "/",
        headers: HeadersLike | None = None,
        body: bytes = b"",
        host: str = "",
        remote_addr: str = "",
        request_uri: str = "",
        proto: str = "HTTP/1.1",
        content_length: int | None = None,
        plugin_context: PluginContext | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = Headers(headers)
        self.host = host
        self.remote_addr = remote_addr
        self.request_uri = request_uri or url
        self.proto = proto
        self.content_length = len(body) if content_length is None and body else content_length
        self.plugin_context = plugin_context if plugin_context is not None else PluginContext()
        self.cancelled = threading.Event()
        self._body: bytes | None = body
        self._source: _BodySource | None = None
        self._consumed = False
        parts = urlsplit(url)
        self.raw_path = parts.path or "/"
        self.path = unquote(self.raw_path)
        self.query = parts.query

    @classmethod
    def _from_wire(
        cls, init: hooks_http_pb2.ServeHTTPRequestInit, source: _BodySource
    ) -> HTTPRequest:
        self = cls(
            method=init.method,
            url=init.url or init.request_uri or "/",
            host=init.host,
            remote_addr=init.remote_addr,
            request_uri=init.request_uri,
            proto=init.proto or "HTTP/1.1",
            content_length=None if init.content_length < 0 else init.content_length,
            plugin_context=plugin_context_from_pb(init.plugin_context)
            if init.HasField("plugin_context")
            else PluginContext(),
        )
        self.headers = Headers._from_pb(init.headers)
        self._body = None
        self._source = source
        return self

    def __repr__(self) -> str:
        return f"<HTTPRequest {self.method} {self.url}>"

    @functools.cached_property
    def query_params(self) -> dict[str, list[str]]:
        """The query string parsed into ``{name: [values, …]}`` (blank values kept)."""
        return parse_qs(self.query, keep_blank_values=True)

    @property
    def root_path(self) -> str:
        raw_uri_path = urlsplit(self.request_uri).path
        if raw_uri_path != self.raw_path and raw_uri_path.endswith(self.raw_path):
            return unquote(raw_uri_path[: -len(self.raw_path)])
        if raw_uri_path + "/" == self.raw_path:  # /plugins/<id> with no trailing slash
            return unquote(raw_uri_path)
        return ""

    @property
    def user_id(self) -> str:
        return self.headers.get("Mattermost-User-Id", "")

    # -- body --------------------------------------------------------------------------------
    @property
    def body(self) -> bytes:
        """The whole body, read on first access (blocks until it has arrived).

        In ``async def`` handlers use ``await request.read()`` instead. Raises
        :class:`ClientDisconnected` when the client goes away, RuntimeError after
        ``stream()``.
        """
        if self._body is None:
            _refuse_on_event_loop("reading request.body")
            self._start_consuming()
            self._body = b"".join(self._sync_chunks())
        return self._body

    async def read(self) -> bytes:
        """The whole body, awaited (for ``async def`` handlers)."""
        if self._body is None:
            self._start_consuming()
            self._body = b"".join([chunk async for chunk in _AsyncChunks(self)])
        return self._body

    def json(self) -> Any:
        """The body parsed as JSON (``json.loads(request.body)``)."""
        return _json.loads(self.body)

    def stream(self) -> Iterator[bytes]:
        """The body as chunks, as they arrive, without keeping them (``def`` handlers)."""
        if self._body is not None:
            return iter([self._body] if self._body else [])
        self._start_consuming()
        return self._sync_chunks()

    def astream(self) -> AsyncIterator[bytes]:
        """The body as chunks, as they arrive, without keeping them (``async def`` handlers)."""
        if self._body is not None:
            return _AsyncChunks(self, [self._body] if self._body else [])
        self._start_consuming()
        return _AsyncChunks(self)

    def _start_consuming(self) -> None:
        if self._consumed:
            raise RuntimeError("the request body was already consumed by stream()/astream()")
        self._consumed = True

    def _sync_chunks(self) -> Iterator[bytes]:
        assert self._source is not None
        while True:
            chunk = self._source.get()
            if chunk is None:
                return
            yield chunk

    def _client_gone(self, reason: str) -> None:
        self.cancelled.set()
        if self._source is not None:
            self._source.fail(ClientDisconnected(reason))


class _AsyncChunks(AsyncIterator[bytes]):
    """Body chunks for ``async for``; a class, not an async generator, so that cancelling
    one ``__anext__`` (e.g. inside an ASGI ``receive``) does not end the iteration."""

    def __init__(self, request: HTTPRequest, fixed: list[bytes] | None = None) -> None:
        self._request = request
        self._fixed = fixed

    async def __anext__(self) -> bytes:
        if self._fixed is not None:
            if not self._fixed:
                raise StopAsyncIteration
            return self._fixed.pop(0)
        source = self._request._source
        assert source is not None
        chunk = await source.aget()
        if chunk is None:
            raise StopAsyncIteration
        return chunk


# -- response ---------------------------------------------------------------------------------
@dataclass
class HTTPResponse:
    """An answer to ServeHTTP.

    ``body`` is ``bytes`` or ``str`` (UTF-8), an iterable of those (``def`` handlers; a
    generator is iterated in the thread pool), or an async iterable (``async def``
    handlers). Each item of an iterable is sent as soon as it is produced, with a flush.
    """

    status_code: int = 200
    headers: HeadersLike | None = None
    body: Body = b""

    @classmethod
    def json(
        cls, data: Any, status_code: int = 200, headers: HeadersLike | None = None
    ) -> HTTPResponse:
        """A JSON answer (``Content-Type: application/json``)."""
        merged = Headers(headers)
        if "content-type" not in merged:
            merged = Headers([*merged.multi_items(), ("Content-Type", "application/json")])
        return cls(status_code, merged, _json.dumps(data).encode())

    @classmethod
    def text(
        cls, text: str, status_code: int = 200, headers: HeadersLike | None = None
    ) -> HTTPResponse:
        """A plain-text answer (``Content-Type: text/plain; charset=utf-8``)."""
        merged = Headers(headers)
        if "content-type" not in merged:
            merged = Headers([*merged.multi_items(), ("Content-Type", _TEXT_PLAIN)])
        return cls(status_code, merged, text.encode())


@dataclass
class _Prepared:
    status_code: int
    headers: Headers
    fixed: bytes | None = None  # the whole body, or None when streamed
    stream: Iterable[Chunk] | AsyncIterable[Chunk] | None = None
    sync_inline: bool = False  # a list/tuple: iterate on the loop, no thread needed


_RESPONSE_KEYS = frozenset({"status_code", "headers", "body"})


def _prepare(result: Any) -> _Prepared:
    """Check a handler's return value and normalize it; raise TypeError/ValueError if bad."""
    status: object
    headers: HeadersLike | None
    body: Body | None
    if result is None:
        return _Prepared(200, Headers(), fixed=b"")
    if isinstance(result, str | bytes | bytearray | memoryview):
        status, headers, body = 200, None, result
    elif isinstance(result, HTTPResponse):
        status, headers, body = result.status_code, result.headers, result.body
    elif isinstance(result, Mapping):
        unknown = set(result) - _RESPONSE_KEYS
        if unknown:
            raise TypeError(
                f"returned a dict with unknown key(s) {sorted(map(str, unknown))}; "
                f"expected {sorted(_RESPONSE_KEYS)}"
            )
        status = result.get("status_code", 200)
        headers = result.get("headers")
        body = result.get("body", b"")
    else:
        raise TypeError(
            f"returned {type(result).__name__}; return a dict with status_code, headers and "
            "body, an HTTPResponse, str, bytes or None"
        )
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
        raise ValueError(f"invalid HTTP status code {status!r}: expected an int in 100..999")
    prepared_headers = Headers(headers)
    _check_response_headers(prepared_headers)
    code = int(status)
    if body is None:
        return _Prepared(code, prepared_headers, fixed=b"")
    if isinstance(body, str | bytes | bytearray | memoryview):
        return _Prepared(code, prepared_headers, fixed=_to_bytes(body))
    if isinstance(body, list | tuple):
        return _Prepared(code, prepared_headers, stream=body, sync_inline=True)
    if isinstance(body, AsyncIterable | Iterable):
        return _Prepared(code, prepared_headers, stream=cast("Iterable[Chunk]", body))
    raise TypeError(
        f"body: expected str, bytes or an (async) iterable of those, got {type(body).__name__}"
    )


def _to_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode()
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(f"body chunk: expected bytes or str, got {type(chunk).__name__}")


def _error_response() -> _Prepared:
    return _Prepared(500, Headers({"Content-Type": _TEXT_PLAIN}), fixed=_ERROR_BODY)


def _split(data: bytes) -> list[bytes]:
    if len(data) <= MAX_CHUNK:
        return [data]
    view = memoryview(data)
    return [bytes(view[i : i + MAX_CHUNK]) for i in range(0, len(data), MAX_CHUNK)]


def _is_async(handler: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(handler):
        return True
    call = getattr(handler, "__call__", None)  # noqa: B004 (objects with an async __call__)
    return call is not None and inspect.iscoroutinefunction(call)


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


# -- mounts: common ---------------------------------------------------------------------------
class _Mount:
    """A mounted application, usable as a Plugin's ServeHTTP handler in the class body."""

    __mattermost_hook__ = "ServeHTTP"
    _func: Callable[..., Any]

    @property
    def __func__(self) -> Callable[..., Any]:
        """The plugin method this mount stands for: ``(self, context, request)``.

        ``Plugin`` reads the hook name and the signature from it when the class is defined.
        """
        return self._func

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self


def _split_host_port(value: str, default_port: int | None) -> tuple[str, int | None] | None:
    if not value:
        return None
    host, port = value, default_port
    if value.startswith("["):  # [::1]:8065
        end = value.find("]")
        host = value[1:end] if end > 0 else value
        rest = value[end + 1 :] if end > 0 else ""
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif value.count(":") == 1:
        name, _, digits = value.partition(":")
        if digits.isdigit():
            host, port = name, int(digits)
    return host, port


def _latin1(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


# -- ASGI -------------------------------------------------------------------------------------
AsgiScope: TypeAlias = MutableMapping[str, Any]
AsgiMessage: TypeAlias = MutableMapping[str, Any]
AsgiReceive: TypeAlias = Callable[[], Awaitable[AsgiMessage]]
AsgiSend: TypeAlias = Callable[[AsgiMessage], Awaitable[None]]
AsgiApp: TypeAlias = Callable[[AsgiScope, AsgiReceive, AsgiSend], Awaitable[None]]


class AsgiMount(_Mount):
    """An ASGI 3 application (Starlette, FastAPI, …) serving the plugin's HTTP requests.

    Create it with :func:`mount_asgi`. Request and response bodies are streamed both ways:
    ``receive()`` hands the app each request chunk as it arrives, and each
    ``http.response.body`` message is sent (and flushed) as the app sends it. When the
    client goes away, ``receive()`` returns ``http.disconnect`` and ``send()`` raises
    :class:`ClientDisconnected` (an ``OSError``, as ASGI 2.4 asks); an app still running
    :data:`ASGI_DISCONNECT_GRACE` seconds later is cancelled.

    Lifespan: ``await mount.startup()`` / ``await mount.shutdown()`` (from async
    OnActivate / OnDeactivate handlers) run the app's lifespan; ``lifespan="auto"`` (the
    default) also starts it before the first request if nobody did, and tolerates apps
    without lifespan support; ``"on"`` requires it; ``"off"`` never runs it. The lifespan
    ``state`` is copied into each request's scope (``request.state`` in Starlette).

    The scope carries ``scope["mattermost.plugin_context"]`` (a ``PluginContext``),
    ``scope["mattermost.request"]`` (the :class:`HTTPRequest`) and
    ``scope["mattermost.plugin"]`` (the plugin object, when the mount serves a plugin; the
    dependencies of :mod:`mattermost_plugin.integrations.fastapi` read it).
    """

    def __init__(
        self,
        app: AsgiApp,
        *,
        lifespan: Literal["auto", "on", "off"] = "auto",
        root_path: str | None = None,
    ) -> None:
        if lifespan not in ("auto", "on", "off"):
            raise ValueError(f"lifespan must be 'auto', 'on' or 'off', not {lifespan!r}")
        self.app = app
        self.lifespan = lifespan
        self.root_path = root_path
        self.state: dict[str, Any] = {}
        self._lifespan_state: Literal["idle", "started", "unsupported", "stopped"] = "idle"
        self._lifespan_error: BaseException | None = None
        self._lifespan_task: asyncio.Task[None] | None = None
        self._lifespan_inbox: asyncio.Queue[AsgiMessage] | None = None
        self._lifespan_outbox: asyncio.Queue[AsgiMessage] | None = None
        self._lock: asyncio.Lock | None = None
        self._background: set[asyncio.Task[None]] = set()

        mount = self

        async def serve_http(plugin: Plugin, context: PluginContext, request: HTTPRequest) -> Any:
            return await mount(context, request, plugin)

        # The method this mount stands for (for the class's checks); a plugin object's
        # ``serve_http`` attribute is the mount bound to it (``__get__``).

        serve_http.__mattermost_hook__ = "ServeHTTP"  # type: ignore[attr-defined]
        self._func = serve_http

    def __repr__(self) -> str:
        return f"<AsgiMount {self.app!r}>"

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        # Read off a plugin object (``self.serve_http``, the dispatcher's handler), the mount
        # serves that plugin: its requests carry it in the scope.
        if instance is None:
            return self
        return _PluginAsgiMount(self, instance)

    # -- lifespan ----------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """True once the lifespan startup completed (or the app has no lifespan)."""
        return self._lifespan_state in ("started", "unsupported")

    async def startup(self) -> None:
        """Run the app's lifespan startup, once. Raises RuntimeError if the app reports
        ``lifespan.startup.failed`` (or, with ``lifespan="on"``, has no lifespan)."""
        if self.lifespan == "off" or self._lifespan_state != "idle":
            if self._lifespan_error is not None:
                raise self._lifespan_error
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._lifespan_state != "idle":
                if self._lifespan_error is not None:
                    raise self._lifespan_error
                return
            try:
                await self._startup()
            except BaseException as exc:
                if not isinstance(exc, asyncio.CancelledError):
                    self._lifespan_error = exc
                    self._lifespan_state = "stopped"
                raise

    async def _startup(self) -> None:
        inbox: asyncio.Queue[AsgiMessage] = asyncio.Queue()
        outbox: asyncio.Queue[AsgiMessage] = asyncio.Queue()
        self._lifespan_inbox, self._lifespan_outbox = inbox, outbox
        scope: AsgiScope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }

        async def send(message: AsgiMessage) -> None:
            await outbox.put(message)

        self._lifespan_task = asyncio.ensure_future(contain_exits(self.app(scope, inbox.get, send)))
        await inbox.put({"type": "lifespan.startup"})
        reply = await self._lifespan_reply(outbox)
        if reply is None:  # the app returned or raised: no lifespan support
            exc = self._lifespan_task.exception() if not self._lifespan_task.cancelled() else None
            if self.lifespan == "on":
                raise RuntimeError(f"the ASGI app does not support lifespan: {exc!r}") from exc
            _log.debug("ASGI app %r has no lifespan support (%r); going on without", self.app, exc)
            self._lifespan_state = "unsupported"
            return
        if reply.get("type") == "lifespan.startup.failed":
            raise RuntimeError(f"ASGI lifespan startup failed: {reply.get('message', '')}")
        self._lifespan_state = "started"

    async def _lifespan_reply(self, outbox: asyncio.Queue[AsgiMessage]) -> AsgiMessage | None:
        assert self._lifespan_task is not None
        getter = asyncio.ensure_future(outbox.get())
        try:
            done, _ = await asyncio.wait(
                {getter, self._lifespan_task},
                timeout=LIFESPAN_TIMEOUT,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        if not done:
            raise RuntimeError(f"the ASGI lifespan did not answer within {LIFESPAN_TIMEOUT} s")
        return None

    async def shutdown(self) -> None:
        """Run the app's lifespan shutdown (if its startup ran). Safe to call twice."""
        if self._lifespan_state != "started":
            if self._lifespan_state == "unsupported":
                self._lifespan_state = "stopped"
            return
        self._lifespan_state = "stopped"
        assert self._lifespan_inbox is not None and self._lifespan_outbox is not None
        await self._lifespan_inbox.put({"type": "lifespan.shutdown"})
        reply = await self._lifespan_reply(self._lifespan_outbox)
        task = self._lifespan_task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=1.0)
            if not task.done():
                task.cancel()
        if reply is not None and reply.get("type") == "lifespan.shutdown.failed":
            raise RuntimeError(f"ASGI lifespan shutdown failed: {reply.get('message', '')}")

    # -- requests ----------------------------------------------------------------------------
    def scope_for(self, request: HTTPRequest, plugin: Plugin | None = None) -> AsgiScope:
        """The ASGI HTTP scope of ``request`` (served for ``plugin``)."""
        root_path = self.root_path if self.root_path is not None else request.root_path
        raw_root = root_path.encode()  # a plain prefix such as /plugins/com.example.x
        headers = [
            (name.lower().encode("latin-1", "replace"), _latin1(value))
            for name, value in request.headers.multi_items()
        ]
        if request.host and "host" not in request.headers:
            headers.insert(0, (b"host", _latin1(request.host)))
        major, _, minor = request.proto.removeprefix("HTTP/").partition(".")
        http_version = major if major in ("2", "3") else f"{major or '1'}.{minor or '1'}"
        scheme = request.headers.get("X-Forwarded-Proto", "http").split(",")[0].strip().lower()
        scope: AsgiScope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": http_version,
            "method": request.method.upper(),
            "scheme": scheme if scheme in ("http", "https") else "http",
            "path": root_path + request.path,
            "raw_path": raw_root + _latin1(request.raw_path),
            "query_string": _latin1(request.query),
            "root_path": root_path,
            "headers": headers,
            "client": _split_host_port(request.remote_addr, 0),
            "server": _split_host_port(request.host, None),
            "mattermost.plugin_context": request.plugin_context,
            "mattermost.request": request,
        }
        if plugin is not None:
            scope["mattermost.plugin"] = plugin
        if self._lifespan_state == "started":
            scope["state"] = dict(self.state)
        return scope

    async def __call__(
        self, context: PluginContext, request: HTTPRequest, plugin: Plugin | None = None
    ) -> HTTPResponse:
        """Run the app for one request; return once it has started its response."""
        if self.lifespan == "auto" and self._lifespan_state == "idle":
            await self.startup()
        exchange = _AsgiExchange(self, request)
        return await exchange.start(self.scope_for(request, plugin))

    def _keep(self, task: asyncio.Task[None]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class _PluginAsgiMount:
    """An :class:`AsgiMount` as a plugin object's attribute: calling it serves a request with
    ``scope["mattermost.plugin"]`` set; anything else (``startup()``, ``state``, …) is the
    mount's own."""

    __slots__ = ("_mount", "_plugin")

    def __init__(self, mount: AsgiMount, plugin: Any) -> None:
        self._mount, self._plugin = mount, plugin

    async def __call__(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        return await self._mount(context, request, self._plugin)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mount, name)

    def __repr__(self) -> str:
        return f"<AsgiMount {self._mount.app!r} of {type(self._plugin).__name__}>"


class _AsgiExchange:
    """One HTTP request through an ASGI app."""

    def __init__(self, mount: AsgiMount, request: HTTPRequest) -> None:
        self.mount = mount
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.started: asyncio.Future[tuple[int, list[tuple[str, str]]]] = self.loop.create_future()
        self.body: asyncio.Queue[bytes | None] = asyncio.Queue(REQUEST_QUEUE_CHUNKS)
        self.closed = asyncio.Event()  # the client went away, or the response is complete
        self.disconnected = False
        self.request_done = False
        self.response_done = False
        self.chunks = _AsyncChunks(request)
        self.task: asyncio.Task[None] | None = None

    async def start(self, scope: AsgiScope) -> HTTPResponse:
        self.task = asyncio.ensure_future(
            contain_exits(self.mount.app(scope, self.receive, self.send))
        )
        try:
            waiting: set[asyncio.Future[Any]] = {self.started, self.task}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self.disconnect()
            raise
        if not self.started.done():
            self.closed.set()
            exc = self.task.exception()
            if exc is not None:
                raise exc
            raise RuntimeError("the ASGI app returned without sending http.response.start")
        self.task.add_done_callback(self._app_done)
        status, headers = self.started.result()
        return HTTPResponse(status, headers, self._body())

    def _app_done(self, task: asyncio.Task[None]) -> None:
        if self.disconnected:
            return
        exc: BaseException | None = (
            RuntimeError("the ASGI app was cancelled") if task.cancelled() else task.exception()
        )
        if self.response_done:
            if exc is not None:  # e.g. a failing background task
                _log.error("the ASGI app failed after its response: %s", exc, exc_info=exc)
            return
        # Returned without the final body message (end the body), or failed mid-body.
        self.fail_body = exc
        self.response_done = True
        self.closed.set()
        self.mount._keep(self.loop.create_task(self.body.put(None)))

    fail_body: BaseException | None = None

    async def _body(self) -> AsyncIterator[bytes]:
        complete = False
        try:
            while True:
                item = await self.body.get()
                if item is None:
                    if self.fail_body is not None:
                        raise self.fail_body
                    complete = True
                    return
                yield item
        finally:
            if not complete:
                self.disconnect()

    def disconnect(self) -> None:
        """The client went away: tell the app, then cancel it after a grace period."""
        if self.disconnected:
            return
        self.disconnected = True
        self.closed.set()
        while not self.body.empty():  # unblock a send() waiting for room
            self.body.get_nowait()
        task = self.task
        if task is not None and not task.done():
            reaper = self.loop.create_task(self._reap(task))
            self.mount._keep(reaper)

    @staticmethod
    async def _reap(task: asyncio.Task[None]) -> None:
        done, _ = await asyncio.wait({task}, timeout=ASGI_DISCONNECT_GRACE)
        if not done:
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            _log.debug("the ASGI app ended with %r after the client went away", task.exception())

    async def receive(self) -> AsgiMessage:
        if self.disconnected or self.response_done:
            return {"type": "http.disconnect"}
        if not self.request_done:
            try:
                chunk = await self.chunks.__anext__()
            except StopAsyncIteration:
                self.request_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            except ClientDisconnected:
                self.disconnect()
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": chunk, "more_body": True}
        await self.closed.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: AsgiMessage) -> None:
        if self.disconnected:
            raise ClientDisconnected("the HTTP client went away")
        kind = message.get("type")
        if kind == "http.response.start":
            if self.started.done():
                raise RuntimeError("http.response.start was sent twice")
            status = message.get("status", 200)
            headers = [
                (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                for k, v in message.get("headers", [])
            ]
            self.started.set_result((status, headers))
        elif kind == "http.response.body":
            if not self.started.done():
                raise RuntimeError("http.response.body was sent before http.response.start")
            if self.response_done:
                raise RuntimeError("http.response.body was sent after the response ended")
            body = bytes(message.get("body", b""))
            if body:
                await self.body.put(body)
            if not message.get("more_body", False):
                self.response_done = True
                await self.body.put(None)
                self.closed.set()
        else:
            raise RuntimeError(f"unsupported ASGI message type {kind!r}")


def mount_asgi(
    app: AsgiApp,
    *,
    lifespan: Literal["auto", "on", "off"] = "auto",
    root_path: str | None = None,
) -> AsgiMount:
    """Serve the plugin's HTTP requests with an ASGI app (Starlette, FastAPI, …).

    Assign the result in the plugin class body (``serve_http = mount_asgi(app)``): it is
    the ServeHTTP handler. ``root_path`` defaults to the ``/plugins/<plugin id>`` prefix of
    each request. See :class:`AsgiMount`.
    """
    return AsgiMount(app, lifespan=lifespan, root_path=root_path)


def asgi_mounts(plugin: Plugin | type[Plugin]) -> list[AsgiMount]:
    """The ASGI mounts in a plugin class (and its bases), e.g. to shut their lifespans down."""
    cls = plugin if isinstance(plugin, type) else type(plugin)
    found: list[AsgiMount] = []
    for klass in cls.__mro__:
        for value in vars(klass).values():
            if isinstance(value, AsgiMount) and value not in found:
                found.append(value)
    return found


# -- WSGI -------------------------------------------------------------------------------------
WsgiStartResponse: TypeAlias = Callable[..., Callable[[bytes], object]]
WsgiApp: TypeAlias = Callable[[dict[str, Any], WsgiStartResponse], Iterable[bytes]]


class _RequestRaw(io.RawIOBase):
    """The request body as a raw binary stream, for ``wsgi.input``."""

    def __init__(self, request: HTTPRequest) -> None:
        self._chunks = request.stream()
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._eof:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                self._eof = True
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class WsgiMount(_Mount):
    """A WSGI application (Flask, Django, …) serving the plugin's HTTP requests.

    Create it with :func:`mount_wsgi`. The app runs in the hook thread pool, reads the
    request body from ``wsgi.input`` as it arrives, and its response iterable is sent item
    by item, each flushed (so streamed responses stream). When the client goes away the
    iteration stops and the iterable's ``close()`` is called. The environ carries
    ``environ["mattermost.plugin_context"]`` and ``environ["mattermost.request"]``.
    """

    def __init__(self, app: WsgiApp, *, root_path: str | None = None) -> None:
        self.app = app
        self.root_path = root_path
        mount = self

        def serve_http(plugin: object, context: PluginContext, request: HTTPRequest) -> Any:
            return mount(context, request)

        serve_http.__mattermost_hook__ = "ServeHTTP"  # type: ignore[attr-defined]
        self._func = serve_http

    def __repr__(self) -> str:
        return f"<WsgiMount {self.app!r}>"

    def environ_for(self, request: HTTPRequest) -> dict[str, Any]:
        """The WSGI environ of ``request``."""
        root_path = self.root_path if self.root_path is not None else request.root_path
        server = _split_host_port(request.host, 80) or ("localhost", 80)
        client = _split_host_port(request.remote_addr, 0) or ("", 0)
        scheme = request.headers.get("X-Forwarded-Proto", "http").split(",")[0].strip().lower()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method.upper(),
            "SCRIPT_NAME": root_path.encode().decode("latin-1"),
            "PATH_INFO": unquote_to_bytes(request.raw_path).decode("latin-1"),
            "QUERY_STRING": request.query,
            "SERVER_NAME": server[0],
            "SERVER_PORT": str(server[1] or 80),
            "SERVER_PROTOCOL": request.proto,
            "REMOTE_ADDR": client[0],
            "REMOTE_PORT": str(client[1] or 0),
            "REQUEST_URI": request.request_uri,
            "RAW_URI": request.request_uri,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme if scheme in ("http", "https") else "http",
            "wsgi.input": io.BufferedReader(_RequestRaw(request), MAX_CHUNK),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "mattermost.plugin_context": request.plugin_context,
            "mattermost.request": request,
        }
        if request.content_length is not None:
            environ["CONTENT_LENGTH"] = str(request.content_length)
        if request.host:
            environ["HTTP_HOST"] = request.host
        for name, values in request.headers.grouped():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = values[0]
                continue
            separator = "; " if key == "COOKIE" else ", "
            environ["HTTP_" + key] = separator.join(values)
        return environ

    def __call__(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        """Run the app for one request (in a worker thread)."""
        _refuse_on_event_loop("a WSGI app")
        started: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []
        headers_sent = False

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            if exc_info is not None and headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
            if started and exc_info is None:
                raise RuntimeError("start_response was called twice without exc_info")
            started[:] = [(status, list(headers))]
            return written.append

        result = self.app(self.environ_for(request), start_response)
        iterator = iter(result)
        buffered: list[bytes] = []
        try:
            while not started:
                item = next(iterator, None)
                if item is None:
                    break
                if item:
                    buffered.append(item)
            if not started:
                raise RuntimeError("the WSGI app did not call start_response")
        except BaseException:
            _close_quietly(result)
            raise
        headers_sent = True
        status_line, header_list = started[0]
        try:
            status = int(status_line.split(None, 1)[0])
        except ValueError:
            _close_quietly(result)
            raise ValueError(f"the WSGI app sent an invalid status {status_line!r}") from None
        if isinstance(result, list | tuple) and not written:
            return HTTPResponse(status, header_list, [*buffered, *result])
        return HTTPResponse(status, header_list, _wsgi_body(result, iterator, written, buffered))


def _wsgi_body(
    result: Iterable[bytes], iterator: Iterator[bytes], written: list[bytes], buffered: list[bytes]
) -> Iterator[bytes]:
    try:
        yield from written
        written.clear()
        yield from buffered
        for item in iterator:
            if written:  # the legacy write() callable, used while iterating
                yield from written
                written.clear()
            if item:
                yield item
    finally:
        _close_quietly(result)


def _close_quietly(result: object) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            _log.exception("closing the WSGI response failed")


def mount_wsgi(app: WsgiApp, *, root_path: str | None = None) -> WsgiMount:
    """Serve the plugin's HTTP requests with a WSGI app (Flask, …).

    Assign the result in the plugin class body (``serve_http = mount_wsgi(app)``): it is
    the ServeHTTP handler. See :class:`WsgiMount`.
    """
    return WsgiMount(app, root_path=root_path)
