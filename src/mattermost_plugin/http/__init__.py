"""ServeHTTP: answer HTTP requests sent to ``/plugins/<plugin id>/...``.

The server streams each request to the plugin and the plugin streams its answer back, both in
chunks of at most 64 KiB (PROTOCOL.md §4). This module turns that into three ways of writing
the handler, from simplest to most capable.

**Return a dict** (the guide's form)::

    @hook(HookName.ServeHTTP)
    def serve_http(self, context, request):
        if request.path == "/api/hello":
            return {"status_code": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": '{"message": "Hello from Python!"}'}
        return {"status_code": 404, "body": "Not found"}

``headers`` maps a name to a string or a list of strings; ``body`` is ``str`` (sent as
UTF-8) or ``bytes``. Returning ``None`` answers 200 with no body, as a Go handler that writes
nothing does.

**Return an** :class:`HTTPResponse`, whose body may also be a generator (``def`` handlers)
or an async generator (``async def`` handlers). Each item the generator yields is sent
(split into 64 KiB chunks) and flushed right away, which is what server-sent events and
progress output need::

    @hook(HookName.ServeHTTP)
    async def serve_http(self, context, request):
        async def events():
            for i in range(3):
                yield f"data: {i}\\n\\n"
                await asyncio.sleep(1)
        return HTTPResponse(200, {"Content-Type": "text/event-stream"}, events())

The request body can be read whole (``request.body`` in ``def`` handlers, ``await
request.read()`` in ``async def`` ones) or streamed without buffering it
(``for chunk in request.stream()`` / ``async for chunk in request.astream()``). The answer
may start before the request body has arrived: the body is read concurrently.

**Mount an ASGI or WSGI application** (Starlette, FastAPI, Flask, …) as the handler::

    app = FastAPI()

    class MyPlugin(Plugin):
        serve_http = mount_asgi(app)          # or mount_wsgi(flask_app)

        @hook(HookName.OnActivate)
        async def on_activate(self):
            await self.serve_http.startup()   # runs the app's lifespan startup

        @hook(HookName.OnDeactivate)
        async def on_deactivate(self):
            await self.serve_http.shutdown()  # and its shutdown

A mount placed in the class body *is* the plugin's ServeHTTP handler (no ``@hook`` needed).
The app sees the request path below ``/plugins/<plugin id>``, with that prefix as its
``root_path`` (``SCRIPT_NAME`` for WSGI) so the URLs it builds are right. Without an explicit
``startup()``, an ASGI app's lifespan starts before its first request.

Handlers run like other hooks — ``def`` ones in a thread pool (so are ``def`` generators and
WSGI apps; a pool of their own, ``Plugin.http_workers``, so that slow HTTP clients never hold
a thread a hook needs), ``async def`` ones on the event loop — but ServeHTTP has no time
limit: it ends when the answer is complete or the HTTP client goes away. When the client goes
away, ``request.cancelled`` is set, reading the body raises :class:`ClientDisconnected`, an
``async def`` handler (or async body generator) gets ``asyncio.CancelledError``, body
iteration stops, and an ASGI app receives ``http.disconnect``. A handler that raises, or
returns something that is not an answer (e.g. a status that is not an int in 100-999), is
logged with the hook, the handler and the cause, and answered with 500 when nothing was sent
yet; when the body had already started, the stream is aborted so the client sees a truncated
response rather than a silently short one. The plugin process keeps running either way.
"""

from __future__ import annotations

from mattermost_plugin.http._asgi import AsgiMount, asgi_mounts, mount_asgi
from mattermost_plugin.http._message import (
    MAX_CHUNK,
    ClientDisconnected,
    Headers,
    HeadersLike,
    HTTPRequest,
    HTTPResponse,
)
from mattermost_plugin.http._serve import serve_http_handler
from mattermost_plugin.http._wsgi import WsgiMount, mount_wsgi

__all__ = [
    "MAX_CHUNK",
    "AsgiMount",
    "ClientDisconnected",
    "HTTPRequest",
    "HTTPResponse",
    "Headers",
    "HeadersLike",
    "WsgiMount",
    "asgi_mounts",
    "mount_asgi",
    "mount_wsgi",
    "serve_http_handler",
]
