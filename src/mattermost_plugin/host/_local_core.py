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
from typing import TYPE_CHECKING, Any, cast

import grpc
from google.protobuf.message import Message

from mattermost_plugin._pb.pluginapi.v1 import (
    hooks_command_pb2,
    hooks_common_pb2,
)
from mattermost_plugin.clock import TestClock
from mattermost_plugin.host._local_nodes import LocalNode, NodeInterceptor, current_node, on_node
from mattermost_plugin.host._local_types import (
    DEV_RESTART_POLICY,
    SINGLE_NODE,
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
    ClusterEvent,
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
    from mattermost_plugin.host.local import LocalMattermost


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
        nodes: int = 1,
    ) -> None:
        if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
            raise ValueError(f"nodes must be a whole number of at least 1, not {nodes!r}")
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
        host = cast("LocalMattermost", self)  # a LocalCore is always a LocalMattermost's part
        self.nodes: list[LocalNode] = [LocalNode(host, index) for index in range(nodes)]
        """The plugin's nodes (one unless ``nodes=N``): its processes, sharing this server's
        store and clock (see :mod:`mattermost_plugin.host._local_nodes`)."""
        self._next_node = 0
        self._nodes_lock = threading.Lock()
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
    def clustered(self) -> bool:
        """Whether the plugin runs on more than one node."""
        return len(self.nodes) > 1

    @property
    def _supervisor(self) -> PluginSupervisor | None:
        """The supervisor of the node serving the current call, else of the first running
        node, else the first one there is."""
        node = current_node()
        if node is not None and node.local is self:
            return node.supervisor
        supervisors = [n.supervisor for n in self.nodes if n.supervisor is not None]
        running = [s for s in supervisors if s.state == "running" and s.returncode is None]
        found = running or supervisors
        return found[0] if found else None

    def _serving(self) -> LocalNode:
        """The node that serves the current call: the one already serving it, else the next
        running one in round robin (the first node when none runs: calls then fail)."""
        node = current_node()
        if node is not None and node.local is self:
            return node
        if len(self.nodes) == 1:
            return self.nodes[0]
        with self._nodes_lock:
            count = len(self.nodes)
            for step in range(count):
                candidate = self.nodes[(self._next_node + step) % count]
                if candidate.running:
                    self._next_node = (candidate.index + 1) % count
                    return candidate
        return self.nodes[0]

    @contextlib.contextmanager
    def serving(self) -> Iterator[LocalNode]:
        """``with mm.serving() as node:``: every hook and HTTP request in the block (on this
        thread) runs on one node, the one already serving, else the next in round robin."""
        with on_node(self._serving()) as node:
            yield node

    def _node_fields(self, node: LocalNode | None = None) -> dict[str, Any]:
        """``{"node": i}`` for events on a cluster; nothing with one node."""
        if not self.clustered:
            return {}
        node = node if node is not None else current_node()
        return {"node": node.index} if node is not None and node.local is self else {}

    def _serve_nodes(self, fake: FakeMattermost) -> None:
        """Give each node its own API endpoint (one node shares the host's) and deliver the
        cluster events between them."""
        from mattermost_plugin.host.fake_server import serve

        if not self.clustered:
            self.nodes[0].api_target = self.api_target
            return
        for node in self.nodes:
            node.server, node.api_target = serve(fake, interceptors=[NodeInterceptor(node)])
        fake.deliver_cluster_event = self._deliver_cluster_event

    def _deliver_cluster_event(self, event: ClusterEvent, context: Any) -> None:
        """What the server's cluster does with a published event: ``OnPluginClusterEvent``
        once on every other running node (every node when no node published it)."""
        sender = current_node()
        request = hooks_command_pb2.OnPluginClusterEventRequest(
            plugin_context=self._context(), event=event.event
        )
        for node in self.nodes:
            if node is not sender and node.running:
                self._fire("OnPluginClusterEvent", request, wait=False, node=node)

    @property
    def supervisor(self) -> PluginSupervisor:
        """The supervisor of the running plugin process (on a cluster: of the node serving
        the current call, else the first running one; ``nodes[i].supervisor`` for one)."""
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
        """Whether the plugin runs (on a cluster: on at least one node)."""
        if self.clustered:
            return any(node.running for node in self.nodes)
        supervisor = self.nodes[0].supervisor
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
        """Run a fake PluginAPI method in process (its hooks on one node); raise its
        FakeAppError."""
        with self.serving():
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
            record.node,
            record.time,
        )
        with self._logs_changed:
            self.logs.append(record)
            self._logs_changed.notify_all()
        self._emit(
            "log",
            record.message,
            level=record.level,
            fields={
                **record.fields,
                "source": record.source,
                **({"node": record.node} if self.clustered and record.node is not None else {}),
            },
        )

    def _on_stderr_log(self, record: HclogRecord | str, node: int | None = None) -> None:
        if isinstance(record, str):
            self._add_log(LogRecord("debug", record, {}, "stderr", node))
        else:
            self._add_log(
                LogRecord(record.level, record.message, dict(record.fields), "stderr", node)
            )

    def _on_api_log(self, entry: LogEntry) -> None:
        message = cut_text(entry.message, self.max_log_line)  # stderr lines come cut already
        node = current_node()
        index = node.index if node is not None and node.local is self else None
        self._add_log(LogRecord(entry.level, message, dict(entry.fields), "api", index))

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
        :class:`HookCallError` when the call fails on the transport (crash, deadline). On a
        cluster it runs on the node serving the current call (else the next one)."""
        node = self._serving()
        supervisor = node.supervisor
        observer = self.hook_observer
        if observer is not None:
            self._current_call.request = (hook, request, node.index)
            with contextlib.suppress(Exception):  # a broken observer must not break the server
                observer.hook_started(hook)
        if supervisor is None or supervisor.state != "running":
            state = supervisor.state if supervisor is not None else "not started"
            where = f" on {node.name}" if self.clustered else ""
            raise HookCallError(hook, grpc.StatusCode.UNAVAILABLE, f"the plugin is {state}{where}")
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
        self._emit(
            "hook",
            f"{hook} → {outcome}",
            level=level,
            fields={"duration": _ms(seconds), **self._node_fields()},
        )
        observer = self.hook_observer
        if observer is None:
            return
        current = getattr(self._current_call, "request", None)
        self._current_call.request = None  # not kept: a request may hold a whole file
        request, node = None, self._node_index()
        if current is not None and current[0] == hook:
            request, node = current[1], current[2]
        with contextlib.suppress(Exception):  # a broken observer must not break the server
            observer.hook_ended(HookCallInfo(hook, request, outcome, level, seconds, node))

    def _node_index(self) -> int:
        """The node serving the current call (``0``, the first, when none is picked)."""
        node = current_node()
        return node.index if node is not None and node.local is self else SINGLE_NODE

    def _http_started(self) -> None:
        """A request goes to the plugin's ``ServeHTTP`` (for the hook observer)."""
        observer = self.hook_observer
        if observer is not None:
            with contextlib.suppress(Exception):
                observer.hook_started("ServeHTTP")

    def _http_ended(self, method: str, target: str, status: int, seconds: float) -> None:
        """The plugin's ``ServeHTTP`` (on the node serving the current call) answered
        ``status`` (``0``: no answer)."""
        observer = self.hook_observer
        if observer is None:
            return
        outcome = f"answered {status}" if status else "no answer"
        level = "warn" if status >= 500 or not status else "info"
        call = HookCallInfo(
            "ServeHTTP",
            None,
            outcome,
            level,
            seconds,
            self._node_index(),
            summary=f"{method} {target}",
        )
        with contextlib.suppress(Exception):  # a broken observer must not break the server
            observer.hook_ended(call)

    # --- what the fake calls (fake_server.PluginHooks) ----------------------------------

    def run_hook(self, hook: str, request: Message) -> Message | None:
        """Call a hook for the fake and report it; ``None`` when the call failed on the
        transport (the server then goes on as if there were no hook: fail open)."""
        started = time.monotonic()
        with self.serving():
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

    def _fire(
        self, hook: str, request: Message, *, wait: bool, node: LocalNode | None = None
    ) -> None:
        """Call a void hook in the background, like the server's goroutines, on ``node``
        (by default the one serving the current call); ``wait`` blocks until it has run.
        Inside :meth:`_hooks_fired` the call is also collected."""
        target = node if node is not None else self._serving()
        supervisor = target.supervisor
        if supervisor is None or hook not in supervisor.implemented:
            return

        def run() -> None:
            started = time.monotonic()
            with on_node(target):
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
            with self.serving():  # a flow runs its hooks on one node
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
