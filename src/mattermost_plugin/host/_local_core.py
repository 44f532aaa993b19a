"""The local Mattermost's core: its state, its events and logs, and calling the plugin's
hooks; the flows (directory, posts, commands) build on it."""

from __future__ import annotations

import collections
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import Message

from mattermost_plugin._pb.pluginapi.v1 import (
    hooks_common_pb2,
)
from mattermost_plugin.clock import TestClock
from mattermost_plugin.host._local_types import (
    DEV_RESTART_POLICY,
    Event,
    EventKind,
    HookCallError,
    HookCallInfo,
    HookObserver,
    LogRecord,
    _id,
    _ms,
    _rpc_code,
)
from mattermost_plugin.host._logring import MAX_LOG_LINE, MAX_LOG_LINES, LogRing, cut_text
from mattermost_plugin.host._tracebacks import readable_traceback
from mattermost_plugin.host.fake_server import (
    FakeMattermost,
    LogEntry,
    new_id,
)
from mattermost_plugin.host.supervisor import PluginStartError, PluginSupervisor, RestartPolicy
from mattermost_plugin.logging import HclogRecord, Redactor
from mattermost_plugin.manifest import ManifestError, load_manifest
from mattermost_plugin.models import (
    Channel,
    Team,
    User,
)

if TYPE_CHECKING:
    from mattermost_plugin.client import PluginAPIClient


def _outcome(answer: Message) -> tuple[str, str]:
    """How a hook's answer reads in the events (and its level): rejected, modified,
    allowed, or done."""
    fields = answer.DESCRIPTOR.fields_by_name
    reason = getattr(answer, "rejection_reason", "") if "rejection_reason" in fields else ""
    if reason:
        return f"rejected: {reason!r}", "warn"
    for name, field in fields.items():
        if name.startswith("modified_"):
            present = answer.HasField(name) if field.message_type else getattr(answer, name)
            if present:
                return "modified it", "info"
    return ("allowed" if "rejection_reason" in fields else "done"), "info"


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


