"""Readable tracebacks of a plugin's failures, from the ``stacktrace`` of its log lines.

The plugin process logs a failing handler with Python's whole traceback in the hclog
``stacktrace`` field (kept there, whole, for the server's log). Most of it is the SDK's
dispatch machinery; what a plugin author wants is where *their* code failed. So the dev
console and the pytest helpers show it through :func:`readable_traceback`:

* the first line is the plugin's file and line where the exception came from, then the
  exception (``server/plugin.py:6 in parse: ValueError: ...``);
* then the traceback as Python wrote it, with the plugin's frames (and the library frames
  they called) shown and each run of SDK-internal frames (the SDK, and the machinery that
  called the handler) collapsed to one line; ``verbose`` shows every frame.

Text that is not a traceback this module can read (exception groups, anything cut) is
returned unchanged: nothing is ever lost, only folded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

__all__ = ["readable_traceback", "split_stacktrace", "traceback_origin"]

_FRAME = re.compile(r'^  File "(?P<file>.+)", line (?P<line>\d+), in (?P<function>.+)$')
_HEADER = "Traceback (most recent call last):"
_SDK_PACKAGE = "mattermost_plugin"
# Folders inside a plugin that hold other people's code (venvs, bundled dependencies).
_LIBRARY_PARTS = frozenset(
    {"site-packages", "dist-packages", "vendor", "wheelhouse", "venv", ".venv"}
)
_STDLIB_PART = re.compile(r"^python\d+\.\d+t?$")  # .../lib/python3.12/asyncio/...


@dataclass
class _Frame:
    file: str
    line: int
    function: str
    text: list[str]
    """The frame as Python wrote it: the ``File`` line, the code, the carets."""


@dataclass
class _Section:
    """One exception of a chain: the lines before its frames, its frames, the exception."""

    lead: list[str] = field(default_factory=list)
    frames: list[_Frame] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)


def _parse(text: str) -> list[_Section] | None:
    sections = [_Section()]
    state = "lead"
    for line in text.splitlines():
        section = sections[-1]
        frame = _FRAME.match(line)
        if state == "tail" and (frame or line == _HEADER):
            # A chained exception ("During handling of ...") starts a new section; its text
            # sits at the end of the previous tail.
            lead: list[str] = []
            while section.tail and not _is_exception_line(section.tail[-1]):
                lead.insert(0, section.tail.pop())
            section = _Section(lead=lead)
            sections.append(section)
            state = "lead"
        if frame:
            file, number, function = frame["file"], int(frame["line"]), frame["function"]
            section.frames.append(_Frame(file, number, function, [line]))
            state = "frames"
        elif state == "lead":
            if section is sections[0] and not section.lead and line != _HEADER:
                return None  # does not start like a traceback
            section.lead.append(line)
        elif state == "frames" and line.startswith(("    ", "  [Previous")):
            section.frames[-1].text.append(line)
        else:
            section.tail.append(line)
            state = "tail"
    if not any(s.frames for s in sections) or not sections[-1].tail:
        return None
    return sections


def _is_exception_line(line: str) -> bool:
    """Whether a tail line belongs to the exception (not to the chain text after it)."""
    return bool(line) and not line.startswith(("During handling", "The above exception"))


def _kind(file: str, plugin_dir: Path | None) -> str:
    """``sdk``, ``plugin`` or ``library`` (the standard library and installed packages)."""
    path = PurePath(file)
    if _SDK_PACKAGE in path.parts:
        return "sdk"
    if file.startswith("<"):  # <frozen runpy>, <string>
        return "library"
    if plugin_dir is not None:
        try:
            inside = path.relative_to(plugin_dir)
        except ValueError:
            return "library"
        return "library" if _LIBRARY_PARTS.intersection(inside.parts) else "plugin"
    if _LIBRARY_PARTS.intersection(path.parts) or any(
        _STDLIB_PART.match(part) for part in path.parts
    ):
        return "library"
    return "plugin"


def _shown_path(file: str, base: Path) -> str:
    try:
        return str(PurePath(file).relative_to(base))
    except ValueError:
        return file


def _origin(sections: Sequence[_Section], plugin_dir: Path | None) -> _Frame | None:
    """The frame to name first: the innermost plugin frame of the last exception that has
    one, else the innermost frame of the last exception."""
    for section in reversed(sections):
        for frame in reversed(section.frames):
            if _kind(frame.file, plugin_dir) == "plugin":
                return frame
    last = next((s for s in reversed(sections) if s.frames), None)
    return last.frames[-1] if last is not None else None


def traceback_origin(
    text: str, *, plugin_dir: Path | None = None, relative_to: Path | None = None
) -> str | None:
    """``file:line in function`` of the plugin's frame the exception came from (see
    :func:`readable_traceback`), or ``None`` when ``text`` is no traceback."""
    sections = _parse(text)
    frame = _origin(sections, plugin_dir) if sections else None
    return _where(frame, relative_to) if frame is not None else None


def _where(frame: _Frame, relative_to: Path | None) -> str:
    base = Path(os.getcwd()) if relative_to is None else relative_to
    return f"{_shown_path(frame.file, base)}:{frame.line} in {frame.function}"


def _hidden_line(count: int, sdk_only: bool, hint: str) -> str:
    what = "SDK" if sdk_only else "SDK and library"
    return f"  [{count} {what} frame{'s' * (count != 1)} hidden; {hint}]"


def readable_traceback(
    text: str,
    *,
    plugin_dir: Path | None = None,
    verbose: bool = False,
    relative_to: Path | None = None,
    hint: str = "-v shows them",
) -> str:
    """``text`` (a Python traceback, as in a log line's ``stacktrace``) for people: its
    origin first, SDK-internal frames folded unless ``verbose``.

    ``plugin_dir`` tells the plugin's own files from the rest (without it: every file
    outside the SDK, the standard library and installed packages). ``relative_to`` shortens
    the origin's path (default: the current folder). ``hint`` ends each folded line.
    """
    sections = _parse(text)
    if sections is None:
        return text
    origin = _origin(sections, plugin_dir)
    tail = sections[-1].tail
    exception = next((line for line in tail if line and not line[0].isspace()), tail[0])
    lines = []
    if origin is not None:
        lines.append(f"{_where(origin, relative_to)}: {exception.strip()}")
    kinds = [[_kind(f.file, plugin_dir) for f in s.frames] for s in sections]
    fold = not verbose and any("plugin" in k for k in kinds)
    for section, section_kinds in zip(sections, kinds, strict=True):
        lines += section.lead
        first_own = section_kinds.index("plugin") if "plugin" in section_kinds else None
        hidden: list[str] = []
        for index, (frame, kind) in enumerate(zip(section.frames, section_kinds, strict=True)):
            machinery = first_own is not None and index < first_own
            if fold and (kind == "sdk" or machinery):
                hidden.append(kind)
                continue
            if hidden:
                lines.append(_hidden_line(len(hidden), set(hidden) == {"sdk"}, hint))
                hidden = []
            lines += frame.text
        if hidden:
            lines.append(_hidden_line(len(hidden), set(hidden) == {"sdk"}, hint))
        lines += section.tail
    return "\n".join(lines)


def split_stacktrace(fields: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A log line's fields without its traceback, and the traceback (``stacktrace``; its
    ``error`` field goes too, as the traceback ends with it). ``None`` when there is none."""
    rest = dict(fields)
    stacktrace = rest.get("stacktrace")
    if not isinstance(stacktrace, str):
        return rest, None
    del rest["stacktrace"]
    rest.pop("error", None)
    return rest, stacktrace
