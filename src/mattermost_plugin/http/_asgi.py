"""ASGI applications (Starlette, FastAPI, ...) as the plugin's ServeHTTP handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    MutableMapping,
)
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from mattermost_plugin._dispatch import contain_exits
from mattermost_plugin.models.hooks_common import PluginContext

if TYPE_CHECKING:
    from mattermost_plugin.plugin import Plugin
from mattermost_plugin.http._message import (
    REQUEST_QUEUE_CHUNKS,
    ClientDisconnected,
    HTTPRequest,
    HTTPResponse,
    _AsyncChunks,
)
from mattermost_plugin.http._mount import _latin1, _Mount, _split_host_port

ASGI_DISCONNECT_GRACE = 1.0
"""Seconds an ASGI app may run after ``http.disconnect`` before it is cancelled."""
LIFESPAN_TIMEOUT = 30.0

_log = logging.getLogger("mattermost_plugin.http")


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
