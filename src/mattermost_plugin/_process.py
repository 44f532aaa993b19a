"""The plugin side of the go-plugin process contract (PROTOCOL §2), whatever serves the hooks.

:class:`PluginProcess` starts a ``grpc.aio`` server on loopback TCP or a unix socket (in
auto-mTLS mode behind the TLS front of ``_mtls``), serves health, ``GRPCController``
and ``GRPCStdio`` next to the hooks, and prints the one handshake line on stdout. Under a
host, everything else written to stdout or stderr goes through the output relay of
``_stdio``, so nothing a plugin prints can corrupt the protocol or be misread as a log
entry; started by hand, stdout leads to stderr as plain text. It stops
gracefully on ``GRPCController.Shutdown``, SIGTERM and SIGINT, and also when its parent
process dies, so a plugin never outlives the server that started it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import faulthandler
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import empty_pb2

# grpcio-health-checking ships no type information.
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

from mattermost_plugin._mtls import MTLSError, TLSFront, check_client_cert, generate_certificate
from mattermost_plugin._pb.go_plugin import (
    grpc_controller_pb2,
    grpc_controller_pb2_grpc,
    grpc_stdio_pb2,
    grpc_stdio_pb2_grpc,
)
from mattermost_plugin._stdio import OutputRelay
from mattermost_plugin.logging import configure_logging

if TYPE_CHECKING:
    from grpc.aio import ServicerContext

__all__ = [
    "APP_PROTOCOL_VERSION",
    "CORE_PROTOCOL_VERSION",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_PARENT_DIED",
    "HEALTH_SERVICE",
    "MAGIC_COOKIE_KEY",
    "MAGIC_COOKIE_VALUE",
    "MAX_MESSAGE_ENV",
    "STOP_BUDGET",
    "PluginProcess",
]

MAGIC_COOKIE_KEY = "MATTERMOST_PLUGIN"
MAGIC_COOKIE_VALUE = "Securely message teams, anywhere."
CORE_PROTOCOL_VERSION = 1  # go-plugin's own handshake version
APP_PROTOCOL_VERSION = 1  # Mattermost's plugin protocol version
HEALTH_SERVICE = "plugin"  # the service name go-plugin's host checks
MAX_MESSAGE_ENV = "MATTERMOST_PLUGIN_MAX_MESSAGE_BYTES"
"""Caps the size of one hook message the plugin accepts; unset: no cap (PROTOCOL §6)."""

STOP_BUDGET = 2.0
"""Seconds from a stop request to process exit: the host kills the plugin 2 s after Shutdown."""
_EXIT_MARGIN = 0.4  # kept out of the budget for the interpreter to tear down, even when busy
PARENT_POLL_INTERVAL = 0.5

EXIT_OK = 0
"""A requested stop: Shutdown, SIGTERM or SIGINT."""
EXIT_ERROR = 1
"""Bad environment (protocol version, port range, socket group, client cert) or no listener."""
EXIT_PARENT_DIED = 3
"""The parent process went away; the stop was still graceful."""

_NOT_UNDER_HOST_NOTE = (
    "mattermost-plugin: {key} is not set, so this process was not started by a Mattermost "
    "server. It prints the go-plugin handshake line and waits for connections anyway, which "
    "is how to check that the plugin starts; API calls need MATTERMOST_PLUGIN_API_TARGET.\n"
)

_log = logging.getLogger("mattermost_plugin.process")


class _ConfigError(Exception):
    """The environment asks for something this process cannot do."""


@dataclass(frozen=True)
class _Config:
    min_port: int
    max_port: int
    socket_dir: str | None
    socket_gid: int | None
    client_cert_pem: bytes | None
    max_message_bytes: int | None


def _read_config(env: Mapping[str, str]) -> _Config:
    versions = env.get("PLUGIN_PROTOCOL_VERSIONS", "")
    # Unset means started by hand: go-plugin then uses the plugin's own version.
    if versions.strip():
        offered = {v.strip() for v in versions.split(",")}
        if str(APP_PROTOCOL_VERSION) not in offered:
            raise _ConfigError(
                f"the host offers plugin protocol versions {versions!r} "
                f"(PLUGIN_PROTOCOL_VERSIONS); this SDK speaks version {APP_PROTOCOL_VERSION}"
            )

    def port(name: str, default: int) -> int:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        if not raw.isdigit() or int(raw) > 65535:
            raise _ConfigError(f"{name}={raw!r} is not a port number")
        return int(raw)

    # Both unset (or 0) means any free port, as in go-plugin.
    min_port = port("PLUGIN_MIN_PORT", 0)
    max_port = port("PLUGIN_MAX_PORT", 65535 if min_port else 0)
    if min_port > max_port:
        raise _ConfigError(f"PLUGIN_MIN_PORT={min_port} is greater than PLUGIN_MAX_PORT={max_port}")

    socket_dir = env.get("PLUGIN_UNIX_SOCKET_DIR") or None
    socket_gid = None
    group = env.get("PLUGIN_UNIX_SOCKET_GROUP", "").strip()
    if socket_dir and group:
        if group.isdigit():
            socket_gid = int(group)
        else:
            import grp  # Unix only, like unix sockets

            try:
                socket_gid = grp.getgrnam(group).gr_gid
            except KeyError:
                raise _ConfigError(f"PLUGIN_UNIX_SOCKET_GROUP: no group named {group!r}") from None

    cert = env.get("PLUGIN_CLIENT_CERT", "").strip()
    cap = env.get(MAX_MESSAGE_ENV, "").strip()
    if cap and (not cap.isdigit() or int(cap) == 0):
        raise _ConfigError(f"{MAX_MESSAGE_ENV}={cap!r} is not a positive number of bytes")
    return _Config(
        min_port,
        max_port,
        socket_dir,
        socket_gid,
        cert.encode() if cert else None,
        int(cap) if cap else None,
    )


# --- go-plugin services ------------------------------------------------------------------------


class _Controller(grpc_controller_pb2_grpc.GRPCControllerServicer):
    def __init__(self, request_stop: Callable[[str], None]) -> None:
        self._request_stop = request_stop

    async def Shutdown(
        self, request: grpc_controller_pb2.Empty, context: ServicerContext[Any, Any]
    ) -> grpc_controller_pb2.Empty:
        # Answer first, stop after: the host waits for this reply before its 2 s kill timer.
        self._request_stop("GRPCController.Shutdown")
        return grpc_controller_pb2.Empty()


class _Stdio(grpc_stdio_pb2_grpc.GRPCStdioServicer):
    """Output is never forwarded here: it reaches stderr, which the host reads directly.
    The stream stays open without data until the process stops, so the host sees neither
    an error nor a premature end."""

    def __init__(self, done: asyncio.Event) -> None:
        self._done = done

    async def StreamStdio(
        self, request: empty_pb2.Empty, context: ServicerContext[Any, Any]
    ) -> AsyncIterator[grpc_stdio_pb2.StdioData]:
        await self._done.wait()
        return
        yield  # unreachable: makes this an async generator that ends without data


# --- the process -------------------------------------------------------------------------------


class PluginProcess:
    """Run a plugin's gRPC server under the go-plugin process contract.

    ``register(server)`` adds the ``PluginHooks`` servicer (and anything else) to the
    ``grpc.aio.Server`` before it starts; services it registers replace the built-in
    health, controller and stdio services. ``on_stop(seconds)`` runs when the
    process is asked to stop, after the server stopped taking new RPCs while in-flight ones
    finish; it gets the seconds left of the 2 s stop budget and is cancelled when they run
    out. ``environ`` replaces ``os.environ`` for reading the go-plugin variables.

    The server accepts hook messages of any size (the host sends whole uploads in one
    message), unless ``max_message_bytes``, else ``$MATTERMOST_PLUGIN_MAX_MESSAGE_BYTES``,
    caps them; a larger message is then refused with ``RESOURCE_EXHAUSTED`` before any
    handler sees it.
    """

    def __init__(
        self,
        register: Callable[[grpc.aio.Server], None],
        *,
        on_stop: Callable[[float], Awaitable[None]] | None = None,
        environ: Mapping[str, str] | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        if max_message_bytes is not None and (
            not isinstance(max_message_bytes, int)
            or isinstance(max_message_bytes, bool)
            or max_message_bytes <= 0
        ):
            raise ValueError(
                f"max_message_bytes must be a positive int or None, not {max_message_bytes!r}"
            )
        self._register = register
        self._on_stop = on_stop
        self._environ = os.environ if environ is None else environ
        self._max_message_bytes = max_message_bytes

    def run(self) -> int:
        """Serve until stopped; return the exit code: :data:`EXIT_OK` after Shutdown, SIGTERM
        or SIGINT, :data:`EXIT_PARENT_DIED` when the parent process went away,
        :data:`EXIT_ERROR` when the environment is unusable (the reason is on stderr)."""
        parent = os.getppid()  # early: the parent may die while we start
        under_host = self._environ.get(MAGIC_COOKIE_KEY) == MAGIC_COOKIE_VALUE
        handshake_fd, relay = _take_stdio(relay=under_host)
        try:
            configure_logging()
            if not faulthandler.is_enabled():
                # A crash's traceback, on the real stderr: the relay thread dies with us.
                with contextlib.suppress(Exception):  # a sys.stderr without a descriptor
                    faulthandler.enable(
                        relay.real_stderr if relay is not None else sys.stderr, all_threads=True
                    )
            if not under_host:
                sys.stderr.write(_NOT_UNDER_HOST_NOTE.format(key=MAGIC_COOKIE_KEY))
                sys.stderr.flush()
            try:
                config = _read_config(self._environ)
                if self._max_message_bytes is not None:
                    config = dataclasses.replace(config, max_message_bytes=self._max_message_bytes)
                if config.client_cert_pem is not None:
                    check_client_cert(config.client_cert_pem)
            except (_ConfigError, MTLSError, RuntimeError) as exc:
                if relay is not None:  # an error line in the server's log
                    _log.error("%s", exc)
                else:
                    sys.stderr.write(f"mattermost-plugin: error: {exc}\n")
                    sys.stderr.flush()
                return EXIT_ERROR
            return asyncio.run(self._serve(config, handshake_fd, parent))
        finally:
            os.close(handshake_fd)

    async def _serve(self, config: _Config, handshake_fd: int, parent: int) -> int:
        loop = asyncio.get_running_loop()
        stop_requested = asyncio.Event()
        stopped = asyncio.Event()  # ends StreamStdio streams
        reasons: list[str] = []

        def request_stop(reason: str) -> None:
            if not stop_requested.is_set():
                reasons.append(reason)
                stop_requested.set()

        server = grpc.aio.server(
            options=[
                ("grpc.so_reuseport", 0),
                # -1: no limit. gRPC's default of 4 MiB would refuse every upload above it,
                # and the host then silently skips the plugin's FileWillBeUploaded.
                ("grpc.max_receive_message_length", config.max_message_bytes or -1),
                ("grpc.max_send_message_length", -1),
            ]
        )
        health_servicer = health.aio.HealthServicer()
        await health_servicer.set(HEALTH_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server(
            _Controller(request_stop), server
        )
        grpc_stdio_pb2_grpc.add_GRPCStdioServicer_to_server(_Stdio(stopped), server)
        # Last: for the same method gRPC keeps the handler registered last, so a plugin may
        # replace the built-in services.
        self._register(server)

        cert, front = None, None
        bind = server.add_insecure_port
        try:
            if config.client_cert_pem is not None:
                cert = generate_certificate()
                front = TLSFront(cert, config.client_cert_pem)
                server.add_insecure_port(f"unix:{front.backend}")
                bind = front.bind
            network, address = _listen(bind, config)
        except (_ConfigError, MTLSError) as exc:
            _log.error("cannot listen: %s", exc)
            if front is not None:
                await front.close()
            return EXIT_ERROR
        await server.start()
        if front is not None:
            await front.start()
        if network == "unix":
            _protect_socket(address, config.socket_gid)

        for signum in (signal.SIGTERM, signal.SIGINT):
            # Before the handshake: the host may signal as soon as it has read it.
            # Not possible outside the main thread; the host still has Shutdown then.
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(signum, request_stop, signal.Signals(signum).name)

        line = f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|{network}|{address}|grpc"
        if cert is not None:
            line += "|" + base64.b64encode(cert.cert_der).decode().rstrip("=")
        os.write(handshake_fd, (line + "\n").encode())
        _log.debug(
            "plugin server listening",
            extra={"network": network, "address": address, "tls": cert is not None},
        )

        watcher = asyncio.ensure_future(_watch_parent(parent, request_stop))
        try:
            await stop_requested.wait()
        finally:
            watcher.cancel()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                    loop.remove_signal_handler(signum)

        reason = reasons[0]
        _log.info("plugin stopping", extra={"reason": reason})
        deadline = loop.time() + STOP_BUDGET - _EXIT_MARGIN
        await health_servicer.enter_graceful_shutdown()
        stopped.set()
        # stop() refuses new RPCs at once and gives in-flight ones the grace period.
        server_stopped = asyncio.ensure_future(server.stop(max(0.0, deadline - loop.time())))
        await asyncio.sleep(0)  # let stop() close the doors before on_stop starts
        if self._on_stop is not None:
            remaining = max(0.0, deadline - loop.time())
            try:
                await asyncio.wait_for(self._on_stop(remaining), timeout=remaining)
            except asyncio.TimeoutError:
                _log.warning("on_stop did not finish within the stop budget; cancelled")
            except Exception:
                _log.exception("on_stop failed")
        await server_stopped
        if front is not None:
            await front.close()
        _log.debug("plugin stopped", extra={"reason": reason})
        return EXIT_PARENT_DIED if reason == "parent process exited" else EXIT_OK


def _take_stdio(*, relay: bool) -> tuple[int, OutputRelay | None]:
    """Keep a private copy of the real stdout for the handshake line only, and return it.

    With ``relay``, fd 1 and fd 2 then lead to the output relay (``_stdio``), which hands
    the host every line as hclog, and it is returned too; without it, fd 1 and
    ``sys.stdout`` lead to stderr, as plain text for a person at a terminal. Done before
    anything else runs, so text buffered at import time lands there instead of in front of
    the handshake."""
    handshake_fd = os.dup(1)
    if relay:
        return handshake_fd, OutputRelay()
    os.dup2(2, 1)
    with contextlib.suppress(Exception):  # a replaced or closed sys.stdout
        sys.stdout.flush()
    sys.stdout = sys.stderr
    return handshake_fd, None


def _listen(bind: Callable[[str], int], config: _Config) -> tuple[str, str]:
    """Listen where the host asked, through ``bind`` (gRPC's ``add_insecure_port``, or the
    mTLS front's), which takes ``"127.0.0.1:PORT"`` or ``"unix:PATH"``, returns the port and
    raises ``RuntimeError`` when it cannot; return the handshake's network and address."""
    if config.socket_dir is not None:
        # Short name: unix socket paths are limited to about 104 bytes.
        path = os.path.join(os.path.abspath(config.socket_dir), f"plugin{secrets.token_hex(4)}")
        old_umask = os.umask(0o177)  # no window in which the socket is open to others
        try:
            bind(f"unix:{path}")
        except RuntimeError as exc:
            raise _ConfigError(f"cannot bind unix socket {path}: {exc}") from None
        finally:
            os.umask(old_umask)
        return "unix", path

    if config.max_port == 0:
        return "tcp", f"127.0.0.1:{bind('127.0.0.1:0')}"
    for port in range(max(config.min_port, 1), config.max_port + 1):
        # Probe first: gRPC logs an error line for every port it fails to bind.
        if _port_free(port):
            with contextlib.suppress(RuntimeError):  # taken between probe and bind
                return "tcp", f"127.0.0.1:{bind(f'127.0.0.1:{port}')}"
    raise _ConfigError(
        f"no free TCP port on 127.0.0.1 in {config.min_port}..{config.max_port} "
        "(PLUGIN_MIN_PORT..PLUGIN_MAX_PORT)"
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same as gRPC: a port with connections in TIME_WAIT is usable.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _protect_socket(path: str, gid: int | None) -> None:
    if gid is None:
        os.chmod(path, 0o600)
    else:
        os.chown(path, -1, gid)
        os.chmod(path, 0o660)


async def _watch_parent(parent: int, request_stop: Callable[[str], None]) -> None:
    """Stop when the parent process is gone (we get re-parented), so a plugin whose server
    was SIGKILLed does not live on. Polling rather than prctl(PR_SET_PDEATHSIG): that fires
    when the *thread* that spawned us exits, which a host may well do while still running."""
    while True:
        if os.getppid() != parent:
            request_stop("parent process exited")
            return
        await asyncio.sleep(PARENT_POLL_INTERVAL)
