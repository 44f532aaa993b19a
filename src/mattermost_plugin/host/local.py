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
* :meth:`~LocalMattermost.http`: one request through the plugin's ``ServeHTTP``.
* users, teams, channels and memberships (firing ``UserHasBeenCreated``,
  ``ChannelHasBeenCreated``, ``UserHasJoinedTeam`` and ``UserHasJoinedChannel``), the
  plugin's settings (``OnConfigurationChange``), and its logs: stderr lines and
  ``LogInfo``/... calls, with their levels.

The ``...HasBeen...`` hooks run in the background, as the server's goroutines do; these
methods wait for them unless given ``wait=False`` (then :meth:`~LocalMattermost.wait_for_hooks`
waits). A hook runs only when the plugin implements it.

Posts, edits, deletions, reactions and preferences the plugin makes itself through the API
(``self.api.create_post``, ``update_post``, ...) are stored without running that same
plugin's hooks: there is only one plugin here, so no hook runs for them.

:meth:`~LocalMattermost.reload` starts the plugin folder again as a new process and swaps
it in only once it has activated; when the new version fails to start, the old one keeps
running. Both the pytest plugin (:mod:`mattermost_plugin.testing`) and ``mattermost-plugin
dev`` are built on this class. Everything it does is reported to ``on_event`` as
:class:`Event` objects.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import grpc
from google.protobuf.message import Message

from mattermost_plugin._generated.converters import api_remaining as c_remaining
from mattermost_plugin._generated.converters import channel as c_channel
from mattermost_plugin._generated.converters import post as c_post
from mattermost_plugin._generated.converters import team as c_team
from mattermost_plugin._generated.converters import user as c_user
from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_remaining_pb2,
    api_user_team_pb2,
    channel_pb2,
    hooks_command_pb2,
    hooks_common_pb2,
    hooks_lifecycle_pb2,
    hooks_message_pb2,
    hooks_user_channel_pb2,
    post_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server import (
    FakeAppError,
    FakeMattermost,
    LogEntry,
    mark_edited,
    new_id,
)
from mattermost_plugin.host.http_bridge import BridgeResponse, send_request
from mattermost_plugin.host.supervisor import (
    PluginStartError,
    PluginSupervisor,
    RestartPolicy,
    hook_error_text,
)
from mattermost_plugin.http import Headers, HeadersLike
from mattermost_plugin.logging import HclogRecord
from mattermost_plugin.manifest import ManifestError, load_manifest
from mattermost_plugin.models import (
    Channel,
    CommandResponse,
    Post,
    Preference,
    Reaction,
    Team,
    User,
)

if TYPE_CHECKING:
    from mattermost_plugin.client import PluginAPIClient

__all__ = [
    "DEV_RESTART_POLICY",
    "DISMISS_POST",
    "CommandError",
    "Event",
    "HTTPResult",
    "HookCallError",
    "LocalMattermost",
    "LogRecord",
    "PostDismissedError",
    "PostRejectedError",
    "interpreter_for",
]

DISMISS_POST = "plugin.message_will_be_posted.dismiss_post"
"""The rejection reason that dismisses a post silently."""

DEV_RESTART_POLICY = RestartPolicy(
    ping_interval=0.5, ping_failures_per_failure=3, failures_before_disable=5, failure_window=60
)
"""The server's restart rules, faster: a crashed plugin is back within about a second."""

R = TypeVar("R", bound=Message)
UserRef = str | User | user_pb2.User
TeamRef = str | Team | team_pb2.Team
ChannelRef = str | Channel | channel_pb2.Channel
PostRef = str | Post | post_pb2.Post
PreferenceLike = Preference | api_remaining_pb2.Preference | Mapping[str, str]
EventKind = Literal["server", "plugin", "hook", "log", "post", "command", "http"]


# --- results and errors ------------------------------------------------------------------------


class PostRejectedError(Exception):
    """The plugin's ``MessageWillBePosted`` rejected the post; ``reason`` is its reason."""

    def __init__(self, reason: str, post: Post) -> None:
        super().__init__(f"Post rejected by plugin. {reason}")
        self.reason = reason
        self.post = post


class PostDismissedError(PostRejectedError):
    """The plugin dismissed the post (``plugin.message_will_be_posted.dismiss_post``)."""


class CommandError(Exception):
    """A slash command failed the way the server reports it: ``status_code`` (HTTP),
    ``error_id`` and ``message``."""

    def __init__(self, error_id: str, message: str, status_code: int) -> None:
        super().__init__(f"{error_id}: {message}")
        self.error_id = error_id
        self.message = message
        self.status_code = status_code


class HookCallError(Exception):
    """Calling a hook failed on the transport: the plugin crashed, is not running, or took
    longer than the hook deadline. ``code`` is the gRPC status code."""

    def __init__(self, hook: str, code: grpc.StatusCode | None, detail: str) -> None:
        super().__init__(f"{hook} failed: {detail}")
        self.hook = hook
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Event:
    """Something the local server did or saw, for a console or a test."""

    kind: EventKind
    message: str
    level: str = "info"
    """debug, info, warn or error."""
    fields: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class LogRecord:
    """One line of the plugin's log: ``source`` is ``"stderr"`` (its logger, hclog lines
    keep level and fields, other lines are debug) or ``"api"`` (``LogInfo`` and friends)."""

    level: str
    message: str
    fields: dict[str, Any]
    source: Literal["stderr", "api"]


@dataclass(frozen=True)
class HTTPResult:
    """A buffered answer of the plugin's ``ServeHTTP``."""

    status_code: int
    headers: Headers
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


def interpreter_for(plugin_dir: Path) -> str | None:
    """The interpreter to run a plugin with locally: ``None`` (the server's discovery)
    when the folder has its own venv, else this interpreter, which has the SDK."""
    for venv in ("venv", ".venv"):
        if (plugin_dir / venv / "bin").is_dir():
            return None
    try:
        manifest = load_manifest(plugin_dir)
    except ManifestError:
        return sys.executable
    server = manifest.server
    if server is not None and server.python.venv_path is not None:
        return None
    return sys.executable


def _id(ref: Any) -> str:
    if isinstance(ref, str):
        return ref
    value = getattr(ref, "id", None)
    if not isinstance(value, str):
        raise TypeError(f"expected an id or an object with an id, got {ref!r}")
    return value


def _rpc_code(exc: grpc.RpcError) -> tuple[grpc.StatusCode | None, str]:
    if isinstance(exc, grpc.Call):
        return exc.code(), exc.details() or ""
    return None, str(exc)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# --- the local server --------------------------------------------------------------------------


