"""Nothing a plugin prints reaches the host raw (PROTOCOL §6 "stderr is parsed").

``plugins/noisy`` runs as a real subprocess under the go-plugin environment and writes in
every way a plugin can; the test reads its stderr bytes as the host would: every line must
be an hclog line go-plugin can parse (string ``@level``, ``@message``, ``@timestamp``), no
longer than go-plugin's line buffer, with the text as ``@message``.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from tests.support.process import PLUGINS, clean_env, read_handshake

from mattermost_plugin._pb.go_plugin import grpc_controller_pb2, grpc_controller_pb2_grpc
from mattermost_plugin._pb.pluginapi.v1 import (
    hooks_lifecycle_pb2,
    hooks_message_pb2,
    hooks_pb2_grpc,
    post_pb2,
)
from mattermost_plugin._process import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE
from mattermost_plugin.logging import LINE_LIMIT

NOISY = PLUGINS / "noisy"
UNDER_HOST = {MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": "1"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
LONG_TEXT = "".join(f"{i:07d} naïve ☃ 😀|" for i in range(40_000))  # as in the plugin
MODULE = "mattermost_plugin.plugin.com.example.noisy"


@dataclass
class Ended:
    returncode: int
    stderr: bytes

    def lines(self) -> list[dict[str, Any]]:
        """Every stderr line, checked as go-plugin reads it."""
        return [hclog(line) for line in self.stderr.splitlines()]

    def texts(self, module: str) -> list[tuple[str, str]]:
        """(level, message) of every line from ``module``, split lines joined."""
        return [(line["@level"], line["@message"]) for line in joined(self.lines(), module)]


def hclog(raw: bytes) -> dict[str, Any]:
    assert len(raw) <= LINE_LIMIT, f"a {len(raw)}-byte line: go-plugin would cut it"
    line = json.loads(raw)
    assert isinstance(line, dict)
    assert isinstance(line["@level"], str) and line["@level"] in ("debug", "info", "warn", "error")
    assert isinstance(line["@message"], str)
    assert TIMESTAMP.fullmatch(line["@timestamp"])
    return line


def joined(lines: list[dict[str, Any]], module: str) -> list[dict[str, Any]]:
    """The lines of ``module``, each split line's parts joined back into one entry (every
    key's pieces concatenated in order)."""
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in lines:
        if line["@module"] != module:
            continue
        if "part" not in line:
            entries.append(line)
            continue
        if line["part"] == 1:
            assert current is None, "a new split line before the last one ended"
            current = {key: value for key, value in line.items() if key not in ("part", "more")}
            expected = 2
        else:
            assert current is not None and line["part"] == expected
            expected += 1
            for key, value in line.items():
                if key not in ("part", "more", "@level", "@timestamp", "@module"):
                    current[key] = current.get(key, "") + value if key in current else value
        if not line.get("more"):
            entries.append(current)
            current = None
    assert current is None, "a split line never ended"
    return entries


