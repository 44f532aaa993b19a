"""What a plugin prints reaches the host only as well-formed hclog lines (PROTOCOL §6).

go-plugin parses every stderr line that is a JSON object as an hclog entry and asserts,
unchecked, that ``@message``, ``@level`` and ``@timestamp`` are strings: a plugin that
prints ``{"@message": 1}`` can panic the host. So under a host, :class:`OutputRelay` points
fd 1 and fd 2 at pipes read by a thread, which writes each line it reads to the real
stderr as an hclog line whose ``@message`` is the text (stdout at :data:`STDOUT_LEVEL`,
stderr at :data:`STDERR_LEVEL`). That covers ``print``, ``sys.stderr``, warnings,
tracebacks, C extensions and child processes alike. The SDK's own records are hclog
already and go to the real stderr directly; one lock keeps the two writers' lines whole.
Lines longer than :data:`~mattermost_plugin.logging.LINE_LIMIT` are cut into marked parts
(see :func:`~mattermost_plugin.logging.hclog_lines`).

At exit (``atexit``, so also after ``sys.exit``) the relay writes what is still in the
pipes and hands fd 1 and fd 2 back to the real stderr, for whatever the interpreter says
while it shuts down. A crash's report comes from faulthandler, which writes straight to the
real stderr (a process killed by a signal runs no Python code any more); text written just
before ``os._exit`` or a crash gets through only if the thread read it in time.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import select
import sys
import threading
from datetime import datetime, timezone

from mattermost_plugin.logging import LINE_LIMIT, _use_log_stream, hclog_lines

__all__ = ["STDERR_LEVEL", "STDOUT_LEVEL", "LineRelay", "OutputRelay"]

STDOUT_LEVEL = "debug"
"""The hclog level of text written to stdout (``print``) after the handshake."""
STDERR_LEVEL = "warn"
"""The hclog level of text written to stderr (warnings, tracebacks, ``sys.stderr``)."""
_READ_SIZE = 65536
_JOIN_TIMEOUT = 2.0  # seconds the exit handler waits for the thread to stop


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utf8_cut(data: bytes | bytearray, limit: int) -> int:
    """A cut at most ``limit`` bytes in that does not split a UTF-8 character."""
    cut = limit
    for _ in range(3):  # a character has at most 3 continuation bytes
        if cut <= 0 or (data[cut] & 0xC0) != 0x80:
            break
        cut -= 1
    return cut if cut > 0 else limit


class LineRelay:
    """Cuts one stream's bytes into lines and turns each into hclog lines.

    ``feed`` takes whatever a read returned and gives back the finished lines; ``finish``
    gives back the last, unterminated line. Text is UTF-8 (invalid bytes become U+FFFD), a
    line ends at ``\\n`` (a ``\\r`` before it is dropped, other ``\\r`` and NUL are kept as
    text), and a line longer than ``LINE_LIMIT`` bytes is written in marked parts as it
    comes, so memory stays bounded whatever is printed.
    """

    def __init__(self, level: str, module: str) -> None:
        self.level = level
        self.module = module
        self._buffer = bytearray()
        self._next_part: int | None = None  # set while a long line is being cut

    def feed(self, data: bytes) -> list[str]:
        """Take ``data``; return the hclog lines it completed."""
        self._buffer += data
        out: list[str] = []
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end < 0:
                break
            out += self._line(self._buffer[start:end], last=True)
            start = end + 1
        del self._buffer[:start]
        while len(self._buffer) > LINE_LIMIT:  # a long line: write what is here, in parts
            cut = _utf8_cut(self._buffer, LINE_LIMIT)
            out += self._line(self._buffer[:cut], last=False)
            del self._buffer[:cut]
        return out

    def finish(self) -> list[str]:
        """The end of the stream: the unterminated rest, if any."""
        if not self._buffer and self._next_part is None:
            return []
        rest = bytes(self._buffer)
        self._buffer.clear()
        return self._line(rest, last=True)

    def _line(self, raw: bytes | bytearray, *, last: bool) -> list[str]:
        if last and raw.endswith(b"\r"):
            raw = raw[:-1]
        entry = {
            "@level": self.level,
            "@message": bytes(raw).decode("utf-8", "replace"),
            "@timestamp": _timestamp(),
            "@module": self.module,
        }
        lines = hclog_lines(entry, part=self._next_part, more=not last)
        self._next_part = None if last else (self._next_part or 1) + len(lines)
        return lines


# --- the relay ----------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        view = view[written:]


class _LogStream(io.TextIOBase):
    """The SDK handler's stream: whole records, straight to the real stderr, under the
    relay's lock."""

    def __init__(self, relay: OutputRelay) -> None:
        self._relay = relay

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._relay.write(text.encode("ascii", "backslashreplace"))  # hclog lines are ASCII
        return len(text)


