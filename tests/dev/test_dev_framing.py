"""HTTP framing through the dev server, both ways, as strict as Go's net/http: a plugin's
answer never goes out with a body that disagrees with its Content-Length or with CR, LF or
NUL in its headers; a request's broken framing is a 400, never a guess."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.dev import (
    HOSTILE,
    RAW_ANSWERS,
    DevProcess,
    copy_plugin,
    dev_server,
    head_and_body,
    raw_exchange,
)

from mattermost_plugin.host._dev_proxy import PluginAnswerError, plugin_headers
from mattermost_plugin.http import Headers

RAW = "/plugins/com.example.raw-answers"
HOSTILE_PATH = "/plugins/com.example.hostile"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    folder = copy_plugin(RAW_ANSWERS, tmp_path_factory.mktemp("framing") / "plugin")
    with dev_server(folder, "--in-memory") as running:
        yield running


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    folder = copy_plugin(HOSTILE, tmp_path_factory.mktemp("framing-hostile") / "plugin")
    with dev_server(folder, "--in-memory") as running:
        yield running


def _get(dev: DevProcess, path: str, *, keep_alive: bool = False) -> tuple[bytes, bool]:
    """One GET: returns the bytes and whether the server closed the connection (within 3 s;
    with ``keep_alive`` it has no reason to)."""
    close = "" if keep_alive else "Connection: close\r\n"
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\n{close}\r\n".encode()
    return raw_exchange(dev.port, request, 3.0)


# --- the plugin's answers ----------------------------------------------------------------------


def test_a_body_longer_than_content_length_is_cut_and_the_connection_closed(
    dev: DevProcess,
) -> None:
    started = time.monotonic()
    answer, closed = _get(dev, f"{RAW}/long", keep_alive=True)
    status, headers, body = head_and_body(answer)
    assert (status, headers["content-length"], body) == (200, "5", b"01234")
    assert closed and time.monotonic() - started < 2.5  # closed at once, not by a timeout
    dev.wait_output(r"more than its Content-Length of 5 bytes; cut there")


def test_a_body_shorter_than_content_length_closes_the_connection(dev: DevProcess) -> None:
    answer, closed = _get(dev, f"{RAW}/short", keep_alive=True)
    status, headers, body = head_and_body(answer)
    assert (status, headers["content-length"], body) == (200, "10", b"01234")
    assert closed  # the client sees a short body, as from Go
    dev.wait_output(r"the plugin sent 5 of the 10 bytes its Content-Length announced")


def test_an_exact_body_keeps_the_connection(dev: DevProcess) -> None:
    with socket.create_connection(("127.0.0.1", dev.port), timeout=3) as sock:
        for _ in range(2):
            sock.sendall(f"GET {RAW}/exact HTTP/1.1\r\nHost: localhost:{dev.port}\r\n\r\n".encode())
            received = b""
            while not received.endswith(b"0123456789"):
                received += sock.recv(4096)
            assert head_and_body(received)[0] == 200


@pytest.mark.parametrize(
    ("path", "body"), [("/bad-length", b"chunked anyway"), ("/two-lengths", b"abcd")]
)
def test_an_invalid_content_length_is_dropped_and_the_body_chunked(
    dev: DevProcess, path: str, body: bytes
) -> None:
    answer, _ = _get(dev, f"{RAW}{path}")
    status, headers, raw = head_and_body(answer)
    assert status == 200 and "content-length" not in headers
    assert headers["transfer-encoding"] == "chunked"
    assert raw == b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    dev.wait_output(r"ignored the invalid Content-Length")


def test_cr_lf_and_nul_never_reach_the_client(dev: DevProcess) -> None:
    for path in ("/crlf", "/nul", "/bad-name"):
        answer, _ = _get(dev, f"{RAW}{path}")
        head = answer.partition(b"\r\n\r\n")[0]
        assert b"\x00" not in head, path
        names = [line.split(b":")[0].lower() for line in head.split(b"\r\n")[1:]]
        assert b"injected" not in names and b"bad name" not in names, (path, head)
        assert not any(name.startswith(b"x-evil") for name in names), head
        assert head_and_body(answer)[0] == 200
    crlf = head_and_body(_get(dev, f"{RAW}/crlf")[0])[1]
    assert crlf["x-note"] == "a  Injected: yes" and crlf["x-fine"] == "y"
    dev.wait_output(r"dropped the header 'Bad Name': not a valid header name")


def test_latin1_values_pass_and_others_are_a_clear_502(dev: DevProcess) -> None:
    answer, _ = _get(dev, f"{RAW}/latin1")
    assert b"X-Name: caf\xe9\r\n" in answer
    answer, _ = _get(dev, f"{RAW}/unicode")
    status, _, body = head_and_body(answer)
    error = json.loads(body)
    assert status == 502 and error["status_code"] == 502
    assert "'X-Name'" in error["message"] and "outside Latin-1" in error["message"]
    dev.wait_output(r"GET /plugins/com.example.raw-answers/unicode → 502")


def test_an_informational_final_status_is_a_502(dev: DevProcess) -> None:
    status, _, body = head_and_body(_get(dev, f"{RAW}/informational")[0])
    assert status == 502 and "informational status 103" in json.loads(body)["message"]


_HEADER_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=30
)


@given(st.lists(st.tuples(_HEADER_TEXT, _HEADER_TEXT), max_size=6))
def test_cleaned_headers_are_always_sendable(pairs: list[tuple[str, str]]) -> None:
    try:
        cleaned = plugin_headers(Headers(pairs))
    except PluginAnswerError as exc:
        assert any(any(ord(c) > 255 for c in value) for _, value in pairs), exc
        return
    for name, value in cleaned.headers:
        assert name and all(c.isascii() and c.isprintable() and c not in ' ":(),/' for c in name)
        assert not any(byte in value for byte in b"\r\n\x00")
        assert value == value.strip(b" \t")
    if cleaned.content_length is not None:
        assert cleaned.content_length >= 0


# --- the client's requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "size_line",
    [b"-5", b"-1", b"0x5", b"+5", b"5_0", b" ", b"g", b"1" * 21, b"5\n", b"5\r\r"],
)
@pytest.mark.parametrize("path", [f"{RAW}/exact", "/api/v4/posts"])
def test_a_malformed_chunk_size_is_a_400(dev: DevProcess, size_line: bytes, path: str) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    # The body claims to go on: a server that read "up to the end" would wait for it.
    started = time.monotonic()
    answer, closed = raw_exchange(dev.port, head + size_line + b"\r\nabcde\r\n", timeout=3.0)
    status, _, body = head_and_body(answer)
    assert status == 400, answer
    assert json.loads(body)["status_code"] == 400
    assert closed and time.monotonic() - started < 2.5


@pytest.mark.parametrize("value", ["-1", "abc", "1, 2", "+3", "0x10"])
def test_an_invalid_request_content_length_is_a_400(dev: DevProcess, value: str) -> None:
    request = (
        f"POST /api/v4/posts HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\n"
        f"Content-Length: {value}\r\n\r\n{{}}"
    ).encode()
    answer, closed = raw_exchange(dev.port, request, timeout=3.0)
    assert head_and_body(answer)[0] == 400 and closed


def test_an_unknown_transfer_coding_is_a_501(dev: DevProcess) -> None:
    request = (
        f"POST /api/v4/posts HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
    ).encode()
    assert head_and_body(raw_exchange(dev.port, request, timeout=3.0)[0])[0] == 501


def test_a_valid_chunked_body_streams_through(hostile: DevProcess) -> None:
    chunks = [b"a" * 10, b"b" * 70_000, b"c"]
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\nX-T: 1\r\n\r\n"
    request = (
        f"POST {HOSTILE_PATH}/size HTTP/1.1\r\nHost: 127.0.0.1:{hostile.port}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    answer, _ = raw_exchange(hostile.port, request + body)
    status, headers, raw = head_and_body(answer)
    assert status == 200
    text = raw.split(b"\r\n")[1] if headers.get("transfer-encoding") == "chunked" else raw
    assert json.loads(text) == {"size": 70_011}


def test_a_large_upload_streams_with_bounded_memory(hostile: DevProcess) -> None:
    with open(f"/proc/{hostile.proc.pid}/clear_refs", "w") as clear:
        clear.write("5")  # resets the peak (VmHWM) to the current size
    rss_before = _rss_kib(hostile.proc.pid)
    size = 96 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", hostile.port), timeout=30) as sock:
        sock.sendall(
            f"POST {HOSTILE_PATH}/size HTTP/1.1\r\nHost: 127.0.0.1:{hostile.port}\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode()
        )
        block = b"x" * (1 << 20)
        for _ in range(size >> 20):
            sock.sendall(block)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert b'{"size": 100663296}' in received
    peak = _peak_kib(hostile.proc.pid)
    assert peak - rss_before < 48 * 1024, (rss_before, peak)  # the dev server never held it


def _rss_kib(pid: int) -> int:
    return _status_kib(pid, "VmRSS")


def _peak_kib(pid: int) -> int:
    return _status_kib(pid, "VmHWM")


def _status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {key} for {pid}")


# --- request bodies nobody reads -----------------------------------------------------------


def _post_to_nowhere(port: int, length: int, extra: str = "") -> bytes:
    """The head of a POST announcing a body of ``length`` bytes to a route that refuses it
    unread (a 404)."""
    return (
        f"POST /api/v4/no-such-route HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def test_a_small_unread_body_is_dropped_and_the_connection_kept(dev: DevProcess) -> None:
    body = b"x" * 100_000
    with socket.create_connection(("127.0.0.1", dev.port), timeout=3) as sock:
        for _ in range(2):  # the second request comes on the same connection
            sock.sendall(_post_to_nowhere(dev.port, len(body)) + body)
            received = b""
            while not received.endswith(b"}"):
                received += sock.recv(65536)
            status, headers, _ = head_and_body(received)
            assert status == 404 and "connection" not in headers


@pytest.mark.parametrize(("length", "extra"), [(300 * 1024, ""), (10, "Expect: 100-continue\r\n")])
def test_an_unread_body_that_cannot_be_dropped_closes_the_connection_and_says_so(
    dev: DevProcess, length: int, extra: str
) -> None:
    # Longer than 256 KiB, or held back until "100 Continue": the body never comes.
    answer, closed = raw_exchange(dev.port, _post_to_nowhere(dev.port, length, extra), 3.0)
    status, headers, _ = head_and_body(answer)
    assert (status, headers["connection"], closed) == (404, "close", True)
