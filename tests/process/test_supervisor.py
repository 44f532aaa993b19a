"""The host side (``mattermost_plugin.host.supervisor``) driving real plugin processes."""

from __future__ import annotations

import grp
import os
import shutil
import signal
import stat
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from tests.support.process import TEST_PLUGIN, health_status, make_supervisor, wait_until

from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2
from mattermost_plugin.host.supervisor import (
    HandshakeJunkError,
    HandshakeTimeoutError,
    LogLine,
    PluginActivationError,
    PluginExitedError,
    PluginSupervisor,
    ProtocolVersionError,
    RestartPolicy,
    find_interpreter,
    parse_handshake,
)
from mattermost_plugin.logging import HclogRecord
from mattermost_plugin.manifest import parse_manifest

CONFIG_CHANGE = hooks_lifecycle_pb2.OnConfigurationChangeRequest()


def test_start_call_stop() -> None:
    sup = make_supervisor()
    assert sup.state == "stopped"
    sup.start()
    try:
        assert sup.wait_for_state("running", timeout=0)  # (== would be narrowed away by mypy)
        assert sup.implemented == ["OnActivate", "OnDeactivate", "OnConfigurationChange"]
        assert sup.health_check()
        handshake = sup.handshake
        assert handshake is not None and handshake.network == "tcp"
        port = int(handshake.address.rsplit(":", 1)[1])
        assert handshake.address.startswith("127.0.0.1:") and 10000 <= port <= 25000
        assert sup.handshake_seconds is not None and sup.handshake_seconds < 5
        response = sup.call("OnConfigurationChange", CONFIG_CHANGE)
        assert isinstance(response, hooks_lifecycle_pb2.OnConfigurationChangeResponse)
        assert not response.HasField("error")
    finally:
        started = time.monotonic()
        sup.stop()
    assert time.monotonic() - started < 2.0
    assert sup.returncode == 0
    assert sup.state == "stopped"
    messages = [line.message for line in sup.logs]
    assert messages.index("deactivated") < messages.index("plugin stopping")


def test_hclog_levels_and_fields_kept() -> None:
    seen: list[HclogRecord | str] = []
    with make_supervisor(on_log=seen.append) as sup:
        pass
    assert LogLine("warn", "activated", {"answer": 42}) in sup.logs
    assert LogLine("info", "deactivated", {}) in sup.logs
    # print() comes through the output relay: an hclog line at debug, from "stdout".
    assert LogLine("debug", "printed after the handshake", {}) in sup.logs
    records = [r for r in seen if isinstance(r, HclogRecord)]
    assert len(records) == len(seen)  # no raw line at all
    printed = [r for r in records if r.message == "printed after the handshake"]
    assert [(r.level, r.module) for r in printed] == [("debug", "stdout")]
    assert any(r.level == "warn" and r.module == "mattermost_plugin.plugin.test" for r in records)


def test_inflight_hook_finishes_during_stop() -> None:
    sup = make_supervisor(env={"TEST_HOOK_SLEEP": "0.6"})
    sup.start()
    results: list[object] = []
    call = threading.Thread(
        target=lambda: results.append(sup.call("OnConfigurationChange", CONFIG_CHANGE))
    )
    call.start()
    time.sleep(0.2)  # the hook is running
    sup.stop()
    call.join()
    assert isinstance(results[0], hooks_lifecycle_pb2.OnConfigurationChangeResponse)
    assert sup.returncode == 0


def test_stop_within_budget_despite_slow_hook() -> None:
    sup = make_supervisor(env={"TEST_HOOK_SLEEP": "30"})
    sup.start()
    errors: list[grpc.RpcError] = []

    def slow_call() -> None:
        try:
            sup.call("OnConfigurationChange", CONFIG_CHANGE)
        except grpc.RpcError as exc:
            errors.append(exc)

    call = threading.Thread(target=slow_call)
    call.start()
    time.sleep(0.2)
    started = time.monotonic()
    sup.stop()
    elapsed = time.monotonic() - started
    call.join()
    assert sup.returncode == 0  # exited by itself, not killed
    assert elapsed < 2.0
    assert len(errors) == 1


