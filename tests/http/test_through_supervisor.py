"""ServeHTTP through a real plugin process: ``PluginSupervisor`` + ``http_bridge.send_request``.

The plugin folders under ``plugins/`` run as subprocesses against the fake server; this
process plays the Mattermost server's HTTP side over ``supervisor.channel``. Covered: the
guide's snippet as written; 100 MiB up and 100 MiB down (plain, and over auto-mTLS) with
the peak RSS of both processes measured (VmHWM after a ``clear_refs`` reset), so neither
may hold the body; an answer that starts before the request body is complete (full
duplex); the client going away, seen by the handler (it logs it); a FastAPI app and a
Flask app mounted in a plugin.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import random
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from tests.support.plugins import RunningPlugin, plugin_id_of, running_plugin

from mattermost_plugin._pb.pluginapi.v1 import hooks_pb2_grpc
from mattermost_plugin.host.http_bridge import (
    BridgeResponse,
    build_init,
    request_messages,
    send_request,
)
from mattermost_plugin.http import MAX_CHUNK

PLUGINS = Path(__file__).resolve().parent / "plugins"
MiB = 1024 * 1024
TOTAL = 100 * MiB
RSS_LIMIT = 40 * MiB
SEED = 20240601  # plugins/streaming makes its download from the same block
TIMEOUT = 60.0

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="reads /proc/<pid>/status (Linux)"
)


# -- fixtures and helpers ---------------------------------------------------------------------
def _start(folder: str) -> Callable[[], Iterator[RunningPlugin]]:
    def fixture() -> Iterator[RunningPlugin]:
        with running_plugin(PLUGINS / folder) as running:
            yield running

    return fixture


guide = pytest.fixture(scope="module")(_start("guide_serve_http"))


@pytest.fixture(scope="module", params=["plain", "mtls"])
def streaming(request: pytest.FixtureRequest) -> Iterator[RunningPlugin]:
    """The streaming plugin, over plain gRPC and over auto-mTLS (whose TLS the plugin
    terminates itself and relays to gRPC: flow control must hold there too)."""
    if request.param == "mtls":
        pytest.importorskip("cryptography")
    with running_plugin(PLUGINS / "streaming", mtls=request.param == "mtls") as running:
        yield running


fastapi_plugin = pytest.fixture(scope="module")(_start("fastapi_app"))
flask_plugin = pytest.fixture(scope="module")(_start("flask_app"))


def request(plugin: RunningPlugin, method: str, path: str, **kwargs: Any) -> BridgeResponse:
    """One HTTP request to ``/plugins/<plugin id><path>`` through the plugin process."""
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("plugin_id", plugin.fake.plugin_id)
    return send_request(plugin.supervisor.channel, method, path, **kwargs)


def block() -> bytes:
    return random.Random(SEED).randbytes(MiB)


BLOCK = block()


def blocks(piece: int) -> Iterator[bytes]:
    """TOTAL bytes in pieces of ``piece`` bytes, made on the fly from BLOCK."""
    for _ in range(TOTAL // MiB):
        for i in range(0, MiB, piece):
            yield BLOCK[i : i + piece]


def total_digest() -> str:
    digest = hashlib.sha256()
    for _ in range(TOTAL // MiB):
        digest.update(BLOCK)
    return digest.hexdigest()


DIGEST = total_digest()


# -- peak RSS of both processes ---------------------------------------------------------------
def _status_bytes(pid: int | str, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    assert match is not None, field
    return int(match.group(1)) * 1024


def _reset_peak(pid: int | str) -> bool:
    """Reset VmHWM to the current RSS; False when /proc/<pid>/clear_refs is not writable."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


