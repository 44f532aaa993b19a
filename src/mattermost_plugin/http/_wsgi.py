"""WSGI applications (Flask, ...) as the plugin's ServeHTTP handler."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import unquote_to_bytes

from mattermost_plugin.models.hooks_common import PluginContext

if TYPE_CHECKING:
    pass
from mattermost_plugin.http._message import (
    MAX_CHUNK,
    HTTPRequest,
    HTTPResponse,
    _refuse_on_event_loop,
)
from mattermost_plugin.http._mount import _Mount, _split_host_port

_log = logging.getLogger("mattermost_plugin.http")


# -- WSGI -------------------------------------------------------------------------------------
WsgiStartResponse: TypeAlias = Callable[..., Callable[[bytes], object]]
WsgiApp: TypeAlias = Callable[[dict[str, Any], WsgiStartResponse], Iterable[bytes]]


class _RequestRaw(io.RawIOBase):
    """The request body as a raw binary stream, for ``wsgi.input``."""

    def __init__(self, request: HTTPRequest) -> None:
        self._chunks = request.stream()
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._eof:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                self._eof = True
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class WsgiMount(_Mount):
    """A WSGI application (Flask, Django, …) serving the plugin's HTTP requests.

    Create it with :func:`mount_wsgi`. The app runs in the hook thread pool, reads the
    request body from ``wsgi.input`` as it arrives, and its response iterable is sent item
    by item, each flushed (so streamed responses stream). When the client goes away the
    iteration stops and the iterable's ``close()`` is called. The environ carries
    ``environ["mattermost.plugin_context"]`` and ``environ["mattermost.request"]``.
    """

    def __init__(self, app: WsgiApp, *, root_path: str | None = None) -> None:
        self.app = app
        self.root_path = root_path
        mount = self

        def serve_http(plugin: object, context: PluginContext, request: HTTPRequest) -> Any:
            return mount(context, request)

        serve_http.__mattermost_hook__ = "ServeHTTP"  # type: ignore[attr-defined]
        self._func = serve_http

    def __repr__(self) -> str:
        return f"<WsgiMount {self.app!r}>"

    def environ_for(self, request: HTTPRequest) -> dict[str, Any]:
        """The WSGI environ of ``request``."""
        root_path = self.root_path if self.root_path is not None else request.root_path
        server = _split_host_port(request.host, 80) or ("localhost", 80)
        client = _split_host_port(request.remote_addr, 0) or ("", 0)
        scheme = request.headers.get("X-Forwarded-Proto", "http").split(",")[0].strip().lower()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method.upper(),
            "SCRIPT_NAME": root_path.encode().decode("latin-1"),
            "PATH_INFO": unquote_to_bytes(request.raw_path).decode("latin-1"),
            "QUERY_STRING": request.query,
            "SERVER_NAME": server[0],
            "SERVER_PORT": str(server[1] or 80),
            "SERVER_PROTOCOL": request.proto,
            "REMOTE_ADDR": client[0],
            "REMOTE_PORT": str(client[1] or 0),
            "REQUEST_URI": request.request_uri,
            "RAW_URI": request.request_uri,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme if scheme in ("http", "https") else "http",
            "wsgi.input": io.BufferedReader(_RequestRaw(request), MAX_CHUNK),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "mattermost.plugin_context": request.plugin_context,
            "mattermost.request": request,
        }
        if request.content_length is not None:
            environ["CONTENT_LENGTH"] = str(request.content_length)
        if request.host:
            environ["HTTP_HOST"] = request.host
        for name, values in request.headers.grouped():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = values[0]
                continue
            separator = "; " if key == "COOKIE" else ", "
            environ["HTTP_" + key] = separator.join(values)
        return environ

    def __call__(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        """Run the app for one request (in a worker thread)."""
        _refuse_on_event_loop("a WSGI app")
        started: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []
        headers_sent = False

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            if exc_info is not None and headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
            if started and exc_info is None:
                raise RuntimeError("start_response was called twice without exc_info")
            started[:] = [(status, list(headers))]
            return written.append

        result = self.app(self.environ_for(request), start_response)
        iterator = iter(result)
        buffered: list[bytes] = []
        try:
            while not started:
                item = next(iterator, None)
                if item is None:
                    break
                if item:
                    buffered.append(item)
            if not started:
                raise RuntimeError("the WSGI app did not call start_response")
        except BaseException:
            _close_quietly(result)
            raise
        headers_sent = True
        status_line, header_list = started[0]
        try:
            status = int(status_line.split(None, 1)[0])
        except ValueError:
            _close_quietly(result)
            raise ValueError(f"the WSGI app sent an invalid status {status_line!r}") from None
        if isinstance(result, list | tuple) and not written:
            return HTTPResponse(status, header_list, [*buffered, *result])
        return HTTPResponse(status, header_list, _wsgi_body(result, iterator, written, buffered))


def _wsgi_body(
    result: Iterable[bytes], iterator: Iterator[bytes], written: list[bytes], buffered: list[bytes]
) -> Iterator[bytes]:
    try:
        yield from written
        written.clear()
        yield from buffered
        for item in iterator:
            if written:  # the legacy write() callable, used while iterating
                yield from written
                written.clear()
            if item:
                yield item
    finally:
        _close_quietly(result)


def _close_quietly(result: object) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            _log.exception("closing the WSGI response failed")


def mount_wsgi(app: WsgiApp, *, root_path: str | None = None) -> WsgiMount:
    """Serve the plugin's HTTP requests with a WSGI app (Flask, …).

    Assign the result in the plugin class body (``serve_http = mount_wsgi(app)``): it is
    the ServeHTTP handler. See :class:`WsgiMount`.
    """
    return WsgiMount(app, root_path=root_path)
