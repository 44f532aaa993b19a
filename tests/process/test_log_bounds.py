"""The host's memory for a plugin's log is bounded: a ring of the latest lines (configurable)
and a cap on the length of one line, which is cut and marked."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.dev import HOSTILE, copy_plugin

from mattermost_plugin.host._logring import LogRing, cut_text, read_lines
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.host.local import LocalMattermost
from mattermost_plugin.host.supervisor import LogLine
from mattermost_plugin.logging import LINE_LIMIT

CUT = re.compile(r" … \[line cut: (\d+) more bytes\]$")


def test_the_ring_keeps_the_latest_and_counts_the_rest() -> None:
    ring: LogRing[int] = LogRing(3)
    mark = ring.total
    for i in range(5):
        ring.append(i)
    assert list(ring) == [2, 3, 4] and len(ring) == 3 and ring[-1] == 4 and ring[:2] == [2, 3]
    assert (ring.total, ring.dropped) == (5, 2)
    assert ring.since(mark) == [2, 3, 4]  # what is left of what came after the mark
    assert ring.since(4) == [4] and ring.since(5) == []
    with pytest.raises(ValueError, match="at least one line"):
        LogRing(0)


def test_the_ring_keeps_a_byte_budget() -> None:
    # A huge print arrives as many 60 KiB parts: the byte budget bounds the memory then.
    ring: LogRing[LogLine] = LogRing(10_000, max_bytes=1_000_000)
    for i in range(100):
        ring.append(LogLine("debug", "x" * 60_000, {"part": str(i)}))
    assert 15 <= len(ring) <= 16 and ring[-1].fields["part"] == "99"
    assert ring.dropped == 100 - len(ring)
    ring.append(LogLine("error", "y" * 2_000_000, {}))  # alone over the budget: kept
    assert len(ring) == 1 and ring[0].level == "error"


def test_long_lines_are_cut_and_marked() -> None:
    stream = io.BytesIO(b"short\n" + b"x" * 100 + b"\n" + b"y" * 10 + b"\nlast without end")
    lines = list(read_lines(stream, 10))
    assert lines[0] == "short"
    assert lines[1] == "x" * 10 + " … [line cut: 90 more bytes]"
    assert lines[2] == "y" * 10  # exactly at the limit: whole
    assert lines[3] == "last without end"[:10] + " … [line cut: 6 more bytes]"
    assert cut_text("héllo", 2) == "h … [line cut: 4 more bytes]"  # never half a character


@given(st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")), max_size=20))
def test_read_lines_is_bounded_and_loses_no_line(lines: list[bytes]) -> None:
    limit = 64
    stream = io.BytesIO(b"".join(line + b"\n" for line in lines))
    out = list(read_lines(stream, limit))
    assert len(out) == len(lines)
    for raw, text in zip(lines, out, strict=True):
        match = CUT.search(text)
        if len(raw) > limit:
            assert match is not None and int(match[1]) == len(raw) - limit
        else:
            assert match is None or raw.endswith(match[0].encode())


def test_supervisor_and_local_server_keep_a_bounded_log(tmp_path: Path) -> None:
    folder = copy_plugin(HOSTILE, tmp_path / "plugin")
    # The plugin's output relay hands the host a long printed line in parts of at most
    # LINE_LIMIT bytes (18 for 1 MiB); the host cuts each part to its own line limit.
    big = 1024 * 1024
    with LocalMattermost(folder, max_log_lines=50, max_log_line=1000) as local:
        mark = local.logs.total
        answer = local.get("/flood", query=f"lines=500&big={big}")
        assert answer.status_code == 200
        cut = local.wait_for_log(
            lambda r: "[line cut:" in r.message and "x" * 50 in r.message, since=mark, timeout=10
        )
        supervisor = local.supervisor
        assert len(local.logs) == 50 and local.logs.total - mark >= 501
        assert len(supervisor.logs) == 50 and supervisor.logs.dropped >= 451
        assert local.logs.maxlen == supervisor.logs.maxlen == 50
        assert len(cut.message.encode()) <= 1000 + 60
        match = CUT.search(cut.message)
        assert match is not None and LINE_LIMIT - 2000 <= int(match[1]) <= LINE_LIMIT - 1000
        assert local.find_logs("flood line 499", since=mark)  # the newest are kept
        assert not local.find_logs("flood line 10\n", since=mark)
        assert local.supervisor.health_check()


def test_the_fake_keeps_a_bounded_api_log() -> None:
    fake = FakeMattermost()
    server, target = serve(fake)
    try:
        from mattermost_plugin.client import PluginAPIClient

        with PluginAPIClient(target=target, retries=0) as api:
            api.log_info("x" * 200_000)
        (entry,) = list(fake.logs)
        assert CUT.search(entry.message) and len(entry.message) < 70_000
        assert isinstance(fake.logs, LogRing)
    finally:
        server.stop(None)
