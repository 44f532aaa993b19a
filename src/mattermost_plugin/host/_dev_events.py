"""``GET /dev/events``: what happens on the dev server, as server-sent events.

Each event is the server's WebSocket message, ``{"event", "data", "broadcast", "seq"}``:
the events a Mattermost client gets over its WebSocket (``posted``, ``post_edited``,
``reaction_added``, ``user_added``, ``open_dialog``, the plugin's own
``custom_<plugin id>_<name>``, ``plugin_statuses_changed``, ...; objects the server sends as
JSON text, such as ``data.post``, are JSON text here too), and the dev server's own,
named ``dev_*``: hook calls with their outcome (``_dev_hooklog``), the plugin's log lines,
its starts, stops and failures, and notices about the stream itself. The SSE ``event:``
field is the event's name and ``id:`` its ``seq``.

The stream keeps the latest :data:`KEEP` events: a client that reconnects with
``Last-Event-ID`` gets those it missed (and a ``dev_missed`` event when some are gone). A
comment line every :data:`KEEP_ALIVE` seconds keeps proxies and clients from timing out.
Each client has a queue of at most :data:`CLIENT_QUEUE` events: publishing never waits
for a client, and a client that falls that far behind gets a ``dev_dropped`` event and
its connection closed (it may reconnect with ``Last-Event-ID``).
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from mattermost_plugin.host._http_front import ClientGone, Exchange
from mattermost_plugin.host._rest_json import server_json
from mattermost_plugin.host.fake_server import WebSocketEvent
from mattermost_plugin.host.local import Event

__all__ = ["CLIENT_QUEUE", "KEEP", "KEEP_ALIVE", "EventStream", "serve_events"]

KEEP = 1000
KEEP_ALIVE = 15.0
CLIENT_QUEUE = 256
# Objects the server's WebSocket events carry as JSON text rather than as objects.
_AS_TEXT = frozenset({"post", "reaction", "channel", "dialog"})


@dataclass(frozen=True)
class StreamEvent:
    seq: int
    name: str
    frame: bytes
    """The SSE frame: ``id``, ``event`` and ``data`` lines and the blank line."""


def _frame(seq: int, name: str, message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":"))
    return f"id: {seq}\nevent: {name}\ndata: {data}\n\n".encode()


class _Client:
    """One connected client's queue."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: collections.deque[StreamEvent] = collections.deque()
        self.changed = threading.Condition()
        self.dropped = False
        self.closed = False

    def offer(self, event: StreamEvent) -> None:
        with self.changed:
            if self.dropped or self.closed:
                return
            if len(self.items) >= self.limit:
                self.dropped = True
            else:
                self.items.append(event)
            self.changed.notify_all()

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def next(self, timeout: float) -> StreamEvent | None:
        """The next event, ``None`` after ``timeout`` without one; raises :class:`ClientGone`
        once closed or dropped (after the queued events)."""
        with self.changed:
            if not self.items and not (self.dropped or self.closed):
                self.changed.wait(timeout)
            if self.items:
                return self.items.popleft()
            if self.dropped or self.closed:
                raise ClientGone("the event stream ended")
            return None


