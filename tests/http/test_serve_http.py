"""ServeHTTP through a real gRPC server and channel: handlers, wire order, errors, streaming."""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
import grpc.aio
import pytest
from tests.support.api_client import LoopThread
from tests.support.http import HookServer

from mattermost_plugin import Plugin
from mattermost_plugin._dispatch import SERVICE
from mattermost_plugin._pb.pluginapi.v1 import hooks_http_pb2
from mattermost_plugin.hooks import HookName, hook
from mattermost_plugin.host.http_bridge import (
    BridgeError,
    ResponsePart,
    asend_request,
    build_init,
    request_messages,
    send_request,
)
from mattermost_plugin.http import MAX_CHUNK, ClientDisconnected, HTTPRequest, HTTPResponse
from mattermost_plugin.models import PluginContext

Serve = Callable[[Plugin], HookServer]


# -- the guide's snippet, as written --------------------------------------------------------
class GuidePlugin(Plugin):
    def process_request(self, body: bytes) -> dict[str, Any]:
        payload = json.loads(body) if body else {}
        return {"received": payload, "size": len(body)}

    @hook(HookName.ServeHTTP)
    def serve_http(self, context, request):  # type: ignore[no-untyped-def]
        if request.path == "/api/hello":
            return {
                "status_code": 200,
                "headers": {"Content-Type": "application/json"},
                "body": '{"message": "Hello from Python!"}',
            }

        if request.path == "/api/data":
            data = self.process_request(request.body)
            return {
                "status_code": 200,
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps(data),
            }

        return {"status_code": 404, "body": "Not found"}


def test_guide_snippet(serve: Serve) -> None:
    server = serve(GuidePlugin())
    with server.request("GET", "/api/hello", plugin_id="com.example.guide") as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert json.loads(r.read()) == {"message": "Hello from Python!"}
    with server.request("POST", "/api/data", body=b'{"a": [1, 2]}') as r:
        assert r.status_code == 200
        assert json.loads(r.read()) == {"received": {"a": [1, 2]}, "size": 13}
    with server.request("GET", "/missing") as r:
        assert r.status_code == 404
        assert r.read() == b"Not found"


