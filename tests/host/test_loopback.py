"""Loopback stays the rule: every socket the dev server, the fake API and the plugin open is
on a loopback address or a private unix socket, with ``--port 0``, over mTLS and over unix
sockets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.support.dev import HOSTILE, copy_plugin, dev_server
from tests.support.process import make_supervisor
from tests.support.sockets import problems, sockets_of

from mattermost_plugin.host.fake_server import FakeMattermost, serve

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_the_dev_server_and_its_plugin_stay_on_loopback(tmp_path: Path) -> None:
    folder = copy_plugin(HOSTILE, tmp_path / "plugin")
    with dev_server(folder, "--in-memory") as dev:
        # Traffic in every direction first: HTTP in, ServeHTTP, API calls, logs.
        assert dev.request("GET", "/plugins/com.example.hostile/log-secrets").status == 200
        assert dev.post("hello").status == 201
        plugin_pid = dev.status()["pid"]
        for pid in (dev.proc.pid, plugin_pid):
            held = sockets_of(pid)
            assert any(s.listening for s in held), held  # each serves something
            assert problems(pid) == [], (pid, held)
        listening = [s.local for s in sockets_of(dev.proc.pid) if s.listening]
        assert f"127.0.0.1:{dev.port}" in listening


@pytest.mark.parametrize(
    "options", [{"mtls": True}, {"unix_socket": True}, {"mtls": True, "unix_socket": True}]
)
def test_the_plugin_stays_on_loopback_over_mtls_and_unix_sockets(options: dict[str, bool]) -> None:
    if options.get("mtls"):
        pytest.importorskip("cryptography")
    fake = FakeMattermost()
    server, target = serve(fake)
    try:
        assert target.startswith("127.0.0.1:")
        with make_supervisor(api_target=target, **options) as sup:
            pid = sup.pid
            assert pid is not None
            held = sockets_of(pid)
            assert problems(pid) == [], held
            if options.get("unix_socket"):
                assert any(s.kind == "unix" and s.listening and s.local for s in held), held
            else:
                tcp = [s for s in held if s.listening and s.kind.startswith("tcp")]
                assert tcp and all(s.local.startswith("127.0.0.1:") for s in tcp), held
    finally:
        server.stop(None)


def test_the_check_sees_sockets_off_loopback(tmp_path: Path) -> None:
    import os
    import socket

    everywhere = socket.create_server(("0.0.0.0", 0))
    public_dir = tmp_path / "open"
    public_dir.mkdir(mode=0o777)
    os.chmod(public_dir, 0o777)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(public_dir / "s.sock"))
    unix.listen()
    try:
        found = problems(os.getpid())
        assert any(f"0.0.0.0:{everywhere.getsockname()[1]}" in p for p in found), found
        assert any("s.sock" in p and "0o777" in p for p in found), found
    finally:
        everywhere.close()
        unix.close()
