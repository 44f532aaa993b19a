"""The cluster mutex against the fake server over real gRPC, in this process.

Contention across plugin processes is in test_nodes.py; here: the protocol on the wire, the
lease as the holder sees it (the fake's clock moves to expire it), timeouts, and many
threads and tasks with their own mutex objects on one name.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from tests.support.api_client import Clock, RunAsync

from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin.cluster import AsyncCluster, Cluster
from mattermost_plugin.kv import KV, InvalidKeyError
from mattermost_plugin.mutex import (
    DEFAULT_LEASE,
    DEFAULT_MAX_HOLD,
    AsyncMutex,
    LockLostError,
    LockTimeoutError,
    Mutex,
)


def test_lock_writes_a_token_with_the_lease_and_unlock_deletes_it(
    api: PluginAPIClient, fake: object, clock: Clock
) -> None:
    mutex = Cluster(api).mutex("sync", lease=7)
    assert repr(mutex) == "<Mutex 'sync' free, lease 7 s>"
    with mutex:
        token = api.kv_get("_mutex:sync")
        assert token is not None and len(token.split()[0]) == 32
        assert mutex.held and not mutex.lost
        mutex.check()
        entry = fake.kv["_mutex:sync"]  # type: ignore[attr-defined]
        assert entry.expire_at == int(clock.now * 1000) + 7000
    assert api.kv_get("_mutex:sync") is None
    assert not mutex.held and not mutex.lost
    with pytest.raises(LockLostError, match="it is not locked"):
        mutex.check()


def test_try_lock_and_timeout(api: PluginAPIClient) -> None:
    cluster = Cluster(api)
    first, second = cluster.mutex("a"), cluster.mutex("a", timeout=0.2)
    assert first.try_lock()
    assert not second.try_lock()
    started = time.monotonic()
    with pytest.raises(LockTimeoutError, match=r"'a': not acquired within 0.2 s") as caught:
        second.__enter__()
    assert 0.2 <= time.monotonic() - started < 2
    assert caught.value.timeout == 0.2 and caught.value.name == "a"
    assert isinstance(caught.value, TimeoutError)
    with pytest.raises(LockTimeoutError):
        second.lock(timeout=timedelta(0))
    first.unlock()
    second.lock(timeout=0)  # free now: one attempt is enough
    second.unlock()


def test_a_waiter_gets_the_lock_when_it_is_released(api: PluginAPIClient) -> None:
    holder = Mutex(api, "handover")
    holder.lock()
    got: list[float] = []

    def wait() -> None:
        with Mutex(api, "handover", timeout=10):
            got.append(time.monotonic())

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    assert not got
    released = time.monotonic()
    holder.unlock()
    waiter.join(10)
    assert got and got[0] - released < 1.0  # the backoff caps pauses at 250 ms


def test_an_expired_lease_frees_the_lock_and_the_holder_sees_it(
    api: PluginAPIClient, clock: Clock
) -> None:
    """The fake's clock jumps past the lease, as if the holder had been paused: another
    holder takes the lock, the first one's renewal fails, and it is told."""
    stalled = Mutex(api, "lease", lease=3)
    stalled.lock()
    clock.advance(3)
    taker = Mutex(api, "lease")
    assert taker.try_lock()
    deadline = time.monotonic() + 5  # the next renewal (every lease/3 = 1 s) finds out
    while stalled.held and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not stalled.held and stalled.lost
    with pytest.raises(LockLostError, match="its lease ran out"):
        stalled.check()
    stalled.unlock()  # deletes nothing: the token is not ours any more
    assert api.kv_get("_mutex:lease") is not None
    assert taker.held
    taker.unlock()


def test_leaving_the_block_after_losing_the_lock_raises(api: PluginAPIClient, clock: Clock) -> None:
    lost = pytest.raises(LockLostError, match="may have held the lock at the same time")
    with lost, Mutex(api, "lost", lease=1) as mutex:
        clock.advance(1)
        deadline = time.monotonic() + 5
        while mutex.held and time.monotonic() < deadline:
            time.sleep(0.05)
    # The block's own error wins.
    with pytest.raises(ValueError, match="own error"), Mutex(api, "lost2", lease=1) as mutex:
        clock.advance(1)
        while mutex.held:
            time.sleep(0.05)
        raise ValueError("own error")


def test_the_lease_is_renewed_while_held(api: PluginAPIClient, clock: Clock) -> None:
    """Time moves on in small steps, three leases in all: the renewals keep it held."""
    with Mutex(api, "renewed", lease=1) as mutex:
        for _ in range(12):
            time.sleep(0.25)
            clock.advance(0.25)
            assert mutex.held
        assert api.kv_get("_mutex:renewed") is not None
        assert not Mutex(api, "renewed").try_lock()


