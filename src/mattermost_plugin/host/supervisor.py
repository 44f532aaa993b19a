"""Run a Python plugin the way the Mattermost server's Go "python supervisor" does.

:class:`PluginSupervisor` finds an interpreter, spawns ``<python> <server.executable>`` in the
plugin folder with the go-plugin environment, reads the handshake line, connects (over TLS
in auto-mTLS mode), checks health, asks ``Implemented()`` and calls ``OnActivate()``. While
running it pings health in the background and restarts or disables the plugin by the
server's policy; :meth:`PluginSupervisor.stop` calls ``OnDeactivate``, then
``GRPCController.Shutdown``, and kills the process if it is still there 2 s later
(PROTOCOL §2). Its stderr is read as hclog lines into :attr:`PluginSupervisor.logs`, a
ring of the latest lines, each cut at 64 KiB (both configurable).
"""

from __future__ import annotations

import base64
import binascii
import collections
import dataclasses
import logging
import os
import queue
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, NamedTuple

import grpc
from google.protobuf.message import Message

# grpcio-health-checking ships no type information.
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

from mattermost_plugin._mtls import Certificate, generate_certificate, remove_abandoned_dirs
from mattermost_plugin._pb.go_plugin import grpc_controller_pb2, grpc_controller_pb2_grpc
from mattermost_plugin._pb.pluginapi.v1 import common_pb2, hooks_lifecycle_pb2, hooks_pb2_grpc
from mattermost_plugin._process import (
    APP_PROTOCOL_VERSION,
    CORE_PROTOCOL_VERSION,
    HEALTH_SERVICE,
    MAGIC_COOKIE_KEY,
    MAGIC_COOKIE_VALUE,
)
from mattermost_plugin.host._coverage import PluginCoverage, plugin_coverage
from mattermost_plugin.host._logring import MAX_LOG_LINE, MAX_LOG_LINES, LogRing, read_lines
from mattermost_plugin.logging import HclogRecord, Redactor, parse_hclog_line
from mattermost_plugin.manifest import Manifest, ManifestError, load_manifest

__all__ = [
    "DEFAULT_PORT_RANGE",
    "Handshake",
    "HandshakeJunkError",
    "HandshakeTimeoutError",
    "InterpreterNotFoundError",
    "LogLine",
    "PluginActivationError",
    "PluginExitedError",
    "PluginNotRunningError",
    "PluginStartError",
    "PluginState",
    "PluginSupervisor",
    "ProtocolVersionError",
    "RestartPolicy",
    "find_interpreter",
    "hook_error_text",
    "parse_handshake",
]

DEFAULT_PORT_RANGE = (10000, 25000)
SHUTDOWN_WAIT = 2.0
"""Seconds between ``GRPCController.Shutdown`` and SIGKILL, as on the server."""
STDERR_TAIL_LINES = 20

# The server's interpreter search inside the plugin folder (PROTOCOL §2.1).
_VENV_INTERPRETERS = (
    "venv/bin/python",
    "venv/bin/python3",
    ".venv/bin/python",
    ".venv/bin/python3",
)

PluginState = Literal["stopped", "starting", "running", "restarting", "disabled"]

_log = logging.getLogger("mattermost_plugin.host.supervisor")


# --- errors ------------------------------------------------------------------------------------


class PluginStartError(Exception):
    """The plugin could not be started; the message says why."""


class InterpreterNotFoundError(PluginStartError):
    """No Python interpreter in the plugin's venv or on PATH."""


class HandshakeJunkError(PluginStartError):
    """The first stdout line was not a handshake line."""

    def __init__(self, line: str, stderr_tail: list[str]) -> None:
        self.line = line
        self.stderr_tail = stderr_tail
        super().__init__(
            f"the plugin wrote {line!r} on stdout before the handshake line; nothing may be "
            "printed on stdout before it (log to stderr instead)" + _format_tail(stderr_tail)
        )


class HandshakeTimeoutError(PluginStartError):
    """No handshake line in time."""


class PluginExitedError(PluginStartError):
    """The process exited before the handshake."""

    def __init__(self, returncode: int, stderr_tail: list[str]) -> None:
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        super().__init__(
            f"the plugin process exited with code {returncode} before the handshake"
            + _format_tail(stderr_tail)
        )


class ProtocolVersionError(PluginStartError):
    """The handshake names a protocol version or transport this host does not speak."""


