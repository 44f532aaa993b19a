"""``GET /dev/events``: the server's WebSocket events and the dev server's own, as
server-sent events; replay with Last-Event-ID, keep-alive comments, bounded queues."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from tests.rest.conftest import Dev

from mattermost_plugin.host._dev_events import EventStream, serve_events
from mattermost_plugin.host._http_front import HTTPFront


class Listener:
    """Reads an event stream on a thread; ``events`` are ``(name, id, message)``."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.comments = 0
        self.connected = threading.Event()
        self.ended = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(30, read=None))
        self._thread = threading.Thread(target=self._run, args=(url, headers or {}), daemon=True)
        self._thread.start()
        assert self.connected.wait(10)

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                self.connected.set()
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments += 1
                    elif line:
                        key, _, value = line.partition(": ")
                        fields[key] = value
                    elif "data" in fields:
                        message = json.loads(fields["data"])
                        self.events.append((fields.get("event", ""), fields.get("id", ""), message))
                        fields = {}
        except httpx.HTTPError:
            pass
        finally:
            self.connected.set()
            self.ended.set()

    def wait_for(
        self, predicate: Callable[[str, dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, _, message in list(self.events):
                if predicate(name, message):
                    return message
            time.sleep(0.005)
        names = [name for name, _, _ in self.events]
        raise AssertionError(f"no such event; got {names}")

    def close(self) -> None:
        self._client.close()


def named(event: str) -> Callable[[str, dict[str, Any]], bool]:
    return lambda name, message: name == event


def test_the_stream_carries_what_a_client_needs_to_stay_live(dev: Dev) -> None:
    listener = Listener(f"{dev.server.url}/dev/events")
    try:
        una = dev.user("una")
        post = una.http.post("/api/v4/posts", json={"channel_id": "town-square", "message": "hey"})
        posted = listener.wait_for(
            lambda name, m: (
                name == "posted" and json.loads(m["data"]["post"])["id"] == post.json()["id"]
            )
        )
        assert posted["broadcast"]["channel_id"] == dev.town_square
        assert posted["data"]["channel_type"] == "O" and posted["data"]["sender_name"] == "@una"
        assert posted["seq"] > 0

        post_id = post.json()["id"]
        una.http.put(f"/api/v4/posts/{post_id}/patch", json={"message": "hey you"})
        edited = listener.wait_for(named("post_edited"))
        assert json.loads(edited["data"]["post"])["message"] == "hey you"
        una.http.post(
            "/api/v4/reactions", json={"user_id": una.id, "post_id": post_id, "emoji_name": "wave"}
        )
        reaction = json.loads(listener.wait_for(named("reaction_added"))["data"]["reaction"])
        assert reaction["emoji_name"] == "wave" and reaction["user_id"] == una.id
        hook = listener.wait_for(
            lambda name, m: name == "dev_hook" and m["data"]["hook"] == "ReactionHasBeenAdded"
        )
        assert hook["data"]["outcome"] == "done"
        log = listener.wait_for(
            lambda name, m: name == "dev_log" and m["data"]["message"] == "reaction"
        )
        assert log["data"]["level"] == "warn" and log["data"]["fields"]["emoji"] == "wave"
        una.http.delete(f"/api/v4/posts/{post_id}")
        assert json.loads(listener.wait_for(named("post_deleted"))["data"]["post"])["id"] == post_id

        channel = una.http.post(
            "/api/v4/channels",
            json={"team_id": dev.team_id, "name": "live", "display_name": "Live", "type": "O"},
        ).json()
        created = listener.wait_for(named("channel_created"))
        assert created["data"]["channel_id"] == channel["id"]
        vic = dev.user("vic")
        vic.http.post(f"/api/v4/channels/{channel['id']}/members", json={"user_id": vic.id})
        listener.wait_for(lambda name, m: name == "user_added" and m["data"]["user_id"] == vic.id)
        custom = listener.wait_for(
            lambda name, m: (
                name == "custom_com.example.reactor_joined" and m["data"]["user_id"] == vic.id
            )
        )
        assert custom["data"] == {"user_id": vic.id, "actor": ""}
        assert custom["broadcast"]["channel_id"] == channel["id"]

        vic.http.post(
            "/api/v4/commands/execute", json={"channel_id": "town-square", "command": "/whisper"}
        )
        whisper = listener.wait_for(named("ephemeral_message"))
        assert whisper["broadcast"]["user_id"] == vic.id
        assert json.loads(whisper["data"]["post"])["message"] == "psst"
        vic.http.post(
            "/api/v4/commands/execute", json={"channel_id": "town-square", "command": "/dialog"}
        )
        dialog = listener.wait_for(named("open_dialog"))
        assert dialog["broadcast"]["user_id"] == vic.id
        assert json.loads(dialog["data"]["dialog"])["dialog"]["title"] == "Ask"

        # Reconnecting with Last-Event-ID replays what came after it.
        seq = posted["seq"]
        again = Listener(f"{dev.server.url}/dev/events", {"Last-Event-ID": str(seq)})
        try:
            replayed = again.wait_for(named("post_edited"))
            assert replayed["seq"] == edited["seq"]
            assert all(int(i) > seq for _, i, _ in again.events if i != "0")
        finally:
            again.close()
    finally:
        listener.close()


@contextmanager
def front_for(stream: EventStream, keep_alive: float = 15.0) -> Iterator[str]:
    front = HTTPFront(lambda exchange: serve_events(exchange, stream, keep_alive=keep_alive))
    front.start()
    try:
        yield f"http://127.0.0.1:{front.port}/dev/events"
    finally:
        stream.close()
        front.stop()


def test_keep_alive_comments_and_a_missed_notice() -> None:
    stream = EventStream(keep=3)
    with front_for(stream, keep_alive=0.2) as url:
        for number in range(6):
            stream.publish("tick", {"n": number})
        listener = Listener(url, {"Last-Event-ID": "1"})
        try:
            listener.wait_for(lambda name, m: name == "tick" and m["data"]["n"] == 5)
            names = [name for name, _, _ in listener.events]
            assert names[0] == "dev_missed"
            assert listener.events[0][2]["data"] == {"first": 2, "last": 3}
            assert [m["data"]["n"] for n, _, m in listener.events[1:]] == [3, 4, 5]
            deadline = time.monotonic() + 5
            while listener.comments < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            listener.close()


def test_a_client_that_does_not_read_is_dropped_and_blocks_no_one() -> None:
    stream = EventStream(client_queue=64)
    with front_for(stream) as url:
        reader = Listener(url)
        port = int(url.split(":")[2].split("/")[0])
        stuck = socket.create_connection(("127.0.0.1", port))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(f"GET /dev/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        deadline = time.monotonic() + 5
        while stream.clients < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        payload = "x" * 131072
        slowest = 0.0
        try:
            # 26 MB, far more than the stuck client's socket buffers hold, at the pace of
            # the client that reads.
            for number in range(200):
                started = time.monotonic()
                stream.publish("big", {"n": number, "payload": payload})
                slowest = max(slowest, time.monotonic() - started)
                reader.wait_for(lambda name, m, n=number: name == "big" and m["data"]["n"] == n)
            assert slowest < 1.0  # publishing never waited for the stuck client
            assert [name for name, _, _ in reader.events] == ["big"] * 200
            assert any(client.dropped for client in stream._clients)
            stuck.settimeout(5)
            head = stuck.recv(65536)
            assert head.startswith(b"HTTP/1.1 200")
            stuck.close()  # the dropped client's thread ends with its connection
            deadline = time.monotonic() + 70
            while stream.clients > 1:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            reader.close()
