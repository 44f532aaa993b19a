"""The two buffers between the event loop and ``def`` code, unit by unit (mattermost_plugin.http).

``_BodySource``: request chunks put on the loop, read by a coroutine or a thread (bounded,
the reader woken directly). ``_SyncPump``: a sync response body iterated in the pool ahead
of the writes (bounded), each item handed over as soon as it is produced, closed once and
never while a ``next()`` runs, every step in the request's context.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from mattermost_plugin.http._message import REQUEST_QUEUE_CHUNKS, ClientDisconnected, _BodySource
from mattermost_plugin.http._serve import _END, SYNC_BODY_RUN_AHEAD, _SyncPump

T = TypeVar("T")
CHUNK = 64 * 1024


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(4)
    yield executor
    executor.shutdown(wait=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 10))


# -- _BodySource ------------------------------------------------------------------------------
def test_source_blocks_the_putter_when_full_and_a_thread_frees_room(
    pool: ThreadPoolExecutor,
) -> None:
    async def scenario() -> list[bytes | None]:
        loop = asyncio.get_running_loop()
        source = _BodySource(loop)
        for i in range(REQUEST_QUEUE_CHUNKS):
            await source.put(b"%d" % i)
        blocked = asyncio.ensure_future(source.put(b"last"))
        await asyncio.sleep(0.05)
        assert not blocked.done()  # backpressure: nothing more is buffered
        first = await loop.run_in_executor(pool, source.get)
        await asyncio.wait_for(blocked, 5)  # the thread's read made room
        finishing = asyncio.ensure_future(source.finish())  # full again: waits for room
        rest: list[bytes | None] = []
        while (item := await loop.run_in_executor(pool, source.get)) is not None:
            rest.append(item)
        assert finishing.done()
        assert await loop.run_in_executor(pool, source.get) is None  # stays ended
        return [first, *rest]

    got = run(scenario())
    assert got == [b"%d" % i for i in range(REQUEST_QUEUE_CHUNKS)] + [b"last"]


def test_source_wakes_a_waiting_thread_and_coroutine(pool: ThreadPoolExecutor) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        source = _BodySource(loop)
        reading = loop.run_in_executor(pool, source.get)
        await asyncio.sleep(0.05)
        await source.put(b"to the thread")
        assert await asyncio.wait_for(reading, 5) == b"to the thread"
        awaiting = asyncio.ensure_future(source.aget())
        await asyncio.sleep(0.01)
        await source.put(b"to the coroutine")
        assert await asyncio.wait_for(awaiting, 5) == b"to the coroutine"

    run(scenario())


def test_source_failure_wakes_reader_and_putter(pool: ThreadPoolExecutor) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        source = _BodySource(loop)
        reading = loop.run_in_executor(pool, source.get)
        await asyncio.sleep(0.05)
        source.fail(ClientDisconnected("gone"))
        with pytest.raises(ClientDisconnected, match="gone"):
            await asyncio.wait_for(reading, 5)
        with pytest.raises(ClientDisconnected):
            await source.aget()

        full = _BodySource(loop)
        for _ in range(REQUEST_QUEUE_CHUNKS):
            await full.put(b"x")
        putting = asyncio.ensure_future(full.put(b"y"))
        await asyncio.sleep(0.01)
        full.fail(ClientDisconnected("gone"))
        await asyncio.wait_for(putting, 5)  # returns: nobody will read it
        with pytest.raises(ClientDisconnected):  # buffered chunks are dropped
            await loop.run_in_executor(pool, full.get)

    run(scenario())


# -- _SyncPump --------------------------------------------------------------------------------
def test_pump_hands_over_each_item_before_the_next_is_produced(pool: ThreadPoolExecutor) -> None:
    received: list[threading.Event] = [threading.Event() for _ in range(3)]

    def events() -> Iterator[bytes]:  # like server-sent events: waits for the host each time
        for i, got in enumerate(received):
            yield b"event %d" % i
            assert got.wait(5), "the item was not handed over before the next was asked for"

    async def scenario() -> list[Any]:
        pump = _SyncPump(events(), pool, contextvars.copy_context())
        items = []
        try:
            for got in received:
                items.append(await pump.get())
                got.set()
            items.append(await pump.get())
        finally:
            pump.close()
        return items

    assert run(scenario()) == [b"event 0", b"event 1", b"event 2", _END]


def test_pump_runs_ahead_only_so_far(pool: ThreadPoolExecutor) -> None:
    produced = 0

    def endless() -> Iterator[bytes]:
        nonlocal produced
        block = bytes(CHUNK)
        while True:
            produced += 1
            yield block

    async def scenario() -> int:
        pump = _SyncPump(endless(), pool, contextvars.copy_context())
        try:
            await pump.get()
            await asyncio.sleep(0.2)  # the host is not sending: the pump must stop
            ahead = produced
            for _ in range(100):  # and it goes on when the host is
                await pump.get()
            return ahead
        finally:
            pump.close()

    ahead = run(scenario())
    assert ahead <= SYNC_BODY_RUN_AHEAD // CHUNK + 2
    assert produced >= 101


def test_pump_closes_once_after_a_running_next(pool: ThreadPoolExecutor) -> None:
    events: list[str] = []
    in_next = threading.Event()
    release = threading.Event()
    closed = threading.Event()

    def body() -> Iterator[bytes]:
        try:
            yield b"first"
            in_next.set()
            release.wait(5)
            events.append("next returned")
            yield b"second"
        finally:
            events.append("closed")
            closed.set()

    async def scenario() -> None:
        pump = _SyncPump(body(), pool, contextvars.copy_context())
        assert await pump.get() == b"first"
        getting = asyncio.ensure_future(pump.get())
        await asyncio.get_running_loop().run_in_executor(None, in_next.wait, 5)
        getting.cancel()  # the host went away while the generator is inside next()
        pump.close()
        pump.close()
        await asyncio.sleep(0.05)
        assert events == []  # not closed while next() runs (that would raise ValueError)
        release.set()
        await asyncio.get_running_loop().run_in_executor(None, closed.wait, 5)

    run(scenario())
    time.sleep(0.05)
    assert events == ["next returned", "closed"]


def test_pump_raises_what_the_iterator_raises_and_closes_it(pool: ThreadPoolExecutor) -> None:
    closed = threading.Event()

    class Failing:
        def __init__(self) -> None:
            self.items = iter([b"ok"])

        def __iter__(self) -> Failing:
            return self

        def __next__(self) -> bytes:
            for item in self.items:
                return item
            raise RuntimeError("mid-body failure")

        def close(self) -> None:  # a WSGI iterable's close() must be called
            closed.set()

    async def scenario() -> None:
        pump = _SyncPump(Failing(), pool, contextvars.copy_context())
        try:
            assert await pump.get() == b"ok"
            with pytest.raises(RuntimeError, match="mid-body failure"):
                await pump.get()
        finally:
            pump.close()

    run(scenario())
    assert closed.wait(5)


def test_pump_runs_every_step_in_the_request_context(pool: ThreadPoolExecutor) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []
    closed = threading.Event()

    def body() -> Iterator[bytes]:
        token = var.set("set in the first step")  # e.g. Flask's stream_with_context
        try:
            for _ in range(40):  # more than one pool task (the run-ahead limit)
                seen.append(var.get())
                yield bytes(CHUNK)
        finally:
            var.reset(token)  # in another step, maybe another thread: same context
            closed.set()

    async def scenario() -> None:
        pump = _SyncPump(body(), pool, contextvars.copy_context())
        try:
            for _ in range(40):
                await pump.get()
                await asyncio.sleep(0)
        finally:
            pump.close()

    run(scenario())
    assert closed.wait(5)
    assert seen == ["set in the first step"] * 40
