"""The server's HTTP-facing side of ServeHTTP: one HTTP request through a plugin.

What the Mattermost server does with a request to ``/plugins/<plugin id>/...``, in Python:
fill ``ServeHTTPRequestInit`` like the Go server (``url`` = the path below the plugin prefix
plus the query, ``request_uri`` = the original target, ``proto`` HTTP/1.1, ``content_length``
or -1, headers without ``Host``, ``host``, ``remote_addr``, a plugin context), send the body
in chunks of at most 64 KiB (the first with ``init``, the last with ``body_complete``), and
read the answer: status and headers first, then the body as it is streamed.

::

    with send_request(supervisor.channel, "POST", "/api/items", body=b"{}",
                      headers={"Content-Type": "application/json"}) as response:
        print(response.status_code, response.headers["Content-Type"])
        for chunk in response:          # streamed, never buffered whole
            out.write(chunk)

:func:`start_request` starts the call without waiting: its :class:`PendingRequest` can be
cancelled before the plugin answered (the HTTP client went away), or waited for with
``response()``. :func:`asend_request` is the same over a ``grpc.aio.Channel``. As on the
server, a status of 0 (or no ``init``) means 200, and a status outside 100-999 is answered
as 500. Closing the response early (or leaving the ``with`` block) cancels the call, which
the plugin sees as the client going away.
"""

from __future__ import annotations

import contextlib
import secrets
import string
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeAlias, cast

import grpc
import grpc.aio

from mattermost_plugin._pb.pluginapi.v1 import hooks_common_pb2, hooks_http_pb2, hooks_pb2_grpc
from mattermost_plugin.http import MAX_CHUNK, Headers, HeadersLike

__all__ = [
    "AsyncBridgeResponse",
    "BridgeError",
    "BridgeResponse",
    "PendingRequest",
    "ResponsePart",
    "arequest_messages",
    "asend_request",
    "build_init",
    "request_messages",
    "send_request",
    "start_request",
]

RequestBody: TypeAlias = "bytes | Iterable[bytes]"
AsyncRequestBody: TypeAlias = "bytes | Iterable[bytes] | AsyncIterable[bytes]"

_ID_ALPHABET = string.ascii_lowercase + "0123456789"


class BridgeError(Exception):
    """ServeHTTP failed: the call ended with a gRPC error, or the body ended unfinished.

    ``code`` is the gRPC status code (None when the stream just stopped early);
    ``started`` tells whether the status and headers had been received.
    """

    def __init__(self, message: str, code: grpc.StatusCode | None = None, started: bool = False):
        super().__init__(message)
        self.code = code
        self.started = started


@dataclass(frozen=True)
class ResponsePart:
    """A piece of the response body, and whether the plugin asked to flush after it."""

    data: bytes
    flush: bool


def _new_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))  # like model.NewId()


def build_init(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: HeadersLike | None = None,
    host: str = "",
    remote_addr: str = "127.0.0.1:0",
    plugin_id: str | None = None,
    content_length: int = -1,
    session_id: str = "",
    plugin_context: hooks_common_pb2.PluginContext | None = None,
) -> hooks_http_pb2.ServeHTTPRequestInit:
    """``ServeHTTPRequestInit`` as the Go server fills it.

    ``path`` is below ``/plugins/<plugin id>`` (already percent-encoded where needed) and
    ``query`` is the raw query string. A ``Host`` header, if given, becomes ``host`` and is
    not sent among the headers (as in Go's ``http.Request``).
    """
    all_headers = Headers(headers)
    if not path.startswith("/"):
        path = "/" + path
    url = f"{path}?{query}" if query else path
    prefix = f"/plugins/{plugin_id}" if plugin_id else ""
    request_uri = prefix + url
    host = host or all_headers.get("Host", "") or "localhost"
    pb_headers = [
        hooks_http_pb2.HTTPHeader(key=name, values=values)
        for name, values in all_headers.grouped()
        if name.lower() != "host"
    ]
    if plugin_context is None:
        ip = remote_addr.rsplit(":", 1)[0].strip("[]") if remote_addr else ""
        plugin_context = hooks_common_pb2.PluginContext(
            session_id=session_id,
            request_id=_new_id(),
            ip_address=ip,
            accept_language=all_headers.get("Accept-Language", ""),
            user_agent=all_headers.get("User-Agent", ""),
        )
    return hooks_http_pb2.ServeHTTPRequestInit(
        plugin_context=plugin_context,
        method=method.upper(),
        url=url,
        proto="HTTP/1.1",
        proto_major=1,
        proto_minor=1,
        headers=pb_headers,
        host=host,
        remote_addr=remote_addr,
        request_uri=request_uri,
        content_length=content_length,
    )


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(data), MAX_CHUNK):
        yield bytes(view[i : i + MAX_CHUNK])


