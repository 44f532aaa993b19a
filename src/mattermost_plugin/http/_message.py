"""The request and response of ServeHTTP: headers, the request body, the answer forms."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import inspect
import json as _json
import logging
import threading
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import parse_qs, unquote, urlsplit

from mattermost_plugin._generated.converters.hooks_common import plugin_context_from_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_http_pb2
from mattermost_plugin.models.hooks_common import PluginContext

if TYPE_CHECKING:
    pass


MAX_CHUNK = 64 * 1024
"""Largest body chunk in one ServeHTTP message, either way."""
REQUEST_QUEUE_CHUNKS = 16
"""Request chunks held while the handler has not read them (backpressure beyond that)."""

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
