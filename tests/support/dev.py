"""Run ``mattermost-plugin dev`` as a real subprocess and talk to it over HTTP (tests/dev)."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from mattermost_plugin.host.dev_server import DevServer

REPO = Path(__file__).resolve().parent.parent.parent
WORKBENCH = REPO / "tests" / "local" / "plugins" / "workbench"
_SERVING = re.compile(r"serving on http://127\.0\.0\.1:(\d+)")


def copy_plugin(source: Path, target: Path) -> Path:
    """A copy of a plugin folder (tests edit it, and the dev server keeps state in it)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".mattermost-dev"))
    return target


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class DevProcess:
    proc: subprocess.Popen[str]
    port: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 15.0,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=data, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def post(self, message: str, channel: str = "town-square") -> Answer:
        return self.request("POST", "/api/v4/posts", {"channel_id": channel, "message": message})

    def status(self) -> dict[str, Any]:
        answer = self.request("GET", "/dev/status")
        assert answer.status == 200, answer
        data: dict[str, Any] = answer.json()
        return data

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; status {status}\n--- output ---\n{self.output}")
            time.sleep(0.05)

    def wait_output(self, pattern: str, timeout: float = 10.0) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if regex.search(line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no output line matching {pattern!r}:\n{self.output}")


def _read(proc: subprocess.Popen[str], dev: DevProcess, ready: threading.Event) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        dev.lines.append(line.rstrip("\n"))
        match = _SERVING.search(line)
        if match:
            dev.port = int(match[1])
            ready.set()
    ready.set()


@contextmanager
def dev_server(plugin_dir: Path, *args: str, timeout: float = 15.0) -> Iterator[DevProcess]:
    """``mattermost-plugin dev plugin_dir --port 0 *args``; stopped with SIGTERM after."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mattermost_plugin.cli",
            "dev",
            str(plugin_dir),
            "--port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    dev = DevProcess(proc)
    ready = threading.Event()
    reader = threading.Thread(target=_read, args=(proc, dev, ready), daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout) or not dev.port:
            raise AssertionError(f"the dev server did not start:\n{dev.output}")
        yield dev
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(5)


def start_dev(folder: Path, **options: Any) -> tuple[DevServer, io.StringIO]:
    """A dev server in this process for the plugin in ``folder``: a free port, state in
    memory, no reloading, its output in the returned buffer; started, plugin running."""
    output = io.StringIO()
    server = DevServer(
        folder,
        port=0,
        db=None,
        reload=False,
        console=Console(file=output, width=200, color_system=None),
        **options,
    )
    server.start()
    assert server.local.running, output.getvalue()
    return server, output


RAW_ANSWERS = REPO / "tests" / "dev" / "plugins" / "raw_answers"
HOSTILE = REPO / "tests" / "dev" / "plugins" / "hostile"


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Send raw bytes; read until the server closes the connection or ``timeout`` passes
    without a byte. Returns what was read and whether the server closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return received, False
            if not chunk:
                return received, True
            received += chunk


def head_and_body(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (last value wins, names lowercased) and raw body of one answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def process_threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def process_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
