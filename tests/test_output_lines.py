"""Lines for go-plugin's stderr reader: ``hclog_lines`` (the SDK's records, cut when long)
and ``LineRelay`` (what a plugin prints, made into hclog lines), for any input.

The process-level behaviour (pipes, exit, crashes) is in tests/process/test_output_relay.py.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mattermost_plugin._stdio import LineRelay
from mattermost_plugin.logging import LINE_LIMIT, hclog_lines

HEAD = {"@level": "info", "@timestamp": "2026-01-02T03:04:05.000006Z", "@module": "m"}
# Long enough to need several parts, with characters that JSON escapes to 6 or 12 bytes.
texts = st.text(st.sampled_from('ab"\\\n\x00é☃😀'), max_size=40) | st.builds(
    lambda piece, n: piece * n,
    st.text(st.sampled_from('ab"\\\x00é☃😀'), min_size=1, max_size=8),
    st.integers(1, 30_000),
)
values = st.one_of(
    texts, st.integers(), st.none(), st.lists(texts, max_size=3), st.dictionaries(texts, texts)
)


def parse(line: str) -> dict[str, Any]:
    assert len(line) <= LINE_LIMIT and line.isascii() and "\n" not in line
    data = json.loads(line)
    assert isinstance(data, dict)
    for key in ("@level", "@message", "@timestamp"):
        assert isinstance(data[key], str)
    return data


def join_parts(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """One entry back from its parts: every key's string pieces concatenated in order."""
    assert [line["part"] for line in lines] == list(range(1, len(lines) + 1))
    assert all(line["more"] is True for line in lines[:-1]) and "more" not in lines[-1]
    entry: dict[str, Any] = {}
    for line in lines:
        assert {k: line[k] for k in HEAD} == HEAD
        for key, value in line.items():
            if key in ("part", "more") or key in HEAD:
                continue
            entry[key] = entry[key] + value if key in entry else value
    return entry


@given(message=texts, fields=st.dictionaries(st.text(max_size=8), values, max_size=4))
def test_hclog_lines_fit_the_buffer_and_join_back(message: str, fields: dict[str, Any]) -> None:
    entry = {**fields, **HEAD, "@message": message}
    lines = [parse(line) for line in hclog_lines(entry)]
    if len(lines) == 1 and "part" not in lines[0]:
        assert lines[0] == entry
        return
    joined = join_parts(lines)
    assert joined.pop("@message") == message
    for key, value in fields.items():
        if key in HEAD or key == "@message":
            continue
        name = f"_{key}" if key in ("part", "more") else key
        got = joined[name]
        # A long non-string value travels as its JSON text.
        assert got == value or (not isinstance(value, str) and json.loads(got) == value)


def test_a_continued_entry_is_marked_even_when_short() -> None:
    (first,) = hclog_lines({**HEAD, "@message": "a"}, more=True)
    (last,) = hclog_lines({**HEAD, "@message": "b"}, part=2)
    assert (json.loads(first)["part"], json.loads(first)["more"]) == (1, True)
    assert json.loads(last)["part"] == 2 and "more" not in json.loads(last)


def relay(chunks: list[bytes]) -> list[dict[str, Any]]:
    lines = LineRelay("debug", "stdout")
    out = [line for chunk in chunks for line in lines.feed(chunk)] + lines.finish()
    return [parse(line) for line in out]


def messages(lines: list[dict[str, Any]]) -> list[str]:
    """The printed lines' text, split lines joined."""
    found: list[str] = []
    pieces: list[str] = []
    for line in lines:
        assert (line["@level"], line["@module"]) == ("debug", "stdout")
        pieces.append(line["@message"])
        if not line.get("more"):
            found.append("".join(pieces))
            pieces = []
    assert pieces == []
    return found


@st.composite
def printed(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    """Text (lines of any length, any characters) and the chunks it arrives in."""
    text = draw(st.lists(texts, max_size=4).map("\n".join))
    data = text.encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return text, chunks


@given(printed())
def test_line_relay_keeps_every_line_whatever_the_chunks(case: tuple[str, list[bytes]]) -> None:
    text, chunks = case
    expected = text.split("\n") if text else []
    if expected and expected[-1] == "":
        expected.pop()  # a final newline ends the last line; it does not start one
    assert messages(relay(chunks)) == [line.removesuffix("\r") for line in expected]


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_line_relay_makes_hclog_of_any_bytes(chunks: list[bytes]) -> None:
    lines = relay(chunks)  # every line parses
    data = b"".join(chunks)
    ends = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    assert len(messages(lines)) == ends


def test_line_relay_cuts_a_long_line_as_it_comes_and_not_inside_a_character() -> None:
    lines = LineRelay("warn", "stderr")
    snowmen = "☃" * LINE_LIMIT  # 3 bytes each: the first cut falls inside one
    out = lines.feed(snowmen.encode())
    assert out and all(json.loads(line)["more"] for line in out)  # written before the end
    out += lines.feed(b"\r\n") + lines.finish()
    parts = [parse(line) for line in out]
    assert "".join(p["@message"] for p in parts) == snowmen
    assert "\ufffd" not in "".join(p["@message"] for p in parts)
    assert [p["part"] for p in parts] == list(range(1, len(parts) + 1))