class OutputRelay:
    """Points fd 1 and fd 2 (and so ``sys.stdout``, ``sys.stderr``) at the relay thread and
    the SDK's log handler at the real stderr; undone by :meth:`close`, which runs at exit.
    """

    def __init__(self) -> None:
        self._real = os.dup(2)  # not inherited: child processes write through the relay
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._reinit_lock)
        (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
        self._wake_r, self._wake_w = os.pipe()
        self._sources = {
            out_r: LineRelay(STDOUT_LEVEL, "stdout"),
            err_r: LineRelay(STDERR_LEVEL, "stderr"),
        }
        self._closed = False
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a replaced or closed stream
                stream.flush()
        os.dup2(out_w, 1)  # inheritable: child processes print through the relay too
        os.dup2(err_w, 2)
        os.close(out_w)
        os.close(err_w)
        for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
            # Line by line, so text reaches the relay as it is printed; UTF-8, as it is read.
            if isinstance(stream, io.TextIOWrapper):
                with contextlib.suppress(Exception):
                    if stream.fileno() == fd:
                        stream.reconfigure(
                            encoding="utf-8", errors="backslashreplace", line_buffering=True
                        )
        self.log_stream = _LogStream(self)
        """Where the SDK's hclog handler writes."""
        self._thread = threading.Thread(
            target=self._run, name="mattermost-plugin-output", daemon=True
        )
        self._thread.start()
        _use_log_stream(self.log_stream)
        atexit.register(self.close)

    @property
    def real_stderr(self) -> int:
        """A descriptor of the real stderr (for faulthandler)."""
        return self._real

    def _reinit_lock(self) -> None:
        self._lock = threading.Lock()  # a forked child must not inherit it held

    def write(self, data: bytes) -> None:
        """Write whole lines to the real stderr."""
        with self._lock:
            _write_all(self._real, data)

    def _emit(self, lines: list[str]) -> None:
        if lines:
            self.write(("\n".join(lines) + "\n").encode("ascii"))

    def _run(self) -> None:
        poller = select.poll()
        for fd in (*self._sources, self._wake_r):
            poller.register(fd, select.POLLIN)
        while True:
            try:
                for fd, _ in poller.poll():
                    if fd == self._wake_r:
                        return
                    self._read(fd, poller)
            except Exception as exc:  # keep reading: a stuck relay would block every print
                with contextlib.suppress(Exception):
                    self.write(f"mattermost-plugin: output relay: {exc!r}\n".encode())

    def _read(self, fd: int, poller: select.poll | None) -> bool:
        """Relay one read of ``fd``; ``False`` at its end (or nothing to read)."""
        try:
            data = os.read(fd, _READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return False
        relay = self._sources[fd]
        self._emit(relay.feed(data) if data else relay.finish())
        if not data and poller is not None:
            poller.unregister(fd)
        return bool(data)

    def close(self) -> None:
        """Relay what is left and give fd 1 and fd 2 back to the real stderr: output from
        here on (the interpreter shutting down) reaches it as plain text. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.write(self._wake_w, b"x")
        self._thread.join(_JOIN_TIMEOUT)
        os.dup2(self._real, 1)
        os.dup2(self._real, 2)
        if self._thread.is_alive():  # stuck writing: the host does not read; do not race it
            return
        for fd in self._sources:  # what was written before the switch, to the last byte
            os.set_blocking(fd, False)
            while self._read(fd, None):
                pass
            self._emit(self._sources[fd].finish())
            os.close(fd)