# -- request object -------------------------------------------------------------------------
class InspectPlugin(Plugin):
    seen: list[HTTPRequest]

    def __init__(self) -> None:
        self.seen = []

    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        self.seen.append(request)
        if request.path == "/body":
            first = request.body
            assert request.body is first  # read once, then kept
            assert b"".join(request.stream()) == first
            return HTTPResponse(200, {"X-Len": str(len(first))}, first)
        if request.path == "/stream-then-body":
            n = sum(len(c) for c in request.stream())
            try:
                request.body  # noqa: B018
            except RuntimeError as exc:
                return {"status_code": 200, "body": f"{n} {exc}"}
            return {"status_code": 500}
        info = {
            "method": request.method,
            "url": request.url,
            "path": request.path,
            "raw_path": request.raw_path,
            "query": request.query,
            "query_params": request.query_params,
            "content_type": request.headers["Content-Type"],
            "content_type_lower": request.headers.get("content-type"),
            "multi": request.headers.get_all("x-MULTI"),
            "has_multi": "X-Multi" in request.headers,
            "host": request.host,
            "remote_addr": request.remote_addr,
            "request_uri": request.request_uri,
            "root_path": request.root_path,
            "content_length": request.content_length,
            "proto": request.proto,
            "user_id": request.user_id,
            "context_is_request_context": context is request.plugin_context,
            "user_agent": context.user_agent,
            "request_id_len": len(context.request_id),
        }
        return {
            "status_code": 200,
            "headers": {"Content-Type": "application/json", "Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps(info),
        }


def test_request_fields_headers_and_query(serve: Serve) -> None:
    server = serve(InspectPlugin())
    with server.request(
        "get",
        "/files/a%20b",
        query="q=a+b&tag=x&tag=y&empty=",
        headers=[
            ("content-type", "text/plain"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("User-Agent", "pytest"),
            ("Mattermost-User-Id", "u1"),
            ("Host", "chat.example.com"),
        ],
        plugin_id="com.example.test",
        remote_addr="10.0.0.7:5555",
    ) as r:
        assert r.status_code == 200
        assert r.headers.get_all("set-cookie") == ["a=1", "b=2"]
        info = json.loads(r.read())
    assert info == {
        "method": "GET",
        "url": "/files/a%20b?q=a+b&tag=x&tag=y&empty=",
        "path": "/files/a b",
        "raw_path": "/files/a%20b",
        "query": "q=a+b&tag=x&tag=y&empty=",
        "query_params": {"q": ["a b"], "tag": ["x", "y"], "empty": [""]},
        "content_type": "text/plain",
        "content_type_lower": "text/plain",
        "multi": ["one", "two"],
        "has_multi": True,
        "host": "chat.example.com",
        "remote_addr": "10.0.0.7:5555",
        "request_uri": "/plugins/com.example.test/files/a%20b?q=a+b&tag=x&tag=y&empty=",
        "root_path": "/plugins/com.example.test",
        "content_length": 0,
        "proto": "HTTP/1.1",
        "user_id": "u1",
        "context_is_request_context": True,
        "user_agent": "pytest",
        "request_id_len": 26,
    }


def test_body_read_on_access_and_once(serve: Serve) -> None:
    server = serve(InspectPlugin())
    body = bytes(range(256)) * 1000  # 256 kB: several chunks
    with server.request("PUT", "/body", body=body) as r:
        assert r.headers["X-Len"] == str(len(body))
        assert r.read() == body
    with server.request("PUT", "/stream-then-body", body=iter([b"ab", b"cd"])) as r:
        assert r.read().decode() == (
            "4 the request body was already consumed by stream()/astream()"
        )
    assert server.plugin.seen[-1].content_length is None  # iterable body, no Content-Length


def test_unit_test_request_needs_no_server() -> None:
    request = HTTPRequest(method="POST", url="/x?a=1", body=b'{"k": 1}')
    assert request.json() == {"k": 1}
    assert request.query_params == {"a": ["1"]}
    assert list(request.stream()) == [b'{"k": 1}']
    plugin = GuidePlugin()
    answer = plugin.serve_http(PluginContext(), HTTPRequest(url="/api/hello"))  # type: ignore[no-untyped-call]
    assert answer["status_code"] == 200


# -- wire order -----------------------------------------------------------------------------
class WirePlugin(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/fixed":
            return {"status_code": 201, "headers": {"X-A": ["1", "2"]}, "body": b"z" * 150_000}
        if request.path == "/empty":
            return None

        def parts() -> Iterator[bytes | str]:
            yield "data: one\n\n"
            yield b"x" * 100_000  # split into 64 KiB + rest, flushed after the rest
            yield b""  # skipped
            yield "data: two\n\n"

        return HTTPResponse(200, {"Content-Type": "text/event-stream"}, parts())


def _call(server: HookServer, path: str) -> list[hooks_http_pb2.ServeHTTPResponse]:
    init = build_init("GET", path)
    return list(server.stub.ServeHTTP(request_messages(init, b""), timeout=30))


def test_wire_order_fixed_body(serve: Serve) -> None:
    server = serve(WirePlugin())
    messages = _call(server, "/fixed")
    assert messages[0].HasField("init") and not messages[0].body_chunk
    assert messages[0].init.status_code == 201
    assert [(h.key, list(h.values)) for h in messages[0].init.headers] == [("X-A", ["1", "2"])]
    body = messages[1:]
    assert all(not m.HasField("init") for m in body)
    assert [len(m.body_chunk) for m in body] == [MAX_CHUNK, MAX_CHUNK, 150_000 - 2 * MAX_CHUNK]
    assert [m.body_complete for m in body] == [False, False, True]

    empty = _call(server, "/empty")
    assert empty[0].init.status_code == 200
    assert [(m.body_chunk, m.body_complete) for m in empty[1:]] == [(b"", True)]


def test_wire_order_streamed_body_flushes_each_item(serve: Serve) -> None:
    server = serve(WirePlugin())
    messages = _call(server, "/sse")
    assert messages[0].HasField("init") and messages[0].flush
    chunks = [(len(m.body_chunk), m.flush, m.body_complete) for m in messages[1:]]
    assert chunks == [
        (len("data: one\n\n"), True, False),
        (MAX_CHUNK, False, False),
        (100_000 - MAX_CHUNK, True, False),
        (len("data: two\n\n"), True, False),
        (0, False, True),
    ]


# -- invalid answers and failures -----------------------------------------------------------
class BadPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        path = request.path
        if path == "/status/str":
            return {"status_code": "200", "body": "x"}
        if path == "/status/bool":
            return {"status_code": True}
        if path == "/status/low":
            return {"status_code": 42}
        if path == "/status/high":
            return HTTPResponse(1000)
        if path == "/unknown-key":
            return {"status": 200}
        if path == "/bad-header":
            return {"status_code": 200, "headers": {"X-Evil": "a\r\nSet-Cookie: x=1"}}
        if path == "/wrong-type":
            return 3.14
        if path == "/boom":
            raise ValueError("boom")
        if path == "/boom-mid-body":

            def parts() -> Iterator[bytes]:
                yield b"first"
                raise RuntimeError("mid-body failure")

            return HTTPResponse(200, None, parts())
        return {"status_code": 200, "body": "ok"}


@pytest.mark.parametrize(
    "path",
    [
        "/status/str",
        "/status/bool",
        "/status/low",
        "/status/high",
        "/unknown-key",
        "/bad-header",
        "/wrong-type",
        "/boom",
    ],
)
def test_bad_answers_are_logged_and_answered_500(
    serve: Serve, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(BadPlugin())
    with caplog.at_level(logging.ERROR, logger="mattermost_plugin.hooks"):
        messages = _call(server, path)
    assert messages[0].init.status_code == 500  # sent by the plugin, not mapped by the host
    assert b"".join(m.body_chunk for m in messages) == b"500 Internal Server Error\n"
    assert messages[-1].body_complete
    record = next(r for r in caplog.records if r.name == "mattermost_plugin.hooks")
    assert "ServeHTTP" in record.getMessage()
    assert "BadPlugin.serve_http" in record.getMessage()
    with server.request("GET", "/fine") as r:  # the server keeps answering
        assert (r.status_code, r.read()) == (200, b"ok")


def test_exception_logs_the_cause(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(BadPlugin())
    with (
        caplog.at_level(logging.ERROR, logger="mattermost_plugin.hooks"),
        server.request("GET", "/boom") as r,
    ):
        assert r.status_code == 500
    (record,) = [r for r in caplog.records if r.name == "mattermost_plugin.hooks"]
    assert "boom" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


def test_failure_after_body_started_aborts_the_stream(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(BadPlugin())
    with (
        caplog.at_level(logging.ERROR, logger="mattermost_plugin.hooks"),
        server.request("GET", "/boom-mid-body") as r,
    ):
        assert r.status_code == 200
        parts = r.iter_parts()
        assert next(parts) == ResponsePart(b"", flush=True)  # the headers, flushed
        assert next(parts) == ResponsePart(b"first", flush=True)
        with pytest.raises(BridgeError) as info:
            next(parts)
    assert info.value.code == grpc.StatusCode.INTERNAL and info.value.started
    assert any("mid-body failure" in r.getMessage() for r in caplog.records)
    with server.request("GET", "/fine") as r:
        assert r.read() == b"ok"


@pytest.mark.parametrize(
    ("sent", "status", "body"),
    [
        ([hooks_http_pb2.ServeHTTPResponse(body_chunk=b"hi", body_complete=True)], 200, b"hi"),
        (
            [
                hooks_http_pb2.ServeHTTPResponse(
                    init=hooks_http_pb2.ServeHTTPResponseInit(status_code=0), body_complete=True
                )
            ],
            200,
            b"",
        ),
        (
            [
                hooks_http_pb2.ServeHTTPResponse(
                    init=hooks_http_pb2.ServeHTTPResponseInit(status_code=42)
                ),
                hooks_http_pb2.ServeHTTPResponse(body_chunk=b"x", body_complete=True),
            ],
            500,
            b"",
        ),
    ],
)
def test_host_bridge_reads_answers_like_the_server(
    sent: list[hooks_http_pb2.ServeHTTPResponse], status: int, body: bytes
) -> None:
    """No init or status 0 → 200; a status outside 100-999 → 500 (PROTOCOL §4)."""

    async def answer(
        requests: Any, context: Any
    ) -> AsyncIterator[hooks_http_pb2.ServeHTTPResponse]:
        async for message in requests:
            if message.body_complete:
                break
        for message in sent:
            yield message

    loop = LoopThread()

    async def start() -> tuple[grpc.aio.Server, int]:
        server = grpc.aio.server()
        handler = grpc.stream_stream_rpc_method_handler(
            answer,
            request_deserializer=hooks_http_pb2.ServeHTTPRequest.FromString,
            response_serializer=hooks_http_pb2.ServeHTTPResponse.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"ServeHTTP": handler}),)
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, port

    server, port = loop.run(start())
    try:
        with (
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
            send_request(channel, "GET", "/", timeout=10) as r,
        ):
            assert (r.status_code, r.read()) == (status, body)
    finally:
        loop.run(server.stop(None))
        loop.stop()


# -- streaming both ways, early answers -----------------------------------------------------
class StreamPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/early":
            return {"status_code": 202, "body": "accepted before the body"}

        def echo() -> Iterator[bytes]:
            for chunk in request.stream():
                yield chunk.upper()

        return HTTPResponse(200, None, echo())


class AsyncStreamPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/read":
            try:
                request.body  # noqa: B018
            except RuntimeError as exc:
                assert "await request.read()" in str(exc)
            return HTTPResponse(200, None, await request.read())

        async def echo() -> AsyncIterator[bytes]:
            async for chunk in request.astream():
                yield chunk.upper()

        return HTTPResponse(200, None, echo())


def test_answer_before_request_body_is_complete(serve: Serve) -> None:
    server = serve(StreamPlugin())
    release = threading.Event()
    sent: list[str] = []

    def body() -> Iterator[bytes]:
        yield b"a" * 1000
        sent.append("first")
        release.wait(10)
        sent.append("rest")
        yield b"b" * 1000

    with server.request("POST", "/early", body=body()) as r:
        assert r.status_code == 202
        assert sent == ["first"] or sent == []  # the body is still incomplete
        assert r.read() == b"accepted before the body"
    release.set()


@pytest.mark.parametrize("plugin_class", [StreamPlugin, AsyncStreamPlugin])
def test_duplex_echo_chunk_by_chunk(serve: Serve, plugin_class: type[Plugin]) -> None:
    """Each request chunk is echoed before the client sends the next one."""
    server = serve(plugin_class())
    echoed: queue.Queue[bytes] = queue.Queue()

    def body() -> Iterator[bytes]:
        for i in range(5):
            yield f"chunk {i};".encode()
            assert echoed.get(timeout=10) == f"CHUNK {i};".encode()

    with server.request("POST", "/echo", body=body()) as r:
        assert r.status_code == 200
        for part in r:
            echoed.put(part)


def test_async_handler_reads_body(serve: Serve) -> None:
    server = serve(AsyncStreamPlugin())
    with server.request("POST", "/read", body=b"q" * 300_000) as r:
        assert r.read() == b"q" * 300_000


def test_async_bridge_over_aio_channel(serve: Serve) -> None:
    server = serve(AsyncStreamPlugin())

    async def main() -> list[bytes]:
        async def body() -> AsyncIterator[bytes]:
            yield b"abc"
            yield b"x" * 100_000

        async with grpc.aio.insecure_channel(server.address) as channel:
            response = await asend_request(channel, "POST", "/echo", body=body())
            assert response.status_code == 200
            return [chunk async for chunk in response]

    chunks = asyncio.run(main())
    assert b"".join(chunks) == b"ABC" + b"X" * 100_000


# -- the client going away ------------------------------------------------------------------
class DisconnectPlugin(Plugin):
    def __init__(self) -> None:
        self.started = threading.Event()
        self.saw: queue.Queue[str] = queue.Queue()

    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        self.started.set()
        if request.path == "/wait":
            if request.cancelled.wait(10):
                self.saw.put("cancelled flag")
            return None
        if request.path == "/read":
            try:
                for _ in request.stream():
                    pass
            except ClientDisconnected:
                self.saw.put("ClientDisconnected")
            return None

        def forever() -> Iterator[bytes]:
            try:
                while True:
                    yield b"tick"
                    time.sleep(0.005)
            finally:
                self.saw.put("generator closed")

        return HTTPResponse(200, None, forever())


class AsyncDisconnectPlugin(Plugin):
    def __init__(self) -> None:
        self.started = threading.Event()
        self.saw: queue.Queue[str] = queue.Queue()

    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        self.started.set()
        if request.path == "/wait":
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.saw.put("CancelledError")
                raise
            return None

        async def forever() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0.005)
            except (asyncio.CancelledError, GeneratorExit):
                # CancelledError when cancelled at an await, GeneratorExit (aclose) at a yield
                self.saw.put("generator stopped")
                raise

        return HTTPResponse(200, None, forever())


def _start_and_cancel(server: HookServer, plugin: Any, path: str, body_blocks: bool) -> None:
    unblock = threading.Event()

    def messages() -> Iterator[hooks_http_pb2.ServeHTTPRequest]:
        yield hooks_http_pb2.ServeHTTPRequest(
            init=build_init("POST", path), body_chunk=b"x", body_complete=not body_blocks
        )
        if body_blocks:
            unblock.wait(10)

    call = server.stub.ServeHTTP(messages())
    assert plugin.started.wait(10)
    if path == "/stream":
        next(call)  # init
        next(call)  # a first tick
    time.sleep(0.05)
    call.cancel()
    unblock.set()


@pytest.mark.parametrize(
    ("path", "body_blocks", "expected"),
    [
        ("/wait", False, "cancelled flag"),
        ("/read", True, "ClientDisconnected"),
        ("/stream", False, "generator closed"),
    ],
)
def test_client_gone_reaches_sync_handler(
    serve: Serve, path: str, body_blocks: bool, expected: str
) -> None:
    plugin = DisconnectPlugin()
    server = serve(plugin)
    _start_and_cancel(server, plugin, path, body_blocks)
    assert plugin.saw.get(timeout=10) == expected


@pytest.mark.parametrize(
    ("path", "expected"), [("/wait", "CancelledError"), ("/stream", "generator stopped")]
)
def test_client_gone_cancels_async_handler(serve: Serve, path: str, expected: str) -> None:
    plugin = AsyncDisconnectPlugin()
    server = serve(plugin)
    _start_and_cancel(server, plugin, path, body_blocks=False)
    assert plugin.saw.get(timeout=10) == expected


def test_closing_bridge_response_cancels(serve: Serve) -> None:
    plugin = DisconnectPlugin()
    server = serve(plugin)
    with server.request("GET", "/stream") as r:
        assert next(iter(r)) == b"tick"
    assert plugin.saw.get(timeout=10) == "generator closed"
    with server.request("GET", "/read") as r:  # and the server still answers
        assert r.status_code == 200


# -- sys.exit() in handler code is a failure, not the end of the plugin ----------------------
class ExitingPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/async":
            sys.exit(2)  # e.g. argparse on --help
        if request.path == "/def":
            return await asyncio.get_running_loop().run_in_executor(None, self.blocking)
        if request.path == "/sync-body":
            return HTTPResponse(200, body=self.sync_body())
        if request.path == "/async-body":
            return HTTPResponse(200, body=self.async_body())
        return {"body": "ok"}

    def blocking(self) -> None:
        sys.exit("bye")

    def sync_body(self) -> Iterator[bytes]:
        yield b"first"
        raise KeyboardInterrupt

    async def async_body(self) -> AsyncIterator[bytes]:
        yield b"first"
        sys.exit(0)


class ExitingDefPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/def":
            sys.exit(1)
        return {"body": "ok"}


@pytest.mark.parametrize(
    ("plugin_class", "path", "cause"),
    [
        (ExitingPlugin, "/async", "SystemExit: 2"),
        (ExitingPlugin, "/def", "SystemExit: bye"),
        (ExitingDefPlugin, "/def", "SystemExit: 1"),
    ],
)
def test_handler_exit_is_a_500_and_the_server_goes_on(
    serve: Serve,
    caplog: pytest.LogCaptureFixture,
    plugin_class: type[Plugin],
    path: str,
    cause: str,
) -> None:
    server = serve(plugin_class())
    with caplog.at_level(logging.ERROR, logger="mattermost_plugin.hooks"):
        with server.request("GET", path) as r:
            assert r.status_code == 500
        with server.request("GET", "/fine") as r:
            assert (r.status_code, r.read()) == (200, b"ok")
    assert any(cause in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("path", ["/sync-body", "/async-body"])
def test_body_exit_aborts_the_stream_and_the_server_goes_on(serve: Serve, path: str) -> None:
    server = serve(ExitingPlugin())
    with server.request("GET", path) as r:
        assert r.status_code == 200
        parts = r.iter_parts()
        assert next(parts) == ResponsePart(b"", flush=True)
        assert next(parts) == ResponsePart(b"first", flush=True)
        with pytest.raises(BridgeError) as info:
            next(parts)
    assert info.value.code == grpc.StatusCode.INTERNAL
    with server.request("GET", "/fine") as r:
        assert r.read() == b"ok"