class EventStream:
    """Publishes events to every connected client; see the module doc."""

    def __init__(self, *, keep: int = KEEP, client_queue: int = CLIENT_QUEUE) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._recent: collections.deque[StreamEvent] = collections.deque(maxlen=keep)
        self._clients: set[_Client] = set()
        self.client_queue = client_queue

    def publish(
        self, name: str, data: dict[str, Any], broadcast: dict[str, Any] | None = None
    ) -> None:
        with self._lock:
            self._seq += 1
            message = {"event": name, "data": data, "broadcast": broadcast or {}, "seq": self._seq}
            event = StreamEvent(self._seq, name, _frame(self._seq, name, message))
            self._recent.append(event)
            clients = list(self._clients)
        for client in clients:
            client.offer(event)

    def websocket(self, event: WebSocketEvent) -> None:
        """An event of the fake server (what the server sends over its WebSocket)."""
        data = {key: _rendered(key, value) for key, value in event.data.items()}
        self.publish(event.event, data, dict(event.broadcast))

    def local_event(self, event: Event) -> None:
        """What the local Mattermost reports: the plugin's starts, stops and failures, and
        its log lines (hook calls come from the hook log, ``_dev_hooklog``)."""
        if event.kind == "plugin":
            self.publish("dev_plugin", {"message": event.message, "level": event.level})
        elif event.kind == "log":
            fields = {k: v for k, v in event.fields.items() if k != "source"}
            self.publish(
                "dev_log",
                {
                    "level": event.level,
                    "message": event.message,
                    "fields": fields,
                    "source": event.fields.get("source", ""),
                },
            )

    def subscribe(self, last_id: int | None) -> _Client:
        """A new client; with ``last_id``, the kept events after it are queued first
        (after a ``dev_missed`` event when some of them are no longer kept)."""
        client = _Client(self.client_queue + len(self._recent))
        with self._lock:
            if last_id is not None and last_id < self._seq:
                missed = [e for e in self._recent if e.seq > last_id]
                oldest = missed[0].seq if missed else self._seq + 1
                if oldest > last_id + 1:
                    gap = {"first": last_id + 1, "last": oldest - 1}
                    notice = {"event": "dev_missed", "data": gap, "broadcast": {}, "seq": 0}
                    client.items.append(
                        StreamEvent(0, "dev_missed", _frame(0, "dev_missed", notice))
                    )
                client.items.extend(missed)
            client.limit = self.client_queue + len(client.items)
            self._clients.add(client)
        return client

    def unsubscribe(self, client: _Client) -> None:
        with self._lock:
            self._clients.discard(client)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients), set()
        for client in clients:
            client.close()


def _rendered(key: str, value: Any) -> Any:
    if not isinstance(value, Message):
        return value
    shown = server_json(value)
    return json.dumps(shown) if key in _AS_TEXT else shown


def serve_events(
    exchange: Exchange,
    stream: EventStream,
    *,
    keep_alive: float = KEEP_ALIVE,
    on_drop: Callable[[str], None] = lambda message: None,
) -> None:
    """Answer ``GET /dev/events`` until the client goes, is dropped, or the server stops."""
    raw_last = exchange.request.header("Last-Event-ID")
    last_id = int(raw_last) if raw_last is not None and raw_last.strip().isdigit() else None
    exchange.read_body(0)  # a GET has none; reading it lets the client's leaving be watched
    client = stream.subscribe(last_id)
    exchange.close_connection = True
    try:
        exchange.start(
            200,
            [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Cache-Control", "no-cache"),
                ("X-Accel-Buffering", "no"),
            ],
        )
        exchange.write(b"retry: 2000\n\n")
        with exchange.watch(client.close):
            _pump(exchange, client, keep_alive, on_drop)
    finally:
        stream.unsubscribe(client)


def _pump(
    exchange: Exchange, client: _Client, keep_alive: float, on_drop: Callable[[str], None]
) -> None:
    last_write = time.monotonic()
    while True:
        try:
            event = client.next(max(keep_alive - (time.monotonic() - last_write), 0.0))
        except ClientGone:
            if client.dropped:
                reason = f"the client fell {client.limit} events behind and was dropped"
                on_drop(reason)
                notice = {
                    "event": "dev_dropped",
                    "data": {"reason": reason},
                    "broadcast": {},
                    "seq": 0,
                }
                with contextlib.suppress(ClientGone):
                    exchange.write(_frame(0, "dev_dropped", notice))
            with contextlib.suppress(ClientGone):
                exchange.end()
            return
        if event is not None:
            exchange.write(event.frame)
        elif time.monotonic() - last_write >= keep_alive:
            exchange.write(b": keep-alive\n\n")
        else:
            continue
        last_write = time.monotonic()
