"""A WSGI app (Flask) as the plugin's ServeHTTP handler."""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.http import HookServer

pytest.importorskip("flask")

from flask import Flask, Response, jsonify, request, stream_with_context, url_for

from mattermost_plugin import Plugin
from mattermost_plugin.http import mount_wsgi

PLUGIN_ID = "com.example.flask"

app = Flask(__name__)
closed: queue.Queue[str] = queue.Queue()
streaming = threading.Event()


@app.get("/hello/<name>")
def hello(name: str) -> Any:
    return jsonify(
        greeting=f"hello {name}",
        script_root=request.script_root,
        path=request.path,
        url=url_for("hello", name="x", _external=True),
        args=request.args.getlist("tag"),
        multi=request.headers.get("X-Multi"),  # WSGI joins repeated headers with ", "
        multi_raw=request.environ["mattermost.request"].headers.get_all("x-multi"),
        user=request.headers.get("Mattermost-User-Id"),
        remote_addr=request.remote_addr,
        context_request_id_len=len(request.environ["mattermost.plugin_context"].request_id),
    )


@app.post("/double")
def double() -> Any:
    data = request.get_json()
    return jsonify({k: v * 2 for k, v in data.items()}), 201, {"X-Kind": "doubled"}


@app.post("/upload")
def upload() -> Any:
    h, n = hashlib.sha256(), 0
    while True:
        chunk = request.stream.read(100_000)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    return jsonify(bytes=n, sha256=h.hexdigest())


@app.get("/stream")
def stream() -> Response:
    def gen() -> Iterator[str]:
        for i in range(3):
            yield f"line {i}\n"

    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.get("/forever")
def forever() -> Response:
    def gen() -> Iterator[bytes]:
        try:
            while True:
                streaming.set()
                yield b"tick"
                time.sleep(0.005)
        finally:
            closed.put("closed")

    return Response(gen(), mimetype="application/octet-stream")


@app.get("/boom")
def boom() -> Any:
    raise RuntimeError("flask view failed")


class FlaskPlugin(Plugin):
    serve_http = mount_wsgi(app)


def test_flask_routes_json_and_environ(serve: Any) -> None:
    server: HookServer = serve(FlaskPlugin())
    with server.request(
        "GET",
        "/hello/world",
        query="tag=a&tag=b",
        headers=[("X-Multi", "1"), ("X-Multi", "2"), ("Mattermost-User-Id", "u9")],
        plugin_id=PLUGIN_ID,
        host="chat.example.com",
        remote_addr="10.9.8.7:1234",
    ) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/json"
        assert json.loads(r.read()) == {
            "greeting": "hello world",
            "script_root": f"/plugins/{PLUGIN_ID}",
            "path": "/hello/world",
            "url": f"http://chat.example.com/plugins/{PLUGIN_ID}/hello/x",
            "args": ["a", "b"],
            "multi": "1, 2",
            "multi_raw": ["1", "2"],
            "user": "u9",
            "remote_addr": "10.9.8.7",
            "context_request_id_len": 26,
        }

    with server.request(
        "POST", "/double", body=b'{"a": 2, "b": 5}', headers={"Content-Type": "application/json"}
    ) as r:
        assert (r.status_code, r.headers["x-kind"]) == (201, "doubled")
        assert json.loads(r.read()) == {"a": 4, "b": 10}

    with server.request("GET", "/missing") as r:
        assert r.status_code == 404


def test_flask_streams_request_and_response(serve: Any) -> None:
    server: HookServer = serve(FlaskPlugin())
    data = bytes(range(256)) * 4096  # 1 MiB, sent as an iterable: no Content-Length
    with server.request("POST", "/upload", body=iter([data[:70_000], data[70_000:]])) as r:
        assert json.loads(r.read()) == {
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    with server.request("GET", "/stream") as r:
        parts = [p for p in r.iter_parts() if p.data]
        assert [p.data for p in parts] == [b"line 0\n", b"line 1\n", b"line 2\n"]
        assert all(p.flush for p in parts)


def test_flask_error_is_500_and_client_gone_closes_iterable(serve: Any) -> None:
    server: HookServer = serve(FlaskPlugin())
    with server.request("GET", "/boom") as r:
        assert r.status_code == 500
    with server.request("GET", "/forever") as r:
        assert next(iter(r)) == b"tick"
    assert closed.get(timeout=10) == "closed"
    with server.request("GET", "/hello/again") as r:
        assert r.status_code == 200