def test_max_hold_stops_renewing(api: PluginAPIClient, caplog: pytest.LogCaptureFixture) -> None:
    mutex = Mutex(api, "stuck", lease=1, max_hold=0.5)
    mutex.lock()
    deadline = time.monotonic() + 5
    while mutex.held and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mutex.lost
    assert any("no longer renewing its lease" in r.getMessage() for r in caplog.records)
    mutex.unlock()


def test_many_threads_with_their_own_objects_and_one_shared_object(api: PluginAPIClient) -> None:
    counter = KV(api).collection("count", int)
    inside: list[int] = []
    shared = Mutex(api, "hot")

    def work(own: bool) -> None:
        for _ in range(5):
            with Mutex(api, "hot") if own else shared:
                inside.append(1)
                assert len(inside) == 1, "two holders at once"
                counter.update("n", lambda n: (n or 0) + 1)
                inside.pop()

    threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert counter.get("n") == 30


def test_not_reentrant_and_unlock_needs_a_lock(api: PluginAPIClient) -> None:
    mutex = Mutex(api, "once")
    with pytest.raises(RuntimeError, match="not locked"):
        mutex.unlock()
    with mutex, pytest.raises(RuntimeError, match="already held by this thread"):
        mutex.lock()


def test_arguments_are_checked(api: PluginAPIClient) -> None:
    with pytest.raises(ValueError, match="whole seconds, at least 1"):
        Mutex(api, "x", lease=2.5)
    with pytest.raises(ValueError, match="whole seconds, at least 1"):
        Mutex(api, "x", lease=timedelta(milliseconds=500))
    with pytest.raises(TypeError, match="lease: give seconds or a timedelta"):
        Mutex(api, "x", lease="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must not be negative"):
        Mutex(api, "x", timeout=-1)
    with pytest.raises(InvalidKeyError, match="the server allows 150"):
        Mutex(api, "n" * 150)
    with pytest.raises(InvalidKeyError, match="must not be empty"):
        Mutex(api, "")
    assert Mutex(api, "x", lease=timedelta(seconds=4)).lease == 4
    cluster = Cluster(api)
    assert (cluster.mutex("x").lease, cluster.mutex("x").max_hold) == (
        DEFAULT_LEASE,
        DEFAULT_MAX_HOLD,
    )


# -- async ---------------------------------------------------------------------------------------


def test_async_mutex_between_tasks(aio: RunAsync) -> None:
    async def body(client: AsyncPluginAPIClient) -> list[str]:
        cluster = AsyncCluster(client)
        inside: list[int] = []
        order: list[str] = []
        shared = cluster.mutex("tasks")

        async def work(name: str, own: bool) -> None:
            for _ in range(3):
                async with cluster.mutex("tasks") if own else shared:
                    inside.append(1)
                    assert len(inside) == 1
                    await asyncio.sleep(0.005)
                    order.append(name)
                    inside.pop()

        await asyncio.gather(*(work(str(i), i % 2 == 0) for i in range(4)))
        assert await client.kv_get("_mutex:tasks") is None
        return order

    assert sorted(aio(body)) == sorted([str(i) for i in range(4)] * 3)


def test_async_try_lock_timeout_and_loss(aio: RunAsync, clock: Clock) -> None:
    async def body(client: AsyncPluginAPIClient) -> None:
        first = AsyncMutex(client, "m", lease=2)
        second = AsyncMutex(client, "m")
        assert await first.try_lock()
        assert not await second.try_lock()
        with pytest.raises(LockTimeoutError):
            await second.lock(timeout=0.1)
        clock.advance(2)
        assert await second.try_lock()
        deadline = time.monotonic() + 5
        while first.held and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert first.lost
        await first.unlock()
        await second.unlock()
        with pytest.raises(RuntimeError, match="not locked"):
            await second.unlock()

    aio(body)


def test_abandon_leaves_the_lock_to_lapse(aio: RunAsync, clock: Clock) -> None:
    async def body(client: AsyncPluginAPIClient) -> None:
        mutex = AsyncMutex(client, "abandoned", lease=2)
        await mutex.lock()
        mutex.abandon()
        assert not mutex.held
        assert not await AsyncMutex(client, "abandoned").try_lock()
        clock.advance(2)
        assert await AsyncMutex(client, "abandoned").try_lock()

    aio(body)