def _content_length(init: hooks_http_pb2.ServeHTTPRequestInit, body: object) -> None:
    if isinstance(body, bytes | bytearray | memoryview):
        init.content_length = len(body)
    elif init.content_length < 0:
        for header in init.headers:
            if header.key.lower() == "content-length" and header.values:
                with contextlib.suppress(ValueError):
                    init.content_length = int(header.values[0])


def request_messages(
    init: hooks_http_pb2.ServeHTTPRequestInit, body: RequestBody = b""
) -> Iterator[hooks_http_pb2.ServeHTTPRequest]:
    """The request stream: ``init``, body chunks of at most 64 KiB, ``body_complete``.

    A bytes body is exact: the first message carries ``init`` and the first chunk, the
    last one ``body_complete`` (one message when the body is empty). An iterable body is
    consumed lazily, as gRPC flow control allows, each item sent as soon as it is produced
    (split when larger than 64 KiB): ``init`` goes first on its own, so the plugin can start
    before any body exists, and an empty ``body_complete`` message ends the stream.
    """
    Request = hooks_http_pb2.ServeHTTPRequest
    if isinstance(body, bytes | bytearray | memoryview):
        pieces = list(_pieces(bytes(body))) or [b""]
        for i, piece in enumerate(pieces):
            yield Request(
                init=init if i == 0 else None,
                body_chunk=piece,
                body_complete=i == len(pieces) - 1,
            )
        return
    yield Request(init=init)
    for item in body:
        for piece in _pieces(bytes(item)):
            yield Request(body_chunk=piece)
    yield Request(body_complete=True)


async def arequest_messages(
    init: hooks_http_pb2.ServeHTTPRequestInit, body: AsyncRequestBody = b""
) -> AsyncIterator[hooks_http_pb2.ServeHTTPRequest]:
    """:func:`request_messages` for an async (or sync) body."""
    if not isinstance(body, AsyncIterable):
        for message in request_messages(init, body):
            yield message
        return
    Request = hooks_http_pb2.ServeHTTPRequest
    yield Request(init=init)
    async for item in body:
        for piece in _pieces(bytes(item)):
            yield Request(body_chunk=piece)
    yield Request(body_complete=True)


def _status(init: hooks_http_pb2.ServeHTTPResponseInit | None) -> tuple[int, Headers, int]:
    if init is None:
        return 200, Headers(), 0
    raw = init.status_code
    headers = Headers([(h.key, v) for h in init.headers for v in h.values])
    if raw == 0:
        return 200, headers, raw
    if not 100 <= raw <= 999:
        return 500, Headers(), raw
    return raw, headers, raw


class _Answer:
    """What the sync and async responses share: status, headers and the first message."""

    def __init__(
        self,
        call: Any,
        status_code: int,
        headers: Headers,
        plugin_status: int,
        first: hooks_http_pb2.ServeHTTPResponse | None,
    ) -> None:
        self._call = call
        self.status_code = status_code
        self.headers = headers
        self.plugin_status = plugin_status
        self._first = first
        self._done = first is None or first.body_complete
        if plugin_status != status_code and status_code == 500:  # invalid status: no body
            self._done = True
            self._first = None
            call.cancel()


class BridgeResponse(_Answer):
    """A plugin's answer: status and headers at once, the body as it streams in.

    Iterate it for the body chunks (or ``iter_parts()`` to see the flush requests),
    ``read()`` for the whole body, ``close()`` (or leave the ``with`` block) to cancel.
    ``plugin_status`` is the status the plugin sent, before the server's mapping.
    """

    def iter_parts(self) -> Iterator[ResponsePart]:
        """The body as :class:`ResponsePart` items (data and flush flag)."""
        first, self._first = self._first, None
        if first is not None and (first.body_chunk or first.flush):
            yield ResponsePart(first.body_chunk, first.flush)
        while not self._done:
            try:
                message = next(self._call)
            except StopIteration:
                self._done = True
                raise BridgeError(
                    "the plugin ended the response without body_complete", started=True
                ) from None
            except grpc.RpcError as exc:
                self._done = True
                raise _bridge_error(exc, started=True) from None
            if message.body_chunk or message.flush:
                yield ResponsePart(message.body_chunk, message.flush)
            if message.body_complete:
                self._done = True

    def __iter__(self) -> Iterator[bytes]:
        for part in self.iter_parts():
            if part.data:
                yield part.data

    def read(self) -> bytes:
        """The rest of the body, joined."""
        return b"".join(self)

    def close(self) -> None:
        """Cancel the call if the body was not read to its end (the client went away)."""
        if not self._done:
            self._done = True
            self._call.cancel()

    def __enter__(self) -> BridgeResponse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<BridgeResponse {self.status_code}>"


def _bridge_error(exc: grpc.RpcError, started: bool) -> BridgeError:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    return BridgeError(f"ServeHTTP failed: {code}: {details}", code=code, started=started)


