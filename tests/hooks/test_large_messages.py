"""Hook messages far above gRPC's 4 MiB default (PROTOCOL §6 "Message size").

The server sends a whole upload to ``FileWillBeUploaded`` in one message; the plugin's
server must take it, and the host must take back a replaced file as large. Every test runs
``plugins/large_upload`` as a real subprocess, under the supervisor (TCP and auto-mTLS) or
``LocalMattermost``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator

import grpc
import pytest
from tests.support.plugins import HOOK_PLUGINS, RunningPlugin, rpc_code, running_plugin

from mattermost_plugin._pb.pluginapi.v1 import file_pb2, hooks_common_pb2
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin._process import MAX_MESSAGE_ENV
from mattermost_plugin.host.local import LocalMattermost
from mattermost_plugin.host.supervisor import PluginExitedError

PLUGIN = HOOK_PLUGINS / "large_upload"
MiB = 1024 * 1024
Response = message_pb.FileWillBeUploadedResponse
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def big() -> bytes:
    """50 MiB: half of the server's default upload limit, 12 times gRPC's default cap."""
    return os.urandom(50 * MiB)


@pytest.fixture(scope="module")
def plugin() -> Iterator[RunningPlugin]:
    with running_plugin(PLUGIN, hook_timeout=60.0) as running:
        yield running


def upload(name: str, content: bytes) -> message_pb.FileWillBeUploadedRequest:
    return message_pb.FileWillBeUploadedRequest(
        plugin_context=hooks_common_pb2.PluginContext(request_id="req-1"),
        file_info=file_pb2.FileInfo(id="f" * 26, name=name, size=len(content)),
        file_content=content,
    )


def assert_seen(plugin: RunningPlugin, since: int, name: str, content: bytes) -> None:
    """The handler got the whole file, byte for byte."""
    seen = plugin.wait_log(lambda line: line.fields.get("file_name") == name, since)
    assert seen.fields["size"] == len(content)
    assert seen.fields["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_50_mib_upload_reaches_the_handler_and_is_kept(plugin: RunningPlugin, big: bytes) -> None:
    mark = plugin.mark()
    response = plugin.call(upload("report.bin", big), Response)
    assert response.rejection_reason == ""
    assert not response.HasField("modified_file_info") and response.modified_content == b""
    assert_seen(plugin, mark, "report.bin", big)


def test_a_50_mib_upload_can_be_rejected(plugin: RunningPlugin, big: bytes) -> None:
    response = plugin.call(upload("reject-me.bin", big), Response)
    assert response.rejection_reason == "reject-me.bin is not welcome"
    assert response.modified_content == b""


def test_a_50_mib_upload_can_be_replaced(plugin: RunningPlugin, big: bytes) -> None:
    response = plugin.call(upload("shout-it.bin", big), Response)
    assert response.rejection_reason == ""
    assert len(response.modified_content) == len(big)
    assert response.modified_content == big.upper()


def test_a_50_mib_upload_over_auto_mtls(big: bytes) -> None:
    pytest.importorskip("cryptography")
    with running_plugin(PLUGIN, hook_timeout=60.0, mtls=True) as plugin:
        assert plugin.supervisor.handshake is not None
        assert plugin.supervisor.handshake.server_cert_der is not None
        response = plugin.call(upload("shout-tls.bin", big), Response)
    assert response.modified_content == big.upper()


def test_local_mattermost_sends_and_receives_50_mib(big: bytes) -> None:
    with LocalMattermost(PLUGIN, python=sys.executable, hook_timeout=60.0) as local:
        response = local.call_hook("FileWillBeUploaded", upload("shout-local.bin", big))
        assert isinstance(response, Response)
        assert response.modified_content == big.upper()
        record = local.wait_for_log("upload seen")
        assert record.fields["size"] == len(big)


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({MAX_MESSAGE_ENV: str(MiB)}, id="environment"),
        pytest.param({"TEST_CLASS_CAP": str(MiB)}, id="class attribute"),
        # The class attribute wins over the environment.
        pytest.param({"TEST_CLASS_CAP": str(MiB), MAX_MESSAGE_ENV: str(100 * MiB)}, id="both"),
    ],
)
def test_a_cap_refuses_larger_messages(env: dict[str, str]) -> None:
    with running_plugin(PLUGIN, env=env) as plugin:
        small = os.urandom(MiB // 2)
        mark = plugin.mark()
        assert plugin.call(upload("small.bin", small), Response).rejection_reason == ""
        assert_seen(plugin, mark, "small.bin", small)
        too_big = upload("big.bin", os.urandom(2 * MiB))
        code = rpc_code(lambda: plugin.supervisor.call("FileWillBeUploaded", too_big))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        # Refused before any handler ran; the plugin serves on.
        assert plugin.find_logs(lambda line: line.fields.get("file_name") == "big.bin") == []
        assert plugin.supervisor.health_check()


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1e6"])
def test_a_bad_cap_in_the_environment_stops_the_start(value: str) -> None:
    with (
        running_plugin(PLUGIN, env={MAX_MESSAGE_ENV: value}, start=False) as plugin,
        pytest.raises(PluginExitedError) as failed,
    ):
        plugin.supervisor.start()
    assert failed.value.returncode == 1
    assert f"{MAX_MESSAGE_ENV}={value!r} is not a positive number of bytes" in str(failed.value)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_bad_cap_in_the_class_stops_the_start(value: str) -> None:
    with (
        running_plugin(PLUGIN, env={"TEST_CLASS_CAP": value}, start=False) as plugin,
        pytest.raises(PluginExitedError) as failed,
    ):
        plugin.supervisor.start()
    assert f"max_message_bytes must be a positive int or None, not {int(value)}" in str(
        failed.value
    )
