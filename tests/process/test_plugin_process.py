"""The plugin side of the process contract (``mattermost_plugin._process``), run by hand:
``python server/plugin.py`` with pipes, no supervisor in between."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from tests.support.process import (
    TEST_PLUGIN,
    TEST_PLUGIN_SCRIPT,
    clean_env,
    health_status,
    process_gone,
    read_handshake,
    run_by_hand,
    wait_until,
)

from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2, hooks_pb2_grpc
from mattermost_plugin._process import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE

UNDER_HOST = {MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": "1"}


def test_by_hand_prints_note_and_still_handshakes() -> None:
    with run_by_hand(clean_env()) as proc:
        match = read_handshake(proc)
        assert match[1] == "tcp" and match[2].startswith("127.0.0.1:")
        with grpc.insecure_channel(match[2]) as channel:
            assert health_status(channel) == "SERVING"
            assert health_status(channel, "") == "SERVING"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=5)
    assert proc.returncode == 0
    assert out == b""
    text = err.decode()
    assert "not started by a Mattermost server" in text
    assert "MATTERMOST_PLUGIN_API_TARGET" in text


def test_under_host_no_note() -> None:
    with run_by_hand(clean_env(**UNDER_HOST)) as proc:
        read_handshake(proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=5)
    assert b"not started by a Mattermost server" not in err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_gracefully(signum: signal.Signals) -> None:
    with run_by_hand(clean_env(**UNDER_HOST)) as proc:
        read_handshake(proc)
        started = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=5)
        elapsed = time.monotonic() - started
    assert proc.returncode == 0
    assert elapsed < 2.0
    assert f'"reason":"{signum.name}"' in err.decode()
    assert '"@message":"on_stop"' in err.decode()  # on_stop ran, with the budget left


def test_print_after_handshake_reaches_stderr_as_hclog() -> None:
    with run_by_hand(clean_env(**UNDER_HOST)) as proc:
        match = read_handshake(proc)
        with grpc.insecure_channel(match[2]) as channel:
            stub = hooks_pb2_grpc.PluginHooksStub(channel)
            stub.OnActivate(hooks_lifecycle_pb2.OnActivateRequest(), timeout=5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=5)
    assert out == b""  # nothing after the handshake line
    lines = [json.loads(line) for line in err.splitlines()]
    printed = [line for line in lines if line["@message"] == "printed after the handshake"]
    assert [(line["@level"], line["@module"]) for line in printed] == [("debug", "stdout")]


def test_protocol_version_mismatch_exits_1() -> None:
    env = clean_env(**{**UNDER_HOST, "PLUGIN_PROTOCOL_VERSIONS": "2,3"})
    with run_by_hand(env) as proc:
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1
    assert out == b""
    assert b"PLUGIN_PROTOCOL_VERSIONS" in err and b"'2,3'" in err


def _free_port_pair() -> int:
    """A port p such that p and p + 1 are both free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port < 65535:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no two adjacent free ports")


def test_port_range_skips_a_taken_port() -> None:
    port = _free_port_pair()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        env = clean_env(**UNDER_HOST, PLUGIN_MIN_PORT=str(port), PLUGIN_MAX_PORT=str(port + 1))
        with run_by_hand(env) as proc:
            assert read_handshake(proc)[2] == f"127.0.0.1:{port + 1}"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=5)
    assert b"Failed to add port" not in err  # probed, not left to gRPC's error log


def test_no_free_port_in_range_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = clean_env(**UNDER_HOST, PLUGIN_MIN_PORT=port, PLUGIN_MAX_PORT=port)
        with run_by_hand(env) as proc:
            out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1
    assert out == b""
    assert b"no free TCP port" in err


def test_mtls_handshake_carries_unpadded_der_cert() -> None:
    pytest.importorskip("cryptography")
    from cryptography import x509

    from mattermost_plugin._mtls import generate_certificate

    client = generate_certificate()
    env = clean_env(**UNDER_HOST, PLUGIN_CLIENT_CERT=client.cert_pem.decode())
    with run_by_hand(env) as proc:
        match = read_handshake(proc)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=5)
    encoded = match[3]
    assert encoded and not encoded.endswith("=")
    cert = x509.load_der_x509_certificate(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_bad_client_cert_exits_1() -> None:
    pytest.importorskip("cryptography")
    with run_by_hand(clean_env(**UNDER_HOST, PLUGIN_CLIENT_CERT="not a cert")) as proc:
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1
    assert out == b""
    assert b"PLUGIN_CLIENT_CERT is not a PEM certificate" in err


def test_mtls_without_cryptography_names_the_extra(tmp_path: Path) -> None:
    # A package that shadows cryptography and fails to import, as if it were not installed.
    (tmp_path / "cryptography").mkdir()
    (tmp_path / "cryptography" / "__init__.py").write_text("raise ImportError('hidden')\n")
    env = clean_env(**UNDER_HOST, PLUGIN_CLIENT_CERT="x", PYTHONPATH=str(tmp_path))
    with run_by_hand(env) as proc:
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1
    assert out == b""
    assert b"mattermost-plugin-sdk[mtls]" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    stderr_file = tmp_path / "plugin.stderr"
    parent_code = (
        "import subprocess, sys, time\n"
        "with open(sys.argv[2], 'wb') as err:\n"
        "    plugin = subprocess.Popen([sys.executable, sys.argv[1]], stdout=subprocess.PIPE,"
        " stderr=err, stdin=subprocess.DEVNULL)\n"
        "plugin.stdout.readline()\n"  # wait for the handshake
        "print(plugin.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code, str(TEST_PLUGIN_SCRIPT), str(stderr_file)],
        cwd=TEST_PLUGIN,
        env=clean_env(**UNDER_HOST),
        stdout=subprocess.PIPE,
    )
    try:
        assert parent.stdout is not None
        plugin_pid = int(parent.stdout.readline())
        assert not process_gone(plugin_pid)
        parent.kill()
        parent.wait()
        started = time.monotonic()
        assert wait_until(lambda: process_gone(plugin_pid), timeout=5), "plugin is an orphan"
        assert time.monotonic() - started < 3.0
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert '"reason":"parent process exited"' in stderr_file.read_text()
