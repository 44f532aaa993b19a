"""Clients that go away: the plugin's ServeHTTP is cancelled (``async def`` handlers see the
cancellation), and the dev server's threads and sockets return to what they were, also when
the plugin never answered its headers and when a ``def`` handler stays blocked."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.support.dev import (
    HOSTILE,
    DevProcess,
    copy_plugin,
    dev_server,
    process_fds,
    process_threads,
)

PLUGIN = "/plugins/com.example.hostile"
CLIENTS = 20


@pytest.fixture
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    folder = copy_plugin(HOSTILE, tmp_path_factory.mktemp("abandon") / "plugin")
    with dev_server(folder, "--in-memory") as running:
        # Warm up what is made on first use (gRPC threads, the console), then measure.
        assert running.request("GET", f"{PLUGIN}/counts").status == 200
        assert running.post("warm").status == 201
        yield running


def _counts(dev: DevProcess) -> dict[str, Any]:
    data: dict[str, Any] = dev.request("GET", f"{PLUGIN}/counts").json()
    return data


def _until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _baseline(dev: DevProcess) -> tuple[int, int]:
    pid = dev.proc.pid
    time.sleep(0.3)  # let the warm-up connections close
    return process_threads(pid), process_fds(pid)


def _back_to(dev: DevProcess, baseline: tuple[int, int]) -> None:
    pid = dev.proc.pid

    def settled() -> bool:
        return (process_threads(pid), process_fds(pid)) <= baseline

    try:
        _until(settled, "threads and descriptors to return to their baseline")
    except AssertionError:
        now = (process_threads(pid), process_fds(pid))
        raise AssertionError(f"(threads, fds) {now} stay above {baseline}") from None


def _connect(dev: DevProcess, request: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", dev.port), timeout=5)
    sock.sendall(request)
    return sock


def test_clients_leaving_a_handler_that_never_answers(dev: DevProcess) -> None:
    baseline = _baseline(dev)
    head = f"GET {PLUGIN}/hang HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\n\r\n".encode()
    clients = [_connect(dev, head) for _ in range(CLIENTS)]
    _until(lambda: _counts(dev)["waiting"]["async"] == CLIENTS, "every handler to be waiting")
    # One thread and one socket per waiting client: what has to be given back.
    assert process_threads(dev.proc.pid) >= baseline[0] + CLIENTS
    assert process_fds(dev.proc.pid) >= baseline[1] + CLIENTS
    for client in clients:
        client.close()
    _until(lambda: _counts(dev)["cancelled"]["async"] == CLIENTS, "every handler cancelled")
    assert _counts(dev)["waiting"]["async"] == 0
    _back_to(dev, baseline)
    dev.wait_output(r"GET /plugins/com.example.hostile/hang → - \(the client went away\)")


def test_clients_leaving_during_the_upload(dev: DevProcess) -> None:
    baseline = _baseline(dev)
    head = (
        f"POST {PLUGIN}/size HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\n"
        "Content-Length: 1000000\r\n\r\n"
    ).encode()
    clients = [_connect(dev, head + b"x" * 300_000) for _ in range(CLIENTS)]
    time.sleep(0.3)
    for client in clients:
        client.close()
    _back_to(dev, baseline)
    assert _counts(dev)["waiting"] == {"async": 0, "sync": 0}


def test_blocked_def_handlers_keep_their_threads_the_dev_server_does_not(
    dev: DevProcess,
) -> None:
    baseline = _baseline(dev)
    head = f"GET {PLUGIN}/hang-sync HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\n\r\n".encode()
    clients = [_connect(dev, head) for _ in range(5)]
    _until(lambda: _counts(dev)["waiting"]["sync"] == 5, "the def handlers to block")
    for client in clients:
        client.close()
    _back_to(dev, baseline)  # the blocked threads are the plugin's, in its own process
    assert _counts(dev)["waiting"]["sync"] == 5
    assert dev.request("GET", f"{PLUGIN}/release").status == 200
    _until(lambda: _counts(dev)["waiting"]["sync"] == 0, "the handlers to return")
    assert dev.post("still serving").status == 201