def hook_error_text(error: common_pb2.AppError) -> str:
    """A hook's ``AppError`` as the server shows it: rebuilt from ``where``, ``id`` and
    ``detailed_error`` (the server ignores ``message`` and shows the translation of ``id``,
    which for an id it does not know is the id itself; PROTOCOL.md §6)."""
    text = error.id or "unknown error"
    if error.detailed_error:
        text = f"{text}, {error.detailed_error}"
    return f"{error.where}: {text}" if error.where else text


class PluginActivationError(PluginStartError):
    """``OnActivate`` (or ``Implemented``) answered an ``AppError``; the message is what the
    server would show."""

    def __init__(self, hook: str, error: common_pb2.AppError) -> None:
        self.app_error = error
        super().__init__(f"{hook} failed: {hook_error_text(error)}")


class PluginNotRunningError(RuntimeError):
    """A hook was called on a plugin that is not running (stopped, disabled, restarting);
    ``plugin_id`` and ``state`` say which and why."""

    def __init__(self, plugin_id: str, state: str, reason: str | None = None) -> None:
        self.plugin_id = plugin_id
        self.state = state
        super().__init__(
            f"plugin {plugin_id} is {state}, not running" + (f": {reason}" if reason else "")
        )


def _format_tail(tail: list[str]) -> str:
    if not tail:
        return "; it wrote nothing on stderr"
    return "; last lines of its stderr:\n" + "\n".join(f"  {line}" for line in tail)


# --- small types -------------------------------------------------------------------------------


@dataclass
class RestartPolicy:
    """When the health check restarts or disables a plugin. The defaults are the server's."""

    ping_interval: float = 30.0
    """Seconds between health pings."""
    ping_failures_per_failure: int = 3
    """Failed pings in a row that count as one failure. A process that exited is one at once."""
    failures_before_disable: int = 3
    """Failures within ``failure_window`` that disable the plugin instead of restarting it."""
    failure_window: float = 3600.0
    ping_timeout: float = 5.0
    """Deadline of one health ping."""
    restart_deactivate_timeout: float = 5.0
    """Deadline of ``OnDeactivate`` before a restart (the process is unhealthy)."""


class LogLine(NamedTuple):
    """One line of the plugin's stderr: hclog JSON keeps its level and fields, any other
    line is ``debug`` with no fields."""

    level: str
    message: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Handshake:
    """A parsed go-plugin handshake line."""

    core_version: int
    app_version: int
    network: Literal["tcp", "unix"]
    address: str
    protocol: str
    server_cert_der: bytes | None = None

    @property
    def target(self) -> str:
        """The gRPC target to dial."""
        return f"unix:{self.address}" if self.network == "unix" else self.address


def parse_handshake(line: str) -> Handshake:
    """Parse ``core|app|network|address|protocol[|cert]``; raise :class:`ProtocolVersionError`
    for versions, networks or protocols this host does not speak and ``ValueError`` for a
    line that is not a handshake at all."""
    parts = line.strip().split("|")
    if len(parts) < 5 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ValueError(f"not a go-plugin handshake line: {line!r}")
    core, app, network, address, protocol = parts[:5]
    if int(core) != CORE_PROTOCOL_VERSION:
        raise ProtocolVersionError(
            f"the plugin speaks go-plugin core protocol {core}; this host speaks "
            f"{CORE_PROTOCOL_VERSION} (handshake {line!r})"
        )
    if int(app) != APP_PROTOCOL_VERSION:
        raise ProtocolVersionError(
            f"the plugin chose plugin protocol version {app}; this host offered only "
            f"{APP_PROTOCOL_VERSION} (handshake {line!r})"
        )
    if network not in ("tcp", "unix"):
        raise ProtocolVersionError(f"unknown network {network!r} in handshake {line!r}")
    if protocol != "grpc":
        raise ProtocolVersionError(f"the plugin speaks {protocol!r}, not grpc ({line!r})")
    cert = None
    if len(parts) > 5 and parts[5]:
        try:  # go-plugin writes base64 without padding
            cert = base64.b64decode(parts[5] + "=" * (-len(parts[5]) % 4), validate=True)
        except binascii.Error:
            raise ProtocolVersionError(f"bad server certificate in handshake {line!r}") from None
    kind: Literal["tcp", "unix"] = "tcp" if network == "tcp" else "unix"
    return Handshake(int(core), int(app), kind, address, protocol, cert)


