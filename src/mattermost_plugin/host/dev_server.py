"""``mattermost-plugin dev``: run a plugin against a local fake Mattermost, over HTTP.

:class:`DevServer` owns a :class:`~mattermost_plugin.host.local.LocalMattermost` and serves,
on ``127.0.0.1:PORT`` (standard library ``ThreadingHTTPServer``):

* ``/plugins/<plugin id>/...``: the plugin's ``ServeHTTP``, streamed both ways (the answer
  goes out with chunked transfer encoding unless the plugin set ``Content-Length``);
* ``POST /api/v4/posts`` (``{"channel_id", "message", "root_id"?, "props"?}``): 201 and the
  created post, or 400 with the plugin's rejection reason, like Mattermost;
* ``POST /api/v4/commands/execute`` (``{"channel_id", "command"}``): the command response;
* ``GET /api/v4/posts/<id>``, ``GET /api/v4/channels/<id>/posts``: what was stored;
* ``GET /api/v4/system/ping`` and ``GET /dev/status``: liveness and the plugin's state.

Requests act as the default user ``admin`` unless they carry a ``Mattermost-User-Id``
header (a user id; empty for an anonymous request). ``channel_id`` may also be a channel
name of the default team (``town-square``). Errors are Mattermost ``AppError`` JSON.

It polls the plugin folder's files every half second and reloads the plugin when they
change: the new version replaces the old one only once it has activated, so a broken edit
is reported and the last good version keeps serving. Everything that happens (hooks and
their outcome, rejections, the plugin's logs with their levels, restarts) is printed.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape

from mattermost_plugin.host.fake_server import FakeAppError
from mattermost_plugin.host.http_bridge import BridgeError
from mattermost_plugin.host.local import (
    DISMISS_POST,
    CommandError,
    Event,
    LocalMattermost,
    PostRejectedError,
)
from mattermost_plugin.http import MAX_CHUNK

__all__ = ["DEFAULT_PORT", "DevServer", "EventPrinter", "FileWatcher", "default_db_path"]

DEFAULT_PORT = 8065
STATE_DIR = ".mattermost-dev"
WATCH_INTERVAL = 0.5
_IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        "__pycache__",
        "node_modules",
        STATE_DIR,
    }
)
_IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", "~", ".tmp")
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)


def default_db_path(plugin_dir: Path) -> Path:
    """``<plugin>/.mattermost-dev/state.db``; the folder gets a ``.gitignore`` of ``*``."""
    folder = plugin_dir / STATE_DIR
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# local state of `mattermost-plugin dev`\n*\n")
    return folder / "state.db"


# --- file watching -----------------------------------------------------------------------------


class FileWatcher:
    """Polls the modification times of a folder's files (no dependency, works everywhere)."""

    def __init__(self, root: Path, on_change: Callable[[list[str]], None]) -> None:
        self.root = root
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snapshot = self.snapshot()

    def snapshot(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS and not d.endswith(".egg-info")]
            for name in files:
                if name.endswith(_IGNORED_SUFFIXES) or name.startswith(".#"):
                    continue
                path = os.path.join(folder, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                found[os.path.relpath(path, self.root)] = (stat.st_mtime_ns, stat.st_size)
        return found

    def changed(self) -> list[str]:
        """The files added, removed or modified since the last call."""
        current = self.snapshot()
        old = self._snapshot
        self._snapshot = current
        return sorted(
            name for name in current.keys() | old.keys() if current.get(name) != old.get(name)
        )

    def start(self, interval: float = WATCH_INTERVAL) -> None:
        def run() -> None:
            while not self._stop.wait(interval):
                changes = self.changed()
                if not changes:
                    continue
                # Let an editor (or a git checkout) finish writing: wait for a quiet tick.
                while not self._stop.wait(interval / 2):
                    more = self.changed()
                    if not more:
                        break
                    changes = sorted(set(changes) | set(more))
                if not self._stop.is_set():
                    self.on_change(changes)

        self._thread = threading.Thread(target=run, name="dev-file-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)


# --- printing ----------------------------------------------------------------------------------

_LEVEL_STYLE = {"debug": "dim", "info": "", "warn": "yellow", "error": "bold red"}
_KIND_STYLE = {
    "server": "bold",
    "plugin": "magenta",
    "hook": "cyan",
    "log": "blue",
    "post": "green",
    "command": "green",
    "http": "dim",
}


class EventPrinter:
    """Prints :class:`Event` objects as readable, colored lines (rich)."""

    def __init__(self, console: Console | None = None, *, verbose: bool = False) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.verbose = verbose
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if event.level == "debug" and event.kind == "hook" and not self.verbose:
            return
        stamp = datetime.fromtimestamp(event.time).strftime("%H:%M:%S")
        style = _LEVEL_STYLE.get(event.level, "")
        kind_style = _KIND_STYLE.get(event.kind, "")
        fields = {k: v for k, v in event.fields.items() if k != "source"}
        if event.kind == "log":
            level = event.level.upper()
            head = f"[{kind_style}]log    [/][{style or 'default'}]{level:<5}[/] "
        else:
            head = f"[{kind_style}]{event.kind:<7}[/]"
        extra = "  ".join(
            f"[dim]{escape(str(k))}=[/]{escape(_short(v))}" for k, v in fields.items()
        )
        message = escape(event.message)
        if style and event.kind != "log":
            message = f"[{style}]{message}[/]"
        line = f"[dim]{stamp}[/] {head}{message}" + (f"  {extra}" if extra else "")
        with self._lock:
            self.console.print(line)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


# --- HTTP --------------------------------------------------------------------------------------


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


class _HTTPError(Exception):
    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = app_error_json(error_id, message, status)


_POSTS_OF_CHANNEL = re.compile(r"^/api/v4/channels/([^/]+)/posts/?$")
_ONE_POST = re.compile(r"^/api/v4/posts/([^/]+)/?$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mattermost-plugin-dev"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    dev: DevServer  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # the access log is ours
        pass

    # Every method goes through one dispatcher.
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        started = time.monotonic()
        self._status = 0
        self._body_left = self._content_length()
        path = urlsplit(self.path).path
        try:
            prefix = f"/plugins/{self.dev.local.plugin_id}"
            if path == prefix or path.startswith(prefix + "/"):
                self._plugin()
            elif path.startswith("/plugins/"):
                raise _HTTPError(404, "api.plugin.not_found", "no such plugin")
            else:
                self._api(path)
        except _HTTPError as exc:
            self._send_json(exc.status, exc.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            self.dev.emit("http", f"{self.command} {path} failed: {exc!r}", "error")
            if not self._status:
                body = app_error_json("api.dev.internal_error", str(exc), 500)
                self._send_json(500, body)
            self.close_connection = True
        if self._body_left:
            self.close_connection = True  # an unread body would be read as the next request
        level = "warn" if self._status >= 400 else "debug"
        if not (path.startswith("/plugins/") or self._status >= 400):
            level = "debug"
        elapsed = (time.monotonic() - started) * 1000
        self.dev.emit("http", f"{self.command} {self.path} → {self._status}", level, elapsed)

    # --- request bodies -------------------------------------------------------------------

    def _content_length(self) -> int | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        try:
            return max(int(self.headers.get("Content-Length", "0")), 0)
        except ValueError:
            return 0

    def _body_chunks(self) -> Iterator[bytes]:
        """The request body as it arrives (Content-Length or chunked)."""
        if self._body_left is None:
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self._body_left = 0
                    return
                remaining = size
                while remaining:
                    data = self.rfile.read(min(remaining, MAX_CHUNK))
                    if not data:
                        raise ConnectionResetError("the client went away")
                    remaining -= len(data)
                    yield data
                self.rfile.readline(8)
        while self._body_left:
            data = self.rfile.read(min(self._body_left, MAX_CHUNK))
            if not data:
                raise ConnectionResetError("the client went away")
            self._body_left -= len(data)
            yield data

    def _json_body(self) -> dict[str, Any]:
        raw = b"".join(self._body_chunks())
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise _HTTPError(
                400, "api.context.invalid_body_param.app_error", "the body is not valid JSON"
            ) from None
        if not isinstance(body, dict):
            raise _HTTPError(
                400, "api.context.invalid_body_param.app_error", "the body is not a JSON object"
            )
        return body

    # --- responses ------------------------------------------------------------------------

    def _send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self._status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _user_id(self) -> str:
        header = self.headers.get("Mattermost-User-Id")
        if header is not None:
            return header.strip()
        user = self.dev.local._user
        return user.id if user is not None else ""

    # --- /api/v4 --------------------------------------------------------------------------

    def _api(self, path: str) -> None:
        local = self.dev.local
        method = self.command
        if method == "GET" and path in ("/api/v4/system/ping", "/api/v4/system/ping/"):
            self._send_json(200, {"status": "OK", "plugin": self.dev.status()["state"]})
        elif method == "GET" and path in ("/dev/status", "/dev/status/"):
            self._send_json(200, self.dev.status())
        elif method == "POST" and path in ("/api/v4/posts", "/api/v4/posts/"):
            self._create_post(self._json_body())
        elif method == "POST" and path in ("/api/v4/commands/execute", "/api/v4/commands/execute/"):
            self._execute_command(self._json_body())
        elif method == "GET" and (match := _ONE_POST.match(path)):
            try:
                post = local.get_post(match[1])
            except FakeAppError as exc:
                raise _HTTPError(exc.status_code, exc.error_id, exc.message) from None
            self._send_json(200, _post_json(post))
        elif method == "GET" and (match := _POSTS_OF_CHANNEL.match(path)):
            try:
                posts = local.posts(local.resolve_channel(match[1]))
            except FakeAppError as exc:
                raise _HTTPError(exc.status_code, exc.error_id, exc.message) from None
            newest_first = list(reversed(posts))
            self._send_json(
                200,
                {
                    "order": [p.id for p in newest_first],
                    "posts": {p.id: _post_json(p) for p in newest_first},
                },
            )
        else:
            raise _HTTPError(404, "api.context.404.app_error", f"no route for {method} {path}")

    def _create_post(self, body: dict[str, Any]) -> None:
        local = self.dev.local
        channel = body.get("channel_id")
        if not isinstance(channel, str) or not channel:
            raise _HTTPError(400, "api.context.invalid_param.app_error", "channel_id is required")
        props = body.get("props")
        try:
            post = local.create_post(
                local.resolve_channel(channel),
                str(body.get("message", "")),
                user=body.get("user_id") or self._user_id(),
                root_id=str(body.get("root_id", "")),
                props=props if isinstance(props, dict) else None,
                file_ids=[str(i) for i in body.get("file_ids") or []],
                wait=False,
            )
        except PostRejectedError as exc:
            error_id = DISMISS_POST if exc.reason == DISMISS_POST else str(exc)
            raise _HTTPError(400, error_id, str(exc)) from None
        except FakeAppError as exc:
            raise _HTTPError(exc.status_code, exc.error_id, exc.message) from None
        self._send_json(201, _post_json(post))

    def _execute_command(self, body: dict[str, Any]) -> None:
        local = self.dev.local
        command, channel = body.get("command"), body.get("channel_id")
        if not isinstance(command, str) or not command.strip():
            raise _HTTPError(400, "api.context.invalid_param.app_error", "command is required")
        if not isinstance(channel, str) or not channel:
            raise _HTTPError(400, "api.context.invalid_param.app_error", "channel_id is required")
        try:
            response = local.execute_command(
                command,
                channel=local.resolve_channel(channel),
                user=body.get("user_id") or self._user_id(),
                root_id=str(body.get("root_id", "")),
                team=body.get("team_id") or None,
            )
        except CommandError as exc:
            raise _HTTPError(exc.status_code, exc.error_id, exc.message) from None
        except FakeAppError as exc:
            raise _HTTPError(exc.status_code, exc.error_id, exc.message) from None
        self._send_json(200, response.model_dump(mode="json"))

    # --- /plugins/<id> --------------------------------------------------------------------

    def _plugin(self) -> None:
        local = self.dev.local
        if not local.running:
            reason = local.last_error or "the plugin is not running"
            raise _HTTPError(503, "app.plugin.not_active.app_error", reason)
        if not local.implements("ServeHTTP"):  # what the server answers then
            raise _HTTPError(404, "api.plugin.serve_http.not_implemented", "404 page not found")
        headers = [
            (k, v)
            for k, v in self.headers.items()
            if k.lower() not in ("mattermost-user-id", "transfer-encoding")
        ]
        user = self._user_id() or None
        target = urlsplit(self.path)
        try:
            response = local.stream(
                self.command,
                target.path,
                query=target.query,
                headers=headers,
                body=self._body_chunks(),
                user=user,
                remote_addr=f"{self.client_address[0]}:{self.client_address[1]}",
            )
        except BridgeError as exc:
            raise _HTTPError(
                503, "app.plugin.serve_http.app_error", f"the plugin did not answer: {exc}"
            ) from None
        except RuntimeError as exc:
            raise _HTTPError(503, "app.plugin.not_active.app_error", str(exc)) from None
        with response:
            self._status = response.status_code
            self.send_response(response.status_code)
            length = response.headers.get("Content-Length")
            for name, value in response.headers.multi_items():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            no_body = self.command == "HEAD" or response.status_code in (204, 304)
            if length is not None or no_body:
                if length is not None:
                    self.send_header("Content-Length", length)
                self.end_headers()
                if not no_body:
                    for chunk in response:
                        self.wfile.write(chunk)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for part in response.iter_parts():
                    if part.data:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part.data), part.data))
                    self.wfile.flush()
            except BridgeError as exc:
                # Headers are out: end the stream without its terminator, so the client
                # sees a broken response, and close the connection.
                self.dev.emit("http", f"ServeHTTP broke off: {exc}", "error")
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")


def _post_json(post: Any) -> dict[str, Any]:
    data: dict[str, Any] = post.model_dump(mode="json", exclude_none=True)
    return data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class DevServer:
    """The dev server: HTTP front, local Mattermost, file watcher, printer.

    ``db`` is the SQLite state file (``None``: in memory). ``port=0`` picks a free port;
    :attr:`url` tells which. ``console`` receives the printed events.
    """

    def __init__(
        self,
        plugin_dir: str | os.PathLike[str],
        *,
        port: int = DEFAULT_PORT,
        db: str | os.PathLike[str] | None = None,
        hook_timeout: float = 30.0,
        reload: bool = True,
        console: Console | None = None,
        verbose: bool = False,
    ) -> None:
        self.plugin_dir = Path(plugin_dir).resolve()
        self.printer = EventPrinter(console, verbose=verbose)
        self.console = self.printer.console
        handler = type("Handler", (_Handler,), {"dev": self})
        self.httpd = _Server(("127.0.0.1", port), handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.local = LocalMattermost(
            self.plugin_dir,
            db=db,
            hook_timeout=hook_timeout,
            on_event=self.printer,
            site_url=self.url,
        )
        self.reload_enabled = reload
        self.watcher: FileWatcher | None = None
        self._thread: threading.Thread | None = None
        self.started_seconds: float | None = None

    def emit(self, kind: str, message: str, level: str = "info", ms: float | None = None) -> None:
        fields = {"duration": f"{ms:.1f} ms"} if ms is not None else {}
        self.printer(Event(kind, message, level, fields))  # type: ignore[arg-type]

    def status(self) -> dict[str, Any]:
        local = self.local
        supervisor = local._supervisor
        return {
            "plugin_id": local.plugin_id,
            "state": supervisor.state if supervisor is not None else "stopped",
            "pid": supervisor.pid if supervisor is not None else None,
            "generation": local.generation,
            "restarts": supervisor.restarts if supervisor is not None else 0,
            "last_error": local.last_error,
            "hooks": supervisor.implemented if supervisor is not None else [],
            "url": self.url,
            "team_id": local._team.id if local._team else None,
            "user_id": local._user.id if local._user else None,
            "channel_id": local._channel.id if local._channel else None,
        }

    def start(self) -> None:
        """Start everything; the plugin failing to start is printed, not raised."""
        started = time.monotonic()
        self.local.start(plugin=False)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()
        self.local.reload()
        if self.reload_enabled:
            self.watcher = FileWatcher(self.plugin_dir, self._on_change)
            self.watcher.start()
        self.started_seconds = time.monotonic() - started
        self._banner()

    def _banner(self) -> None:
        local = self.local
        c = self.console
        state = "running" if local.running else "[bold red]not running[/]"
        c.print(
            f"[bold]serving on {self.url}[/]  (plugin {state}, ready in "
            f"{self.started_seconds or 0:.2f} s)"
        )
        c.print(f"  plugin    {self.url}/plugins/{local.plugin_id}/")
        where = str(local.db) if local.db is not None else "in memory"
        c.print(f"  state     {escape(where)}")
        if local._team and local._user and local._channel:
            c.print(
                f"  logged in as [bold]admin[/] ({local.user.id}); team local ({local.team.id}); "
                f"channel town-square ({local.channel.id})"
            )
        c.print(
            "  try       curl -s -X POST " + self.url + "/api/v4/posts -d "
            '\'{"channel_id": "town-square", "message": "hello"}\''
        )
        if self.reload_enabled:
            c.print(f"  watching  {escape(str(self.plugin_dir))} for changes")

    def _on_change(self, changes: list[str]) -> None:
        shown = ", ".join(changes[:5]) + (
            f" and {len(changes) - 5} more" if len(changes) > 5 else ""
        )
        self.emit("server", f"changed: {shown}")
        self.local.reload()

    def serve_until(self, stop: threading.Event) -> None:
        """Block until ``stop`` is set (the CLI sets it on Ctrl-C or SIGTERM)."""
        while not stop.wait(0.5):
            pass

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.local.stop()

    def __enter__(self) -> DevServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