def test_activation_error() -> None:
    sup = make_supervisor(env={"TEST_ACTIVATE_FAIL": "the database is gone"})
    # The raw plugin sets only message, which the server ignores: it shows the id.
    with pytest.raises(PluginActivationError, match=r"^OnActivate failed: test\.activate$") as info:
        sup.start()
    assert info.value.app_error.message == "the database is gone"
    assert sup.returncode is not None
    assert sup.state == "stopped"


def test_junk_before_handshake() -> None:
    sup = make_supervisor(env={"TEST_JUNK": "1"})
    with pytest.raises(HandshakeJunkError, match="'hello from an import-time print'") as info:
        sup.start()
    assert info.value.line == "hello from an import-time print"
    assert sup.returncode is not None


def test_no_handshake_times_out() -> None:
    sup = make_supervisor(env={"TEST_NO_HANDSHAKE": "1"}, handshake_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(HandshakeTimeoutError, match=r"no handshake line within 1 s"):
        sup.start()
    assert time.monotonic() - started < 2.5
    assert sup.returncode is not None


def test_crash_at_start_reports_code_and_stderr() -> None:
    sup = make_supervisor(env={"TEST_CRASH_AT_START": "3"})
    with pytest.raises(PluginExitedError, match="exited with code 3") as info:
        sup.start()
    assert info.value.returncode == 3
    assert "ImportError: no module named nope" in info.value.stderr_tail
    assert "ImportError: no module named nope" in str(info.value)


def test_bad_protocol_version() -> None:
    sup = make_supervisor(env={"TEST_FAKE_HANDSHAKE": "1|2|tcp|127.0.0.1:1|grpc"})
    with pytest.raises(ProtocolVersionError, match="plugin protocol version 2"):
        sup.start()
    assert sup.returncode is not None


def test_parse_handshake() -> None:
    parsed = parse_handshake("1|1|unix|/tmp/x|grpc|AAEC")
    assert parsed.network == "unix" and parsed.target == "unix:/tmp/x"
    assert parsed.server_cert_der == b"\x00\x01\x02"
    with pytest.raises(ProtocolVersionError):
        parse_handshake("2|1|tcp|127.0.0.1:1|grpc")
    with pytest.raises(ProtocolVersionError):
        parse_handshake("1|1|tcp|127.0.0.1:1|netrpc")
    with pytest.raises(ValueError):
        parse_handshake("Listening on 8080")


def test_crash_later_is_restarted() -> None:
    with make_supervisor(env={"TEST_HOOK_CRASH": "1"}) as sup:
        first_pid = sup.pid
        with pytest.raises(grpc.RpcError):
            sup.call("OnConfigurationChange", CONFIG_CHANGE)
        assert wait_until(lambda: sup.restarts == 1 and sup.state == "running", timeout=10)
        assert sup.pid != first_pid
        assert sup.health_check()
        assert len(sup.failures) == 1


def test_hung_plugin_is_restarted() -> None:
    with make_supervisor() as sup:
        first = sup.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)  # alive but not answering: pings time out
        assert wait_until(lambda: sup.restarts == 1 and sup.state == "running", timeout=10)
        assert sup.pid != first and sup.health_check()


def test_repeated_crashes_disable() -> None:
    sup = make_supervisor(env={"TEST_CRASH_AFTER": "0.2"})
    sup.start()
    try:
        assert sup.wait_for_state("disabled", timeout=15)
        assert sup.disabled_reason is not None
        assert "failed to stay running" in sup.disabled_reason
        assert sup.restarts == 2
        assert sup.returncode is not None
    finally:
        sup.stop()
    assert sup.state == "disabled"


def test_ignoring_shutdown_is_killed_after_2s() -> None:
    sup = make_supervisor(env={"TEST_IGNORE_SHUTDOWN": "1"})
    sup.start()
    started = time.monotonic()
    sup.stop()
    elapsed = time.monotonic() - started
    assert sup.returncode == -signal.SIGKILL
    assert 1.9 <= elapsed < 3.0