def find_interpreter(plugin_dir: Path, manifest: Manifest | None = None) -> str:
    """The interpreter the server would run the plugin with: ``bin/python[3]`` of the
    manifest's ``server.python.venv_path``, then ``venv/`` and ``.venv/`` in the plugin
    folder, then ``python3`` and ``python`` on PATH."""
    candidates: list[str] = []
    if manifest is not None and manifest.server is not None:
        venv_path = manifest.server.python.venv_path
        if venv_path is not None:
            candidates += [f"{venv_path}/bin/python", f"{venv_path}/bin/python3"]
    for relative in (*candidates, *_VENV_INTERPRETERS):
        path = plugin_dir / relative
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    for name in ("python3", "python"):
        found = shutil.which(name)
        if found:
            return found
    raise InterpreterNotFoundError(
        f"no Python interpreter for {plugin_dir}: none in its venv/ or .venv/ "
        "(or server.python.venv_path) and neither python3 nor python on PATH"
    )


# --- one running process -----------------------------------------------------------------------


class _Instance:
    """One spawned plugin process with its reader threads and, once connected, its channel."""

    def __init__(
        self, proc: subprocess.Popen[bytes], sink: Callable[[str], None], max_line: int
    ) -> None:
        self.proc = proc
        self.max_line = max_line
        self.socket_dir: str | None = None
        self.coverage: PluginCoverage | None = None
        self.closed = False
        self.channel: grpc.Channel | None = None
        self.handshake: Handshake | None = None
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.first_line: queue.Queue[str | None] = queue.Queue()
        self._sink = sink
        assert proc.stdout is not None and proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(proc.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self, stream: IO[bytes]) -> None:
        # The first line is the handshake; the rest is read only so the pipe never fills.
        first = next(read_lines(stream, self.max_line), None)
        self.first_line.put(first)
        while stream.read(65536):
            pass
        stream.close()

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for line in read_lines(stream, self.max_line):
            self.stderr_tail.append(line)
            self._sink(line)
        stream.close()

    def drain_stderr(self, timeout: float = 1.0) -> list[str]:
        """The stderr tail once the reader saw the end (the process has exited)."""
        self._threads[1].join(timeout)
        return list(self.stderr_tail)

    def close(self) -> None:
        self.closed = True
        if self.channel is not None:
            self.channel.close()
        for thread in self._threads:
            thread.join(1.0)
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)


# --- the supervisor ----------------------------------------------------------------------------


