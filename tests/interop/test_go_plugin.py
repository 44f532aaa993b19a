"""A plugin under HashiCorp's go-plugin client: the library the Mattermost server starts
plugins with, in Go, not our Python supervisor.

``gohost/`` is a small Go program (built here with the machine's Go; modules from the Go
proxy, pinned by go.sum) that starts the plugin as the server does: magic cookie, protocol
versions, port range, optionally auto-mTLS (go-plugin makes a P-521 client certificate) and
a unix socket directory; then it checks health, calls hooks over the connection go-plugin
made, and stops the plugin with ``GRPCController.Shutdown`` and go-plugin's 2 s kill timer.
Its log (go-hclog JSON), with the plugin's stderr lines as go-plugin parsed them, is read
back to check that levels and fields survive.

No Go on the machine skips these tests, unless MATTERMOST_PLUGIN_REQUIRE_GO=1 (set by
``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from google.protobuf.message import Message

from mattermost_plugin._pb.pluginapi.v1 import (
    file_pb2,
    hooks_http_pb2,
    hooks_lifecycle_pb2,
    hooks_message_pb2,
    post_pb2,
)

HERE = Path(__file__).parent
PLUGIN = HERE / "plugins" / "interop"
HOOKS = "/mattermost.pluginapi.v1.PluginHooks/"
M = TypeVar("M", bound=Message)
EIGHT_MIB_LINE = "0123456789abcdef" * (512 * 1024)  # what the plugin prints
pytestmark = pytest.mark.timeout(600)  # the first build downloads and compiles the modules


@pytest.fixture(scope="session")
def gohost(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        if os.environ.get("MATTERMOST_PLUGIN_REQUIRE_GO") == "1":
            pytest.fail("the go-plugin interop tests need Go on PATH")
        pytest.skip("no Go on PATH: the go-plugin interop tests need it")
    binary = tmp_path_factory.mktemp("gohost") / "gohost"
    built = subprocess.run(
        [go, "build", "-buildvcs=false", "-o", str(binary), "."],
        cwd=HERE / "gohost",
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert built.returncode == 0, f"go build failed:\n{built.stderr}"
    return binary


class GoHost:
    """The running gohost: one JSON command per line in, one JSON answer per line out."""

    def __init__(self, binary: Path, *flags: str) -> None:
        self.process = subprocess.Popen(
            [str(binary), *flags, sys.executable, str(PLUGIN)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Read go-plugin's log all along: a full pipe would stall its stderr reader, and
        # with it the plugin's output.
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self.ready = self._read()
        self._log: list[dict[str, Any]] | None = None

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.extend(self.process.stderr)

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise AssertionError(f"gohost ended: {self.stderr_text()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def command(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def unary(self, method: str, request: Message, response_type: type[M]) -> M:
        answer = self.command(
            op="unary",
            method=HOOKS + method,
            request=base64.b64encode(request.SerializeToString()).decode(),
        )
        assert answer["ok"], answer
        return response_type.FromString(base64.b64decode(answer.get("response", "")))

    def stream(self, method: str, requests: Sequence[Message]) -> list[bytes]:
        answer = self.command(
            op="stream",
            method=HOOKS + method,
            requests=[base64.b64encode(r.SerializeToString()).decode() for r in requests],
        )
        assert answer["ok"], answer
        return [base64.b64decode(r) for r in answer.get("responses") or []]

    def kill(self) -> dict[str, Any]:
        answer = self.command(op="kill")
        self.process.wait(timeout=10)
        return answer

    def stderr_text(self) -> str:
        """go-plugin's log (whole once the host ended)."""
        self._reader.join(timeout=10)
        return "".join(self._stderr)

    def log(self) -> list[dict[str, Any]]:
        """go-plugin's log lines (after the host ended)."""
        if self._log is None:
            self._log = [json.loads(line) for line in self.stderr_text().splitlines() if line]
        return self._log

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def socket_dir() -> Iterator[str]:
    # Short: unix socket paths are limited to about 104 bytes.
    path = tempfile.mkdtemp(prefix="gp", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


TRANSPORTS = {
    "tcp": [],
    "tcp+mtls": ["-mtls"],
    "unix": ["-unix", "{dir}"],
    "unix+mtls": ["-mtls", "-unix", "{dir}"],
}


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_go_plugin_client_runs_the_plugin(gohost: Path, socket_dir: str, transport: str) -> None:
    flags = [f.format(dir=socket_dir) for f in TRANSPORTS[transport]]
    host = GoHost(gohost, *flags)
    try:
        assert host.ready["ok"], host.ready
        assert host.ready["protocol"] == "grpc"
        if transport.startswith("unix"):
            assert host.ready["network"] == "unix"
            assert host.ready["address"].startswith(socket_dir + "/")
            assert (os.stat(host.ready["address"]).st_mode & 0o777) == 0o600
        else:
            assert host.ready["network"] == "tcp"
            assert host.ready["address"].startswith("127.0.0.1:")

        assert host.command(op="ping") == {"ok": True}  # health of service "plugin"
        implemented = host.unary(
            "Implemented",
            hooks_lifecycle_pb2.ImplementedRequest(),
            hooks_lifecycle_pb2.ImplementedResponse,
        )
        assert list(implemented.hooks) == [
            "OnActivate",
            "MessageWillBePosted",
            "FileWillBeUploaded",
            "ServeHTTP",
        ]
        activated = host.unary(
            "OnActivate",
            hooks_lifecycle_pb2.OnActivateRequest(),
            hooks_lifecycle_pb2.OnActivateResponse,
        )
        assert not activated.HasField("error")

        def post(message: str) -> hooks_message_pb2.MessageWillBePostedResponse:
            request = hooks_message_pb2.MessageWillBePostedRequest(
                post=post_pb2.Post(id="p" * 26, message=message)
            )
            return host.unary(
                "MessageWillBePosted", request, hooks_message_pb2.MessageWillBePostedResponse
            )

        assert post("a badword here").rejection_reason == "Message blocked"
        assert post("shout hello").modified_post.message == "HELLO"
        unchanged = post("hello")
        assert not unchanged.HasField("modified_post") and unchanged.rejection_reason == ""

        stopped = host.kill()
        assert stopped["ok"] and stopped["exited"]
        assert stopped["seconds"] < 1.5  # exited on Shutdown, before go-plugin's 2 s kill
    finally:
        host.close()
    messages = [entry["@message"] for entry in host.log()]
    assert "plugin failed to exit gracefully" not in messages
    assert not os.path.exists(host.ready["address"]) or transport.startswith("tcp")


def test_serve_http_streams_through_go_plugin(gohost: Path) -> None:
    host = GoHost(gohost, "-mtls")
    try:
        body = b"y" * 150_000
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        init = hooks_http_pb2.ServeHTTPRequestInit(
            method="POST",
            url="/upload",
            request_uri="/plugins/com.example.interop/upload",
            proto="HTTP/1.1",
            proto_major=1,
            proto_minor=1,
            content_length=len(body),
            headers=[hooks_http_pb2.HTTPHeader(key="Content-Type", values=["text/plain"])],
        )
        requests = [hooks_http_pb2.ServeHTTPRequest(init=init, body_chunk=chunks[0])]
        requests += [hooks_http_pb2.ServeHTTPRequest(body_chunk=c) for c in chunks[1:]]
        requests.append(hooks_http_pb2.ServeHTTPRequest(body_complete=True))

        responses = [
            hooks_http_pb2.ServeHTTPResponse.FromString(r)
            for r in host.stream("ServeHTTP", requests)
        ]
        assert responses[0].init.status_code == 201
        headers = {h.key: list(h.values) for h in responses[0].init.headers}
        assert headers["X-Seen"] == ["150000"]
        received = b"".join(r.body_chunk for r in responses)
        assert received == b"POST /upload 150000\n" + b"x" * 100_000
        assert all(len(r.body_chunk) <= 65536 for r in responses)
        assert responses[-1].body_complete
        assert host.kill()["exited"]
    finally:
        host.close()


def test_go_plugin_keeps_the_plugins_log_levels_and_fields(gohost: Path) -> None:
    host = GoHost(gohost)
    try:
        host.unary(
            "OnActivate",
            hooks_lifecycle_pb2.OnActivateRequest(),
            hooks_lifecycle_pb2.OnActivateResponse,
        )
        host.kill()
    finally:
        host.close()
    log = host.log()
    # go-plugin parsed the plugin's hclog line: level, message and fields kept.
    (activated,) = [e for e in log if e["@message"] == "interop plugin activated"]
    assert activated["@level"] == "info"
    assert activated["answer"] == 42
    # print() after the handshake reached stderr as an hclog line at debug.
    (printed,) = [e for e in log if e["@message"] == "printed after the handshake"]
    assert printed["@level"] == "debug"
    # The plugin's own stop record came through with its reason.
    assert any(
        e["@message"] == "plugin stopping" and e.get("reason") == "GRPCController.Shutdown"
        for e in log
    )


@pytest.mark.parametrize("flags", [[], ["-mtls"]], ids=["tcp", "tcp+mtls"])
def test_a_20_mib_upload_through_go_plugin(gohost: Path, flags: list[str]) -> None:
    """go-plugin dials with no cap on what it sends; the plugin takes the whole file and
    may answer with a replaced one as large."""
    content = bytes(range(256)) * (20 * 4096)  # 20 MiB
    host = GoHost(gohost, *flags)
    try:
        for name, replaced in (("keep.bin", b""), ("shout.bin", content.upper())):
            request = hooks_message_pb2.FileWillBeUploadedRequest(
                file_info=file_pb2.FileInfo(id="f" * 26, name=name, size=len(content)),
                file_content=content,
            )
            response = host.unary(
                "FileWillBeUploaded", request, hooks_message_pb2.FileWillBeUploadedResponse
            )
            assert response.rejection_reason == ""
            assert response.modified_content == replaced
        assert host.kill()["exited"]
    finally:
        host.close()


def test_go_plugin_survives_what_a_plugin_prints(gohost: Path) -> None:
    """A printed JSON object with a non-string @message would make go-plugin's stderr reader
    panic (it asserts the type), and an 8 MiB line is longer than its 64 KiB line buffer."""
    host = GoHost(gohost)
    try:
        request = hooks_message_pb2.MessageWillBePostedRequest(
            post=post_pb2.Post(id="p" * 26, message="print trouble")
        )
        host.unary("MessageWillBePosted", request, hooks_message_pb2.MessageWillBePostedResponse)
        assert host.command(op="ping") == {"ok": True}  # the host is still there
        stopped = host.kill()
        assert stopped["ok"] and stopped["exited"]
    finally:
        host.close()
    assert host.process.returncode == 0
    printed = [e for e in host.log() if e["@level"] == "debug" and "part" not in e]
    assert '{"@message": 1, "@level": 2}' in [e["@message"] for e in printed]
    parts = [e for e in host.log() if "part" in e]
    assert len(parts) > len(EIGHT_MIB_LINE) // (64 * 1024)
    assert [e["part"] for e in parts] == list(range(1, len(parts) + 1))
    assert "".join(e["@message"] for e in parts) == EIGHT_MIB_LINE
