"""How an ``async def`` handler runs: its first step at once, with no timer; a timer for the
time left only once it suspends. Every way out of the coroutine (a value, an exception, an
exit, the hook timeout, the call cancelled) behaves as a plain ``await`` would, whichever
step it happens in. (Real plugin processes exercise the same paths in test_failures.py.)"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import pytest

from mattermost_plugin import _dispatch
from mattermost_plugin._dispatch import HandlerExit, HookFailure, _run_coroutine

Handler = Callable[[], Awaitable[Any]]


def run(handler: Handler, timeout: float | None = 5.0) -> Any:
    async def main() -> Any:
        return await _run_coroutine(handler(), timeout)

    return asyncio.run(main())


def test_a_handler_that_never_suspends_arms_no_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_timer(*args: Any) -> None:
        raise AssertionError("a timer was armed")

    monkeypatch.setattr(asyncio, "timeout_at", no_timer)
    monkeypatch.setattr(asyncio, "wait_for", no_timer)

    async def filter_post() -> tuple[None, str]:
        return None, "blocked"

    assert run(filter_post) == (None, "blocked")


async def _three_steps() -> str:
    await asyncio.sleep(0)
    future = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(future.set_result, "from a future")
    got: str = await future
    await asyncio.sleep(0.01)
    return got


def test_a_handler_that_suspends_goes_on_where_it_stopped() -> None:
    assert run(_three_steps) == "from a future"
    assert run(_three_steps, timeout=None) == "from a future"


def test_exceptions_reach_the_handler_at_its_await() -> None:
    async def handler() -> str:
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_exception, KeyError("gone"))
        try:
            await future
        except KeyError as exc:
            return f"caught {exc}"
        return "not caught"

    assert run(handler) == "caught 'gone'"


@pytest.mark.parametrize("suspend_first", [False, True])
def test_failures_and_exits_in_either_step(suspend_first: bool) -> None:
    async def raises() -> None:
        if suspend_first:
            await asyncio.sleep(0)
        raise LookupError("no such subcommand")

    async def exits() -> None:
        if suspend_first:
            await asyncio.sleep(0)
        sys.exit(3)

    async def own_timeout() -> None:
        if suspend_first:
            await asyncio.sleep(0)
        raise TimeoutError("upstream timed out")  # the handler's own, not the hook's

    with pytest.raises(LookupError, match="no such subcommand"):
        run(raises)
    with pytest.raises(HandlerExit, match="SystemExit: 3"):
        run(exits)
    with pytest.raises(TimeoutError, match="upstream timed out"):
        run(own_timeout)


def test_a_suspended_handler_times_out() -> None:
    finished: list[bool] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(5)
        finally:
            finished.append(True)  # cancelled at its await: its clean-up runs

    started = time.monotonic()
    with pytest.raises(HookFailure, match=r"did not finish within 0\.1 s"):
        run(slow, timeout=0.1)
    assert time.monotonic() - started < 2
    assert finished == [True]


def test_the_first_step_counts_against_the_timeout() -> None:
    async def busy_then_waits() -> str:
        time.sleep(0.2)  # blocks the loop past the whole timeout before its first await
        await asyncio.sleep(0.05)
        return "late"

    with pytest.raises(HookFailure, match="did not finish"):
        run(busy_then_waits, timeout=0.1)


def test_cancelling_the_call_cancels_the_handler_at_its_await() -> None:
    seen: list[str] = []

    async def handler() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main() -> None:
        task = asyncio.ensure_future(_run_coroutine(handler(), 5.0))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["cancelled"]


def test_an_awaitable_that_is_not_a_coroutine_is_awaited_as_it_is() -> None:
    async def main() -> Any:
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, future.set_result, 42)
        return await _run_coroutine(future, 5.0)

    assert asyncio.run(main()) == 42


def test_the_resumed_coroutine_is_closed_with_its_awaiter() -> None:
    closed: list[bool] = []

    class Pause:
        def __await__(self) -> Generator[str, None, None]:
            yield "paused"

    async def handler() -> None:
        try:
            await Pause()
        finally:
            closed.append(True)

    coroutine = handler()
    pending = coroutine.send(None)
    assert pending == "paused"
    awaiting = _dispatch._Resumed(coroutine, pending).__await__()
    assert next(awaiting) is pending
    awaiting.close()  # what happens to a task's coroutine that is dropped
    assert closed == [True]
