"""ASGI apps (FastAPI, Starlette, a raw ASGI callable) as the plugin's ServeHTTP handler."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import queue
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tests.support.http import HookServer

pytest.importorskip("fastapi")

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mattermost_plugin import Plugin
from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2
from mattermost_plugin.hooks import HookName, hook
from mattermost_plugin.http import AsgiMount, asgi_mounts, mount_asgi

PLUGIN_ID = "com.example.asgi"

# -- FastAPI ----------------------------------------------------------------------------------
api = FastAPI()


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@api.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "q": q}


@api.post("/items/{item_id}")
async def create_item(item_id: int, item: Item) -> dict[str, Any]:
    return {"item_id": item_id, "name": item.name, "total": item.price * 2, "tags": item.tags}


@api.get("/events")
async def events() -> StreamingResponse:
    async def gen() -> AsyncIterator[str]:
        for i in range(3):
            yield f"data: {i}\n\n"
            await asyncio.sleep(0.01)

    return StreamingResponse(gen(), media_type="text/event-stream")


@api.post("/echo")
async def echo(request: Request) -> StreamingResponse:
    async def gen() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            yield chunk.upper()

    return StreamingResponse(gen())


@api.post("/upload")
async def upload(request: Request) -> dict[str, Any]:
    h, n = hashlib.sha256(), 0
    async for chunk in request.stream():
        h.update(chunk)
        n += len(chunk)
    return {"bytes": n, "sha256": h.hexdigest()}


@api.get("/whoami")
async def whoami(request: Request) -> dict[str, Any]:
    context = request.scope["mattermost.plugin_context"]
    return {
        "url_for": str(request.url_for("read_item", item_id=7)),
        "root_path": request.scope["root_path"],
        "path": request.url.path,
        "user": request.headers.get("mattermost-user-id"),
        "client": request.client.host if request.client else None,
        "request_id_len": len(context.request_id),
    }


@api.get("/boom")
async def boom() -> None:
    raise RuntimeError("fastapi handler failed")


class FastAPIPlugin(Plugin):
    serve_http = mount_asgi(api)


def test_fastapi_path_params_json_and_streaming(serve: Any) -> None:
    server: HookServer = serve(FastAPIPlugin())
    assert FastAPIPlugin.implemented_hooks() == ["ServeHTTP"]

    with server.request("GET", "/items/42", query="q=hello", plugin_id=PLUGIN_ID) as r:
        assert r.status_code == 200
        assert json.loads(r.read()) == {"item_id": 42, "q": "hello"}

    with server.request("GET", "/items/not-a-number", plugin_id=PLUGIN_ID) as r:
        assert r.status_code == 422  # FastAPI's validation of the path parameter

    body = json.dumps({"name": "pen", "price": 1.25, "tags": ["a"]}).encode()
    headers = {"Content-Type": "application/json"}
    with server.request("POST", "/items/5", body=body, headers=headers) as r:
        assert r.status_code == 200
        assert json.loads(r.read()) == {"item_id": 5, "name": "pen", "total": 2.5, "tags": ["a"]}

    with server.request("GET", "/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        parts = [p for p in r.iter_parts() if p.data]
        assert [p.data for p in parts] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
        assert all(p.flush for p in parts)

    with server.request("GET", "/nope") as r:
        assert r.status_code == 404


def test_fastapi_root_path_and_context(serve: Any) -> None:
    server: HookServer = serve(FastAPIPlugin())
    with server.request(
        "GET",
        "/whoami",
        plugin_id=PLUGIN_ID,
        host="chat.example.com",
        headers={"Mattermost-User-Id": "user1"},
        remote_addr="10.1.2.3:4567",
    ) as r:
        assert json.loads(r.read()) == {
            "url_for": f"http://chat.example.com/plugins/{PLUGIN_ID}/items/7",
            "root_path": f"/plugins/{PLUGIN_ID}",
            "path": f"/plugins/{PLUGIN_ID}/whoami",
            "user": "user1",
            "client": "10.1.2.3",
            "request_id_len": 26,
        }


def test_fastapi_streams_both_ways(serve: Any) -> None:
    server: HookServer = serve(FastAPIPlugin())
    echoed: queue.Queue[bytes] = queue.Queue()

    def body() -> Iterator[bytes]:
        for i in range(4):
            yield f"part {i};".encode()
            assert echoed.get(timeout=10) == f"PART {i};".encode()

    with server.request("POST", "/echo", body=body()) as r:
        for chunk in r:
            echoed.put(chunk)

    data = bytes(range(256)) * 4096  # 1 MiB
    with server.request("POST", "/upload", body=iter([data[:300_000], data[300_000:]])) as r:
        assert json.loads(r.read()) == {
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }


def test_fastapi_exception_is_500_and_server_goes_on(serve: Any) -> None:
    server: HookServer = serve(FastAPIPlugin())
    with server.request("GET", "/boom") as r:
        assert r.status_code == 500
    with server.request("GET", "/items/1") as r:
        assert r.status_code == 200


async def exiting_endpoint(request: StarletteRequest) -> PlainTextResponse:
    sys.exit(4)  # not an Exception: Starlette's error middleware lets it through


async def fine_endpoint(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse("fine")


class ExitingAsgiPlugin(Plugin):
    serve_http = mount_asgi(
        Starlette(routes=[Route("/exit", exiting_endpoint), Route("/fine", fine_endpoint)])
    )


def test_asgi_app_exit_is_500_and_server_goes_on(serve: Any) -> None:
    server: HookServer = serve(ExitingAsgiPlugin())
    with server.request("GET", "/exit") as r:
        assert r.status_code == 500
    with server.request("GET", "/fine") as r:
        assert (r.status_code, r.read()) == (200, b"fine")


# -- Starlette lifespan -----------------------------------------------------------------------
lifespan_events: list[str] = []


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    lifespan_events.append("startup")
    yield {"greeting": "hello from lifespan"}
    lifespan_events.append("shutdown")


async def state_endpoint(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse(request.state.greeting)


starlette_app = Starlette(routes=[Route("/state", state_endpoint)], lifespan=lifespan)


class LifespanPlugin(Plugin):
    serve_http = mount_asgi(starlette_app)

    @hook(HookName.OnActivate)
    async def on_activate(self) -> None:
        await self.serve_http.startup()

    @hook(HookName.OnDeactivate)
    async def on_deactivate(self) -> None:
        await self.serve_http.shutdown()


def test_starlette_lifespan_follows_activate_and_deactivate(serve: Any) -> None:
    lifespan_events.clear()
    server: HookServer = serve(LifespanPlugin())
    assert lifespan_events == []
    response = server.stub.OnActivate(hooks_lifecycle_pb2.OnActivateRequest(), timeout=10)
    assert not response.HasField("error")
    assert lifespan_events == ["startup"]
    with server.request("GET", "/state") as r:
        assert (r.status_code, r.read()) == (200, b"hello from lifespan")
    server.stub.OnDeactivate(hooks_lifecycle_pb2.OnDeactivateRequest(), timeout=10)
    assert lifespan_events == ["startup", "shutdown"]
    assert asgi_mounts(LifespanPlugin) == [LifespanPlugin.serve_http]


def test_lifespan_starts_before_first_request_when_nobody_did(serve: Any) -> None:
    lifespan_events.clear()

    class LazyPlugin(Plugin):
        serve_http = mount_asgi(starlette_app)

    server: HookServer = serve(LazyPlugin())
    with server.request("GET", "/state") as r:
        assert r.read() == b"hello from lifespan"
    assert lifespan_events == ["startup"]
    server.loop.run(LazyPlugin.serve_http.shutdown())
    assert lifespan_events == ["startup", "shutdown"]


def test_failed_startup_fails_activation(serve: Any) -> None:
    @contextlib.asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    class BrokenPlugin(Plugin):
        serve_http = mount_asgi(Starlette(lifespan=broken))

        @hook(HookName.OnActivate)
        async def on_activate(self) -> None:
            await self.serve_http.startup()

    server: HookServer = serve(BrokenPlugin())
    response = server.stub.OnActivate(hooks_lifecycle_pb2.OnActivateRequest(), timeout=10)
    assert "no database" in response.error.message


# -- a raw ASGI app: receive() and http.disconnect ---------------------------------------------
class RawApp:
    def __init__(self) -> None:
        self.saw: queue.Queue[Any] = queue.Queue()
        self.started = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan here")  # "auto" mode goes on without
        if scope["path"] == "/wait-disconnect":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"started", "more_body": True})
            self.started.set()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    self.saw.put("http.disconnect")
                    return
        if scope["path"] == "/ignore-disconnect":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            self.started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.saw.put("cancelled after grace")
                raise
        if scope["path"] == "/no-start":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"x-scope", json.dumps(_scope_summary(scope)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _scope_summary(scope: Any) -> dict[str, Any]:
    return {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query_string": scope["query_string"].decode(),
        "root_path": scope["root_path"],
        "http_version": scope["http_version"],
        "host": dict(scope["headers"]).get(b"host", b"").decode(),
    }


def test_raw_asgi_scope_and_body(serve: Any) -> None:
    app = RawApp()

    class RawPlugin(Plugin):
        serve_http = mount_asgi(app)

    server: HookServer = serve(RawPlugin())
    with server.request(
        "POST", "/a%2Fb c", query="x=1", body=b"payload", plugin_id="p1", host="h:8065"
    ) as r:
        assert r.status_code == 201
        assert r.read() == b"payload"
        assert json.loads(r.headers["x-scope"]) == {
            "method": "POST",
            "path": "/plugins/p1/a/b c",
            "raw_path": "/plugins/p1/a%2Fb c",
            "query_string": "x=1",
            "root_path": "/plugins/p1",
            "http_version": "1.1",
            "host": "h:8065",
        }
    with server.request("GET", "/no-start") as r:
        assert r.status_code == 500


def test_asgi_app_receives_http_disconnect(serve: Any) -> None:
    app = RawApp()

    class RawPlugin(Plugin):
        serve_http = mount_asgi(app)

    server: HookServer = serve(RawPlugin())
    with server.request("GET", "/wait-disconnect") as r:
        assert next(iter(r)) == b"started"
    assert app.saw.get(timeout=10) == "http.disconnect"


def test_asgi_app_ignoring_disconnect_is_cancelled(serve: Any) -> None:
    app = RawApp()

    class RawPlugin(Plugin):
        serve_http = mount_asgi(app)

    server: HookServer = serve(RawPlugin())
    with server.request("GET", "/ignore-disconnect") as r:
        assert r.status_code == 200
        assert app.started.wait(10)
    assert app.saw.get(timeout=10) == "cancelled after grace"


def test_mount_is_the_handler_and_validates_lifespan() -> None:
    mount = mount_asgi(api)
    assert isinstance(mount, AsgiMount)
    with pytest.raises(ValueError, match="lifespan"):
        mount_asgi(api, lifespan="sometimes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="two handlers for ServeHTTP"):

        class Twice(Plugin):
            serve_http = mount_asgi(api)

            @hook(HookName.ServeHTTP)
            def other(self, context: Any, request: Any) -> None: ...
