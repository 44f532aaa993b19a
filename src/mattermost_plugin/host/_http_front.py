"""The dev server's HTTP/1.1 front: sockets, threads, deadlines and framing.

One thread per connection (``socketserver``), a listen backlog of 128. The bytes are parsed
and produced by h11, which frames strictly (a chunk size that is not 1-20 hex digits, a bad
``Content-Length``, an unknown transfer coding, a missing ``Host`` on HTTP/1.1 or a header
block over 64 KiB is a 4xx/5xx, never a guess) and never lets a response carry more or less
body than its ``Content-Length`` says. Around it, what Go's ``net/http`` server adds:

* a header deadline: a client has ``header_timeout`` seconds from connecting (or, on a kept
  connection, from the first byte of the next request) to send its request line and
  headers, so a slowloris client cannot hold a thread; an idle kept connection is closed
  after ``idle_timeout``; every other read or write must make progress within
  ``io_timeout``;
* bodies stream both ways with bounded memory (at most one 64 KiB read at a time);
* ``Expect: 100-continue`` is answered when the application first reads the body;
* :meth:`Exchange.watch` tells the application when the client goes away while it waits
  for something else (e.g. a plugin that has not answered yet).

The application is a callable that gets one :class:`Exchange` per request and answers it
with :meth:`Exchange.respond` or :meth:`Exchange.start` / :meth:`~Exchange.write` /
:meth:`~Exchange.end`.
"""

from __future__ import annotations

import contextlib
import http
import json
import select
import selectors
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import h11

__all__ = [
    "BadRequest",
    "ClientGone",
    "Exchange",
    "HTTPError",
    "HTTPFront",
    "Request",
    "app_error_json",
]

BACKLOG = 128
HEADER_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
IO_TIMEOUT = 60.0
MAX_HEADER_BYTES = 64 * 1024
MAX_UNREAD_BODY = 256 * 1024
"""What an answer drops of a request body nobody read, to keep the connection (Go's
``maxPostHandlerReadBytes``); past it the connection closes."""
_READ_SIZE = 64 * 1024
_REASONS = {int(s): s.phrase.encode("ascii") for s in http.HTTPStatus}
_POLL_IN = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR


def app_error_json(
    error_id: str, message: str, status_code: int, detailed: str = ""
) -> dict[str, Any]:
    """A Mattermost ``AppError`` as the REST API sends it."""
    return {
        "id": error_id,
        "message": message,
        "detailed_error": detailed,
        "request_id": "",
        "status_code": status_code,
    }


class HTTPError(Exception):
    """Answer ``status`` with an ``AppError`` body (raised by the application)."""

    def __init__(self, status: int, error_id: str, message: str, detailed: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.detailed = detailed

    def body(self) -> dict[str, Any]:
        return app_error_json(self.error_id, self.message, self.status, self.detailed)


class BadRequest(HTTPError):
    """The request's framing is broken (raised while reading its body)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status, "api.context.bad_request.app_error", message)


class ClientGone(Exception):
    """The client closed the connection, or stopped reading or sending for ``io_timeout``."""


@dataclass(frozen=True)
class Request:
    """A request's head. Header names keep the client's case; values are Latin-1 text."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    http_version: str
    client: tuple[str, int]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or ``None``."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


class _Connection:
    """One client connection: its socket, its h11 state and the lock around both.

    The body may be read on another thread than the one that answers (gRPC consumes a
    plugin request's body on a thread of its own); h11 is not thread-safe, so every h11 call
    and every write happens under ``lock``. Reads wait outside it.
    """

    def __init__(self, sock: socket.socket, front: HTTPFront) -> None:
        self.sock = sock
        self.front = front
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.lock = threading.Lock()
        self._reader_done = threading.Condition(self.lock)
        self.reading = False
        self.closed = False
        self.poller = select.poll()
        self.poller.register(sock, _POLL_IN)
        sock.settimeout(None)  # blocking: deadlines come from poll() and SO_SNDTIMEO
        seconds = int(front.io_timeout)
        micros = int((front.io_timeout - seconds) * 1_000_000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, micros))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # --- reading -----------------------------------------------------------------------------

    def wait_readable(self, timeout: float) -> bool:
        return bool(self.poller.poll(max(timeout, 0.0) * 1000))

    def receive(self, deadline: float | None) -> None:
        """Wait for bytes (until ``deadline``, else ``io_timeout``) and give them to h11."""
        with self.lock:
            if self.closed:
                raise ClientGone("the connection is closed")
            self.reading = True
        try:
            timeout = self.front.io_timeout if deadline is None else deadline - time.monotonic()
            if not self.wait_readable(timeout):
                raise TimeoutError
            try:
                data = self.sock.recv(_READ_SIZE)
            except OSError:
                data = b""  # reset: the same as a close, for h11
        finally:
            with self.lock:
                self.reading = False
                self._reader_done.notify_all()
        with self.lock:
            self.h11.receive_data(data)
        if not data:
            raise ClientGone("the client closed the connection")

    def next_event(self) -> Any:
        with self.lock:
            return self.h11.next_event()

    # --- writing -----------------------------------------------------------------------------

    def send(self, *events: Any) -> None:
        with self.lock:
            if self.closed:
                raise ClientGone("the connection is closed")
            data = b"".join(self.h11.send(event) or b"" for event in events)
            try:
                self.sock.sendall(data)
            except OSError as exc:  # gone, or not reading for io_timeout (SO_SNDTIMEO)
                raise ClientGone(str(exc)) from None

    # --- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close once no thread reads the socket any more (shutdown wakes a waiting reader),
        so a reader never touches a descriptor number the system has handed out again."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self._reader_done.wait_for(lambda: not self.reading, timeout=5.0)
        self.sock.close()