class PluginSupervisor:
    """Start, watch and stop one Python plugin process like the Mattermost server does.

    ``api_target`` becomes ``MATTERMOST_PLUGIN_API_TARGET``; ``env`` is added last to the
    inherited environment. ``python`` overrides interpreter discovery. ``mtls=True`` enables
    go-plugin auto-mTLS (needs ``cryptography``); ``unix_socket=True`` asks for a unix socket
    in a fresh private folder, owned by ``unix_socket_group`` when given. ``on_log`` gets
    each stderr line, parsed when it is hclog JSON, from a reader thread. :attr:`logs` keeps
    the latest ``max_log_lines`` lines; a line longer than ``max_log_line`` bytes is cut
    (and marked). Fields named like secrets, or like the settings the manifest marks
    ``secret``, are redacted in :attr:`logs` and in what is re-logged.
    """

    def __init__(
        self,
        plugin_dir: str | os.PathLike[str],
        *,
        api_target: str | None = None,
        env: Mapping[str, str] | None = None,
        handshake_timeout: float = 10.0,
        hook_timeout: float = 30.0,
        deactivate_timeout: float = 30.0,
        restart_policy: RestartPolicy | None = None,
        python: str | None = None,
        on_log: Callable[[HclogRecord | str], None] | None = None,
        mtls: bool = False,
        unix_socket: bool = False,
        unix_socket_group: str | None = None,
        port_range: tuple[int, int] = DEFAULT_PORT_RANGE,
        max_log_lines: int = MAX_LOG_LINES,
        max_log_line: int = MAX_LOG_LINE,
    ) -> None:
        self.plugin_dir = Path(plugin_dir).resolve()
        self.api_target = api_target
        self.env = dict(env or {})
        self.handshake_timeout = handshake_timeout
        self.hook_timeout = hook_timeout
        self.deactivate_timeout = deactivate_timeout
        self.restart_policy = restart_policy or RestartPolicy()
        self.python = python
        self.on_log = on_log
        self.mtls = mtls
        self.unix_socket = unix_socket
        self.unix_socket_group = unix_socket_group
        self.port_range = port_range

        self.manifest: Manifest | None = None
        self.implemented: list[str] = []
        self.max_log_line = max_log_line
        self.logs: LogRing[LogLine] = LogRing(max_log_lines)
        """The latest stderr lines, across restarts (``logs.total`` counts them all)."""
        self._redactor = Redactor()
        self.restarts = 0
        self.failures: list[float] = []
        """``time.monotonic()`` of each health failure inside the window."""
        self.disabled_reason: str | None = None
        self.handshake_seconds: float | None = None
        """Spawn-to-handshake time of the latest start."""

        self._state: PluginState = "stopped"
        self._state_changed = threading.Condition()
        self._lifecycle = threading.RLock()
        self._instance: _Instance | None = None
        self._closing = threading.Event()
        self._health_thread: threading.Thread | None = None
        self._plugin_log = logging.getLogger("mattermost_plugin.host.plugin")

    # --- public API ----------------------------------------------------------------------

    @property
    def state(self) -> PluginState:
        """``stopped``, ``starting``, ``running``, ``restarting`` or ``disabled``."""
        return self._state

    @property
    def plugin_id(self) -> str:
        """The manifest's id (the folder's name before the first start)."""
        return self.manifest.id if self.manifest is not None else self.plugin_dir.name

    def _not_running(self) -> PluginNotRunningError:
        reason = self.disabled_reason if self._state == "disabled" else None
        return PluginNotRunningError(self.plugin_id, self._state, reason)

    @property
    def channel(self) -> grpc.Channel:
        """The channel to the running process (replaced on restart); raises
        :class:`PluginNotRunningError` when the plugin is stopped or disabled."""
        instance = self._instance
        if (
            instance is None
            or instance.channel is None
            or instance.closed
            or self._state in ("stopped", "disabled")
        ):
            raise self._not_running()
        return instance.channel

    @property
    def hooks(self) -> hooks_pb2_grpc.PluginHooksStub:
        """A ``PluginHooks`` stub on the current channel; pass ``timeout=`` yourself, or use
        :meth:`call` for the host's deadline."""
        return hooks_pb2_grpc.PluginHooksStub(self.channel)

    @property
    def handshake(self) -> Handshake | None:
        """The current process's handshake."""
        return self._instance.handshake if self._instance else None

    @property
    def pid(self) -> int | None:
        """The current process's id."""
        return self._instance.proc.pid if self._instance else None

    @property
    def returncode(self) -> int | None:
        """The current (or last) process's exit code; ``None`` while it runs. Negative: the
        signal that ended it."""
        return self._instance.proc.poll() if self._instance else None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The current (or last) process."""
        return self._instance.proc if self._instance else None

    def start(self) -> None:
        """Spawn the plugin, handshake, check health, ask ``Implemented()`` and call
        ``OnActivate()``; start the health watcher. Raises :class:`PluginStartError`
        (a subclass says which step failed), with the process stopped."""
        with self._lifecycle:
            if self._state not in ("stopped", "disabled"):
                raise RuntimeError(f"plugin is already {self._state}")
            self._closing.clear()
            self.disabled_reason = None
            self.failures.clear()
            self._set_state("starting")
            try:
                self._launch()
            except BaseException:
                self._set_state("stopped")
                raise
            self._set_state("running")
            if self._health_thread is None or not self._health_thread.is_alive():
                self._health_thread = threading.Thread(
                    target=self._watch_health, name="plugin-health", daemon=True
                )
                self._health_thread.start()

    def stop(self) -> None:
        """``OnDeactivate()`` (``deactivate_timeout``), ``GRPCController.Shutdown()``, then
        SIGKILL if the process is still there 2 s later. Safe to call in any state."""
        self._closing.set()
        thread = self._health_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lifecycle:
            if self._instance is not None:
                self._terminate(self._instance, deactivate_timeout=self.deactivate_timeout)
            if self._state != "disabled":
                self._set_state("stopped")

    def call(self, method: str, request: Message, *, timeout: float | None = None) -> Message:
        """Call the unary hook ``method`` (its Go name, e.g. ``"OnConfigurationChange"``)
        with the host's deadline (``hook_timeout``) unless ``timeout`` is given. Raises
        ``grpc.RpcError`` from the call, :class:`PluginNotRunningError` when the plugin is
        not running."""
        if method == "ServeHTTP":
            raise ValueError("ServeHTTP is a stream: call hooks.ServeHTTP(...) instead")
        stub = self.hooks
        callable_ = getattr(stub, method, None)
        if callable_ is None:
            raise ValueError(f"no hook named {method!r}")
        try:
            response: Message = callable_(
                request, timeout=self.hook_timeout if timeout is None else timeout
            )
        except ValueError as exc:  # grpc: "Cannot invoke RPC on closed channel!"
            if self._state != "running" or (self._instance and self._instance.closed):
                raise self._not_running() from exc
            raise
        return response

    def health_check(self, timeout: float | None = None) -> bool:
        """One ``grpc.health.v1.Health/Check("plugin")``: whether it answered SERVING."""
        instance = self._instance
        if instance is None or instance.channel is None or instance.closed:
            return False
        return _ping(instance.channel, timeout or self.restart_policy.ping_timeout)

    def wait_for_state(self, *states: PluginState, timeout: float) -> bool:
        """Block until the state is one of ``states``; ``False`` on timeout."""
        with self._state_changed:
            return self._state_changed.wait_for(lambda: self._state in states, timeout)

    def __enter__(self) -> PluginSupervisor:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- starting ------------------------------------------------------------------------

    def _set_state(self, state: PluginState) -> None:
        with self._state_changed:
            self._state = state
            self._state_changed.notify_all()

    def _load_manifest(self) -> Manifest:
        try:
            manifest = load_manifest(self.plugin_dir)
        except ManifestError as exc:
            raise PluginStartError(f"bad manifest: {exc}") from None
        if not manifest.is_python:
            raise PluginStartError(
                f"{manifest.id} is not a Python plugin (server.runtime is not 'python' and "
                "the executable does not end in .py)"
            )
        return manifest

    def _environment(self, instance_env: Mapping[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env[MAGIC_COOKIE_KEY] = MAGIC_COOKIE_VALUE
        env["PLUGIN_PROTOCOL_VERSIONS"] = str(APP_PROTOCOL_VERSION)
        env["PLUGIN_MIN_PORT"], env["PLUGIN_MAX_PORT"] = map(str, self.port_range)
        if self.api_target is not None:
            env["MATTERMOST_PLUGIN_API_TARGET"] = self.api_target
        env.update(instance_env)
        env.update(self.env)
        return env

    def _launch(self) -> None:
        """Spawn, handshake, connect, check health, Implemented, OnActivate."""
        manifest = self.manifest = self._load_manifest()
        self._plugin_log = logging.getLogger(f"mattermost_plugin.host.plugin.{manifest.id}")
        self._redactor = Redactor(manifest.secret_settings)
        executable = manifest.executable_path(self.plugin_dir)
        if executable is None or not executable.is_file():
            raise PluginStartError(f"server executable {executable} does not exist")
        python = self.python or find_interpreter(self.plugin_dir, manifest)

        extra: dict[str, str] = {}
        client_cert: Certificate | None = None
        if self.mtls:
            client_cert = generate_certificate("P-521")  # as go-plugin's host makes it
            extra["PLUGIN_CLIENT_CERT"] = client_cert.cert_pem.decode()
        socket_dir = None
        if self.unix_socket:
            socket_dir = tempfile.mkdtemp(prefix="mmplug")
            extra["PLUGIN_UNIX_SOCKET_DIR"] = socket_dir
            if self.unix_socket_group is not None:
                extra["PLUGIN_UNIX_SOCKET_GROUP"] = self.unix_socket_group
                os.chmod(socket_dir, 0o750)  # group members must reach the socket

        # Under coverage, the plugin's process is measured too (host/_coverage.py).
        coverage = plugin_coverage(python)
        command = [python, str(executable)]
        if coverage is not None:
            command = coverage.command(python, str(executable))
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                command,
                cwd=self.plugin_dir,
                env=self._environment(extra),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            if socket_dir is not None:
                shutil.rmtree(socket_dir, ignore_errors=True)
            raise PluginStartError(f"cannot run {python}: {exc}") from None
        instance = self._instance = _Instance(proc, self._on_stderr_line, self.max_log_line)
        instance.socket_dir = socket_dir
        instance.coverage = coverage
        try:
            handshake = self._await_handshake(instance, started + self.handshake_timeout)
            self.handshake_seconds = time.monotonic() - started
            instance.handshake = handshake
            instance.channel = _connect(handshake, client_cert)
            deadline = started + self.handshake_timeout
            if not _ping(instance.channel, max(deadline - time.monotonic(), 1.0), wait=True):
                raise PluginStartError(
                    f"the plugin's health service {HEALTH_SERVICE!r} is not SERVING"
                )
            stub = hooks_pb2_grpc.PluginHooksStub(instance.channel)
            implemented = stub.Implemented(
                hooks_lifecycle_pb2.ImplementedRequest(), timeout=self.hook_timeout
            )
            if implemented.HasField("error"):
                raise PluginActivationError("Implemented", implemented.error)
            self.implemented = list(implemented.hooks)
            if "OnActivate" in self.implemented:
                activated = stub.OnActivate(
                    hooks_lifecycle_pb2.OnActivateRequest(), timeout=self.hook_timeout
                )
                if activated.HasField("error"):
                    raise PluginActivationError("OnActivate", activated.error)
        except grpc.RpcError as exc:
            self._terminate(instance, deactivate_timeout=None)
            raise PluginStartError(f"calling the plugin failed: {_rpc_text(exc)}") from None
        except BaseException:
            self._terminate(instance, deactivate_timeout=None)
            raise
        _log.info(
            "plugin started",
            extra={
                "plugin_id": manifest.id,
                "pid": proc.pid,
                "address": handshake.address,
                "handshake_seconds": round(self.handshake_seconds, 3),
            },
        )

    def _await_handshake(self, instance: _Instance, deadline: float) -> Handshake:
        proc = instance.proc
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HandshakeTimeoutError(
                    f"the plugin printed no handshake line within {self.handshake_timeout:g} s"
                    + _format_tail(list(instance.stderr_tail))
                )
            try:
                # Short slices: a process can exit while a child still holds its stdout.
                line = instance.first_line.get(timeout=min(remaining, 0.1))
            except queue.Empty:
                if proc.poll() is None:
                    continue
                line = None
            if line is None:
                try:
                    code = proc.wait(timeout=max(deadline - time.monotonic(), 0.5))
                except subprocess.TimeoutExpired:
                    raise HandshakeTimeoutError(
                        "the plugin closed stdout without a handshake line and did not exit"
                    ) from None
                raise PluginExitedError(code, instance.drain_stderr())
            try:
                return parse_handshake(line)
            except ProtocolVersionError:
                raise
            except ValueError:
                raise HandshakeJunkError(line, list(instance.stderr_tail)) from None

    # --- stopping ------------------------------------------------------------------------

    def _terminate(self, instance: _Instance, *, deactivate_timeout: float | None) -> None:
        """OnDeactivate (when ``deactivate_timeout`` is set), Shutdown, wait, kill, clean up."""
        proc = instance.proc
        channel = instance.channel
        if (
            channel is not None
            and proc.poll() is None
            and deactivate_timeout is not None
            and "OnDeactivate" in self.implemented
        ):
            try:
                response = hooks_pb2_grpc.PluginHooksStub(channel).OnDeactivate(
                    hooks_lifecycle_pb2.OnDeactivateRequest(), timeout=deactivate_timeout
                )
                if response.HasField("error"):
                    _log.warning("OnDeactivate failed: %s", hook_error_text(response.error))
            except grpc.RpcError as exc:
                _log.warning("OnDeactivate failed: %s", _rpc_text(exc))
        # The 2 s grace starts with the Shutdown call: a hung process gets no extra time.
        kill_at = time.monotonic() + SHUTDOWN_WAIT
        if channel is not None and proc.poll() is None:
            try:
                grpc_controller_pb2_grpc.GRPCControllerStub(channel).Shutdown(
                    grpc_controller_pb2.Empty(), timeout=SHUTDOWN_WAIT
                )
            except grpc.RpcError as exc:  # e.g. the process went away while answering
                _log.debug("GRPCController.Shutdown: %s", _rpc_text(exc))
        if channel is None:  # never connected (no handshake): nothing to ask politely
            kill_at = time.monotonic()
        if proc.poll() is None:
            try:
                proc.wait(max(kill_at - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                if channel is not None:
                    _log.warning("plugin ignored Shutdown for %g s; killing it", SHUTDOWN_WAIT)
                proc.kill()
                proc.wait()
        instance.close()
        if instance.coverage is not None:
            instance.coverage.collect()
        if self.mtls and proc.returncode != 0:
            # Killed, or crashed: the plugin could not remove its private TLS folder.
            remove_abandoned_dirs(self._environment({}).get("TMPDIR"))

    # --- health --------------------------------------------------------------------------

    def _watch_health(self) -> None:
        policy = self.restart_policy
        failed_pings = 0
        while not self._closing.wait(policy.ping_interval):
            with self._lifecycle:
                if self._state in ("stopped", "disabled"):
                    return
                if self._closing.is_set() or self._state not in ("running", "restarting"):
                    continue
                instance = self._instance
                if self._state == "running" and instance is not None:
                    if instance.proc.poll() is not None:
                        failed_pings = policy.ping_failures_per_failure
                        reason = f"plugin process exited with code {instance.proc.returncode}"
                    elif self.health_check():
                        failed_pings = 0
                        continue
                    else:
                        failed_pings += 1
                        reason = f"{failed_pings} health checks failed"
                    if failed_pings < policy.ping_failures_per_failure:
                        continue
                else:
                    reason = "restart failed"
                failed_pings = 0
                self._record_failure(reason)

    def _record_failure(self, reason: str) -> None:
        policy = self.restart_policy
        now = time.monotonic()
        self.failures[:] = [t for t in self.failures if now - t < policy.failure_window]
        self.failures.append(now)
        instance = self._instance
        if len(self.failures) >= policy.failures_before_disable:
            self.disabled_reason = (
                f"failed to stay running: {len(self.failures)} failures within "
                f"{policy.failure_window:g} s (last: {reason})"
            )
            _log.error("plugin disabled: %s", self.disabled_reason)
            if instance is not None:
                self._terminate(instance, deactivate_timeout=None)
            self._set_state("disabled")
            return
        _log.warning("plugin failed (%s); restarting it", reason)
        self._set_state("restarting")
        if instance is not None:
            self._terminate(instance, deactivate_timeout=policy.restart_deactivate_timeout)
        try:
            self._launch()
        except PluginStartError as exc:
            _log.error("restarting the plugin failed: %s", exc)
            return  # the next tick counts another failure
        self.restarts += 1
        self._set_state("running")

    # --- logs ----------------------------------------------------------------------------

    def _on_stderr_line(self, line: str) -> None:
        record = parse_hclog_line(line)
        if record is None:
            self.logs.append(LogLine("debug", line, {}))
            self._plugin_log.debug("%s", line)
        else:
            record = dataclasses.replace(record, fields=self._redactor.fields(record.fields))
            self.logs.append(LogLine(record.level, record.message, record.fields))
            self._plugin_log.log(
                record.levelno, "%s%s", record.message, f" {record.fields}" if record.fields else ""
            )
        if self.on_log is not None:
            try:
                self.on_log(record if record is not None else line)
            except Exception:  # a broken callback must not stop the reader and fill the pipe
                _log.exception("on_log callback failed")


# Like go-plugin's client, no cap on hook messages either way: FileWillBeUploaded carries a
# whole upload, and the plugin may answer with a replaced file as large.
_CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]


def _connect(handshake: Handshake, client_cert: Certificate | None) -> grpc.Channel:
    if handshake.server_cert_der is None:
        if client_cert is not None:
            raise PluginStartError(
                "auto-mTLS was requested but the handshake carries no server certificate"
            )
        return grpc.insecure_channel(handshake.target, options=_CHANNEL_OPTIONS)
    if client_cert is None:
        raise PluginStartError("the plugin serves TLS but no client certificate was offered")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ssl.DER_cert_to_PEM_cert(handshake.server_cert_der).encode(),
        private_key=client_cert.key_pem,
        certificate_chain=client_cert.cert_pem,
    )
    # go-plugin's client verifies the server as "localhost", whatever address it dials.
    options = [*_CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", "localhost")]
    return grpc.secure_channel(handshake.target, credentials, options=options)


def _ping(channel: grpc.Channel, timeout: float, *, wait: bool = False) -> bool:
    try:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=HEALTH_SERVICE),
            timeout=timeout,
            wait_for_ready=wait,
        )
    except grpc.RpcError:
        return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def _rpc_text(exc: grpc.RpcError) -> str:
    if isinstance(exc, grpc.Call):
        return f"{exc.code().name}: {exc.details()}"
    return str(exc)