class PeakRSS:
    """Peak RSS growth of this process and the plugin's over a block of code."""

    def __init__(self, plugin_pid: int) -> None:
        self.pids: dict[str, int | str] = {"test process": "self", "plugin process": plugin_pid}
        self.before: dict[str, int] = {}
        self.growth: dict[str, int] = {}
        self.measurable = True
        self.elapsed = 0.0

    def __enter__(self) -> PeakRSS:
        for name, pid in self.pids.items():
            self.measurable &= _reset_peak(pid)
            self.before[name] = _status_bytes(pid, "VmRSS")
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self.started
        for name, pid in self.pids.items():
            self.growth[name] = _status_bytes(pid, "VmHWM") - self.before[name]

    def report(self, what: str) -> None:
        rate = TOTAL / MiB / self.elapsed
        growth = ", ".join(f"{name} {g / MiB:+.1f} MiB" for name, g in self.growth.items())
        note = "" if self.measurable else " (not measurable: clear_refs is not writable)"
        print(
            f"\n{what}: {TOTAL // MiB} MiB in {self.elapsed:.2f} s = {rate:.0f} MiB/s; "
            f"peak RSS growth: {growth}{note}"
        )

    def check(self) -> None:
        if not self.measurable:
            warnings.warn(
                "peak RSS not checked: /proc/<pid>/clear_refs is not writable", stacklevel=2
            )
            return
        for name, growth in self.growth.items():
            assert growth < RSS_LIMIT, f"{name}: peak RSS grew by {growth / MiB:.1f} MiB"


def plugin_pid(plugin: RunningPlugin) -> int:
    pid = plugin.supervisor.pid
    assert pid is not None
    return pid


# -- the guide's snippet, as written ----------------------------------------------------------
def test_guide_snippet(guide: RunningPlugin) -> None:
    assert "ServeHTTP" in guide.supervisor.implemented
    with request(guide, "GET", "/api/hello") as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/json"
        assert json.loads(r.read()) == {"message": "Hello from Python!"}
    body = json.dumps({"numbers": [1, 2, 3]}).encode()
    with request(guide, "POST", "/api/data", body=body) as r:
        assert r.status_code == 200
        assert json.loads(r.read()) == {"received": {"numbers": [1, 2, 3]}, "size": len(body)}
    with request(guide, "GET", "/elsewhere") as r:
        assert r.status_code == 404
        assert r.read() == b"Not found"
    assert guide.supervisor.health_check()


# -- 100 MiB each way, streamed -------------------------------------------------------------
def test_upload_100_mib_streamed_through_the_plugin_process(streaming: RunningPlugin) -> None:
    body = blocks(256 * 1024)
    with (
        PeakRSS(plugin_pid(streaming)) as rss,
        request(streaming, "POST", "/upload", body=body) as r,
    ):
        status, answer = r.status_code, json.loads(r.read())
    rss.report("upload through the plugin process")
    assert status == 200
    assert answer["bytes"] == TOTAL
    assert answer["sha256"] == DIGEST
    assert answer["largest"] <= MAX_CHUNK
    assert answer["chunks"] >= TOTAL // MAX_CHUNK
    rss.check()


def test_download_100_mib_streamed_through_the_plugin_process(streaming: RunningPlugin) -> None:
    digest, size, largest = hashlib.sha256(), 0, 0
    with (
        PeakRSS(plugin_pid(streaming)) as rss,
        request(streaming, "GET", "/download", query=f"mib={TOTAL // MiB}") as r,
    ):
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/octet-stream"
        for chunk in r:
            digest.update(chunk)
            size += len(chunk)
            largest = max(largest, len(chunk))
    rss.report("download through the plugin process")
    assert (size, digest.hexdigest()) == (TOTAL, DIGEST)
    assert largest <= MAX_CHUNK
    rss.check()


def test_control_a_buffering_handler_shows_in_the_plugin_peak_rss(
    streaming: RunningPlugin,
) -> None:
    """The measurement sees the plugin process: a handler reading ``request.body`` shows."""
    with (
        PeakRSS(plugin_pid(streaming)) as rss,
        request(streaming, "POST", "/buffered-upload", body=blocks(256 * 1024)) as r,
    ):
        answer = json.loads(r.read())
    rss.report("buffered upload (control)")
    assert answer == {"bytes": TOTAL}
    if not rss.measurable:
        pytest.skip("peak RSS not measurable: /proc/<pid>/clear_refs is not writable")
    assert rss.growth["plugin process"] > TOTAL
    assert rss.growth["test process"] < RSS_LIMIT


