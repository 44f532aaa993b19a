"""Helpers for tests that run real plugin processes (tests/process)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mattermost_plugin.host.supervisor import PluginSupervisor, RestartPolicy

PLUGINS = Path(__file__).resolve().parent.parent / "process" / "plugins"
TEST_PLUGIN = PLUGINS / "testplugin"
TEST_PLUGIN_SCRIPT = TEST_PLUGIN / "server" / "plugin.py"
HANDSHAKE = re.compile(r"1\|1\|(tcp|unix)\|([^|]+)\|grpc(?:\|([A-Za-z0-9+/]+))?")

# Fast health policy for tests: a crash is noticed within about 0.1 s.
FAST_POLICY = RestartPolicy(
    ping_interval=0.1,
    ping_failures_per_failure=3,
    failures_before_disable=3,
    failure_window=60.0,
    ping_timeout=0.3,
    restart_deactivate_timeout=0.5,
)


def make_supervisor(env: Mapping[str, str] | None = None, **kwargs: Any) -> PluginSupervisor:
    """A supervisor for the test plugin, run with this interpreter."""
    kwargs.setdefault("handshake_timeout", 10.0)
    kwargs.setdefault("hook_timeout", 5.0)
    kwargs.setdefault("restart_policy", FAST_POLICY)
    return PluginSupervisor(TEST_PLUGIN, python=sys.executable, env=env, **kwargs)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without go-plugin or Mattermost variables, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PLUGIN_", "MATTERMOST_", "TEST_"))
    }
    env.update(extra)
    return env


@contextmanager
def run_by_hand(env: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``python server/plugin.py`` in the plugin folder, with pipes; killed on exit."""
    proc = subprocess.Popen(
        [sys.executable, str(TEST_PLUGIN_SCRIPT)],
        cwd=TEST_PLUGIN,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def read_handshake(proc: subprocess.Popen[bytes]) -> re.Match[str]:
    """The handshake line, which must be the first stdout line."""
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    match = HANDSHAKE.fullmatch(line.rstrip("\n"))
    assert match, f"not a handshake line: {line!r}"
    return match


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def process_gone(pid: int) -> bool:
    """Whether ``pid`` exited (a zombie nobody reaped counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The state follows the parenthesised command name, which may contain spaces.
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def health_status(
    channel: Any, service: str = "plugin", timeout: float = 5.0, wait_for_ready: bool = True
) -> str:
    """The health status name of ``service`` on ``channel`` (a ``grpc.Channel``)."""
    # grpcio-health-checking ships no type information.
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

    response = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service),
        timeout=timeout,
        wait_for_ready=wait_for_ready,
    )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