class PendingRequest:
    """A ServeHTTP call on its way: :meth:`response` waits for the status and headers,
    :meth:`cancel` ends the call at any time (the plugin sees the client going away)."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def cancel(self) -> None:
        self._call.cancel()

    def response(self) -> BridgeResponse:
        """Block until the plugin answered its status; raise :class:`BridgeError` when the
        call fails (or is cancelled) first."""
        try:
            first: hooks_http_pb2.ServeHTTPResponse | None = next(self._call)
        except StopIteration:
            first = None
        except grpc.RpcError as exc:
            raise _bridge_error(exc, started=False) from None
        status, response_headers, raw = _status(
            first.init if first is not None and first.HasField("init") else None
        )
        return BridgeResponse(self._call, status, response_headers, raw, first)


def start_request(
    channel: grpc.Channel,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: HeadersLike | None = None,
    body: RequestBody = b"",
    host: str = "",
    remote_addr: str = "127.0.0.1:0",
    plugin_id: str | None = None,
    session_id: str = "",
    timeout: float | None = None,
) -> PendingRequest:
    """Start one HTTP request through the plugin's ServeHTTP without waiting for the answer;
    the arguments are :func:`send_request`'s."""
    init = build_init(
        method,
        path,
        query=query,
        headers=headers,
        host=host,
        remote_addr=remote_addr,
        plugin_id=plugin_id,
        session_id=session_id,
    )
    _content_length(init, body)
    stub = hooks_pb2_grpc.PluginHooksStub(channel)
    return PendingRequest(stub.ServeHTTP(request_messages(init, body), timeout=timeout))


def send_request(
    channel: grpc.Channel,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: HeadersLike | None = None,
    body: RequestBody = b"",
    host: str = "",
    remote_addr: str = "127.0.0.1:0",
    plugin_id: str | None = None,
    session_id: str = "",
    timeout: float | None = None,
) -> BridgeResponse:
    """Send one HTTP request through the plugin's ServeHTTP; return once the status is in.

    ``body`` is bytes or an iterable of bytes (streamed, split into 64 KiB chunks; set a
    ``Content-Length`` header if you know it). Raises :class:`BridgeError` when the call
    fails before the status arrives (e.g. the plugin does not implement ServeHTTP).
    """
    return start_request(
        channel,
        method,
        path,
        query=query,
        headers=headers,
        body=body,
        host=host,
        remote_addr=remote_addr,
        plugin_id=plugin_id,
        session_id=session_id,
        timeout=timeout,
    ).response()


class AsyncBridgeResponse(_Answer):
    """:class:`BridgeResponse` over a ``grpc.aio`` channel: ``async for chunk in response``."""

    async def aiter_parts(self) -> AsyncIterator[ResponsePart]:
        first, self._first = self._first, None
        if first is not None and (first.body_chunk or first.flush):
            yield ResponsePart(first.body_chunk, first.flush)
        while not self._done:
            try:
                message = await self._call.read()
            except grpc.RpcError as exc:
                self._done = True
                raise _bridge_error(exc, started=True) from None
            if message is grpc.aio.EOF:
                self._done = True
                raise BridgeError(
                    "the plugin ended the response without body_complete", started=True
                )
            if message.body_chunk or message.flush:
                yield ResponsePart(message.body_chunk, message.flush)
            if message.body_complete:
                self._done = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self.aiter_parts():
            if part.data:
                yield part.data

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self])

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._call.cancel()

    async def __aenter__(self) -> AsyncBridgeResponse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AsyncBridgeResponse {self.status_code}>"


async def asend_request(
    channel: grpc.aio.Channel,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: HeadersLike | None = None,
    body: AsyncRequestBody = b"",
    host: str = "",
    remote_addr: str = "127.0.0.1:0",
    plugin_id: str | None = None,
    session_id: str = "",
    timeout: float | None = None,
) -> AsyncBridgeResponse:
    """:func:`send_request` over a ``grpc.aio.Channel``; ``body`` may be an async iterable."""
    init = build_init(
        method,
        path,
        query=query,
        headers=headers,
        host=host,
        remote_addr=remote_addr,
        plugin_id=plugin_id,
        session_id=session_id,
    )
    _content_length(init, body)
    stub = hooks_pb2_grpc.PluginHooksStub(channel)
    call = stub.ServeHTTP(arequest_messages(init, body), timeout=timeout)
    try:
        message = await call.read()
    except grpc.RpcError as exc:
        raise _bridge_error(exc, started=False) from None
    first = None if message is grpc.aio.EOF else cast(hooks_http_pb2.ServeHTTPResponse, message)
    status, response_headers, raw = _status(
        first.init if first is not None and first.HasField("init") else None
    )
    return AsyncBridgeResponse(call, status, response_headers, raw, first)