class LocalMattermost:
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

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        plugin_dir: str | os.PathLike[str],
        *,
        db: str | os.PathLike[str] | None = None,
        plugin_config: Mapping[str, Any] | None = None,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        hook_timeout: float = 30.0,
        restart_policy: RestartPolicy | None = None,
        on_event: Callable[[Event], None] | None = None,
        site_url: str | None = None,
        defaults: bool = True,
    ) -> None:
        self.plugin_dir = Path(plugin_dir).resolve()
        try:
            self.manifest = load_manifest(self.plugin_dir)
        except ManifestError as exc:
            raise PluginStartError(f"bad manifest in {self.plugin_dir}: {exc}") from None
        self.plugin_id = self.manifest.id
        self.db = Path(db) if db is not None else None
        self.plugin_config = dict(plugin_config) if plugin_config is not None else None
        self.python = python if python is not None else interpreter_for(self.plugin_dir)
        self.env = dict(env or {})
        self.hook_timeout = hook_timeout
        self.restart_policy = restart_policy or DEV_RESTART_POLICY
        self.on_event = on_event
        self.site_url = site_url
        self.defaults = defaults

        self.fake: FakeMattermost | None = None
        self.api_target = ""
        self.logs: list[LogRecord] = []
        """The plugin's log lines, from every process it ran as."""
        self.events: collections.deque[Event] = collections.deque(maxlen=1000)
        """The latest events."""
        self.generation = 0
        """How many times the plugin was started successfully (first start, reloads)."""
        self.last_error: str | None = None
        """Why the latest start or reload failed, until one succeeds."""
        self._team: Team | None = None
        self._user: User | None = None
        self._channel: Channel | None = None

        self._server: grpc.Server | None = None
        self._supervisor: PluginSupervisor | None = None
        self._swap_lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="local-hooks")
        self._pending: set[Future[None]] = set()
        self._pending_lock = threading.Lock()
        self._api: PluginAPIClient | None = None
        self._monitor: threading.Thread | None = None
        self._closing = threading.Event()
        self._logs_changed = threading.Condition()

    # --- life cycle ----------------------------------------------------------------------

    def start(self, *, plugin: bool = True) -> LocalMattermost:
        """Serve the fake server, create the defaults, and start the plugin (unless
        ``plugin=False``). Raises :class:`PluginStartError` if the plugin cannot start (the
        server keeps running; :meth:`reload` tries again)."""
        from mattermost_plugin.host.fake_server import serve

        if self.fake is None:
            fake = FakeMattermost(plugin_id=self.plugin_id, store=self.db)
            fake.on_log = self._on_api_log
            fake.execute_command = self._execute_from_api
            fake.on_config_saved = self._config_saved
            self.fake = fake
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
            self._emit(
                "server",
                f"fake Mattermost API on {self.api_target}",
                fields={"db": str(self.db) if self.db else "in memory"},
            )
            self._closing.clear()
            self._monitor = threading.Thread(
                target=self._watch, name="local-mattermost-monitor", daemon=True
            )
            self._monitor.start()
        if plugin and not self.reload():
            raise PluginStartError(self.last_error or "the plugin did not start")
        return self

    def stop(self) -> None:
        """Stop the plugin (``OnDeactivate``, shutdown), the API server, close the state file."""
        self._closing.set()
        self.wait_for_hooks(timeout=5.0)
        with self._swap_lock:
            supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.stop()
            self._emit(
                "plugin", f"stopped {self.plugin_id}", fields={"exit_code": supervisor.returncode}
            )
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

    def _new_supervisor(self) -> PluginSupervisor:
        return PluginSupervisor(
            self.plugin_dir,
            api_target=self.api_target,
            env={
                "MATTERMOST_PLUGIN_ID": self.plugin_id,
                "MATTERMOST_PLUGIN_PATH": str(self.plugin_dir),
                **self.env,
            },
            python=self.python,
            hook_timeout=self.hook_timeout,
            deactivate_timeout=min(self.hook_timeout, 10.0),
            restart_policy=self.restart_policy,
            on_log=self._on_stderr_log,
        )

    def reload(self) -> bool:
        """Start the plugin folder as a new process; once it has activated, it replaces the
        running one (which is then deactivated and stopped). On failure the running one is
        kept, :attr:`last_error` says why, and ``False`` is returned."""
        with self._swap_lock:
            old = self._supervisor
            verb = "reloading" if old is not None else "starting"
            self._emit("plugin", f"{verb} {self.plugin_id}")
            new = self._new_supervisor()
            started = time.monotonic()
            try:
                new.start()
            except PluginStartError as exc:
                self.last_error = str(exc)
                kept = " (the previous version keeps running)" if old is not None else ""
                self._emit("plugin", f"{verb} failed{kept}: {exc}", level="error")
                return False
            assert self.fake is not None
            # The old process deactivates after the new one activated: keep what the new
            # one registered even if the old one's OnDeactivate unregisters it.
            with self.fake.transaction():
                registered = dict(self.fake.commands.items())
            self._supervisor = new
            self.generation += 1
            self.last_error = None
            if old is not None:
                old.stop()
                with self.fake.transaction():
                    for key, command in registered.items():
                        if key not in self.fake.commands:
                            self.fake.commands[key] = command
            self._emit(
                "plugin",
                f"{'reloaded' if old is not None else 'started'} {self.plugin_id} in "
                f"{_ms(time.monotonic() - started)} (pid {new.pid})",
                fields={"hooks": ", ".join(h for h in new.implemented if h != "Implemented")},
            )
            return True

    def _watch(self) -> None:
        """Report restarts and crashes the supervisor handles on its own."""
        seen: tuple[int, int, str, int | None] | None = None
        while not self._closing.wait(0.1):
            supervisor = self._supervisor
            if supervisor is None:
                continue
            state = (id(supervisor), supervisor.restarts, supervisor.state, supervisor.returncode)
            if seen is not None and seen[0] == state[0]:
                if state[1] > seen[1]:
                    self._emit(
                        "plugin",
                        f"restarted {self.plugin_id} after a failure (pid {supervisor.pid})",
                        level="warn",
                    )
                elif state[3] is not None and seen[3] is None and state[2] == "running":
                    self._emit(
                        "plugin",
                        f"the plugin process exited with code {state[3]}; restarting it",
                        level="error",
                    )
                if state[2] == "disabled" and seen[2] != "disabled":
                    self._emit(
                        "plugin",
                        f"plugin disabled: {supervisor.disabled_reason}; edit a file to retry",
                        level="error",
                    )
            seen = state

    # --- state -------------------------------------------------------------------------

    @property
    def supervisor(self) -> PluginSupervisor:
        """The supervisor of the running plugin process."""
        supervisor = self._supervisor
        if supervisor is None:
            raise RuntimeError(
                f"{self.plugin_id} is not running"
                + (f": {self.last_error}" if self.last_error else "")
            )
        return supervisor

    def _defaults(self, value: Any, what: str) -> Any:
        if value is None:
            raise RuntimeError(f"there is no default {what}: the local server has defaults=False")
        return value

    @property
    def team(self) -> Team:
        """The default team, ``local``."""
        team: Team = self._defaults(self._team, "team")
        return team

    @property
    def user(self) -> User:
        """The default user, ``admin`` (a system admin, member of ``local``)."""
        user: User = self._defaults(self._user, "user")
        return user

    @property
    def channel(self) -> Channel:
        """The default channel, ``town-square`` of ``local``."""
        channel: Channel = self._defaults(self._channel, "channel")
        return channel

    @property
    def running(self) -> bool:
        supervisor = self._supervisor
        return supervisor is not None and supervisor.state == "running"

    @property
    def server(self) -> FakeMattermost:
        """The fake server (its tables are for inspection; change them in a transaction)."""
        if self.fake is None:
            raise RuntimeError("the local server is not started")
        return self.fake

    @property
    def api(self) -> PluginAPIClient:
        """A Plugin API client on the fake server: the same typed API the plugin has."""
        if self._api is None:
            from mattermost_plugin.client import PluginAPIClient

            self._api = PluginAPIClient(target=self.api_target or None, retries=0)
        return self._api

    @property
    def site_url_value(self) -> str:
        settings = self.server.config.get("ServiceSettings", {})
        return str(settings.get("SiteURL", "")) if isinstance(settings, dict) else ""

    def _invoke(self, method: str, request: Message) -> Any:
        """Run a fake PluginAPI method in process; raise its FakeAppError."""
        handler = getattr(type(self.server), method)
        with self.server.transaction():
            response = handler.__wrapped__(self.server, request, None)
        return response

    # --- events and logs ---------------------------------------------------------------

    def _emit(
        self,
        kind: EventKind,
        message: str,
        *,
        level: str = "info",
        fields: dict[str, Any] | None = None,
    ) -> None:
        event = Event(kind, message, level, fields or {})
        self.events.append(event)
        if self.on_event is not None:
            with contextlib.suppress(Exception):  # a broken printer must not break the server
                self.on_event(event)

    def _add_log(self, record: LogRecord) -> None:
        with self._logs_changed:
            self.logs.append(record)
            self._logs_changed.notify_all()
        self._emit(
            "log",
            record.message,
            level=record.level,
            fields={**record.fields, "source": record.source},
        )

    def _on_stderr_log(self, record: HclogRecord | str) -> None:
        if isinstance(record, str):
            self._add_log(LogRecord("debug", record, {}, "stderr"))
        else:
            self._add_log(LogRecord(record.level, record.message, dict(record.fields), "stderr"))

    def _on_api_log(self, entry: LogEntry) -> None:
        self._add_log(LogRecord(entry.level, entry.message, dict(entry.fields), "api"))

    def find_logs(
        self, match: str | Callable[[LogRecord], bool], *, level: str | None = None, since: int = 0
    ) -> list[LogRecord]:
        """Log records after index ``since`` whose message contains ``match`` (or that the
        predicate accepts), of ``level`` when given."""

        def accept(record: LogRecord) -> bool:
            if level is not None and record.level != level:
                return False
            return match(record) if callable(match) else match in record.message

        with self._logs_changed:
            return [r for r in self.logs[since:] if accept(r)]

    def wait_for_log(
        self,
        match: str | Callable[[LogRecord], bool],
        *,
        level: str | None = None,
        since: int = 0,
        timeout: float = 5.0,
    ) -> LogRecord:
        """The first matching log record (see :meth:`find_logs`), waiting for it: the
        plugin's stderr is read on a thread, so a line may arrive just after its hook ended."""
        deadline = time.monotonic() + timeout
        with self._logs_changed:
            while True:
                found = self.find_logs(match, level=level, since=since)
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    lines = "\n".join(f"  [{r.level}] {r.message}" for r in self.logs[since:])
                    raise AssertionError(
                        f"no log line matching {match!r} within {timeout:g} s; the log:\n"
                        + (lines or "  (empty)")
                    )
                self._logs_changed.wait(remaining)

    # --- hooks -------------------------------------------------------------------------

    def implements(self, hook: str) -> bool:
        supervisor = self._supervisor
        return supervisor is not None and hook in supervisor.implemented

    def call_hook(self, hook: str, request: Message, *, timeout: float | None = None) -> Any:
        """Call a unary hook of the running plugin with the hook deadline; raise
        :class:`HookCallError` when the call fails on the transport (crash, deadline)."""
        supervisor = self._supervisor
        if supervisor is None or supervisor.state != "running":
            state = supervisor.state if supervisor is not None else "not started"
            raise HookCallError(hook, grpc.StatusCode.UNAVAILABLE, f"the plugin is {state}")
        started = time.monotonic()
        try:
            return supervisor.call(hook, request, timeout=timeout)
        except grpc.RpcError as exc:
            code, detail = _rpc_code(exc)
            elapsed = time.monotonic() - started
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                limit = timeout if timeout is not None else supervisor.hook_timeout
                detail = f"no answer within the {limit:g} s hook deadline"
            elif code == grpc.StatusCode.UNAVAILABLE:
                time.sleep(0.05)  # let the process finish dying so the exit code is known
                if supervisor.returncode is not None:
                    detail = f"the plugin crashed (exit code {supervisor.returncode})"
            raise HookCallError(hook, code, f"{detail} after {_ms(elapsed)}") from None

    def _hook_event(self, hook: str, outcome: str, started: float, level: str = "info") -> None:
        self._emit(
            "hook",
            f"{hook} → {outcome}",
            level=level,
            fields={"duration": _ms(time.monotonic() - started)},
        )

    def _fire(self, hook: str, request: Message, *, wait: bool) -> None:
        """Call a void hook in the background, like the server's goroutines; ``wait`` blocks
        until it has run."""
        if not self.implements(hook):
            return

        def run() -> None:
            started = time.monotonic()
            try:
                self.call_hook(hook, request)
            except HookCallError as exc:
                self._hook_event(hook, f"failed: {exc.detail}", started, "error")
                return
            self._hook_event(hook, "done", started, "debug")

        future = self._pool.submit(run)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        if wait:
            future.result()

    def _forget(self, future: Future[None]) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    def wait_for_hooks(self, timeout: float = 10.0) -> None:
        """Wait until the hooks fired in the background (``MessageHasBeenPosted``, ...) ran."""
        with self._pending_lock:
            pending = set(self._pending)
        if pending:
            wait_futures(pending, timeout)

    @staticmethod
    def _context(**kwargs: str) -> hooks_common_pb2.PluginContext:
        return hooks_common_pb2.PluginContext(request_id=new_id(), **kwargs)

    # --- users, teams, channels ----------------------------------------------------------

    def _create_defaults(self) -> None:
        fake = self.server
        with fake.transaction():
            team = next((t for t in fake.teams.values() if t.name == "local"), None)
            if team is None:
                team = self._invoke(
                    "CreateTeam",
                    api_user_team_pb2.CreateTeamRequest(
                        team=team_pb2.Team(
                            name="local", display_name="Local", type=team_pb2.TEAM_TYPE_OPEN
                        )
                    ),
                ).team
            user = fake._find_user(username="admin")
            if user is None:
                user = self._invoke(
                    "CreateUser",
                    api_user_team_pb2.CreateUserRequest(
                        user=user_pb2.User(
                            username="admin",
                            email="admin@localhost",
                            password="administrator",
                            roles="system_admin system_user",
                            first_name="Local",
                            last_name="Admin",
                        )
                    ),
                ).user
            self._invoke(
                "CreateTeamMember",
                api_user_team_pb2.CreateTeamMemberRequest(team_id=team.id, user_id=user.id),
            )
            channels = []
            for name, display in (("town-square", "Town Square"), ("off-topic", "Off-Topic")):
                channel = next(
                    (c for c in fake.channels.values() if c.team_id == team.id and c.name == name),
                    None,
                )
                if channel is None:
                    channel = self._invoke(
                        "CreateChannel",
                        api_channel_post_pb2.CreateChannelRequest(
                            channel=channel_pb2.Channel(
                                team_id=team.id,
                                name=name,
                                display_name=display,
                                type=channel_pb2.CHANNEL_TYPE_OPEN,
                                creator_id=user.id,
                            )
                        ),
                    ).channel
                fake._add_channel_member(channel.id, user.id)
                channels.append(channel)
        self._team = c_team.team_from_pb(team)
        self._user = c_user.user_from_pb(user)
        self._channel = c_channel.channel_from_pb(channels[0])

    def _default(self, ref: Any, default: Any, what: str) -> str:
        if ref is not None:
            return _id(ref)
        if default is None:
            raise ValueError(f"no {what} given and no default {what} (defaults=False)")
        return _id(default)

    def create_user(
        self,
        username: str,
        *,
        email: str | None = None,
        password: str = "Password1!",
        first_name: str = "",
        last_name: str = "",
        roles: str = "system_user",
        team: TeamRef | None = None,
        join_default_team: bool = True,
    ) -> User:
        """Create a user (``UserHasBeenCreated`` runs) and add it to ``team``, or the default
        team unless ``join_default_team=False``."""
        user = self._invoke(
            "CreateUser",
            api_user_team_pb2.CreateUserRequest(
                user=user_pb2.User(
                    username=username,
                    email=email or f"{username}@example.com",
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                    roles=roles,
                )
            ),
        ).user
        self._fire(
            "UserHasBeenCreated",
            hooks_user_channel_pb2.UserHasBeenCreatedRequest(
                plugin_context=self._context(), user=user
            ),
            wait=True,
        )
        if team is not None or (join_default_team and self._team is not None):
            self.add_to_team(user, team)
        return c_user.user_from_pb(user)

    def create_team(
        self, name: str, *, display_name: str | None = None, private: bool = False
    ) -> Team:
        team = self._invoke(
            "CreateTeam",
            api_user_team_pb2.CreateTeamRequest(
                team=team_pb2.Team(
                    name=name,
                    display_name=display_name or name,
                    type=team_pb2.TEAM_TYPE_INVITE if private else team_pb2.TEAM_TYPE_OPEN,
                )
            ),
        ).team
        return c_team.team_from_pb(team)

    def add_to_team(self, user: UserRef, team: TeamRef | None = None) -> None:
        """Add a user to a team (the default team by default); ``UserHasJoinedTeam`` runs."""
        team_id = self._default(team, self._team, "team")
        member = self._invoke(
            "CreateTeamMember",
            api_user_team_pb2.CreateTeamMemberRequest(team_id=team_id, user_id=_id(user)),
        ).team_member
        self._fire(
            "UserHasJoinedTeam",
            hooks_user_channel_pb2.UserHasJoinedTeamRequest(
                plugin_context=self._context(), team_member=member
            ),
            wait=True,
        )

    def create_channel(
        self,
        name: str,
        *,
        team: TeamRef | None = None,
        display_name: str | None = None,
        private: bool = False,
        members: Iterable[UserRef] = (),
        creator: UserRef | None = None,
    ) -> Channel:
        """Create an open (or private) channel in ``team`` (default: the default team);
        ``ChannelHasBeenCreated`` runs, then each member joins (``UserHasJoinedChannel``)."""
        team_id = self._default(team, self._team, "team")
        creator_id = _id(creator) if creator is not None else (self._user.id if self._user else "")
        channel = self._invoke(
            "CreateChannel",
            api_channel_post_pb2.CreateChannelRequest(
                channel=channel_pb2.Channel(
                    team_id=team_id,
                    name=name,
                    display_name=display_name or name,
                    type=channel_pb2.CHANNEL_TYPE_PRIVATE
                    if private
                    else channel_pb2.CHANNEL_TYPE_OPEN,
                    creator_id=creator_id,
                )
            ),
        ).channel
        self._fire(
            "ChannelHasBeenCreated",
            hooks_user_channel_pb2.ChannelHasBeenCreatedRequest(
                plugin_context=self._context(), channel=channel
            ),
            wait=True,
        )
        for member in members:
            self.add_to_channel(member, channel)
        return c_channel.channel_from_pb(channel)

    def add_to_channel(self, user: UserRef, channel: ChannelRef) -> None:
        """Add a user to a channel (joining its team first if needed); ``UserHasJoinedChannel``
        runs."""
        fake = self.server
        channel_id, user_id = _id(channel), _id(user)
        with fake.transaction():
            team_id = fake._channel(channel_id).team_id
            needs_team = bool(team_id) and not fake._active_member(team_id, user_id)
        if needs_team:
            self.add_to_team(user_id, team_id)
        with fake.transaction():
            member = fake._add_channel_member(channel_id, user_id)
        self._fire(
            "UserHasJoinedChannel",
            hooks_user_channel_pb2.UserHasJoinedChannelRequest(
                plugin_context=self._context(), channel_member=member
            ),
            wait=True,
        )

    def direct_channel(self, user1: UserRef, user2: UserRef) -> Channel:
        channel = self._invoke(
            "GetDirectChannel",
            api_channel_post_pb2.GetDirectChannelRequest(
                user_id_1=_id(user1), user_id_2=_id(user2)
            ),
        ).channel
        return c_channel.channel_from_pb(channel)

    def resolve_channel(self, ref: str) -> str:
        """A channel id from an id or the name of a channel of the default team."""
        fake = self.server
        with fake.transaction():
            if ref in fake.channels:
                return ref
            team_id = self._team.id if self._team is not None else None
            for channel in fake.channels.values():
                if channel.name == ref and (team_id is None or channel.team_id == team_id):
                    return channel.id
        raise FakeAppError("app.channel.get.existing.app_error", f"channel not found: {ref!r}", 404)

    # --- posts -------------------------------------------------------------------------

    def create_post(
        self,
        channel: ChannelRef | None,
        message: str,
        *,
        user: UserRef | None = None,
        root_id: str = "",
        props: Mapping[str, Any] | None = None,
        file_ids: Iterable[str] = (),
        wait: bool = True,
    ) -> Post:
        """Post ``message`` as ``user`` (default: the default user) in ``channel`` (default:
        ``town-square``), the way the server does (see the module doc). Returns the stored
        post; raises :class:`PostRejectedError` when the plugin rejects it and
        :class:`~mattermost_plugin.host.fake_server.FakeAppError` for an invalid post.
        ``wait=False`` returns before ``MessageHasBeenPosted`` has run."""
        fake = self.server
        post = post_pb2.Post(
            user_id=self._default(user, self._user, "user"),
            channel_id=self._default(channel, self._channel, "channel"),
            root_id=root_id,
            message=message,
            file_ids=list(file_ids),
        )
        if props:
            post.props.update(dict(props))
        with fake.transaction():
            fake._check_new_post(post)
        post.create_at = fake.now_ms()
        if self.implements("MessageWillBePosted"):
            started = time.monotonic()
            try:
                answer = self.call_hook(
                    "MessageWillBePosted",
                    hooks_message_pb2.MessageWillBePostedRequest(
                        plugin_context=self._context(), post=self._for_hook(post)
                    ),
                )
            except HookCallError as exc:
                self._hook_event(
                    "MessageWillBePosted",
                    f"failed: {exc.detail}; the post goes through (fail open, as on the server)",
                    started,
                    "error",
                )
            else:
                reason = answer.rejection_reason
                if reason:
                    self._hook_event(
                        "MessageWillBePosted", f"rejected: {reason!r}", started, "warn"
                    )
                    error = PostDismissedError if reason == DISMISS_POST else PostRejectedError
                    raise error(reason, c_post.post_from_pb(post))
                if answer.HasField("modified_post"):
                    post = answer.modified_post
                    self._hook_event("MessageWillBePosted", "modified the post", started)
                else:
                    self._hook_event("MessageWillBePosted", "allowed", started)
        post.id = ""
        stored = self._invoke("CreatePost", api_channel_post_pb2.CreatePostRequest(post=post)).post
        result = c_post.post_from_pb(stored)
        self._emit(
            "post",
            f"created post {stored.id} in {stored.channel_id}",
            fields={"message": stored.message},
        )
        self._fire(
            "MessageHasBeenPosted",
            hooks_message_pb2.MessageHasBeenPostedRequest(
                plugin_context=self._context(), post=stored
            ),
            wait=wait,
        )
        return result

    @staticmethod
    def _for_hook(post: post_pb2.Post) -> post_pb2.Post:
        """A copy of ``post`` as the server's Python host sends it to a "will be" hook:
        without ``props`` and ``metadata`` (PROTOCOL §3)."""
        copy = post_pb2.Post()
        copy.CopyFrom(post)
        copy.ClearField("props")
        copy.ClearField("metadata")
        return copy

    def update_post(
        self,
        post: PostRef,
        message: str | None = None,
        *,
        props: Mapping[str, Any] | None = None,
        file_ids: Iterable[str] | None = None,
        is_pinned: bool | None = None,
        wait: bool = True,
    ) -> Post:
        """Edit a post the way the server's ``UpdatePost`` does (see the module doc).

        ``post`` is a post id, or a post (a :class:`~mattermost_plugin.models.Post` or its
        protobuf) whose editable fields are the edit, as a client sends it; ``message``,
        ``props``, ``file_ids`` and ``is_pinned`` override them. Only those fields are taken:
        the new post is the stored one with them changed (``edit_at`` set when the message,
        the files or the attachments change). ``MessageWillBeUpdated`` gets the new and the
        old post: a rejection raises :class:`PostRejectedError` and stores nothing, a
        modified post is what gets stored, a failure or timeout lets the edit through
        (fail open). Then ``MessageHasBeenUpdated`` runs with the stored and the old post
        (``wait=False`` returns before it has run). Returns the stored post; raises
        :class:`~mattermost_plugin.host.fake_server.FakeAppError` (404) for a missing or
        deleted post, (400) for a system message or a too long message."""
        fake = self.server
        post_id = _id(post)
        old = post_pb2.Post()
        with fake.transaction():
            old.CopyFrom(fake._post(post_id))
        if isinstance(post, Post):
            received = c_post.post_to_pb(post)
        elif isinstance(post, post_pb2.Post):
            received = post_pb2.Post()
            received.CopyFrom(post)
        else:
            received = post_pb2.Post()
            received.CopyFrom(old)
        if message is not None:
            received.message = message
        if props is not None:
            received.ClearField("props")
            received.props.update(dict(props))
        if file_ids is not None:
            received.file_ids[:] = list(file_ids)
        if is_pinned is not None:
            received.is_pinned = is_pinned
        new = fake.edited_post(old, received)

        if self.implements("MessageWillBeUpdated"):
            started = time.monotonic()
            try:
                answer = self.call_hook(
                    "MessageWillBeUpdated",
                    hooks_message_pb2.MessageWillBeUpdatedRequest(
                        plugin_context=self._context(),
                        new_post=self._for_hook(new),
                        old_post=self._for_hook(old),
                    ),
                )
            except HookCallError as exc:
                self._hook_event(
                    "MessageWillBeUpdated",
                    f"failed: {exc.detail}; the edit goes through (fail open, as on the server)",
                    started,
                    "error",
                )
            else:
                reason = answer.rejection_reason
                if reason:
                    self._hook_event(
                        "MessageWillBeUpdated", f"rejected: {reason!r}", started, "warn"
                    )
                    raise PostRejectedError(reason, c_post.post_from_pb(new))
                if answer.HasField("modified_post"):
                    new = answer.modified_post
                    new.id = old.id
                    # The server restores the metadata the hook could not see.
                    new.ClearField("metadata")
                    if old.HasField("metadata"):
                        new.metadata.CopyFrom(old.metadata)
                    mark_edited(new, old, fake.now_ms())
                    self._hook_event("MessageWillBeUpdated", "modified the post", started)
                else:
                    self._hook_event("MessageWillBeUpdated", "allowed", started)

        with fake.transaction():
            current = fake._post(post_id)  # 404 if it was deleted meanwhile
            # What the store keeps up to date on its own is taken from the current row.
            new.reply_count = current.reply_count
            new.last_reply_at = current.last_reply_at
            new.has_reactions = current.has_reactions
            new.update_at = max(fake.now_ms(), new.edit_at)
            stored = post_pb2.Post()
            stored.CopyFrom(new)
            fake.posts[post_id] = stored
            new = post_pb2.Post()
            new.CopyFrom(stored)
        self._emit(
            "post",
            f"updated post {post_id} in {new.channel_id}",
            fields={"message": new.message},
        )
        self._fire(
            "MessageHasBeenUpdated",
            hooks_message_pb2.MessageHasBeenUpdatedRequest(
                plugin_context=self._context(), new_post=new, old_post=old
            ),
            wait=wait,
        )
        return c_post.post_from_pb(new)

    def delete_post(self, post: PostRef, *, wait: bool = True) -> Post:
        """Delete a post the way the server does: it is marked deleted (``delete_at``; a
        root's replies with it) as the API's ``DeletePost`` does, then
        ``MessageHasBeenDeleted`` runs with the deleted post (``wait=False`` returns before
        it has run). Returns the deleted post; raises
        :class:`~mattermost_plugin.host.fake_server.FakeAppError` (404) for a missing or
        already deleted post."""
        fake = self.server
        post_id = _id(post)
        deleted = post_pb2.Post()
        with fake.transaction():
            self._invoke("DeletePost", api_channel_post_pb2.DeletePostRequest(post_id=post_id))
            deleted.CopyFrom(fake.posts[post_id])
        self._emit("post", f"deleted post {post_id} in {deleted.channel_id}")
        self._fire(
            "MessageHasBeenDeleted",
            hooks_message_pb2.MessageHasBeenDeletedRequest(
                plugin_context=self._context(), post=deleted
            ),
            wait=wait,
        )
        return c_post.post_from_pb(deleted)

    def posts(
        self, channel: ChannelRef | None = None, *, include_deleted: bool = False
    ) -> list[Post]:
        """The posts of a channel (default: all channels), oldest first."""
        fake = self.server
        channel_id = _id(channel) if channel is not None else None
        with fake.transaction():
            found = [
                p
                for p in fake.posts.values()
                if (channel_id is None or p.channel_id == channel_id)
                and (include_deleted or not p.delete_at)
            ]
            found.sort(key=lambda p: p.create_at)
            return [c_post.post_from_pb(p) for p in found]

    def get_post(self, post_id: str) -> Post:
        with self.server.transaction():
            return c_post.post_from_pb(self.server._post(post_id))

    def ephemeral_posts(self, user: UserRef | None = None) -> list[Post]:
        """Ephemeral posts (``SendEphemeralPost``, ephemeral command answers) sent to
        ``user`` (default: to anyone), oldest first."""
        fake = self.server
        user_id = _id(user) if user is not None else None
        with fake.transaction():
            found = [
                e.post
                for e in fake.ephemeral_posts.values()
                if user_id is None or e.user_id == user_id
            ]
            found.sort(key=lambda p: p.create_at)
            return [c_post.post_from_pb(p) for p in found]

    # --- reactions and preferences -------------------------------------------------------

    def _reaction(self, post: PostRef, emoji_name: str, user: UserRef | None) -> post_pb2.Reaction:
        """The reaction of ``user`` on ``post``; raise what the server raises for a missing
        post or an archived channel."""
        fake = self.server
        reaction = post_pb2.Reaction(
            user_id=self._default(user, self._user, "user"),
            post_id=_id(post),
            emoji_name=emoji_name,
        )
        with fake.transaction():
            channel = fake._channel(fake._post(reaction.post_id).channel_id)
            if channel.delete_at:
                raise FakeAppError(
                    "api.reaction.save.archived_channel.app_error",
                    "you cannot react to a post in an archived channel",
                    403,
                )
        return reaction

    def add_reaction(
        self, post: PostRef, emoji_name: str, *, user: UserRef | None = None, wait: bool = True
    ) -> Reaction:
        """React to ``post`` with ``emoji_name`` (no colons) as ``user`` (default: the
        default user), then ``ReactionHasBeenAdded`` runs (``wait=False`` returns before it
        has run). Returns the stored reaction; raises
        :class:`~mattermost_plugin.host.fake_server.FakeAppError` for a missing post or an
        invalid emoji name."""
        reaction = self._reaction(post, emoji_name, user)
        stored = self._invoke(
            "AddReaction", api_channel_post_pb2.AddReactionRequest(reaction=reaction)
        ).reaction
        self._emit(
            "post",
            f"{reaction.user_id} reacted :{emoji_name}: to {reaction.post_id}",
            level="debug",
        )
        self._fire(
            "ReactionHasBeenAdded",
            hooks_message_pb2.ReactionHasBeenAddedRequest(
                plugin_context=self._context(), reaction=stored
            ),
            wait=wait,
        )
        return c_post.reaction_from_pb(stored)

    def remove_reaction(
        self, post: PostRef, emoji_name: str, *, user: UserRef | None = None, wait: bool = True
    ) -> None:
        """Remove ``user``'s (default: the default user's) ``emoji_name`` reaction from
        ``post``, then ``ReactionHasBeenRemoved`` runs with it (``wait=False`` returns before
        it has run). As on the server, removing a reaction that is not there is no error."""
        fake = self.server
        reaction = self._reaction(post, emoji_name, user)
        with fake.transaction():
            for existing in fake.reactions.get(reaction.post_id, []):
                if (existing.user_id, existing.emoji_name) == (reaction.user_id, emoji_name):
                    reaction.CopyFrom(existing)
                    reaction.delete_at = reaction.update_at = fake.now_ms()
            self._invoke(
                "RemoveReaction", api_channel_post_pb2.RemoveReactionRequest(reaction=reaction)
            )
        self._emit(
            "post",
            f"{reaction.user_id} removed :{emoji_name}: from {reaction.post_id}",
            level="debug",
        )
        self._fire(
            "ReactionHasBeenRemoved",
            hooks_message_pb2.ReactionHasBeenRemovedRequest(
                plugin_context=self._context(), reaction=reaction
            ),
            wait=wait,
        )

    def reactions(self, post: PostRef) -> list[Reaction]:
        """The reactions on ``post``, oldest first."""
        with self.server.transaction():
            found = list(self.server.reactions.get(_id(post), []))
            return [c_post.reaction_from_pb(r) for r in found]

    def set_preferences(
        self,
        preferences: Iterable[PreferenceLike],
        *,
        user: UserRef | None = None,
        wait: bool = True,
    ) -> list[Preference]:
        """Save preferences of ``user`` (default: the default user) as the server's
        ``UpdatePreferences`` does, then ``PreferencesHaveChanged`` runs with them
        (``wait=False`` returns before it has run). Each preference is a
        :class:`~mattermost_plugin.models.Preference`, its protobuf, or a mapping with
        ``category``, ``name`` and ``value``; an empty ``user_id`` is ``user``'s. Returns the
        saved preferences; raises :class:`~mattermost_plugin.host.fake_server.FakeAppError`
        (403) for another user's preference, (400) for an invalid one, and saves none then."""
        user_id = self._default(user, self._user, "user")
        saved: list[api_remaining_pb2.Preference] = []
        for item in preferences:
            if isinstance(item, api_remaining_pb2.Preference):
                preference = api_remaining_pb2.Preference()
                preference.CopyFrom(item)
            elif isinstance(item, Preference):
                preference = c_remaining.preference_to_pb(item)
            else:
                preference = api_remaining_pb2.Preference(
                    user_id=str(item.get("user_id", "")),
                    category=str(item.get("category", "")),
                    name=str(item.get("name", "")),
                    value=str(item.get("value", "")),
                )
            preference.user_id = preference.user_id or user_id
            saved.append(preference)
        self._invoke(
            "UpdatePreferencesForUser",
            api_remaining_pb2.UpdatePreferencesForUserRequest(user_id=user_id, preferences=saved),
        )
        self._emit("server", f"saved {len(saved)} preference(s) of {user_id}", level="debug")
        self._fire(
            "PreferencesHaveChanged",
            hooks_message_pb2.PreferencesHaveChangedRequest(
                plugin_context=self._context(), preferences=saved
            ),
            wait=wait,
        )
        return [c_remaining.preference_from_pb(p) for p in saved]

    def preferences(self, user: UserRef | None = None) -> list[Preference]:
        """The saved preferences of ``user`` (default: the default user), by category and
        name."""
        user_id = self._default(user, self._user, "user")
        fake = self.server
        with fake.transaction():
            found = sorted(
                (p for (owner, _, _), p in fake.preferences.items() if owner == user_id),
                key=lambda p: (p.category, p.name),
            )
            return [c_remaining.preference_from_pb(p) for p in found]

    # --- KV and config -------------------------------------------------------------------

    def kv_get(self, key: str) -> bytes | None:
        """The plugin's KV value under ``key`` (``None`` when missing or expired)."""
        with self.server.transaction():
            entry = self.server._kv_live(key)
            return entry.value if entry is not None else None

    def kv_keys(self) -> list[str]:
        with self.server.transaction():
            return sorted(k for k in list(self.server.kv) if self.server._kv_live(k) is not None)

    def _write_plugin_config(self, settings: Mapping[str, Any]) -> None:
        fake = self.server
        with fake.transaction():
            plugin_settings = fake._plugin_settings()
            plugin_settings.clear()
            plugin_settings.update(json.loads(json.dumps(dict(settings))))
        self._apply_schema_defaults()

    def _config_saved(self) -> None:
        """The plugin saved the config through the API: the server then calls
        ``OnConfigurationChange`` (in the background: the saving call is still running)."""
        self._fire(
            "OnConfigurationChange", hooks_lifecycle_pb2.OnConfigurationChangeRequest(), wait=False
        )

    def _apply_schema_defaults(self) -> None:
        """As the server does: a setting of the manifest's ``settings_schema`` that the
        config does not have takes the schema's ``default``."""
        schema = self.manifest.settings_schema or {}
        groups = [schema.get("settings") or []]
        groups += [section.get("settings") or [] for section in schema.get("sections") or []]
        defaults = {
            item["key"]: item["default"]
            for group in groups
            for item in group
            if isinstance(item, dict) and isinstance(item.get("key"), str) and "default" in item
        }
        if not defaults:
            return
        fake = self.server
        with fake.transaction():
            plugin_settings = fake._plugin_settings()
            present = {str(key).lower() for key in plugin_settings}
            for key, value in defaults.items():
                if key.lower() not in present:
                    plugin_settings[key] = value

    def set_plugin_config(self, settings: Mapping[str, Any]) -> None:
        """Replace the plugin's settings and call ``OnConfigurationChange`` (as saving the
        System Console does); raises :class:`HookCallError` or :class:`CommandError`-style
        failures as :class:`RuntimeError` when the plugin refuses the configuration."""
        self._write_plugin_config(settings)
        if self.implements("OnConfigurationChange"):
            started = time.monotonic()
            answer = self.call_hook(
                "OnConfigurationChange", hooks_lifecycle_pb2.OnConfigurationChangeRequest()
            )
            if answer.HasField("error"):
                self._hook_event(
                    "OnConfigurationChange",
                    f"failed: {hook_error_text(answer.error)}",
                    started,
                    "error",
                )
                raise RuntimeError(f"OnConfigurationChange failed: {hook_error_text(answer.error)}")
            self._hook_event("OnConfigurationChange", "done", started)

    # --- commands ------------------------------------------------------------------------

    def execute_command(
        self,
        command: str,
        *,
        channel: ChannelRef | None = None,
        user: UserRef | None = None,
        root_id: str = "",
        team: TeamRef | None = None,
    ) -> CommandResponse:
        """Run a slash command (``"/hello world"``) as ``user`` in ``channel`` (defaults: the
        default user, ``town-square``). Returns the plugin's ``CommandResponse``; raises
        :class:`CommandError` (404 when no command has that trigger, 500 when the plugin
        failed)."""
        fake = self.server
        channel_id = self._default(channel, self._channel, "channel")
        with fake.transaction():
            channel_team = fake._channel(channel_id).team_id
        team_id = (
            _id(team) if team is not None else channel_team or (self._team.id if self._team else "")
        )
        args = api_remaining_pb2.CommandArgs(
            user_id=self._default(user, self._user, "user"),
            channel_id=channel_id,
            team_id=team_id,
            root_id=root_id,
            parent_id=root_id,
            command=command,
        )
        try:
            response = self._run_command(args)
        except FakeAppError as exc:
            raise CommandError(exc.error_id, exc.message, exc.status_code) from None
        return c_remaining.command_response_from_pb(response)

    def _execute_from_api(
        self, args: api_remaining_pb2.CommandArgs
    ) -> api_remaining_pb2.CommandResponse:
        """``ExecuteSlashCommand`` from the plugin: the same flow."""
        return self._run_command(args)

    def _run_command(
        self, args: api_remaining_pb2.CommandArgs
    ) -> api_remaining_pb2.CommandResponse:
        fake = self.server
        text = args.command.strip()
        if not text.startswith("/"):
            raise FakeAppError(
                "api.command.execute_command.start.app_error",
                "a command must start with /",
                400,
            )
        trigger = text.split()[0][1:]
        registered = fake.find_command(args.team_id, trigger)
        if registered is None:
            self._emit("command", f"/{trigger}: no such command", level="warn")
            raise FakeAppError(
                "api.command.execute_command.not_found.app_error",
                f"Command with a trigger of '/{trigger}' not found.",
                404,
            )
        filled = api_remaining_pb2.CommandArgs()
        filled.CopyFrom(args)
        filled.command = text
        filled.site_url = filled.site_url or self.site_url_value
        filled.trigger_id = filled.trigger_id or new_id()
        started = time.monotonic()
        try:
            answer = self.call_hook(
                "ExecuteCommand",
                hooks_command_pb2.ExecuteCommandRequest(
                    plugin_context=self._context(), args=filled
                ),
            )
        except HookCallError as exc:
            self._hook_event("ExecuteCommand", f"failed: {exc.detail}", started, "error")
            raise FakeAppError(
                "api.command.execute_command.failed.app_error",
                f"Command with a trigger of '/{trigger}' failed: {exc.detail}",
                500,
            ) from None
        if answer.HasField("error"):
            # What the server keeps of the error: where, id, detailed_error, status_code.
            error = answer.error
            self._hook_event("ExecuteCommand", f"error: {hook_error_text(error)}", started, "warn")
            error_id = error.id or "api.command.execute_command.failed.app_error"
            raise FakeAppError(error_id, error_id, error.status_code or 500, error.detailed_error)
        if not answer.HasField("response"):
            # The server takes a command answered with neither as not handled.
            self._hook_event("ExecuteCommand", f"/{trigger} answered nothing", started, "warn")
            raise FakeAppError(
                "api.command.execute_command.not_found.app_error",
                f"Command with a trigger of '/{trigger}' not found.",
                404,
            )
        response: api_remaining_pb2.CommandResponse = answer.response
        self._hook_event(
            "ExecuteCommand",
            f"/{trigger} answered {response.response_type or 'ephemeral'}: {response.text!r}",
            started,
        )
        self._post_command_response(filled, response)
        return response

    def _post_command_response(
        self, args: api_remaining_pb2.CommandArgs, response: api_remaining_pb2.CommandResponse
    ) -> None:
        """What the server does with the answer: an ``in_channel`` text becomes a post in the
        channel (through the message hooks), any other a post only the user sees."""
        if not response.text and not response.attachments:
            return
        channel_id = response.channel_id or args.channel_id
        if response.response_type == "in_channel":
            try:
                self.create_post(
                    channel_id, response.text, user=args.user_id, root_id=args.root_id, wait=False
                )
            except (PostRejectedError, FakeAppError) as exc:
                self._emit("command", f"the command's answer was not posted: {exc}", level="warn")
            return
        ephemeral = post_pb2.Post(
            channel_id=channel_id, user_id=args.user_id, root_id=args.root_id, message=response.text
        )
        self._invoke(
            "SendEphemeralPost",
            api_channel_post_pb2.SendEphemeralPostRequest(user_id=args.user_id, post=ephemeral),
        )

    # --- HTTP ----------------------------------------------------------------------------

    def _plugin_path(self, path: str) -> str:
        prefix = f"/plugins/{self.plugin_id}"
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        return path or "/"

    def stream(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        body: bytes | Iterable[bytes] = b"",
        user: UserRef | None = None,
        remote_addr: str = "127.0.0.1:0",
        timeout: float | None = None,
    ) -> BridgeResponse:
        """Send a request to the plugin's ``ServeHTTP``; the answer streams (see
        :func:`~mattermost_plugin.host.http_bridge.send_request`). ``path`` is below
        ``/plugins/<id>`` (a full ``/plugins/<id>/...`` path works too); ``user`` becomes the
        ``Mattermost-User-Id`` header, as for a logged-in session."""
        all_headers = [
            (k, v) for k, v in Headers(headers).multi_items() if k.lower() != "mattermost-user-id"
        ]
        if user is not None:
            all_headers.append(("Mattermost-User-Id", _id(user)))
        if "?" in path and not query:
            path, query = path.split("?", 1)
        return send_request(
            self.supervisor.channel,
            method,
            self._plugin_path(path),
            query=query,
            headers=all_headers,
            body=body,
            plugin_id=self.plugin_id,
            remote_addr=remote_addr,
            timeout=timeout,
        )

    def http(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: HeadersLike | None = None,
        body: bytes | str = b"",
        json_body: Any = None,
        user: UserRef | None = None,
        timeout: float | None = 30.0,
    ) -> HTTPResult:
        """Send a request to the plugin's ``ServeHTTP`` and read the whole answer.
        ``json_body`` is sent as JSON (with its Content-Type)."""
        extra: list[tuple[str, str]] = list(Headers(headers).multi_items())
        data = body.encode() if isinstance(body, str) else body
        if json_body is not None:
            data = json.dumps(json_body).encode()
            if not any(k.lower() == "content-type" for k, _ in extra):
                extra.append(("Content-Type", "application/json"))
        started = time.monotonic()
        with self.stream(
            method, path, query=query, headers=extra, body=data, user=user, timeout=timeout
        ) as response:
            content = response.read()
        self._emit(
            "http",
            f"{method.upper()} {path} → {response.status_code}",
            level="debug",
            fields={"duration": _ms(time.monotonic() - started)},
        )
        return HTTPResult(response.status_code, response.headers, content)

    def get(self, path: str, **kwargs: Any) -> HTTPResult:
        return self.http("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HTTPResult:
        return self.http("POST", path, **kwargs)


@contextlib.contextmanager
def local_mattermost(
    plugin_dir: str | os.PathLike[str], **kwargs: Any
) -> Iterator[LocalMattermost]:
    """``with local_mattermost(folder) as mm:``: a started :class:`LocalMattermost`."""
    with LocalMattermost(plugin_dir, **kwargs) as local:
        yield local
