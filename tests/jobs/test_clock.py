"""The SDK clock: the system clock in production, a test clock file only when asked for."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mattermost_plugin import clock
from mattermost_plugin.clock import TEST_CLOCK_ENV, TestClock


def test_without_the_variable_it_is_the_system_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TEST_CLOCK_ENV, raising=False)
    assert clock.test_clock_path() is None
    assert abs(clock.time() - time.time()) < 1
    assert clock.now().tzinfo is timezone.utc


def test_a_test_clock_moves_every_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    test_clock = TestClock.temporary()
    folder = test_clock.path.parent
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(test_clock.path.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv(*test_clock.env().popitem())
    assert clock.test_clock_path() == test_clock.path
    assert abs(clock.time() - time.time()) < 1
    moved = test_clock.advance(timedelta(days=1))
    assert abs(clock.time() - (time.time() + 86400)) < 1
    assert abs((clock.now() - moved).total_seconds()) < 1
    target = datetime(2031, 5, 1, 9, 0, tzinfo=timezone.utc)
    test_clock.set(target)
    assert abs(clock.time() - target.timestamp()) < 1
    assert abs(test_clock.time() - target.timestamp()) < 1
    assert TestClock(test_clock.path).offset == test_clock.offset  # another process's view
    test_clock.close()
    assert not folder.exists()


def test_the_test_clock_only_moves_forward() -> None:
    test_clock = TestClock.temporary()
    with pytest.raises(ValueError, match="only moves forward"):
        test_clock.advance(-1)
    with pytest.raises(ValueError, match="only moves forward"):
        test_clock.set(datetime(2000, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="timezone-aware"):
        test_clock.set(datetime(2100, 1, 1))
    test_clock.close()


@pytest.mark.parametrize(
    ("mode", "content", "problem"),
    [
        (0o600, "not a number", "no offset in it"),
        (0o666, "86400", "writable by other users"),
        (0o620, "86400", "writable by other users"),
    ],
)
def test_an_untrustworthy_file_is_ignored_with_an_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    mode: int,
    content: str,
    problem: str,
) -> None:
    path = tmp_path / "offset"
    path.write_text(content)
    os.chmod(path, mode)
    monkeypatch.setenv(TEST_CLOCK_ENV, str(path))
    assert abs(clock.time() - time.time()) < 1  # the system clock
    clock.time()
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and problem in errors[0] and "using the system clock" in errors[0]


def test_a_missing_file_is_the_system_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TEST_CLOCK_ENV, str(tmp_path / "absent"))
    assert abs(clock.time() - time.time()) < 1
