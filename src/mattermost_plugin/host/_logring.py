"""Bounded memory for a plugin's log: a ring of the latest lines, and lines of bounded length.

A plugin can print without end, or print one line of hundreds of megabytes; the host keeps
the latest :data:`MAX_LOG_LINES` lines, at most about :data:`MAX_LOG_BYTES` of text
(:class:`LogRing`), and reads at most :data:`MAX_LOG_LINE` bytes of one line
(:func:`read_lines`), the rest of it skipped and counted in a marker at its end. (The plugin
itself splits a long printed line into parts of 60 KiB, so a huge print arrives as many lines:
the byte budget is what bounds the host's memory then.)
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Iterator, Sequence
from typing import IO, Generic, TypeVar, overload

__all__ = ["MAX_LOG_BYTES", "MAX_LOG_LINE", "MAX_LOG_LINES", "LogRing", "cut_text", "read_lines"]

MAX_LOG_LINES = 10_000
"""Lines of a plugin's log the host keeps (the oldest go first)."""
MAX_LOG_BYTES = 16 * 1024 * 1024
"""About how much text of a plugin's log the host keeps (the oldest lines go first)."""
_ITEM_OVERHEAD = 200  # a line's object, its level, timestamp and small fields
MAX_LOG_LINE = 64 * 1024
"""Bytes of one log line the host keeps."""
_SKIP_SIZE = 64 * 1024

T = TypeVar("T")


def _marker(cut: int) -> str:
    return f" … [line cut: {cut} more bytes]"


def cut_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes, marked when cut."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore") + _marker(len(data) - limit)


def read_lines(stream: IO[bytes], limit: int) -> Iterator[str]:
    """The lines of ``stream`` (without their end), each at most ``limit`` bytes long plus a
    marker: memory stays bounded whatever the stream holds."""
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        if raw.endswith(b"\n") or len(raw) <= limit:
            yield raw.decode("utf-8", "replace").rstrip("\r\n")
            continue
        cut = len(raw) - limit
        while True:  # skip the rest of the line, counting it
            more = stream.readline(_SKIP_SIZE)
            if not more:
                break
            if more.endswith(b"\n"):
                cut += len(more) - 1
                break
            cut += len(more)
        yield raw[:limit].decode("utf-8", "replace") + _marker(cut)


class LogRing(Sequence[T], Generic[T]):
    """The latest ``maxlen`` items, safe to append to from one thread and read from others.

    Indexing and iteration see the items kept. :attr:`total` counts every item ever
    appended, so ``since(mark)`` with a ``mark = ring.total`` taken earlier returns what was
    appended after it, also once older items were dropped (:attr:`dropped`).
    """

    def __init__(self, maxlen: int = MAX_LOG_LINES, max_bytes: int = MAX_LOG_BYTES) -> None:
        if maxlen < 1:
            raise ValueError(f"a log ring keeps at least one line (got maxlen={maxlen})")
        self.maxlen = maxlen
        self.max_bytes = max_bytes
        self._items: collections.deque[T] = collections.deque()
        self._sizes: collections.deque[int] = collections.deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self.dropped = 0
        """How many items were dropped to make room."""

    def append(self, item: T) -> None:
        size = _size_of(item)
        with self._lock:
            self._items.append(item)
            self._sizes.append(size)
            self._bytes += size
            # Keep the newest line even when it alone is over the budget.
            while len(self._items) > 1 and (
                len(self._items) > self.maxlen or self._bytes > self.max_bytes
            ):
                self._items.popleft()
                self._bytes -= self._sizes.popleft()
                self.dropped += 1

    @property
    def total(self) -> int:
        """Items appended so far, dropped ones included."""
        with self._lock:
            return self.dropped + len(self._items)

    def since(self, mark: int) -> list[T]:
        """The items appended after the first ``mark`` ones (those still kept)."""
        with self._lock:
            skip = max(mark - self.dropped, 0)
            return list(itertools.islice(self._items, skip, None))

    def numbered(self) -> tuple[int, list[T]]:
        """The items kept and the number of the first one (items are numbered from 0 in the
        order they were appended, dropped ones included), read at one moment."""
        with self._lock:
            return self.dropped, list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        with self._lock:
            if isinstance(index, slice):
                return list(self._items)[index]
            return self._items[index]

    def __iter__(self) -> Iterator[T]:
        with self._lock:
            return iter(list(self._items))

    def __repr__(self) -> str:
        return (
            f"<LogRing {len(self._items)}/{self.maxlen} lines, ~{self._bytes} bytes, "
            f"{self.dropped} dropped>"
        )


def _size_of(item: object) -> int:
    """About how much memory a log line's text takes: its message and string fields."""
    size = _ITEM_OVERHEAD + len(getattr(item, "message", "") or "")
    fields = getattr(item, "fields", None)
    if isinstance(fields, dict):
        size += sum(len(value) for value in fields.values() if isinstance(value, str))
    return size