class Exchange:
    """One request and its answer, handed to the application."""

    def __init__(self, connection: _Connection, request: Request) -> None:
        self._conn = connection
        self.request = request
        self.status = 0
        """The status sent (0 until the answer has started)."""
        self.close_connection = False
        """Set to close the connection after the answer."""
        self.body_complete = False
        self._body_started = False
        self._watch_lock = threading.Lock()
        self._on_gone: Callable[[], None] | None = None
        self._watch_token: object | None = None

    @property
    def started(self) -> bool:
        return self.status != 0

    # --- the request body --------------------------------------------------------------------

    def body(self) -> Iterator[bytes]:
        """The request body as it arrives. Raises :class:`BadRequest` for broken framing and
        :class:`ClientGone` when the client leaves before its end."""
        if self._body_started:
            raise RuntimeError("the body can be read once")
        self._body_started = True  # now, not at the first chunk: the answer must know
        return self._receive_body()

    def _receive_body(self) -> Iterator[bytes]:
        conn = self._conn
        while True:
            with conn.lock:
                if conn.closed:
                    raise ClientGone("the connection is closed")
                try:
                    event = conn.h11.next_event()
                except h11.RemoteProtocolError as exc:
                    self.close_connection = True
                    raise BadRequest(f"malformed request body: {exc}") from None
                if event is h11.NEED_DATA and conn.h11.they_are_waiting_for_100_continue:
                    continue_ = conn.h11.send(
                        h11.InformationalResponse(status_code=100, headers=[])
                    )
                    with contextlib.suppress(OSError):
                        conn.sock.sendall(continue_ or b"")
            if event is h11.NEED_DATA:
                conn.receive(None)
            elif isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._body_done()
                return
            else:  # ConnectionClosed
                raise ClientGone("the client closed the connection")

    def read_body(self, limit: int) -> bytes:
        """The whole body; :class:`HTTPError` 413 past ``limit`` bytes."""
        parts: list[bytes] = []
        size = 0
        for chunk in self.body():
            size += len(chunk)
            if size > limit:
                self.close_connection = True
                raise HTTPError(
                    413,
                    "api.context.request_body_too_large.app_error",
                    f"the request body is larger than {limit} bytes",
                )
            parts.append(chunk)
        return b"".join(parts)

    def _body_done(self) -> None:
        with self._watch_lock:
            self.body_complete = True
            if self._on_gone is not None and self._watch_token is None:
                self._watch_token = self._conn.front.watcher.watch(self._conn, self._on_gone)

    # --- the client going away ------------------------------------------------------------

    @contextlib.contextmanager
    def watch(self, on_gone: Callable[[], None]) -> Iterator[None]:
        """Call ``on_gone`` (from another thread) if the client closes the connection inside
        the block. Watching starts once the request body has been read to its end (until
        then, reading it notices)."""
        with self._watch_lock:
            self._on_gone = on_gone
        if self.body_complete:
            self._body_done()
        try:
            yield
        finally:
            with self._watch_lock:
                token, self._watch_token, self._on_gone = self._watch_token, None, None
            if token is not None:
                self._conn.front.watcher.unwatch(token)

    # --- the answer --------------------------------------------------------------------------

    def start(self, status: int, headers: Sequence[tuple[str, bytes | str]]) -> None:
        """Send the status line and headers. With a ``Content-Length`` header the body must
        have that length; without one it is chunked (HTTP/1.1) or ends with the connection.
        An answer after which the connection closes says so (``Connection: close``)."""
        raw = [(name.encode("ascii"), _latin1(value)) for name, value in headers]
        if self._discard_unread_body():
            self.close_connection = True
        if self.close_connection:
            raw = [(n, v) for n, v in raw if n.lower() != b"connection"]
            raw.append((b"Connection", b"close"))
        if not any(name.lower() == b"date" for name, _ in raw):
            raw.append((b"Date", formatdate(usegmt=True).encode("ascii")))
        reason = _REASONS.get(status, b"")
        self._conn.send(h11.Response(status_code=status, headers=raw, reason=reason))
        self.status = status

    def _discard_unread_body(self) -> bool:
        """Before answering a request whose body the application did not read, do as Go's
        net/http: drop up to 256 KiB of it, so that the connection can carry the next
        request. True when the answer must close the connection instead: the client waits
        for ``100 Continue``, or the body is longer, broken or does not come."""
        conn = self._conn
        if self._body_started:
            return False  # read elsewhere (a plugin request streaming on): theirs to finish
        with conn.lock:
            if conn.h11.their_state is not h11.SEND_BODY:
                return False
            if conn.h11.they_are_waiting_for_100_continue:
                return True
        length = self.request.header("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_UNREAD_BODY:
            return True
        self._body_started = True
        dropped = 0
        try:
            while dropped <= MAX_UNREAD_BODY:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive(None)
                elif isinstance(event, h11.Data):
                    dropped += len(event.data)
                else:
                    return not isinstance(event, h11.EndOfMessage)
        except (h11.RemoteProtocolError, ClientGone, TimeoutError):
            pass
        return True

    def write(self, data: bytes) -> None:
        if data and self.request.method != "HEAD":
            self._conn.send(h11.Data(data=data))

    def end(self) -> None:
        self._conn.send(h11.EndOfMessage())

    def respond(
        self, status: int, headers: Sequence[tuple[str, bytes | str]] = (), body: bytes = b""
    ) -> None:
        """A whole answer at once."""
        self.start(status, [*headers, ("Content-Length", str(len(body)))])
        self.write(body)
        self.end()

    def respond_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.respond(status, [("Content-Type", "application/json")], data)


def _latin1(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


class _ClientWatch:
    """One thread that notices clients closing connections whose exchanges wait for
    something else; see :meth:`Exchange.watch`."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="dev-http-watch", daemon=True)
        self._thread.start()

    def watch(self, conn: _Connection, on_gone: Callable[[], None]) -> object:
        token = (conn, on_gone)
        with self._lock:
            self._selector.register(conn.sock, selectors.EVENT_READ, token)
        with contextlib.suppress(OSError):
            self._wake_w.send(b"w")
        return token

    def unwatch(self, token: object) -> None:
        conn = token[0]  # type: ignore[index]
        with self._lock, contextlib.suppress(KeyError, ValueError):
            if self._selector.get_key(conn.sock).data is token:
                self._selector.unregister(conn.sock)

    def _run(self) -> None:
        while not self._stopping:
            events = self._selector.select(timeout=1.0)
            for key, _ in events:
                if key.data is None:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                    continue
                self._check(key)

    def _check(self, key: selectors.SelectorKey) -> None:
        conn, on_gone = key.data
        with self._lock:
            try:
                if self._selector.get_key(conn.sock).data is not key.data:
                    return  # unwatched meanwhile (the descriptor may belong to another)
            except (KeyError, ValueError):
                return
            try:
                peeked = conn.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                peeked = b""
            # Data is the client's next request (pipelined): it is still there, but it can
            # no longer be watched without reading.
            self._selector.unregister(conn.sock)
        if not peeked:
            on_gone()

    def close(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(2.0)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG  # the default of 5 resets connections in a burst
    front: HTTPFront

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.front.serve_connection(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        pass  # serve_connection closes its socket itself


class HTTPFront:
    """Serve ``app`` on ``host:port`` (port 0: any free one; :attr:`port` tells which)."""

    def __init__(
        self,
        app: Callable[[Exchange], None],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        header_timeout: float = HEADER_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        io_timeout: float = IO_TIMEOUT,
        on_error: Callable[[Request | None, BaseException], None] | None = None,
    ) -> None:
        self.app = app
        self.header_timeout = header_timeout
        self.idle_timeout = idle_timeout
        self.io_timeout = io_timeout
        self.on_error = on_error
        self._server = _Server((host, port), socketserver.BaseRequestHandler)
        self._server.front = self
        self.host, self.port = self._server.server_address[:2]
        self.watcher = _ClientWatch()
        self._connections: set[_Connection] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="dev-http-accept",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            conn.close()
        self.watcher.close()

    # --- one connection ----------------------------------------------------------------------

    def serve_connection(self, sock: socket.socket, client: tuple[str, int]) -> None:
        conn = _Connection(sock, self)
        with self._connections_lock:
            self._connections.add(conn)
        try:
            deadline = time.monotonic() + self.header_timeout
            while True:
                request = self._read_head(conn, deadline, client)
                if request is None:
                    return
                exchange = Exchange(conn, request)
                self._run_app(exchange)
                if not self._next_cycle(conn, exchange):
                    return
                if not conn.wait_readable(self.idle_timeout):
                    return
                deadline = time.monotonic() + self.header_timeout
        except (ClientGone, TimeoutError, OSError):
            return
        finally:
            with self._connections_lock:
                self._connections.discard(conn)
            conn.close()

    def _read_head(
        self, conn: _Connection, deadline: float, client: tuple[str, int]
    ) -> Request | None:
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                self._refuse(conn, exc)
                return None
            if event is h11.NEED_DATA:
                try:
                    conn.receive(deadline)
                except ClientGone:
                    if conn.closed:
                        return None
                    # h11 saw the end: the next event is ConnectionClosed or an error
                continue
            if isinstance(event, h11.ConnectionClosed):
                return None
            assert isinstance(event, h11.Request)
            return Request(
                method=event.method.decode("ascii"),
                target=event.target.decode("ascii"),
                headers=[
                    (k.decode("ascii"), v.decode("latin-1")) for k, v in event.headers.raw_items()
                ],
                http_version=event.http_version.decode("ascii"),
                client=client,
            )

    def _refuse(self, conn: _Connection, exc: h11.RemoteProtocolError) -> None:
        """Answer a request h11 could not read (400, 413/431, 501), then close."""
        status = exc.error_status_hint
        with contextlib.suppress(ClientGone, h11.LocalProtocolError):
            if conn.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                body = json.dumps(
                    app_error_json("api.context.bad_request.app_error", str(exc), status)
                ).encode()
                conn.send(
                    h11.Response(
                        status_code=status,
                        headers=[
                            ("Content-Type", "application/json"),
                            ("Content-Length", str(len(body))),
                            ("Connection", "close"),
                        ],
                    ),
                    h11.Data(data=body),
                    h11.EndOfMessage(),
                )

    def _run_app(self, exchange: Exchange) -> None:
        try:
            self.app(exchange)
        except (ClientGone, TimeoutError):
            exchange.close_connection = True
        except HTTPError as exc:
            if exchange.started:
                exchange.close_connection = True
            else:
                exchange.close_connection |= isinstance(exc, BadRequest)
                exchange.respond_json(exc.status, exc.body())
        except Exception as exc:
            exchange.close_connection = True
            if self.on_error is not None:
                self.on_error(exchange.request, exc)
            if not exchange.started:
                with contextlib.suppress(ClientGone, h11.LocalProtocolError):
                    body = app_error_json("api.dev.internal_error", str(exc), 500)
                    exchange.respond_json(500, body)

    def _next_cycle(self, conn: _Connection, exchange: Exchange) -> bool:
        """Whether the connection can carry another request."""
        if exchange.close_connection:
            return False
        with conn.lock:
            try:  # an unread body already received in full (e.g. a GET's empty one) is fine
                while conn.h11.their_state is h11.SEND_BODY:
                    if conn.h11.next_event() is h11.NEED_DATA:
                        break
            except h11.RemoteProtocolError:
                return False
            if conn.h11.our_state is not h11.DONE or conn.h11.their_state is not h11.DONE:
                return False  # the answer or the request body was cut short
            conn.h11.start_next_cycle()
            return True
