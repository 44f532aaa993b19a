"""The SDK's clock: what time jobs think it is, and how tests move it forward.

Jobs (:mod:`mattermost_plugin.jobs`) read the time through :func:`now` / :func:`time`, never
``datetime.now()`` directly, so a test can make a daily job run in seconds::

    mattermost.clock.advance(timedelta(days=1))   # the pytest fixture's LocalMattermost

In production the clock is the system clock. A test clock is switched on only by the
environment variable ``MATTERMOST_PLUGIN_TEST_CLOCK``, naming a file that holds an offset in
seconds (``86400.0``): the clock then reads ``time.time() + offset``. A file works across
processes, so every plugin process of a local cluster, and the fake server that stamps posts
and expires KV values, share one clock, and the test moves all of them at once with
:class:`TestClock`. The local host (:class:`~mattermost_plugin.host.local.LocalMattermost`)
always sets it up; the Mattermost server never sets the variable. Should it be set anyway:

* the file must belong to the plugin's user and be writable by no one else (0600), else it
  is ignored and the system clock used, with an error in the log;
* the scheduler logs a warning when it starts with a test clock, naming the file and the
  offset, so it cannot go unnoticed.

The offset only moves forward (:class:`TestClock` refuses to go back), as leases and
schedules assume; a jump forward is a jump for everything that reads the clock, so KV
values with an expiry and leases on the fake server run out as if that time had passed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
import threading
import time as _time
import weakref
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

__all__ = ["TEST_CLOCK_ENV", "TestClock", "now", "test_clock_path", "time"]

TEST_CLOCK_ENV = "MATTERMOST_PLUGIN_TEST_CLOCK"

_log = logging.getLogger("mattermost_plugin.clock")


class _OffsetFile:
    """Reads the offset from the test clock file when the file changed (one ``stat`` per
    read of the clock; a write replaces the file, so its inode changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._offset = 0.0
        self._problem: str | None = None
        self._lock = threading.Lock()

    def offset(self) -> float:
        try:
            info = os.stat(self.path)
        except OSError as exc:
            return self._fail(f"cannot read it: {exc.strerror}")
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)
        if signature == self._seen:
            return self._offset
        with self._lock:
            problem = _unsafe(info)
            if problem is not None:
                return self._fail(problem)
            try:
                offset = float(self.path.read_text().strip())
            except (OSError, ValueError) as exc:
                return self._fail(f"no offset in it: {exc}")
            self._offset, self._seen, self._problem = offset, signature, None
        return offset

    def _fail(self, problem: str) -> float:
        if problem != self._problem:  # once per distinct problem, not on every read
            self._problem = problem
            _log.error("%s=%s: %s; using the system clock", TEST_CLOCK_ENV, self.path, problem)
        self._seen, self._offset = None, 0.0
        return 0.0


def _unsafe(info: os.stat_result) -> str | None:
    """Why a clock file must not be trusted: someone else could move our time."""
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return "the file belongs to another user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "the file is writable by other users (chmod 600 it)"
    return None


_reader: _OffsetFile | None = None
_reader_path: str | None = None


def test_clock_path() -> Path | None:
    """The test clock file in use, or ``None`` in production (the system clock)."""
    path = os.environ.get(TEST_CLOCK_ENV)
    return Path(path) if path else None


def time() -> float:
    """Seconds since the epoch, as jobs see them (the test clock's offset applied)."""
    global _reader, _reader_path
    path = os.environ.get(TEST_CLOCK_ENV)
    if not path:
        return _time.time()
    if path != _reader_path:
        _reader, _reader_path = _OffsetFile(Path(path)), path
    assert _reader is not None
    return _time.time() + _reader.offset()


def now() -> datetime:
    """The current time in UTC (timezone-aware), as jobs see it."""
    return datetime.fromtimestamp(time(), tz=timezone.utc)


class TestClock:
    """The writing side of a test clock: a file with the offset, 0600 in a 0700 folder.

    ``TestClock.temporary()`` makes one in a fresh private folder, removed by :meth:`close`
    or when the object is collected.
    Give the plugin processes :meth:`env`, give the fake server :meth:`time` as its clock,
    and move time with :meth:`advance` or :meth:`set`; every reader sees the new time on its
    next read.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cleanup: weakref.finalize[Any, TestClock] | None = None
        if self.path.exists():
            self._offset = float(self.path.read_text().strip() or 0)
        else:
            self._offset = 0.0
            self._write(0.0)

    @classmethod
    def temporary(cls) -> TestClock:
        folder = Path(tempfile.mkdtemp(prefix="mattermost-clock-"))  # 0700
        clock = cls(folder / "offset")
        clock._cleanup = weakref.finalize(clock, shutil.rmtree, folder, ignore_errors=True)
        return clock

    @property
    def offset(self) -> float:
        """Seconds the clock is ahead of the system clock."""
        return self._offset

    def time(self) -> float:
        """Seconds since the epoch on this clock."""
        return _time.time() + self._offset

    def now(self) -> datetime:
        """The current time on this clock, in UTC."""
        return datetime.fromtimestamp(self.time(), tz=timezone.utc)

    def advance(self, delta: float | timedelta) -> datetime:
        """Move the clock forward by ``delta`` (seconds or a ``timedelta``); the new time."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError(f"the test clock only moves forward, got {delta!r}")
        with self._lock:
            self._write(self._offset + seconds)
        return self.now()

    def set(self, when: datetime) -> datetime:
        """Move the clock forward to ``when`` (timezone-aware), from where it runs on."""
        if when.tzinfo is None:
            raise ValueError(f"give a timezone-aware datetime, got {when!r}")
        return self.advance(when.timestamp() - self.time())

    def env(self) -> dict[str, str]:
        """The environment that makes a plugin process read this clock."""
        return {TEST_CLOCK_ENV: str(self.path)}

    def close(self) -> None:
        """Remove the folder :meth:`temporary` made (the offset stays readable here)."""
        if self._cleanup is not None:
            self._cleanup()

    def _write(self, offset: float) -> None:
        # Write beside and rename: a reader sees the old file or the new one, whole.
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".offset-")
        try:
            with os.fdopen(fd, "w") as file:  # mkstemp made it 0600
                file.write(repr(offset) + "\n")
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self._offset = offset
