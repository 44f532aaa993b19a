"""The hook thread pool on its own: bounds, reuse, the Executor contract, shutdown."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, wait

import pytest

from mattermost_plugin._threads import HookThreads


def test_runs_jobs_and_reuses_an_idle_thread() -> None:
    pool = HookThreads(4)
    names: list[str] = []
    for _ in range(20):  # one after the other: one thread is enough
        pool.submit(lambda: names.append(threading.current_thread().name)).result(timeout=5)
    assert set(names) == {"hook-0"}
    pool.shutdown()


def test_never_more_threads_than_max_workers() -> None:
    pool = HookThreads(3)
    release = threading.Event()
    running = threading.Semaphore(0)
    active: set[str] = set()

    def block() -> str:
        active.add(threading.current_thread().name)
        running.release()
        release.wait(5)
        return threading.current_thread().name

    futures = [pool.submit(block) for _ in range(7)]
    for _ in range(3):
        assert running.acquire(timeout=5)
    assert not running.acquire(timeout=0.2)  # the other four wait in the queue
    assert len(active) == 3
    release.set()
    done, _ = wait(futures, timeout=5)
    assert len(done) == 7
    assert {f.result() for f in futures} <= {"hook-0", "hook-1", "hook-2"}
    pool.shutdown()


def test_submit_keeps_results_and_exceptions() -> None:
    pool = HookThreads(2)
    assert pool.submit(pow, 2, exp=10).result(timeout=5) == 1024
    failed = pool.submit(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        failed.result(timeout=5)
    assert list(pool.map(str.upper, ["a", "b"], timeout=5)) == ["A", "B"]
    pool.shutdown()


def test_a_failing_job_does_not_lose_its_thread(caplog: pytest.LogCaptureFixture) -> None:
    pool = HookThreads(1)

    def broken() -> None:
        raise RuntimeError("job bug")

    pool.run_soon(broken)
    assert pool.submit(lambda: "still here").result(timeout=5) == "still here"
    assert "a hook pool job failed" in caplog.text
    pool.shutdown()


def test_shutdown_cancels_queued_work_and_refuses_more() -> None:
    pool = HookThreads(1)
    release = threading.Event()
    started = threading.Event()

    def block() -> None:
        started.set()
        release.wait(5)

    running = pool.submit(block)
    assert started.wait(5)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=False, cancel_futures=True)
    with pytest.raises(CancelledError):
        queued.result(timeout=5)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)
    release.set()
    running.result(timeout=5)  # the running job finishes
    pool.shutdown()  # again: a no-op


def test_max_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_workers must be at least 1, got 0"):
        HookThreads(0)