def test_unix_socket_0600() -> None:
    with make_supervisor(unix_socket=True) as sup:
        handshake = sup.handshake
        assert handshake is not None and handshake.network == "unix"
        mode = os.stat(handshake.address).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
        assert sup.health_check()
        socket_dir = Path(handshake.address).parent
    assert not socket_dir.exists()  # cleaned up


@pytest.mark.parametrize("by", ["name", "id"])
def test_unix_socket_0660_with_group(by: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another group needs root")  # pragma: no cover
    group = next((g for g in grp.getgrall() if g.gr_gid != os.getgid()), None)
    if group is None:
        pytest.skip("no second group")  # pragma: no cover
    wanted = group.gr_name if by == "name" else str(group.gr_gid)
    with make_supervisor(unix_socket=True, unix_socket_group=wanted) as sup:
        assert sup.handshake is not None
        info = os.stat(sup.handshake.address)
        assert stat.S_IMODE(info.st_mode) == 0o660
        assert info.st_gid == group.gr_gid
        assert sup.health_check()


def test_mtls() -> None:
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from mattermost_plugin._mtls import generate_certificate

    with make_supervisor(mtls=True) as sup:
        handshake = sup.handshake
        assert handshake is not None and handshake.server_cert_der is not None
        cert = x509.load_der_x509_certificate(handshake.server_cert_der)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "localhost"
        assert sup.health_check()
        assert sup.call("OnConfigurationChange", CONFIG_CHANGE) is not None

        # The server insists on the host's client certificate ...
        import ssl

        server_pem = ssl.DER_cert_to_PEM_cert(handshake.server_cert_der).encode()
        options = [("grpc.ssl_target_name_override", "localhost")]
        stranger = generate_certificate()
        for credentials in (
            grpc.ssl_channel_credentials(root_certificates=server_pem),
            grpc.ssl_channel_credentials(server_pem, stranger.key_pem, stranger.cert_pem),
        ):
            with (
                grpc.secure_channel(handshake.address, credentials, options) as channel,
                pytest.raises(grpc.RpcError),
            ):
                health_status(channel, timeout=1.0, wait_for_ready=False)
        # ... and the host verifies the server's certificate from the handshake line.
        with (
            grpc.secure_channel(
                handshake.address,
                grpc.ssl_channel_credentials(
                    stranger.cert_pem, stranger.key_pem, stranger.cert_pem
                ),
                options,
            ) as channel,
            pytest.raises(grpc.RpcError),
        ):
            health_status(channel, timeout=1.0, wait_for_ready=False)
        # Plain text is refused too.
        with grpc.insecure_channel(handshake.address) as channel, pytest.raises(grpc.RpcError):
            health_status(channel, timeout=1.0, wait_for_ready=False)
    assert sup.returncode == 0


def test_find_interpreter(tmp_path: Path) -> None:
    manifest = parse_manifest(
        {"id": "com.example.x", "server": {"executable": "p.py", "python": {"venv_path": "env"}}}
    )
    default = find_interpreter(tmp_path, manifest)
    assert default == shutil.which("python3") or default == shutil.which("python")

    def fake(relative: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    dot_venv = fake(".venv/bin/python3")
    assert find_interpreter(tmp_path, manifest) == str(dot_venv)
    venv = fake("venv/bin/python3")
    assert find_interpreter(tmp_path, manifest) == str(venv)
    venv_python = fake("venv/bin/python")
    assert find_interpreter(tmp_path, manifest) == str(venv_python)
    custom = fake("env/bin/python")
    assert find_interpreter(tmp_path, manifest) == str(custom)
    assert find_interpreter(tmp_path) == str(venv_python)  # without the manifest


def test_supervisor_uses_discovered_venv(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    shutil.copytree(TEST_PLUGIN, plugin)
    (plugin / "venv" / "bin").mkdir(parents=True)
    # A wrapper, not a symlink: a symlinked interpreter would not find this venv's packages.
    python = plugin / "venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    with PluginSupervisor(plugin, restart_policy=RestartPolicy(ping_interval=60)) as sup:
        assert sup.health_check()
        assert sup.process is not None
        assert sup.process.args[0] == str(python)  # type: ignore[index]
