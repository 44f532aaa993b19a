"""Connection bursts and slow clients: a listen backlog that holds 100 simultaneous
connects, and a header deadline so that a slowloris client cannot hold a thread."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from tests.support.dev import RAW_ANSWERS, DevProcess, copy_plugin, dev_server

from mattermost_plugin.host.dev_server import DevServer

BURST = 100


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevProcess]:
    with dev_server(copy_plugin(RAW_ANSWERS, tmp_path / "plugin"), "--in-memory") as running:
        yield running


def test_a_burst_of_100_connects_waits_in_the_backlog(dev: DevProcess) -> None:
    # Stopped, the dev server accepts nothing: every connect must fit in the listen backlog
    # (with the old default of 5, all but 6 would hang in SYN retries, or be reset).
    os.kill(dev.proc.pid, signal.SIGSTOP)
    clients: list[socket.socket] = []
    try:
        for _ in range(BURST):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", dev.port))
            clients.append(client)
        deadline = time.monotonic() + 2.0
        pending = set(clients)
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], list(pending), [], 0.1)
            pending -= set(writable)
        assert not pending, f"{len(pending)} of {BURST} connects did not complete"
        assert all(c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 for c in clients)
    finally:
        os.kill(dev.proc.pid, signal.SIGCONT)
    request = f"GET /api/v4/system/ping HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\n"
    for client in clients:
        client.setblocking(True)
        client.settimeout(10)
        client.sendall((request + "Connection: close\r\n\r\n").encode())
    for client in clients:
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
        client.close()
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]


@pytest.fixture
def quick_deadline(tmp_path: Path) -> Iterator[DevServer]:
    folder = copy_plugin(RAW_ANSWERS, tmp_path / "plugin")
    server = DevServer(
        folder,
        port=0,
        db=None,
        reload=False,
        console=Console(file=io.StringIO()),
        header_timeout=1.0,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _closed_after(sock: socket.socket, dribble: bytes, every: float, limit: float) -> float:
    """Send ``dribble`` a byte at a time until the server closes; seconds it took."""
    started = time.monotonic()
    sock.setblocking(False)
    for byte in dribble:
        readable, _, _ = select.select([sock], [], [], every)
        if readable and not _alive(sock):
            return time.monotonic() - started
        try:
            sock.send(bytes([byte]))
        except OSError:
            return time.monotonic() - started
        if time.monotonic() - started > limit:
            break
    readable, _, _ = select.select([sock], [], [], limit)
    if readable and not _alive(sock):
        return time.monotonic() - started
    raise AssertionError(f"still open after {time.monotonic() - started:.1f} s")


def _alive(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(1 << 16))
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_a_slowloris_client_is_cut_off_at_the_header_deadline(
    quick_deadline: DevServer,
) -> None:
    threads_before = threading.active_count()
    port = quick_deadline.port
    head = f"GET /api/v4/system/ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()
    slow = socket.create_connection(("127.0.0.1", port))
    idle = [(socket.create_connection(("127.0.0.1", port)), time.monotonic()) for _ in range(4)]
    # One byte every 0.2 s is always "making progress": only a deadline stops it.
    took = _closed_after(slow, head + b"a" * 100, every=0.2, limit=4.0)
    assert 0.8 <= took <= 3.0, took
    # Clients that connect and send nothing are cut off the same way.
    for client, connected in idle:
        client.setblocking(False)
        readable, _, _ = select.select([client], [], [], 4.0)
        assert readable and not _alive(client)
        assert 0.8 <= time.monotonic() - connected <= 3.5
    clients = [slow, *(client for client, _ in idle)]
    for client in clients:
        client.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads_before


def test_a_kept_connection_gets_a_new_deadline_per_request(quick_deadline: DevServer) -> None:
    port = quick_deadline.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for _ in range(3):
            time.sleep(0.6)  # idle between requests is not header time
            sock.sendall(f"GET /dev/status HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                assert chunk, f"the server closed the kept connection after {answer!r}"
                answer += chunk
            body = answer.partition(b"\r\n\r\n")[2]
            assert json.loads(body)["state"] == "running"
