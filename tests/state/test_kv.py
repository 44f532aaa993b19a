"""KV collections (``mattermost_plugin.kv``) against the fake Mattermost over real gRPC.

The collections run in this process with real clients; the plugin-side tests (a real
plugin subprocess using ``self.kv``) are in test_state_plugin.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field
from tests.support.api_client import Clock, RunAsync

from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.kv import (
    KV,
    MAX_KEY_LENGTH,
    AsyncCollection,
    AsyncKV,
    Collection,
    InvalidKeyError,
    InvalidValueError,
    UpdateConflictError,
)


class Todo(BaseModel):
    title: str
    done: bool = False


class Tagged(BaseModel):
    """Field types whose JSON round trip is not trivial."""

    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(alias="displayName")
    count: int
    ratio: float
    tags: list[str]
    extra: dict[str, int | None]
    when: datetime | None = None
    nested: Todo | None = None


@pytest.fixture(scope="module")
def shared() -> Iterator[PluginAPIClient]:
    """One server for the property tests (each example uses keys of its own)."""
    server, address = serve(FakeMattermost())
    with PluginAPIClient(target=address, retries=0) as client:
        yield client
    server.stop(grace=None)


def todos(api: PluginAPIClient) -> Collection[Todo]:
    return KV(api).collection("todos", Todo)


# --- get, set, delete -----------------------------------------------------------------------


def test_values_round_trip_as_json_under_the_namespace(
    api: PluginAPIClient, fake: FakeMattermost
) -> None:
    collection = todos(api)
    assert collection.get("t1") is None
    collection.set("t1", Todo(title="milk"))
    assert collection.get("t1") == Todo(title="milk")
    assert api.kv_get("todos:t1") == b'{"title":"milk","done":false}'
    collection.delete("t1")
    assert collection.get("t1") is None
    collection.delete("t1")  # deleting a missing key is fine, as on the server


def test_collections_are_cached_and_separate(api: PluginAPIClient) -> None:
    kv = KV(api)
    assert kv.collection("todos", Todo) is kv.collection("todos", Todo)
    counts = kv.collection("counts", int)
    counts.set("t1", 3)
    kv.collection("todos", Todo).set("t1", Todo(title="x"))
    assert counts.get("t1") == 3
    assert list(counts.keys()) == ["t1"]


def test_expiry(api: PluginAPIClient, clock: Clock) -> None:
    collection = todos(api)
    collection.set("soon", Todo(title="a"), expires_in=timedelta(seconds=10))
    collection.set("later", Todo(title="b"), expires_in=100)
    clock.advance(11)
    assert collection.get("soon") is None
    assert collection.get("later") == Todo(title="b")
    with pytest.raises(ValueError, match="expires_in must be positive"):
        collection.set("x", Todo(title="c"), expires_in=0)


def test_a_stored_value_that_no_longer_validates_names_key_and_field(
    api: PluginAPIClient,
) -> None:
    api.kv_set("todos:old", b'{"title": "x", "done": "maybe"}')
    with pytest.raises(InvalidValueError) as caught:
        todos(api).get("old")
    error = caught.value
    assert (error.collection, error.key) == ("todos", "old")
    assert str(error) == (
        "collection 'todos', key 'old': the stored value does not validate as Todo: "
        "done: Input should be a valid boolean, unable to interpret input"
    )
    assert error.errors[0]["loc"] == ("done",)

    api.kv_set("todos:garbled", b"{not json")
    with pytest.raises(InvalidValueError, match=r"key 'garbled'.*Invalid JSON"):
        todos(api).get("garbled")


def test_a_value_that_does_not_validate_is_not_stored(api: PluginAPIClient) -> None:
    collection = KV(api).collection("numbers", float)
    with pytest.raises(InvalidValueError, match=r"key 'x': the value to store does not validate"):
        collection.set("x", "not a number")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="read back from JSON"):
        collection.set("x", float("nan"))  # JSON has no NaN: it would be written as null
    assert api.kv_get("numbers:x") is None


def test_collection_names(api: PluginAPIClient) -> None:
    kv = KV(api)
    for bad in ["", "a:b", "_private", "-x", "with space", "é"]:
        with pytest.raises(ValueError, match="collection name"):
            kv.collection(bad, int)
    with pytest.raises(ValueError, match="no room for keys"):
        kv.collection("n" * (MAX_KEY_LENGTH - 1), int)


def test_key_limits(api: PluginAPIClient) -> None:
    collection = KV(api).collection("c", str)
    longest = "k" * (MAX_KEY_LENGTH - 2)
    collection.set(longest, "fits")  # 150 characters with "c:": the server takes it
    assert collection.get(longest) == "fits"
    with pytest.raises(InvalidKeyError) as caught:
        collection.set(longest + "k", "too long")
    assert "151 characters with the namespace 'c:'; the server allows 150" in str(caught.value)
    for bad, reason in [("", "empty"), ("a\x00b", "NUL"), ("\udc80", "surrogates")]:
        with pytest.raises(InvalidKeyError, match=reason):
            collection.get(bad)
    with pytest.raises(InvalidKeyError, match="keys are str, not int"):
        collection.get(3)  # type: ignore[arg-type]


@given(
    name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,30}", fullmatch=True),
    key=st.text(st.characters(exclude_categories=()), max_size=160),
)
def test_every_key_is_stored_or_refused_before_the_server(
    shared: PluginAPIClient, name: str, key: str
) -> None:
    collection = KV(shared).collection(name, str)
    fits = len(name) + 1 + len(key) <= MAX_KEY_LENGTH
    encodable = all(not 0xD800 <= ord(c) <= 0xDFFF for c in key)
    if key and fits and encodable and "\x00" not in key:
        collection.set(key, "v")
        assert collection.get(key) == "v"
        assert shared.kv_get(f"{name}:{key}") == b'"v"'
        collection.delete(key)
    else:
        with pytest.raises(InvalidKeyError) as caught:
            collection.set(key, "v")
        assert caught.value.collection == name


@given(st.text(max_size=12))
def test_collection_names_are_checked(shared: PluginAPIClient, name: str) -> None:
    valid = (
        name[:1].isascii()
        and name[:1].isalnum()
        and all(c.isascii() and (c.isalnum() or c in "_.-") for c in name)
    )
    if valid:
        assert KV(shared).collection(name, int).name == name
    else:
        with pytest.raises(ValueError, match="collection name"):
            KV(shared).collection(name, int)


tagged = st.builds(
    Tagged,
    displayName=st.text(),
    count=st.integers(),
    ratio=st.floats(),
    tags=st.lists(st.text(), max_size=3),
    extra=st.dictionaries(st.text(max_size=5), st.none() | st.integers(), max_size=3),
    when=st.none() | st.datetimes(timezones=st.just(timezone.utc)),
    nested=st.none() | st.builds(Todo, title=st.text(), done=st.booleans()),
)


@given(value=tagged, key=st.uuids())
def test_models_round_trip_or_are_refused(shared: PluginAPIClient, value: Tagged, key: Any) -> None:
    collection = KV(shared).collection("tagged", Tagged)
    finite = value.ratio == value.ratio and abs(value.ratio) != float("inf")
    if finite:
        collection.set(str(key), value)
        assert collection.get(str(key)) == value
        collection.delete(str(key))
    else:  # NaN and infinities have no JSON form
        with pytest.raises(InvalidValueError, match="ratio"):
            collection.set(str(key), value)
        assert collection.get(str(key)) is None


# --- update -----------------------------------------------------------------------------------


def test_update_reads_applies_and_writes(api: PluginAPIClient) -> None:
    counts = KV(api).collection("counts", int)
    seen: list[int | None] = []

    def increment(n: int | None) -> int:
        seen.append(n)
        return (n or 0) + 1

    assert counts.update("a", increment) == 1
    assert counts.update("a", increment) == 2
    assert seen == [None, 1]
    assert api.kv_get("counts:a") == b"2"


def test_update_returns_the_value_as_stored(api: PluginAPIClient) -> None:
    collection = todos(api)
    collection.set("t", Todo(title="a"))
    updated = collection.update("t", lambda todo: Todo(title=(todo.title if todo else "") + "b"))
    assert updated == Todo(title="ab") == collection.get("t")


def test_update_with_expiry(api: PluginAPIClient, clock: Clock) -> None:
    counts = KV(api).collection("counts", int)
    counts.update("a", lambda n: 1, expires_in=5)
    clock.advance(6)
    assert counts.get("a") is None
    counts.set("b", 1, expires_in=5)
    counts.update("b", lambda n: (n or 0) + 1)  # no expires_in: the value no longer expires
    clock.advance(6)
    assert counts.get("b") == 2


def test_update_function_errors_write_nothing(api: PluginAPIClient) -> None:
    collection = todos(api)
    collection.set("t", Todo(title="a"))

    def broken(todo: Todo | None) -> Todo:
        raise KeyError("nope")

    with pytest.raises(KeyError):
        collection.update("t", broken)
    with pytest.raises(TypeError, match=r"key 't': the update function returned None"):
        collection.update("t", lambda todo: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidValueError, match="the value to store"):
        collection.update("t", lambda todo: {"title": 3})  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="async twin"):

        async def later(todo: Todo | None) -> Todo:
            return Todo(title="x")

        collection.update("t", later)  # type: ignore[arg-type]
    assert collection.get("t") == Todo(title="a")


def test_update_of_an_unreadable_value_raises(api: PluginAPIClient) -> None:
    api.kv_set("todos:bad", b'{"done": true}')
    with pytest.raises(InvalidValueError, match=r"key 'bad'.*title: Field required"):
        todos(api).update("bad", lambda todo: Todo(title="new"))
    assert api.kv_get("todos:bad") == b'{"done": true}'


def test_update_retries_after_a_conflict(api: PluginAPIClient, address: str) -> None:
    """Another writer (here: this test, through a second client) changes the value between
    the read and the compare-and-set, twice; the third attempt goes through."""
    counts = KV(api).collection("counts", int)
    counts.set("n", 10)
    other = KV(PluginAPIClient(target=address)).collection("counts", int)
    calls: list[int | None] = []

    def increment(n: int | None) -> int:
        calls.append(n)
        if len(calls) <= 2:
            other.set("n", (n or 0) + 100)  # a concurrent writer wins the race
        return (n or 0) + 1

    assert counts.update("n", increment) == 211
    assert calls == [10, 110, 210]
    assert counts.get("n") == 211


def test_update_gives_up_naming_the_key(api: PluginAPIClient, address: str) -> None:
    counts = KV(api).collection("counts", int, max_attempts=3)
    other = KV(PluginAPIClient(target=address)).collection("counts", int)
    attempts: list[int | None] = []

    def always_overtaken(n: int | None) -> int:
        attempts.append(n)
        other.set("n", len(attempts) * 1000)
        return 1

    with pytest.raises(UpdateConflictError) as caught:
        counts.update("n", always_overtaken)
    assert str(caught.value) == (
        "collection 'counts', key 'n': gave up after 3 attempts; other writers changed the "
        "value each time (nothing was written)"
    )
    assert (caught.value.key, caught.value.attempts) == ("n", 3)
    assert counts.get("n") == 3000  # the other writer's value, not the update's
    attempts.clear()
    with pytest.raises(UpdateConflictError):
        counts.update("n", always_overtaken, max_attempts=5)
    assert len(attempts) == 5
    with pytest.raises(ValueError, match="max_attempts"):
        counts.update("n", always_overtaken, max_attempts=0)


def test_missing_and_empty_mean_the_same_to_compare_and_set(api: PluginAPIClient) -> None:
    """A key that is absent is written with "only if absent"; one created meanwhile makes
    that fail, and the update starts over with the new value."""
    counts = KV(api).collection("counts", int)
    created = []

    def increment(n: int | None) -> int:
        if not created:
            created.append(True)
            api.kv_set("counts:fresh", b"41")
        return (n or 0) + 1

    assert counts.update("fresh", increment) == 42


@pytest.mark.parametrize("max_attempts", [10, 1])
def test_concurrent_updates_lose_nothing(address: str, max_attempts: int) -> None:
    """4 threads x 40 increments of one key, each thread with its own client: the final
    value is the number of updates that reported success; every other one raised. With one
    attempt per update many give up, which must not corrupt the count either."""
    workers, per_worker = 4, 40
    successes = [0] * workers
    gave_up = [0] * workers
    start = threading.Barrier(workers)

    def work(index: int) -> None:
        with PluginAPIClient(target=address) as client:
            counter = KV(client).collection("counts", int, max_attempts=max_attempts)
            start.wait()
            for _ in range(per_worker):
                try:
                    counter.update("hot", lambda n: (n or 0) + 1)
                    successes[index] += 1
                except UpdateConflictError as exc:
                    assert exc.key == "hot"
                    gave_up[index] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with PluginAPIClient(target=address) as client:
        final = KV(client).collection("counts", int).get("hot")
    assert sum(successes) + sum(gave_up) == workers * per_worker
    assert final == sum(successes)
    if max_attempts == 1:
        assert sum(gave_up) > 0


# --- keys and items -------------------------------------------------------------------------


class CountingFake(FakeMattermost):
    """The fake, counting KVList calls (to see that iteration is lazy)."""

    lists = 0

    def KVList(self, request: Any, context: Any) -> Any:
        self.lists += 1
        return super().KVList(request, context)


def test_keys_and_items_page_lazily_through_every_key() -> None:
    fake = CountingFake()
    server, address = serve(fake)
    try:
        with PluginAPIClient(target=address) as api:
            kv = KV(api)
            collection = kv.collection("todos", Todo)
            for i in range(23):
                collection.set(f"t{i:02}", Todo(title=str(i)))
            kv.collection("todosx", int).set("a", 1)  # a prefix of it, not it
            kv.collection("other", int).set("b", 1)
            api.kv_set("todos", b"raw")
            api.kv_set("raw-key", b"raw")

            keys = collection.keys(page_size=5)
            assert next(keys) == "t00"
            assert fake.lists == 1  # one page fetched so far
            assert sorted([*keys, "t00"]) == [f"t{i:02}" for i in range(23)]
            assert fake.lists == 6  # 27 keys in pages of 5
            items = dict(collection.items(page_size=5))
            assert items == {f"t{i:02}": Todo(title=str(i)) for i in range(23)}
            assert list(kv.collection("empty", int).keys()) == []
    finally:
        server.stop(grace=None)


def test_keys_written_during_iteration_do_not_repeat_keys(api: PluginAPIClient) -> None:
    """Keys are listed by offset: a key written before the current page shifts the later
    pages by one, which would show the last key of a page twice."""
    collection = KV(api).collection("c", int)
    for i in range(10):
        collection.set(f"k{i}", i)
    seen = []
    for key in collection.keys(page_size=4):
        seen.append(key)
        if key == "k3":
            collection.set("a0", 0)  # sorts first: every later key moves one place
    assert len(seen) == len(set(seen))
    assert set(seen) >= {f"k{i}" for i in range(10)}


def test_items_skip_keys_deleted_meanwhile(api: PluginAPIClient) -> None:
    collection = KV(api).collection("c", int)
    for i in range(3):
        collection.set(f"k{i}", i)
    found = []
    for key, value in collection.items():
        found.append((key, value))
        collection.delete("k2")
    assert found == [("k0", 0), ("k1", 1)]


# --- the async twin ---------------------------------------------------------------------------


def test_async_collection(aio: RunAsync, api: PluginAPIClient, clock: Clock) -> None:
    async def body(client: AsyncPluginAPIClient) -> None:
        kv = AsyncKV(client)
        collection: AsyncCollection[Todo] = kv.collection("todos", Todo)
        assert kv.collection("todos", Todo) is collection
        assert await collection.get("a") is None
        await collection.set("a", Todo(title="x"))
        await collection.set("b", Todo(title="y"), expires_in=5)
        assert await collection.get("a") == Todo(title="x")

        async def finish(todo: Todo | None) -> Todo:
            assert todo is not None
            return todo.model_copy(update={"done": True})

        assert await collection.update("a", finish) == Todo(title="x", done=True)
        assert await collection.update("c", lambda todo: Todo(title="z")) == Todo(title="z")
        keys = [key async for key in collection.keys(page_size=2)]
        assert keys == ["a", "b", "c"]
        clock.advance(6)
        items = [item async for item in collection.items()]
        assert items == [("a", Todo(title="x", done=True)), ("c", Todo(title="z"))]
        await collection.delete("a")
        assert await collection.get("a") is None

    aio(body)
    assert todos(api).get("c") == Todo(title="z")  # the same store, read by the sync twin


def test_async_update_conflicts(aio: RunAsync, address: str) -> None:
    other = KV(PluginAPIClient(target=address)).collection("counts", int)

    async def body(client: AsyncPluginAPIClient) -> None:
        counts = AsyncKV(client).collection("counts", int, max_attempts=2)
        attempts = []

        async def overtaken(n: int | None) -> int:
            attempts.append(n)
            other.set("n", len(attempts))
            return 0

        with pytest.raises(UpdateConflictError, match="key 'n': gave up after 2 attempts"):
            await counts.update("n", overtaken)
        assert attempts == [None, 1]
        assert await counts.get("n") == 2

    aio(body)