# -- full duplex: the answer starts before the request body is complete ----------------------
def test_answer_before_the_request_body_is_complete(streaming: RunningPlugin) -> None:
    feed: queue.Queue[bytes | None] = queue.Queue()

    def body() -> Iterator[bytes]:
        while (item := feed.get(timeout=TIMEOUT)) is not None:
            yield item

    mark = streaming.mark()
    # Nothing of the body exists yet: send_request returns once the status is in.
    with request(streaming, "POST", "/echo", body=body()) as r:
        assert r.status_code == 200
        streaming.wait_log("echo: answering before the body arrived", since=mark)
        echoes = iter(r)
        for i in range(3):  # ping-pong: each echo comes back before the next piece is sent
            piece = f"piece {i} ".encode() * (i + 1) * 1000
            feed.put(piece)
            received = b""
            while len(received) < len(piece):
                received += next(echoes)
            assert received == piece
        feed.put(None)
        assert b"".join(echoes) == b""
    streaming.wait_log("echo: body complete", since=mark)
    assert not streaming.find_logs("echo: stopped early", since=mark)


# -- the client going away reaches the handler ------------------------------------------------
@pytest.mark.parametrize("attempt", range(10))
def test_closing_the_response_mid_download_reaches_the_handler(
    streaming: RunningPlugin, attempt: int
) -> None:
    """Repeated: the cancellation may land while the plugin is between two writes."""
    mark = streaming.mark()
    received = 0
    with request(streaming, "GET", "/download", query="mib=100000") as r:
        for chunk in r:
            received += len(chunk)
            if received >= (1 + attempt % 4) * MiB:
                break
    # leaving the block closed the response: the call is cancelled, the generator closed
    line = streaming.wait_log("download stopped early", since=mark)
    assert line.fields["cancelled"] is True, line.fields
    assert received <= line.fields["sent"] < 100000 * MiB
    assert not [line for line in streaming.supervisor.logs.since(mark) if line.level == "error"]
    assert streaming.supervisor.health_check()
    with request(streaming, "GET", "/download", query="mib=1") as r:  # and it still serves
        assert len(r.read()) == MiB


def test_closing_the_response_mid_duplex_reaches_the_handler(streaming: RunningPlugin) -> None:
    feed: queue.Queue[bytes | None] = queue.Queue()

    def body() -> Iterator[bytes]:
        while (item := feed.get(timeout=TIMEOUT)) is not None:
            yield item

    mark = streaming.mark()
    with request(streaming, "POST", "/echo", body=body()) as r:
        feed.put(b"ping")
        assert next(iter(r)) == b"ping"
        r.close()  # the plugin's body generator is now waiting for the next request chunk
    line = streaming.wait_log("echo: stopped early", since=mark)
    assert line.fields["cancelled"] is True
    feed.put(None)  # let gRPC's request thread finish
    assert streaming.supervisor.health_check()


def test_cancelling_mid_upload_reaches_the_handler(streaming: RunningPlugin) -> None:
    release = threading.Event()

    def body() -> Iterator[bytes]:
        yield BLOCK
        release.wait(TIMEOUT)  # the rest never comes: the client goes away first

    init = build_init("POST", "/held-upload", plugin_id=streaming.fake.plugin_id)
    stub = hooks_pb2_grpc.PluginHooksStub(streaming.supervisor.channel)
    mark = streaming.mark()
    call = stub.ServeHTTP(request_messages(init, body()), timeout=TIMEOUT)
    try:
        streaming.wait_log("held upload: receiving", since=mark)
        call.cancel()
        line = streaming.wait_log("held upload: client disconnected", since=mark)
    finally:
        release.set()
    assert line.fields["cancelled"] is True, line.fields
    assert 0 < line.fields["received"] <= MiB
    with pytest.raises(grpc.RpcError) as raised:
        next(call)
    assert isinstance(raised.value, grpc.Call)
    assert raised.value.code() == grpc.StatusCode.CANCELLED
    assert streaming.supervisor.health_check()