class LocalCore:
    """State, events, logs and hook calls of a local Mattermost."""

    full_tracebacks = False
    """Show every frame of the plugin's tracebacks in failure messages, not only the
    plugin's own (the pytest plugin sets it under ``pytest -v``)."""

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
        max_log_lines: int = MAX_LOG_LINES,
        max_log_line: int = MAX_LOG_LINE,
    ) -> None:
        self.plugin_dir = Path(plugin_dir).resolve()
        try:
            self.manifest = load_manifest(self.plugin_dir)
        except ManifestError as exc:
            raise PluginStartError(f"bad manifest in {self.plugin_dir}: {exc}") from None
        self.plugin_id = self.manifest.id
        self.db = Path(db) if db is not None else None
        self.plugin_config = dict(plugin_config) if plugin_config is not None else None
        self.python_option = python
        """The interpreter asked for (``None``: the one each plugin folder calls for)."""
        self.python = python if python is not None else interpreter_for(self.plugin_dir)
        self.env = dict(env or {})
        self.hook_timeout = hook_timeout
        self.restart_policy = restart_policy or DEV_RESTART_POLICY
        self.on_event = on_event
        self.site_url = site_url
        self.defaults = defaults

        self.fake: FakeMattermost | None = None
        self.api_target = ""
        self.clock = TestClock.temporary()
        """The clock of the fake server and the plugin's jobs: ``clock.advance(timedelta(days=1))``
        moves both forward (:mod:`mattermost_plugin.clock`)."""
        self.max_log_line = max_log_line
        self.max_log_lines = max_log_lines
        self.logs: LogRing[LogRecord] = LogRing(max_log_lines)
        """The plugin's latest log lines, from every process it ran as (``logs.total``
        counts them all), with secrets redacted."""
        self.events: collections.deque[Event] = collections.deque(maxlen=1000)
        """The latest events."""
        self.generation = 0
        """How many times the plugin was started successfully (first start, reloads)."""
        self.last_error: str | None = None
        """Why the latest start or reload failed, until one succeeds."""
        self.last_traceback: str | None = None
        """The traceback of that failure (a log line's ``stacktrace``), when the plugin
        logged one."""
        self._team: Team | None = None
        self._user: User | None = None
        self._channel: Channel | None = None

        self._server: grpc.Server | None = None
        self._supervisor: PluginSupervisor | None = None
        self._swap_lock = threading.RLock()
        # Notification hooks run here, each holding a thread while the plugin handles it.
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="local-hooks")
        self._collecting = threading.local()
        self._pending: set[Future[None]] = set()
        self._pending_lock = threading.Lock()
        self._api: PluginAPIClient | None = None
        self._monitor: threading.Thread | None = None
        self._closing = threading.Event()
        self._logs_changed = threading.Condition()
        self.hook_observer: HookObserver | None = None
        """Told of every hook call, with its request when it ended (the dev server's hook
        log)."""
        # The hook call running on this thread: call_hook sets it, _hook_event reads it, so
        # the hook log gets each call's request without every flow passing it along.
        self._current_call = threading.local()

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
        return self.server.invoke(method, request)

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

    def redactor(self) -> Redactor:
        """What hides secrets in the plugin's logs: fields named like secrets or like the
        settings marked ``secret``, and those settings' current values."""
        names = self.manifest.secret_settings
        values: list[str] = []
        if names and self.fake is not None:
            plugins = self.fake.config.get("PluginSettings", {}).get("Plugins", {})
            settings = plugins.get(self.plugin_id, {}) if isinstance(plugins, dict) else {}
            lowered = {name.lower() for name in names}
            if isinstance(settings, dict):  # the server may lowercase the keys
                values = [
                    v for k, v in settings.items() if k.lower() in lowered and isinstance(v, str)
                ]
        return Redactor(names, values)

    def _add_log(self, record: LogRecord) -> None:
        redactor = self.redactor()
        record = LogRecord(
            record.level,
            redactor.text(record.message),
            redactor.fields(record.fields),
            record.source,
            record.time,
        )
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
        message = cut_text(entry.message, self.max_log_line)  # stderr lines come cut already
        self._add_log(LogRecord(entry.level, message, dict(entry.fields), "api"))

    def find_logs(
        self, match: str | Callable[[LogRecord], bool], *, level: str | None = None, since: int = 0
    ) -> list[LogRecord]:
        """Log records appended after the first ``since`` ones (a ``logs.total`` taken
        earlier) whose message contains ``match`` (or that the predicate accepts), of
        ``level`` when given."""

        def accept(record: LogRecord) -> bool:
            if level is not None and record.level != level:
                return False
            return match(record) if callable(match) else match in record.message

        with self._logs_changed:
            return [r for r in self.logs.since(since) if accept(r)]

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
        found = self._await_log(match, level=level, since=since, timeout=timeout)
        if found is None:
            lines = "\n".join(f"  [{r.level}] {r.message}" for r in self.logs.since(since))
            raise AssertionError(
                f"no log line matching {match!r} within {timeout:g} s; the log:\n"
                + (lines or "  (empty)")
            )
        return found

    def _await_log(
        self,
        match: str | Callable[[LogRecord], bool],
        *,
        level: str | None = None,
        since: int = 0,
        timeout: float,
    ) -> LogRecord | None:
        deadline = time.monotonic() + timeout
        with self._logs_changed:
            while True:
                found = self.find_logs(match, level=level, since=since)
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._logs_changed.wait(remaining)

    def _failure_stacktrace(
        self, since: int, *, hook: str | None = None, timeout: float = 0.0
    ) -> str | None:
        """The ``stacktrace`` of the plugin's latest failure logged after the first ``since``
        lines (by ``hook``'s handler when given), waiting up to ``timeout`` for the line;
        ``None`` when there is none."""

        def failure(record: LogRecord) -> bool:
            stacktrace = record.fields.get("stacktrace")
            return isinstance(stacktrace, str) and hook in (None, record.fields.get("hook"))

        if self._await_log(failure, since=since, timeout=timeout) is None:
            return None
        return str(self.find_logs(failure, since=since)[-1].fields["stacktrace"])

    def readable_traceback(self, stacktrace: str) -> str:
        """A traceback of the plugin for a failure message: its file and line first, the
        SDK's frames folded unless :attr:`full_tracebacks`."""
        return readable_traceback(
            stacktrace, plugin_dir=self.plugin_dir, verbose=self.full_tracebacks
        )

    def implements(self, hook: str) -> bool:
        supervisor = self._supervisor
        return supervisor is not None and hook in supervisor.implemented

    def call_hook(self, hook: str, request: Message, *, timeout: float | None = None) -> Any:
        """Call a unary hook of the running plugin with the hook deadline; raise
        :class:`HookCallError` when the call fails on the transport (crash, deadline)."""
        observer = self.hook_observer
        if observer is not None:
            self._current_call.request = (hook, request)
            with contextlib.suppress(Exception):  # a broken observer must not break the server
                observer.hook_started(hook)
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
        seconds = time.monotonic() - started
        self._emit("hook", f"{hook} → {outcome}", level=level, fields={"duration": _ms(seconds)})
        observer = self.hook_observer
        if observer is None:
            return
        current = getattr(self._current_call, "request", None)
        self._current_call.request = None  # not kept: a request may hold a whole file
        request = current[1] if current is not None and current[0] == hook else None
        with contextlib.suppress(Exception):  # a broken observer must not break the server
            observer.hook_ended(HookCallInfo(hook, request, outcome, level, seconds))

    def _http_started(self) -> None:
        """A request goes to the plugin's ``ServeHTTP`` (for the hook observer)."""
        observer = self.hook_observer
        if observer is not None:
            with contextlib.suppress(Exception):
                observer.hook_started("ServeHTTP")

    def _http_ended(self, method: str, target: str, status: int, seconds: float) -> None:
        """The plugin's ``ServeHTTP`` answered ``status`` (``0``: no answer)."""
        observer = self.hook_observer
        if observer is None:
            return
        outcome = f"answered {status}" if status else "no answer"
        level = "warn" if status >= 500 or not status else "info"
        call = HookCallInfo(
            "ServeHTTP", None, outcome, level, seconds, summary=f"{method} {target}"
        )
        with contextlib.suppress(Exception):  # a broken observer must not break the server
            observer.hook_ended(call)

    # --- what the fake calls (fake_server.PluginHooks) ----------------------------------

    def run_hook(self, hook: str, request: Message) -> Message | None:
        """Call a hook for the fake and report it; ``None`` when the call failed on the
        transport (the server then goes on as if there were no hook: fail open)."""
        started = time.monotonic()
        try:
            answer: Message = self.call_hook(hook, request)
        except HookCallError as exc:
            self._hook_event(
                hook,
                f"failed: {exc.detail}; the server goes on without it (fail open)",
                started,
                "error",
            )
            return None
        outcome, level = _outcome(answer)
        self._hook_event(hook, outcome, started, level)
        return answer

    def fire_hook(self, hook: str, request: Message) -> None:
        """Run a notification hook in the background for the fake."""
        self._fire(hook, request, wait=False)

    # ------------------------------------------------------------------------------------

    def _fire(self, hook: str, request: Message, *, wait: bool) -> None:
        """Call a void hook in the background, like the server's goroutines; ``wait`` blocks
        until it has run. Inside :meth:`_hooks_fired` the call is also collected."""
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
        collected = getattr(self._collecting, "futures", None)
        if collected is not None:
            collected.append(future)
        if wait:
            future.result()

    @contextlib.contextmanager
    def _hooks_fired(self, *, wait: bool) -> Iterator[None]:
        """Around a flow: the notification hooks it fires on this thread (through the fake)
        have run when the block ends, if ``wait``."""
        outer = getattr(self._collecting, "futures", None)
        futures: list[Future[None]] = []
        self._collecting.futures = futures
        try:
            yield
        finally:
            self._collecting.futures = outer
            if outer is not None:
                outer.extend(futures)
        if wait and futures:
            wait_futures(futures, timeout=self.hook_timeout + 5)

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

    def _default(self, ref: Any, default: Any, what: str) -> str:
        if ref is not None:
            return _id(ref)
        if default is None:
            raise ValueError(f"no {what} given and no default {what} (defaults=False)")
        return _id(default)
