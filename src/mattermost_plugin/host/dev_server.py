"""``mattermost-plugin dev``: run a plugin against a local fake Mattermost, over HTTP.

:class:`DevServer` owns a :class:`~mattermost_plugin.host.local.LocalMattermost` and serves,
on ``127.0.0.1:PORT``:

* ``/plugins/<plugin id>/...``: the plugin's ``ServeHTTP``, streamed both ways (the answer
  goes out with chunked transfer encoding unless the plugin set ``Content-Length``);
* the server's REST API for what a plugin reacts to (users, logins and tokens, teams,
  channels, members, posts, reactions, files, commands (listed and run), config, the
  server log, plugin uploads and statuses): one module per area (``_rest_*``), in one table
  (``_dev_routes.REST_ROUTES``), with the server's paths, JSON, status codes, ``AppError``
  errors and permission checks;
* ``POST /api/v4/posts/<id>/actions/<action id>`` and ``POST /api/v4/actions/dialogs/submit``:
  a click on a button or menu and a dialog submission, as the webapp sends them;
  ``GET /dev/dialogs``: the dialogs the plugin opened (``_dev_interactive``);
* ``GET /dev/events`` (``_dev_events``): the server's WebSocket events and the dev
  server's own, as server-sent events; ``GET /dev/status``: the plugin's state;
* ``GET /dev/hooks``, ``GET /dev/logs``, ``GET``/``DELETE /dev/kv[/{key}]``
  (``_dev_panels``): the hook log (``_dev_hooklog``), the plugin's log and its KV store,
  for the playground's author panels;
* ``GET /`` and ``GET /playground/<file>`` (``_dev_playground``): the playground, a page
  that acts like Mattermost, using the routes above.

A token in ``Authorization: Bearer`` acts as its user, as on the server; requests without
one act as the default user ``admin`` (a system admin; ``Mattermost-User-Id`` picks another
user), and the dev server prints an ``admin`` token at start. ``channel_id`` may also be a
channel name of the default team (``town-square``). Requests through another host name than
the dev server's own, and state-changing requests a browser marks as cross-site, are
refused with 403 (``_dev_guard``). An uploaded bundle is unpacked into the state folder and
swapped in for the running plugin (``_dev_plugins``).

It polls the plugin folder's files every half second and reloads the plugin when they
change: the new version replaces the old one only once it has activated, so a broken edit
is reported and the last good version keeps serving. Everything that happens (hooks and
their outcome, rejections, the plugin's logs with their levels, restarts) is printed.

The parts: ``_http_front`` (sockets, deadlines, HTTP framing with h11), ``_dev_guard``
(which requests are accepted), ``_dev_routes`` (what answers which path), ``_rest*`` (the
REST routes), ``_dev_proxy`` (the plugin's HTTP), ``_dev_events`` (the event stream),
``_dev_plugins`` (uploads and statuses), ``_dev_server_log`` (``GET /api/v4/logs``),
``_dev_console`` (printing) and ``_dev_watch`` (the file watcher).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2
from mattermost_plugin.host._config_patch import plugin_settings_patch
from mattermost_plugin.host._dev_console import EventPrinter
from mattermost_plugin.host._dev_events import KEEP_ALIVE, EventStream
from mattermost_plugin.host._dev_guard import RequestGuard
from mattermost_plugin.host._dev_hooklog import HookLog, shown_traceback
from mattermost_plugin.host._dev_plugins import DevPlugins
from mattermost_plugin.host._dev_routes import DevRoutes
from mattermost_plugin.host._dev_server_log import ServerLog
from mattermost_plugin.host._dev_watch import STATE_DIR, FileWatcher
from mattermost_plugin.host._http_front import HEADER_TIMEOUT, HTTPFront, Request
from mattermost_plugin.host._tracebacks import traceback_origin
from mattermost_plugin.host.local import Event, LocalMattermost

__all__ = ["DEFAULT_PORT", "DevServer", "EventPrinter", "FileWatcher", "default_db_path"]

DEFAULT_PORT = 8065
ADMIN_TOKEN_DESCRIPTION = "mattermost-plugin dev"
"""The description of the admin token the dev server makes (and reuses from its state)."""


def default_db_path(plugin_dir: Path) -> Path:
    """``<plugin>/.mattermost-dev/state.db``; the folder (0700) gets a ``.gitignore`` of ``*``."""
    folder = plugin_dir / STATE_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)  # also when an older version made it with the umask's mode
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# local state of `mattermost-plugin dev`\n*\n")
    return folder / "state.db"


class DevServer:
    """The dev server: HTTP front, local Mattermost, file watcher, printer.

    ``db`` is the SQLite state file (``None``: in memory). ``port=0`` picks a free port;
    :attr:`url` tells which. ``console`` receives the printed events. ``header_timeout``
    is how long a client may take to send a request's headers. ``python`` runs the plugin
    under that interpreter (default: the plugin's venv, else this one). ``settings`` are
    set in the plugin's configuration before it starts (merged over the stored ones).
    ``verbose`` also prints background hooks, and tracebacks with every frame. ``nodes``
    runs the plugin as a cluster of that many processes on the one store: each request is
    served by the next running node (round robin), and every hook it runs runs there;
    the printed lines and ``/dev/events`` say which node (``node``).
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
        header_timeout: float = HEADER_TIMEOUT,
        python: str | None = None,
        settings: Mapping[str, Any] | None = None,
        events_keep_alive: float = KEEP_ALIVE,
        nodes: int = 1,
    ) -> None:
        self.plugin_dir = Path(plugin_dir).resolve()
        self.settings = dict(settings or {})
        self.printer = EventPrinter(console, verbose=verbose, plugin_dir=self.plugin_dir)
        self.console = self.printer.console
        self.events = EventStream()
        """``GET /dev/events``: the server's WebSocket events and the dev server's own."""
        self.events_keep_alive = events_keep_alive
        self.server_log = ServerLog()
        """``GET /api/v4/logs``: the server log's latest lines."""
        self.hooks = HookLog(
            redactor=lambda: self.local.redactor(),
            plugin_dir=lambda: self.local.plugin_dir,
            publish=lambda call: self.events.publish("dev_hook", call),
        )
        """``GET /dev/hooks``: the latest hook calls (``_dev_hooklog``)."""
        self.plugins = DevPlugins(self, Path(db).resolve().parent if db is not None else None)
        """The installed plugin: uploads, enabling, statuses."""
        self.admin_token = ""
        """A personal access token of ``admin``, printed at start."""
        self._statuses: list[dict[str, Any]] | None = None
        self._statuses_lock = threading.Lock()
        self.front = HTTPFront(
            self._serve,
            "127.0.0.1",
            port,
            header_timeout=header_timeout,
            on_error=self._on_http_error,
        )
        self.port = self.front.port
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            self.local = LocalMattermost(
                self.plugin_dir,
                db=db,
                hook_timeout=hook_timeout,
                on_event=self._on_event,
                site_url=self.url,
                python=python,
                nodes=nodes,
            )
        except BaseException:
            self.front.stop()
            raise
        self.server_log.plugin_id = self.local.plugin_id
        self.printer.redactor = self.local.redactor
        self.local.hook_observer = self.hooks
        self.routes = DevRoutes(self, RequestGuard(self.port))
        self.reload_enabled = reload
        self.watcher: FileWatcher | None = None
        self.started_seconds: float | None = None

    def _serve(self, exchange: Any) -> None:
        self.routes(exchange)

    def _on_http_error(self, request: Request | None, exc: BaseException) -> None:
        where = f"{request.method} {request.path} " if request is not None else ""
        self.emit("http", f"{where}failed: {exc!r}", "error")

    def emit(
        self,
        kind: str,
        message: str,
        level: str = "info",
        ms: float | None = None,
        node: int | None = None,
    ) -> None:
        fields: dict[str, Any] = {"duration": f"{ms:.1f} ms"} if ms is not None else {}
        if node is not None:
            fields["node"] = node
        self._on_event(Event(kind, message, level, fields))  # type: ignore[arg-type]

    def _on_event(self, event: Event) -> None:
        """Everything the local Mattermost and the dev server report: printed, logged in
        the server log, and sent to ``/dev/events``."""
        self.printer(event)
        self.server_log.add(event)
        self.events.local_event(event)
        if event.kind == "log":
            self.hooks.add_log(event)
        if event.kind == "plugin":
            self.plugin_status_changed()

    def plugin_status_changed(self) -> None:
        """Send ``plugin_statuses_changed`` when the plugins' statuses differ from the
        ones sent last."""
        if self.local.fake is None:
            return
        with self._statuses_lock:
            statuses = self.plugins.statuses()
            if statuses == self._statuses:
                return
            self._statuses = statuses
        self.events.publish("plugin_statuses_changed", {"plugin_statuses": statuses})

    def status(self) -> dict[str, Any]:
        local = self.local
        supervisor = local._supervisor
        return {
            "plugin_id": local.plugin_id,
            "state": supervisor.state if supervisor is not None else "stopped",
            "pid": supervisor.pid if supervisor is not None else None,
            "generation": local.generation,
            "reloads": max(local.generation - 1, 0),
            "restarts": supervisor.restarts if supervisor is not None else 0,
            "last_error": local.last_error,
            "last_traceback": shown_traceback(local.last_traceback, local.plugin_dir)[0]
            if local.last_traceback
            else None,
            "hooks": supervisor.implemented if supervisor is not None else [],
            "nodes": [{"node": n.index, "pid": n.pid, "running": n.running} for n in local.nodes],
            "enabled": self.plugins.enabled,
            "plugin_dir": str(local.plugin_dir),
            "url": self.url,
            "team_id": local._team.id if local._team else None,
            "user_id": local._user.id if local._user else None,
            "channel_id": local._channel.id if local._channel else None,
        }

    def start(self) -> None:
        """Start everything; the plugin failing to start is printed, not raised."""
        started = time.monotonic()
        self.local.start(plugin=False)
        self._prepare_server()
        if self.settings:
            self.local.patch_config(plugin_settings_patch(self.local.plugin_id, self.settings))
        self.front.start()
        self.local.reload()
        if self.reload_enabled:
            self.watcher = FileWatcher(self.plugin_dir, self._on_change)
            self.watcher.start()
        self.started_seconds = time.monotonic() - started
        self._banner()

    def _prepare_server(self) -> None:
        """What the dev server needs of the fake: its WebSocket events, uploads and
        personal access tokens allowed (unless a stored config says otherwise), the plugin
        enabled, and a token for ``admin``."""
        fake = self.local.server
        fake.on_websocket_event = self.events.websocket
        self.plugins.set_enabled(True)
        with fake.transaction():
            fake.config.setdefault("ServiceSettings", {}).setdefault("EnableUserAccessTokens", True)
            fake.config.setdefault("PluginSettings", {}).setdefault("EnableUploads", True)
            admin = self.local._user
            if admin is None:
                return
            token = next(
                (
                    t
                    for t in fake.access_tokens.values()
                    if t.user_id == admin.id and t.description == ADMIN_TOKEN_DESCRIPTION
                ),
                None,
            )
            alive = token is not None and any(
                s.token == token.token for s in fake.sessions.values()
            )
        if token is None or not alive:
            token = self.local._invoke(
                "CreateUserAccessToken",
                api_user_team_pb2.CreateUserAccessTokenRequest(
                    token=api_user_team_pb2.UserAccessToken(
                        user_id=admin.id, description=ADMIN_TOKEN_DESCRIPTION
                    )
                ),
            ).token
        self.admin_token = token.token

    def _banner(self) -> None:
        local = self.local
        c = self.console
        state = "running" if local.running else "[bold red]not running[/]"
        c.print(
            f"[bold]serving on {self.url}[/]  (plugin {state}, ready in "
            f"{self.started_seconds or 0:.2f} s)"
        )
        c.print(
            f"  browser   {self.url}/  (the playground: your plugin in a page that acts like "
            "Mattermost)"
        )
        c.print(f"  plugin    {self.url}/plugins/{local.plugin_id}/")
        where = str(local.db) if local.db is not None else "in memory"
        c.print(f"  state     {escape(where)}")
        if local.clustered:
            pids = ", ".join(f"{node.index}: pid {node.pid}" for node in local.nodes)
            c.print(
                f"  nodes     {len(local.nodes)} ({pids}); each request goes to the next "
                "running node, a killed node restarts"
            )
        if self.settings:
            shown = local.redactor().fields(self.settings)
            settings = ", ".join(f"{key}={_json(value)}" for key, value in shown.items())
            c.print(f"  settings  {escape(settings)}")
        if local._team and local._user and local._channel:
            c.print(
                f"  logged in as [bold]admin[/] ({local.user.id}); team local ({local.team.id}); "
                f"channel town-square ({local.channel.id})"
            )
        if self.admin_token:
            c.print(
                f"  token     {self.admin_token}  (admin's personal access token: "
                "Authorization: Bearer ...; requests without one act as admin)"
            )
        c.print(f"  events    {self.url}/dev/events")
        if local.running:
            for number, hint in enumerate(self._try_hints()):
                c.print(("  try       " if number == 0 else " " * 12) + escape(hint))
        else:
            self._print_failure()
        if self.reload_enabled:
            c.print(f"  watching  {escape(str(self.plugin_dir))} for changes")

    def _try_hints(self) -> list[str]:
        """curl lines that fit the plugin: its slash commands, its HTTP, a post when it
        handles message hooks; the status page when it has none of these."""
        local = self.local
        supervisor = local._supervisor
        hooks = supervisor.implemented if supervisor is not None else []
        with local.server.transaction():
            triggers = sorted({trigger for _team, trigger in local.server.commands})
        hints = []
        for trigger in triggers:
            body = {"channel_id": "town-square", "command": f"/{trigger}"}
            hints.append(f"curl -s -X POST {self.url}/api/v4/commands/execute -d '{_json(body)}'")
        if "ServeHTTP" in hooks:
            hints.append(f"curl -s {self.url}/plugins/{local.plugin_id}/")
        if any(hook.startswith("Message") for hook in hooks):
            body = {"channel_id": "town-square", "message": "hello"}
            hints.append(f"curl -s -X POST {self.url}/api/v4/posts -d '{_json(body)}'")
        return hints or [f"curl -s {self.url}/dev/status"]

    def _print_failure(self) -> None:
        """In place of the hints: why the plugin is not running, and where it failed."""
        local = self.local
        reason = local.last_error or "the plugin is not running"
        first, *rest = reason.splitlines() or [reason]
        c = self.console
        c.print(f"  [bold red]failed[/]    [red]{escape(first)}[/]")
        for line in rest:
            c.print(" " * 12 + escape(line))
        origin = traceback_origin(local.last_traceback or "", plugin_dir=self.plugin_dir)
        if origin is not None:
            c.print(f"            at {escape(origin)} (the traceback is above)")
        if self.reload_enabled:
            c.print("            fix it and save: the plugin starts again on every change")

    def _on_change(self, changes: list[str]) -> None:
        shown = ", ".join(changes[:5]) + (
            f" and {len(changes) - 5} more" if len(changes) > 5 else ""
        )
        self.emit("server", f"changed: {shown}")
        self.plugins.source_changed()

    def serve_until(self, stop: threading.Event) -> None:
        """Block until ``stop`` is set (the CLI sets it on Ctrl-C or SIGTERM)."""
        while not stop.wait(0.5):
            pass

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.events.close()
        self.front.stop()
        self.local.stop()
        self.plugins.close()

    def __enter__(self) -> DevServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