# -- FastAPI in a plugin process ------------------------------------------------------------
def test_fastapi_path_parameters_and_root_path(fastapi_plugin: RunningPlugin) -> None:
    plugin_id = plugin_id_of(PLUGINS / "fastapi_app")
    headers = {"Mattermost-User-Id": "user-1"}
    with request(fastapi_plugin, "GET", "/items/42", query="q=find%20me", headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert json.loads(r.read()) == {
            "item_id": 42,
            "q": "find me",
            "user_id": "user-1",
            "url": f"http://localhost/plugins/{plugin_id}/items/42",
            "greeting": "hello from the lifespan",
        }
    with request(fastapi_plugin, "GET", "/items/not-a-number") as r:
        assert r.status_code == 422
        assert json.loads(r.read())["detail"][0]["loc"] == ["path", "item_id"]
    with request(fastapi_plugin, "GET", "/nowhere") as r:
        assert r.status_code == 404


def test_fastapi_json_body(fastapi_plugin: RunningPlugin) -> None:
    item = {"name": "widget", "price": 9.5, "tags": ["a", "b"]}
    headers = {"Content-Type": "application/json"}
    body = json.dumps(item).encode()
    with request(fastapi_plugin, "POST", "/items/7", body=body, headers=headers) as r:
        assert r.status_code == 201
        assert json.loads(r.read()) == {"item_id": 7, "item": item, "tag_count": 2}
    with request(fastapi_plugin, "POST", "/items/7", body=b'{"name": 1}', headers=headers) as r:
        assert r.status_code == 422


def test_fastapi_streaming_response_and_upload(fastapi_plugin: RunningPlugin) -> None:
    with request(fastapi_plugin, "GET", "/stream/5") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        parts = [part.data for part in r.iter_parts() if part.data]
    assert parts == [f"line {i}\n".encode() for i in range(5)]  # one message per yield
    size = 8 * MiB
    pieces = (BLOCK[: 256 * 1024] for _ in range(size // (256 * 1024)))
    with request(fastapi_plugin, "POST", "/upload", body=pieces) as r:
        assert json.loads(r.read()) == {"bytes": size, "chunks": size // MAX_CHUNK}


# -- Flask in a plugin process --------------------------------------------------------------
def test_flask_routes_json_and_streaming(flask_plugin: RunningPlugin) -> None:
    plugin_id = plugin_id_of(PLUGINS / "flask_app")
    headers = {"Mattermost-User-Id": "user-2"}
    with request(flask_plugin, "GET", "/items/42", query="q=x", headers=headers) as r:
        assert r.status_code == 200
        assert json.loads(r.read()) == {
            "item_id": 42,
            "q": "x",
            "user_id": "user-2",
            "url": f"/plugins/{plugin_id}/items/42",
            "script_root": f"/plugins/{plugin_id}",
        }
    with request(flask_plugin, "GET", "/items/not-a-number") as r:
        assert r.status_code == 404
    item = {"name": "gadget", "tags": ["x"]}
    body = json.dumps(item).encode()
    headers = {"Content-Type": "application/json"}
    with request(flask_plugin, "POST", "/items/3", body=body, headers=headers) as r:
        assert r.status_code == 201
        assert json.loads(r.read()) == {"item_id": 3, "item": item, "tag_count": 1}
    with request(flask_plugin, "GET", "/stream/4") as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        parts = [part.data for part in r.iter_parts() if part.data]
    assert parts == [f"line {i}\n".encode() for i in range(4)]
    size = 8 * MiB
    pieces = (BLOCK[: 256 * 1024] for _ in range(size // (256 * 1024)))
    with request(flask_plugin, "POST", "/upload", body=pieces) as r:
        assert json.loads(r.read()) == {"bytes": size}
    assert flask_plugin.supervisor.health_check()


def test_plugins_logged_no_errors(
    guide: RunningPlugin,
    streaming: RunningPlugin,
    fastapi_plugin: RunningPlugin,
    flask_plugin: RunningPlugin,
) -> None:
    """Disconnects included: a client going away is not a handler failure."""
    for plugin in (guide, streaming, fastapi_plugin, flask_plugin):
        errors = [line for line in plugin.supervisor.logs if line.level == "error"]
        assert errors == [], errors