class Noisy:
    """The noisy plugin, run by hand under the go-plugin environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "server/plugin.py"],
            cwd=NOISY,
            env=clean_env(**UNDER_HOST, **env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.channel = grpc.insecure_channel(read_handshake(self.proc)[2])
        # Read stderr all along, as a host does: a full pipe would block the plugin.
        self._stderr: list[bytes] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self.hooks = hooks_pb2_grpc.PluginHooksStub(self.channel)
        self.hooks.OnActivate(hooks_lifecycle_pb2.OnActivateRequest(), timeout=10)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self._stderr.append(chunk)

    def case(self, name: str) -> None:
        request = hooks_message_pb2.MessageWillBePostedRequest(
            post=post_pb2.Post(id="p" * 26, message=name)
        )
        self.hooks.MessageWillBePosted(request, timeout=10)

    def stop(self) -> Ended:
        """OnDeactivate, then GRPCController.Shutdown, as the host stops a plugin."""
        try:
            self.hooks.OnDeactivate(hooks_lifecycle_pb2.OnDeactivateRequest(), timeout=10)
            controller = grpc_controller_pb2_grpc.GRPCControllerStub(self.channel)
            controller.Shutdown(grpc_controller_pb2.Empty(), timeout=5)
        except grpc.RpcError:
            pass  # it crashed on purpose
        self.channel.close()
        assert self.proc.stdout is not None
        assert self.proc.stdout.read() == b""  # nothing after the handshake line
        self.proc.wait(timeout=15)
        self._reader.join(timeout=15)
        return Ended(self.proc.returncode, b"".join(self._stderr))


@contextmanager
def noisy(**env: str) -> Iterator[Noisy]:
    plugin = Noisy(env)
    try:
        yield plugin
    finally:
        if plugin.proc.poll() is None:
            plugin.proc.kill()
            plugin.proc.wait()


CASES = ["print", "stderr", "json", "partial", "odd", "utf8_split", "long", "warning", "c"]
CASES += ["child", "thread", "sdk_long"]


@pytest.fixture(scope="module")
def everything() -> Ended:
    """One process that ran every output case, then stopped."""
    with noisy() as plugin:
        for name in CASES:
            plugin.case(name)
        return plugin.stop()


def test_every_stderr_line_is_hclog_go_plugin_can_read(everything: Ended) -> None:
    assert everything.returncode == 0
    lines = everything.lines()
    done = [line["case"] for line in lines if line["@message"] == "case done"]
    assert done == CASES


def test_print_and_stderr_keep_their_text_and_level(everything: Ended) -> None:
    stdout, stderr = everything.texts("stdout"), everything.texts("stderr")
    assert ("debug", "plain print") in stdout
    assert ("warn", "to stderr") in stderr
    assert {level for level, _ in stdout} == {"debug"}
    assert {level for level, _ in stderr} == {"warn"}


def test_json_looking_text_is_only_text(everything: Ended) -> None:
    assert ("debug", '{"@message": 1, "@level": 2}') in everything.texts("stdout")
    assert ("warn", '{"@message": "m", "@level": "error", "@timestamp": 3}') in everything.texts(
        "stderr"
    )


def test_partial_writes_odd_bytes_and_unicode(everything: Ended) -> None:
    stdout = [message for _, message in everything.texts("stdout")]
    assert "first half, second half" in stdout  # two writes, one line
    assert "naïve ☃ 😀 NUL:\x00 end" in stdout  # \r\n ends a line like \n
    assert "bad utf-8: \ufffd\ufffd\ufffd end" in stdout
    assert "carriage\rreturn inside" in stdout
    assert "" in stdout  # an empty line stays a line
    assert ("warn", "split ☃ joined") in everything.texts("stderr")  # a character cut in two


def test_a_long_line_comes_in_marked_parts_that_join_back(everything: Ended) -> None:
    parts = [line for line in everything.lines() if line["@module"] == "stdout" and "part" in line]
    assert len(parts) >= len(LONG_TEXT.encode()) // LINE_LIMIT
    assert [line["part"] for line in parts] == list(range(1, len(parts) + 1))
    assert all(line["more"] is True for line in parts[:-1]) and "more" not in parts[-1]
    assert ("debug", LONG_TEXT) in everything.texts("stdout")


def test_warnings_tracebacks_c_and_child_processes(everything: Ended) -> None:
    stdout = [message for _, message in everything.texts("stdout")]
    stderr = [message for _, message in everything.texts("stderr")]
    assert any("UserWarning: careful now" in message for message in stderr)
    assert "from C stdio" in stdout
    assert "from a child" in stdout and "child error" in stderr
    assert "RuntimeError: boom in a thread" in stderr


def test_the_sdks_own_long_record_is_split_and_joins_back(everything: Ended) -> None:
    (record,) = [e for e in joined(everything.lines(), MODULE) if e["@message"] == LONG_TEXT]
    assert record["@level"] == "info"
    assert record["blob"] == "z" * 100_000
    assert record["n"] == 1
    assert record["_part"] == "mine"  # the caller's own "part" field, renamed


def test_output_at_exit_is_relayed() -> None:
    with noisy(TEST_AT_EXIT="1") as plugin:
        ended = plugin.stop()
    assert ended.returncode == 0
    assert ("debug", "printed by an atexit handler") in ended.texts("stdout")
    assert ("warn", "no newline at the end") in ended.texts("stderr")


def test_a_segfault_report_reaches_stderr() -> None:
    with noisy(TEST_CRASH="segfault") as plugin:
        ended = plugin.stop()
    assert ended.returncode == -signal.SIGSEGV
    text = ended.stderr.decode(errors="replace")
    # faulthandler writes straight to the real stderr: plain text the host logs at debug.
    assert "Fatal Python error: Segmentation fault" in text
    assert "in on_deactivate" in text
    for raw in ended.stderr.splitlines():
        if raw.startswith(b"{"):  # what go-plugin would parse must be well-formed
            hclog(raw)


def test_os_exit_leaves_no_raw_line() -> None:
    with noisy(TEST_CRASH="os_exit") as plugin:
        ended = plugin.stop()
    assert ended.returncode == 3
    ended.lines()  # "about to crash" may or may not have made it; nothing raw did


def test_by_hand_print_stays_plain_text() -> None:
    env = {k: v for k, v in UNDER_HOST.items() if k != MAGIC_COOKIE_KEY}
    proc = subprocess.Popen(
        [sys.executable, "server/plugin.py"],
        cwd=NOISY,
        env=clean_env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        with grpc.insecure_channel(read_handshake(proc)[2]) as channel:
            request = hooks_message_pb2.MessageWillBePostedRequest(
                post=post_pb2.Post(id="p" * 26, message="print")
            )
            hooks_pb2_grpc.PluginHooksStub(channel).MessageWillBePosted(request, timeout=10)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert out == b""
    assert b"\nplain print\n" in err  # for a person at a terminal
    assert b"not started by a Mattermost server" in err
