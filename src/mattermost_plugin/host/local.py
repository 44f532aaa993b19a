"""A local Mattermost for one plugin: the fake server, the supervisor and the server's flows.

:class:`LocalMattermost` serves a :class:`~mattermost_plugin.host.fake_server.FakeMattermost`
(in memory, or in a SQLite file that survives restarts) on a loopback port, starts the plugin
folder under a :class:`~mattermost_plugin.host.supervisor.PluginSupervisor` as a real
subprocess, and does what the Mattermost server does around the plugin's hooks:

* :meth:`~LocalMattermost.create_post`: ``MessageWillBePosted`` (a rejection raises
  :class:`PostRejectedError` with the plugin's reason; a modified post is what gets stored),
  the store, then ``MessageHasBeenPosted``. As on the server, a hook that fails or times
  out does not block the post (fail open).
* :meth:`~LocalMattermost.update_post`: the server's ``UpdatePost``: the new post is the
  stored one with the edit's editable fields (message, props, file ids, pinned), then
  ``MessageWillBeUpdated`` with the new and the old post (a rejection raises
  :class:`PostRejectedError` and stores nothing; a modified post is what gets stored; a
  failure or timeout fails open), the store (``edit_at``, ``update_at``), then
  ``MessageHasBeenUpdated``.
* :meth:`~LocalMattermost.delete_post` (marks the post deleted, then
  ``MessageHasBeenDeleted``), :meth:`~LocalMattermost.add_reaction` and
  :meth:`~LocalMattermost.remove_reaction` (``ReactionHasBeenAdded`` /
  ``ReactionHasBeenRemoved``), :meth:`~LocalMattermost.set_preferences`
  (``PreferencesHaveChanged``).
* :meth:`~LocalMattermost.execute_command`: finds the command the plugin registered by its
  trigger, calls ``ExecuteCommand`` with ``CommandArgs`` filled like the server (user,
  channel, team, root and parent ids, command, site URL, trigger id), then posts an
  ``in_channel`` answer to the channel or keeps an ephemeral one for the user.
* :meth:`~LocalMattermost.http` (and ``get``, ``post``, ``put``, ``patch``, ``delete``,
  ``stream``): one request through the plugin's ``ServeHTTP``, as the default user unless
  ``user=`` names another or is :data:`ANONYMOUS`.
* :meth:`~LocalMattermost.patch_config`: the server's ``PUT /api/v4/config/patch``
  (``ConfigurationWillBeSaved``, the save, ``OnConfigurationChange``).
* :meth:`~LocalMattermost.click` and :meth:`~LocalMattermost.submit_dialog`: a click on a
  button or menu of a post, and a dialog submission, the way the server runs them (the
  integration request to the plugin's URL, then its answer applied: the post updated, an
  ephemeral text, the dialog's field errors); the dialogs the plugin opened
  (``OpenInteractiveDialog``, with the server's trigger id checks) are in
  :meth:`~LocalMattermost.dialogs`.
* users, teams, channels and memberships (firing ``UserHasBeenCreated``,
  ``ChannelHasBeenCreated``, ``UserHasJoinedTeam`` and ``UserHasJoinedChannel``), the
  plugin's settings (``OnConfigurationChange``), and its logs: stderr lines and
  ``LogInfo``/... calls, with their levels.

The ``...HasBeen...`` hooks run in the background, as the server's goroutines do; these
methods wait for them unless given ``wait=False`` (then :meth:`~LocalMattermost.wait_for_hooks`
waits). A hook runs only when the plugin implements it.

The fake runs the same hooks for the plugin's own API calls (``self.api.create_post`` runs
its ``MessageWillBePosted`` and ``MessageHasBeenPosted``, ...), as the server does: this
object is the fake's :class:`~mattermost_plugin.host.fake_server.PluginHooks`. The flows
above go through the same code. :meth:`~LocalMattermost.login` runs ``UserWillLogIn`` and
``UserHasLoggedIn`` around a new session.

:meth:`~LocalMattermost.reload` starts the plugin folder again as a new process and swaps
it in only once it has activated; when the new version fails to start, the old one keeps
running.

``nodes=3`` runs the plugin as a cluster: three processes of the same plugin, each with its
own API endpoint, sharing one store and one clock; hooks and HTTP requests are spread over
the running nodes, cluster events go to the other nodes (:mod:`._local_nodes` says exactly
how), and :attr:`~LocalMattermost.nodes` gives each node (``kill()``, ``start()``,
``stop()``, ``get(...)``).

Both the pytest plugin (:mod:`mattermost_plugin.testing`) and ``mattermost-plugin dev`` are
built on this class. Everything it does is reported to ``on_event`` as
:class:`Event` objects.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2
from mattermost_plugin.host._local_commands import LocalCommands
from mattermost_plugin.host._local_core import interpreter_for
from mattermost_plugin.host._local_directory import LocalDirectory
from mattermost_plugin.host._local_interactive import ActionResult, LocalInteractive, OpenedDialog
from mattermost_plugin.host._local_nodes import LocalNode
from mattermost_plugin.host._local_types import (
    ANONYMOUS,
    DEV_RESTART_POLICY,
    DISMISS_POST,
    NO_RESTARTS,
    CommandError,
    Event,
    HookCallError,
    HTTPResult,
    HTTPUser,
    LoginRejectedError,
    LogRecord,
    PostDismissedError,
    PostRejectedError,
    _id,
    _ms,
)
from mattermost_plugin.host.fake_server import (
    FakeMattermost,
)
from mattermost_plugin.host.http_bridge import BridgeResponse, PendingRequest, start_request
from mattermost_plugin.host.supervisor import PluginStartError, PluginSupervisor
from mattermost_plugin.http import Headers, HeadersLike
from mattermost_plugin.manifest import ManifestError, load_manifest

__all__ = [
    "ANONYMOUS",
    "DEV_RESTART_POLICY",
    "DISMISS_POST",
    "NO_RESTARTS",
    "ActionResult",
    "CommandError",
    "Event",
    "HTTPResult",
    "HookCallError",
    "LocalMattermost",
    "LocalNode",
    "LogRecord",
    "LoginRejectedError",
    "OpenedDialog",
    "PostDismissedError",
    "PostRejectedError",
    "interpreter_for",
]


class LocalMattermost(LocalDirectory, LocalCommands, LocalInteractive):
    """A fake Mattermost with one plugin, started as a real subprocess. See the module doc.

    Args:
        plugin_dir: the plugin folder (``plugin.json`` or ``plugin.yaml`` at its root).
        db: a SQLite state file (created when missing) or ``None`` for in-memory state.
        plugin_config: the plugin's settings before it starts (``GetPluginConfig``).
        python: the interpreter; by default :func:`interpreter_for`.
        env: added to the plugin's environment.
        hook_timeout: the deadline of each hook call (the server's is 30 s).
        restart_policy: health pings and restarts; by default :data:`DEV_RESTART_POLICY`.
        on_event: gets every :class:`Event` (from several threads).
        site_url: ``ServiceSettings.SiteURL`` (and ``CommandArgs.site_url``).
        defaults: create the team ``local``, the user ``admin`` and the channels
            ``town-square`` and ``off-topic`` (get-or-create, before the plugin starts).
        max_log_lines: how many of the plugin's latest log lines :attr:`logs` keeps.
        max_log_line: the longest log line kept, in bytes (longer ones are cut and marked).
        nodes: how many plugin processes run, as the nodes of a cluster sharing the store
            (see the module doc); each is in :attr:`nodes`.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def start(self, *, plugin: bool = True) -> LocalMattermost:
        """Serve the fake server, create the defaults, and start the plugin (unless
        ``plugin=False``). Raises :class:`PluginStartError` if the plugin cannot start (the
        server keeps running; :meth:`reload` tries again)."""
        from mattermost_plugin.host.fake_server import serve

        if self.fake is None:
            fake = FakeMattermost(plugin_id=self.plugin_id, store=self.db, clock=self.clock.time)
            fake.hooks = self  # API calls run the plugin's hooks as on the server
            fake.on_log = self._on_api_log
            fake.execute_command = self._execute_from_api
            fake.on_config_saved = self._config_saved
            self.fake = fake
            self._record_installed()
            if self.site_url is not None:
                with fake.transaction():
                    fake.config.setdefault("ServiceSettings", {})["SiteURL"] = self.site_url
            if self.plugin_config is not None:
                self._write_plugin_config(self.plugin_config)
            else:
                self._apply_schema_defaults()
            if self.defaults:
                self._create_defaults()
            self._server, self.api_target = serve(fake)
            self._serve_nodes(fake)
            self._emit(
                "server",
                f"fake Mattermost API on {self.api_target}",
                fields={
                    "db": str(self.db) if self.db else "in memory",
                    **({"nodes": len(self.nodes)} if self.clustered else {}),
                },
            )
            self._closing.clear()
            self._monitor = threading.Thread(
                target=self._watch, name="local-mattermost-monitor", daemon=True
            )
            self._monitor.start()
        if plugin and not self.reload():
            failure = self.last_error or "the plugin did not start"
            if self.last_traceback:
                failure += "\n" + self.readable_traceback(self.last_traceback)
            raise PluginStartError(failure)
        return self

    def stop(self) -> None:
        """Stop the plugin (``OnDeactivate``, shutdown), the API server, close the state file."""
        self._closing.set()
        self.wait_for_hooks(timeout=5.0)
        with self._swap_lock:
            supervisors = [(node, node.supervisor) for node in self.nodes]
            for node in self.nodes:
                node.supervisor = None
        stopped = [(node, s) for node, s in supervisors if s is not None]
        _each(lambda pair: pair[1].stop(), stopped)
        for node, supervisor in stopped:
            self._emit(
                "plugin",
                f"stopped {self.plugin_id}{self._on(node)}",
                fields={"exit_code": supervisor.returncode, **self._node_fields(node)},
            )
        for node in self.nodes:
            if node.server is not None:
                node.server.stop(None)
                node.server = None
        if self._monitor is not None:
            self._monitor.join(2.0)
            self._monitor = None
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._server is not None:
            self._server.stop(None)
            self._server = None
        if self.fake is not None:
            self.fake.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> LocalMattermost:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record_installed(self) -> None:
        """Tell the fake which plugin is installed, and where (``GetBundlePath``)."""
        fake = self.server
        manifest = self.manifest
        fake.bundle_path = str(self.plugin_dir)
        with fake.transaction():
            fake.install_manifest(
                api_kv_config_pb2.Manifest(
                    id=manifest.id,
                    name=manifest.name or "",
                    description=manifest.description or "",
                    version=str(manifest.version or ""),
                    min_server_version=str(manifest.min_server_version or ""),
                ),
                running=True,
            )

    def _on(self, node: LocalNode) -> str:
        """`` on node 1`` on a cluster, else nothing."""
        return f" on {node.name}" if self.clustered else ""

    def _new_supervisor(self, plugin_dir: Path, node: LocalNode) -> PluginSupervisor:
        python = self.python if plugin_dir == self.plugin_dir else self._new_python(plugin_dir)
        index = node.index if self.clustered else None
        return PluginSupervisor(
            plugin_dir,
            api_target=node.api_target,
            env={
                "MATTERMOST_PLUGIN_ID": self.plugin_id,
                "MATTERMOST_PLUGIN_PATH": str(plugin_dir),
                **self.clock.env(),
                **self.env,
            },
            python=python,
            hook_timeout=self.hook_timeout,
            deactivate_timeout=min(self.hook_timeout, 10.0),
            restart_policy=self.restart_policy,
            on_log=lambda record: self._on_stderr_log(record, index),
            max_log_lines=self.max_log_lines,
            max_log_line=self.max_log_line,
        )

    def reload(self, plugin_dir: str | os.PathLike[str] | None = None) -> bool:
        """Start the plugin folder (or ``plugin_dir``, another version of the same plugin,
        e.g. an unpacked bundle) as a new process; once it has activated, it replaces the
        running one (which is then deactivated and stopped) and its folder becomes
        :attr:`plugin_dir`. On failure the running one is kept, :attr:`last_error` says
        why, and ``False`` is returned. A folder whose manifest has another id raises
        :class:`PluginStartError`."""
        folder = Path(plugin_dir).resolve() if plugin_dir is not None else self.plugin_dir
        manifest = self.manifest
        if folder != self.plugin_dir:
            try:
                manifest = load_manifest(folder)
            except ManifestError as exc:
                raise PluginStartError(f"bad manifest in {folder}: {exc}") from None
            if manifest.id != self.plugin_id:
                raise PluginStartError(
                    f"{folder} holds the plugin {manifest.id}, not {self.plugin_id}"
                )
        with self._swap_lock:
            old = [node.supervisor for node in self.nodes]
            verb = "reloading" if any(old) else "starting"
            where = f" on {len(self.nodes)} nodes" if self.clustered else ""
            self._emit("plugin", f"{verb} {self.plugin_id}{where}")
            started = time.monotonic()
            mark = self.logs.total
            try:
                new = self._start_all(folder)
            except PluginStartError as exc:
                self.last_error = str(exc)
                # The process is gone and its stderr read: a failing OnActivate (or
                # OnConfigurationChange before it) has logged its traceback by now.
                self.last_traceback = self._failure_stacktrace(mark)
                kept = " (the previous version keeps running)" if old is not None else ""
                self._emit("plugin", f"{verb} failed{kept}: {exc}", level="error")
                return False
            assert self.fake is not None
            # The old process deactivates after the new one activated: keep what the new
            # one registered even if the old one's OnDeactivate unregisters it.
            with self.fake.transaction():
                registered = dict(self.fake.commands.items())
            for node, supervisor in zip(self.nodes, new, strict=True):
                node.supervisor = supervisor
            self.generation += 1
            self.last_error = self.last_traceback = None
            if folder != self.plugin_dir:
                self.plugin_dir, self.manifest = folder, manifest
                self.python = self._new_python(folder)
                self._record_installed()
            retired = [supervisor for supervisor in old if supervisor is not None]
            if retired:
                _each(PluginSupervisor.stop, retired)
                with self.fake.transaction():
                    for key, command in registered.items():
                        if key not in self.fake.commands:
                            self.fake.commands[key] = command
            pids = ", ".join(str(supervisor.pid) for supervisor in new)
            self._emit(
                "plugin",
                f"{'reloaded' if retired else 'started'} {self.plugin_id}{where} in "
                f"{_ms(time.monotonic() - started)} (pid{'s' if self.clustered else ''} {pids})",
                fields={"hooks": ", ".join(h for h in new[0].implemented if h != "Implemented")},
            )
            return True

    def _start_all(self, folder: Path) -> list[PluginSupervisor]:
        """A started plugin process of ``folder`` for every node (at once, as a cluster's
        nodes activate); when one fails, the others are stopped and its error raised."""
        new = [self._new_supervisor(folder, node) for node in self.nodes]
        errors = _each(PluginSupervisor.start, new)
        failed = [error for error in errors if error is not None]
        if failed:
            _each(PluginSupervisor.stop, new)
            raise failed[0]
        return new

    def _start_node(self, node: LocalNode) -> None:
        """``nodes[i].start()``: a new plugin process for one node; the others go on."""
        with self._swap_lock:
            if self.fake is None:
                raise RuntimeError("the local server is not started")
            old, node.supervisor = node.supervisor, None
            if old is not None:
                old.stop()
            supervisor = self._new_supervisor(self.plugin_dir, node)
            started = time.monotonic()
            supervisor.start()
            node.supervisor = supervisor
            self._emit(
                "plugin",
                f"started {self.plugin_id}{self._on(node)} in "
                f"{_ms(time.monotonic() - started)} (pid {supervisor.pid})",
                fields=self._node_fields(node),
            )

    def _stop_node(self, node: LocalNode) -> None:
        """``nodes[i].stop()``: ``OnDeactivate`` and exit, for one node."""
        with self._swap_lock:
            supervisor, node.supervisor = node.supervisor, None
        if supervisor is not None:
            supervisor.stop()
            self._emit(
                "plugin",
                f"stopped {self.plugin_id}{self._on(node)}",
                fields={"exit_code": supervisor.returncode, **self._node_fields(node)},
            )

    def _new_python(self, folder: Path) -> str | None:
        return self.python_option if self.python_option is not None else interpreter_for(folder)

    def deactivate(self) -> None:
        """Stop the plugin (``OnDeactivate``, then the process), as disabling it does; it
        stays stopped until :meth:`reload`."""
        with self._swap_lock:
            supervisors = [node.supervisor for node in self.nodes]
            for node in self.nodes:
                node.supervisor = None
        stopped = [supervisor for supervisor in supervisors if supervisor is not None]
        _each(PluginSupervisor.stop, stopped)
        if stopped:
            self._emit(
                "plugin",
                f"stopped {self.plugin_id} (disabled)",
                fields={"exit_code": stopped[0].returncode},
            )

    def _watch(self) -> None:
        """Report restarts and crashes the supervisors handle on their own."""
        seen: dict[int, tuple[int, int, str, int | None]] = {}
        while not self._closing.wait(0.1):
            for node in self.nodes:
                supervisor = node.supervisor
                if supervisor is None:
                    continue
                state = (
                    id(supervisor),
                    supervisor.restarts,
                    supervisor.state,
                    supervisor.returncode,
                )
                before = seen.get(node.index)
                if before is not None and before[0] == state[0]:
                    self._report_change(node, supervisor, before, state)
                seen[node.index] = state

    def _report_change(
        self,
        node: LocalNode,
        supervisor: PluginSupervisor,
        seen: tuple[int, int, str, int | None],
        state: tuple[int, int, str, int | None],
    ) -> None:
        where, fields = self._on(node), self._node_fields(node)
        if state[1] > seen[1]:
            self._emit(
                "plugin",
                f"restarted {self.plugin_id}{where} after a failure (pid {supervisor.pid})",
                level="warn",
                fields=fields,
            )
        elif state[3] is not None and seen[3] is None and state[2] == "running":
            self._emit(
                "plugin",
                f"the plugin process{where} exited with code {state[3]}; "
                + ("it stays down" if self.restart_policy == NO_RESTARTS else "restarting it"),
                level="error",
                fields=fields,
            )
        if state[2] == "disabled" and seen[2] != "disabled":
            self._emit(
                "plugin",
                f"plugin disabled{where}: {supervisor.disabled_reason}; edit a file to retry",
                level="error",
                fields=fields,
            )

    def _plugin_path(self, path: str) -> str:
        prefix = f"/plugins/{self.plugin_id}"
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        return path or "/"

    def _user_header(self, user: HTTPUser) -> str | None:
        """The ``Mattermost-User-Id`` a request of ``user`` carries (``None``: none)."""
        if user is ANONYMOUS:
            return None
        if user is None:
            if self._user is None:
                raise ValueError(
                    "no user given and no default user (defaults=False): pass user=..., "
                    "or user=ANONYMOUS for a request without a user"
                )
            return self._user.id
        user_id = _id(user)
        if not user_id:
            raise ValueError("user='' is no user: pass user=ANONYMOUS for a request without one")
        return user_id

    def start_stream(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        body: bytes | Iterable[bytes] = b"",
        user: HTTPUser = None,
        remote_addr: str = "127.0.0.1:0",
        timeout: float | None = None,
    ) -> PendingRequest:
        """:meth:`stream` without waiting for the answer: the returned
        :class:`~mattermost_plugin.host.http_bridge.PendingRequest` can be cancelled before
        the plugin answers (the client went away)."""
        all_headers = [
            (k, v) for k, v in Headers(headers).multi_items() if k.lower() != "mattermost-user-id"
        ]
        user_id = self._user_header(user)
        if user_id is not None:
            all_headers.append(("Mattermost-User-Id", user_id))
        if "?" in path and not query:
            path, query = path.split("?", 1)
        node = self._serving()
        if node.supervisor is None or (self.clustered and not node.running):
            why = f": {self.last_error}" if self.last_error else ""
            if node.supervisor is not None and node.supervisor.returncode is not None:
                why = f" (its process exited with code {node.supervisor.returncode})"
            where = f" on {node.name}" if self.clustered else ""
            raise RuntimeError(f"{self.plugin_id} is not running{where}{why}")
        return start_request(
            node.supervisor.channel,
            method,
            self._plugin_path(path),
            query=query,
            headers=all_headers,
            body=body,
            plugin_id=self.plugin_id,
            remote_addr=remote_addr,
            timeout=timeout,
        )

    def stream(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        body: bytes | Iterable[bytes] = b"",
        user: HTTPUser = None,
        remote_addr: str = "127.0.0.1:0",
        timeout: float | None = None,
    ) -> BridgeResponse:
        """Send a request to the plugin's ``ServeHTTP``; the answer streams (see
        :func:`~mattermost_plugin.host.http_bridge.send_request`). ``path`` is below
        ``/plugins/<id>`` (a full ``/plugins/<id>/...`` path works too). The request is the
        default user's (``admin``), as the server sends it for a logged-in session, with
        ``Mattermost-User-Id``; ``user=`` picks another user, ``user=ANONYMOUS`` sends none."""
        return self.start_stream(
            method,
            path,
            query=query,
            headers=headers,
            body=body,
            user=user,
            remote_addr=remote_addr,
            timeout=timeout,
        ).response()

    def http(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        body: bytes | str = b"",
        json_body: Any = None,
        user: HTTPUser = None,
        timeout: float | None = 30.0,
    ) -> HTTPResult:
        """Send a request to the plugin's ``ServeHTTP`` and read the whole answer, as the
        default user unless ``user=`` says otherwise (see :meth:`stream`). ``json_body`` is
        sent as JSON (with its Content-Type)."""
        extra: list[tuple[str, str]] = list(Headers(headers).multi_items())
        data = body.encode() if isinstance(body, str) else body
        if json_body is not None:
            data = json.dumps(json_body).encode()
            if not any(k.lower() == "content-type" for k, _ in extra):
                extra.append(("Content-Type", "application/json"))
        started = time.monotonic()
        target = self._plugin_path(path) + (f"?{query}" if query else "")
        with self.serving() as node:
            self._http_started()
            status = 0
            try:
                with self.stream(
                    method, path, query=query, headers=extra, body=data, user=user, timeout=timeout
                ) as response:
                    content = response.read()
                status = response.status_code
            finally:
                self._http_ended(method.upper(), target, status, time.monotonic() - started)
        self._emit(
            "http",
            f"{method.upper()} {path} → {response.status_code}",
            level="debug",
            fields={"duration": _ms(time.monotonic() - started), **self._node_fields(node)},
        )
        return HTTPResult(response.status_code, response.headers, content)

    def get(
        self,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        user: HTTPUser = None,
        timeout: float | None = 30.0,
    ) -> HTTPResult:
        """``GET`` through the plugin's ``ServeHTTP`` (see :meth:`http`)."""
        return self.http("GET", path, query=query, headers=headers, user=user, timeout=timeout)

    def delete(
        self,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        user: HTTPUser = None,
        timeout: float | None = 30.0,
    ) -> HTTPResult:
        """``DELETE`` through the plugin's ``ServeHTTP`` (see :meth:`http`)."""
        return self.http("DELETE", path, query=query, headers=headers, user=user, timeout=timeout)

    def post(
        self,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        body: bytes | str = b"",
        json_body: Any = None,
        user: HTTPUser = None,
        timeout: float | None = 30.0,
    ) -> HTTPResult:
        """``POST`` through the plugin's ``ServeHTTP`` (see :meth:`http`)."""
        return self.http(
            "POST",
            path,
            query=query,
            headers=headers,
            body=body,
            json_body=json_body,
            user=user,
            timeout=timeout,
        )

    def put(
        self,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        body: bytes | str = b"",
        json_body: Any = None,
        user: HTTPUser = None,
        timeout: float | None = 30.0,
    ) -> HTTPResult:
        """``PUT`` through the plugin's ``ServeHTTP`` (see :meth:`http`)."""
        return self.http(
            "PUT",
            path,
            query=query,
            headers=headers,
            body=body,
            json_body=json_body,
            user=user,
            timeout=timeout,
        )

    def patch(
        self,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        body: bytes | str = b"",
        json_body: Any = None,
        user: HTTPUser = None,
        timeout: float | None = 30.0,
    ) -> HTTPResult:
        """``PATCH`` through the plugin's ``ServeHTTP`` (see :meth:`http`)."""
        return self.http(
            "PATCH",
            path,
            query=query,
            headers=headers,
            body=body,
            json_body=json_body,
            user=user,
            timeout=timeout,
        )


def _each(action: Callable[[Any], object], items: list[Any]) -> list[BaseException | None]:
    """``action`` on every item at once (a thread each when there are several); what each
    raised, in order."""
    errors: list[BaseException | None] = [None] * len(items)

    def run(index: int) -> None:
        try:
            action(items[index])
        except BaseException as exc:  # reported to the caller
            errors[index] = exc

    if len(items) == 1:
        run(0)
        return errors
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@contextlib.contextmanager
def local_mattermost(
    plugin_dir: str | os.PathLike[str], **kwargs: Any
) -> Iterator[LocalMattermost]:
    """``with local_mattermost(folder) as mm:``: a started :class:`LocalMattermost`;
    ``local_mattermost(folder, nodes=3)`` runs the plugin as a 3-node cluster."""
    with LocalMattermost(plugin_dir, **kwargs) as local:
        yield local
