"""Typed, namespaced collections on the plugin's KV store: ``self.kv`` and ``self.async_kv``.

::

    class Todo(BaseModel):
        title: str
        done: bool = False

    todos = self.kv.collection("todos", Todo)
    todos.set("t1", Todo(title="milk"))
    todos.get("t1")                                   # Todo(title='milk', done=False)
    todos.update("t1", lambda todo: todo.model_copy(update={"done": True}))
    for key, todo in todos.items(): ...

A collection stores each value as JSON through its type (a Pydantic model, or any type
Pydantic validates: ``int``, ``list[str]``, …) under the key ``<name>:<key>``, so
collections never see each other's keys. ``update`` is the cluster-safe way to change a
value: read, apply, compare-and-set, and on a conflict (another thread, process or node
wrote first) read again after a randomized, growing pause; after ``max_attempts`` tries it
raises :class:`UpdateConflictError`. ``set`` and ``delete`` write unconditionally.

The server knows nothing of collections: ``keys()`` and ``items()`` page through *all* of
the plugin's keys (``KVList``) and keep those of the collection, and ``items()`` reads each
value with one more call. See docs/state.md for what that costs on a large store.

``KV``/``Collection`` use a ``PluginAPIClient``; ``AsyncKV``/``AsyncCollection`` are the
same on an ``AsyncPluginAPIClient``. Both share :class:`CollectionBase`, and ``update``'s
algorithm is written once (:mod:`mattermost_plugin._steps`).
"""

from __future__ import annotations

import inspect
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_origin

import pydantic
import pydantic_core
from pydantic_core import ErrorDetails

from mattermost_plugin._model_base import describe_errors
from mattermost_plugin._steps import Await, Sleep, Steps, call, run_async, run_sync
from mattermost_plugin.client import Expiry, expiry_seconds
from mattermost_plugin.models.api_kv_config import PluginKVSetOptions

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_PAGE_SIZE",
    "MAX_KEY_LENGTH",
    "AsyncCollection",
    "AsyncKV",
    "Collection",
    "CollectionBase",
    "InvalidKeyError",
    "InvalidValueError",
    "KVError",
    "UpdateConflictError",
]

T = TypeVar("T")

MAX_KEY_LENGTH = 150
"""The server's limit on a KV key, in characters, namespace included."""
DEFAULT_MAX_ATTEMPTS = 10
"""How often ``update`` tries before it gives up (a collection or a call may change it)."""
DEFAULT_PAGE_SIZE = 1000
"""Keys per ``KVList`` call when iterating."""
BACKOFF_BASE = 0.005
BACKOFF_CAP = 0.25
"""After the n-th conflict ``update`` sleeps a random time up to min(cap, base * 2**n) s."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_SEPARATOR = ":"


class KVError(Exception):
    """A collection operation failed; ``collection`` and ``key`` say where."""

    def __init__(self, message: str, *, collection: str, key: str) -> None:
        super().__init__(message)
        self.collection = collection
        self.key = key


class InvalidKeyError(KVError, ValueError):
    """The key cannot be stored: empty, not text, or too long with the namespace."""


class InvalidValueError(KVError, ValueError):
    """A value does not validate as the collection's type: a stored one (written by an
    older version of the plugin, or by hand), or one given to ``set``/returned to
    ``update``. ``errors`` are Pydantic's, with the field paths."""

    def __init__(
        self, message: str, *, collection: str, key: str, errors: list[ErrorDetails]
    ) -> None:
        super().__init__(message, collection=collection, key=key)
        self.errors = errors


class UpdateConflictError(KVError):
    """``update`` lost the compare-and-set race ``attempts`` times in a row and gave up;
    nothing was written."""

    def __init__(self, message: str, *, collection: str, key: str, attempts: int) -> None:
        super().__init__(message, collection=collection, key=key)
        self.attempts = attempts


def _type_name(type_: Any) -> str:
    if get_origin(type_) is None and isinstance(type_, type):
        return type_.__name__
    return repr(type_)


def backoff(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th conflict (0-based): full jitter, so racing
    writers spread out instead of colliding again in step."""
    return random.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


class CollectionBase(Generic[T]):
    """What the sync and async collections share: the namespace, key checks, encoding, and
    the ``update`` algorithm."""

    _sdk_namespace: ClassVar[bool] = False  # the SDK's own records: names start with "_"

    def __init__(
        self, name: str, type_: type[T], *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> None:
        valid = isinstance(name, str) and _NAME.fullmatch(name.removeprefix("_")) is not None
        if not valid or name.startswith("_") != self._sdk_namespace:
            raise ValueError(
                f"collection name {name!r}: use letters, digits, '_', '.' and '-', starting "
                "with a letter or digit (names starting with '_' are the SDK's)"
            )
        if len(name) + len(_SEPARATOR) >= MAX_KEY_LENGTH:
            raise ValueError(f"collection name {name!r} leaves no room for keys")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.name = name
        self.type = type_
        self.max_attempts = max_attempts
        self._prefix = name + _SEPARATOR
        self._adapter: pydantic.TypeAdapter[T] = pydantic.TypeAdapter(type_)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} of {_type_name(self.type)}>"

    def store_key(self, key: str) -> str:
        """The key in the plugin's store: ``<name>:<key>``, checked against the server's
        limits (raises :class:`InvalidKeyError`)."""
        problem = None
        if not isinstance(key, str):
            problem = f"keys are str, not {type(key).__name__}"
        elif not key:
            problem = "keys must not be empty"
        elif "\x00" in key:
            problem = "keys must not contain NUL characters (the server's database rejects them)"
        else:
            length = len(self._prefix) + len(key)
            if length > MAX_KEY_LENGTH:
                problem = (
                    f"{length} characters with the namespace {self._prefix!r}; the server "
                    f"allows {MAX_KEY_LENGTH}"
                )
            else:
                try:
                    key.encode()
                except UnicodeEncodeError:
                    problem = "keys must be valid Unicode text (no lone surrogates)"
        if problem is not None:
            raise InvalidKeyError(
                f"collection {self.name!r}: key {key!r}: {problem}",
                collection=self.name,
                key=str(key),
            )
        return self._prefix + key

    def _invalid(self, key: str, what: str, error: pydantic.ValidationError) -> InvalidValueError:
        return InvalidValueError(
            f"collection {self.name!r}, key {key!r}: {what} does not validate as "
            f"{_type_name(self.type)}: {describe_errors(error)}",
            collection=self.name,
            key=key,
            errors=error.errors(include_url=False),
        )

    def encode(self, key: str, value: T) -> bytes:
        """The JSON stored for ``value``: validated, and checked to read back (a float NaN,
        for one, becomes JSON ``null``, which a ``float`` field refuses)."""
        return self._validated(key, value)[1]

    def _validated(self, key: str, value: T) -> tuple[T, bytes]:
        """``(the value as readers will get it, its JSON)``."""
        try:
            data = self._adapter.dump_json(self._adapter.validate_python(value), by_alias=True)
        except pydantic.ValidationError as exc:
            raise self._invalid(key, "the value to store", exc) from None
        except pydantic_core.PydanticSerializationError as exc:
            raise InvalidValueError(
                f"collection {self.name!r}, key {key!r}: the value to store cannot be "
                f"written as JSON: {exc}",
                collection=self.name,
                key=key,
                errors=[],
            ) from None
        try:
            return self._adapter.validate_json(data), data
        except pydantic.ValidationError as exc:
            raise self._invalid(key, "the value to store, read back from JSON,", exc) from None

    def decode(self, key: str, raw: bytes) -> T:
        """The value stored as ``raw`` (raises :class:`InvalidValueError`)."""
        try:
            return self._adapter.validate_json(raw)
        except pydantic.ValidationError as exc:
            raise self._invalid(key, "the stored value", exc) from None

    def _user_keys(self, page: list[str], previous: frozenset[str]) -> list[str]:
        """This collection's keys on a ``KVList`` page, without the namespace. Keys on the
        previous page are skipped: a key written meanwhile shifts the pages by one."""
        prefix = self._prefix
        size = len(prefix)
        return [k[size:] for k in page if k.startswith(prefix) and k not in previous]

    def _update_steps(
        self,
        key: str,
        fn: Callable[[T | None], Any],
        expires_in: Expiry | None,
        max_attempts: int | None,
    ) -> Steps[T]:
        stored_key = self.store_key(key)
        attempts = self.max_attempts if max_attempts is None else max_attempts
        if attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {attempts}")
        seconds = 0 if expires_in is None else expiry_seconds(expires_in, "update")
        for attempt in range(attempts):
            raw: bytes | None = yield call("kv_get", stored_key)
            current = None if raw is None else self.decode(key, raw)
            new = fn(current)
            if inspect.isawaitable(new):
                new = yield Await(new)
            if new is None:
                raise TypeError(
                    f"collection {self.name!r}, key {key!r}: the update function returned "
                    "None; return the new value (delete() removes a key)"
                )
            value, data = self._validated(key, new)
            if data == raw and not seconds:
                return value  # nothing to write
            options = PluginKVSetOptions(
                atomic=True, old_value=raw or b"", expire_in_seconds=seconds
            )
            if (yield call("kv_set_with_options", stored_key, data, options=options)):
                return value
            if attempt + 1 < attempts:
                yield Sleep(backoff(attempt))
        raise UpdateConflictError(
            f"collection {self.name!r}, key {key!r}: gave up after {attempts} attempts; "
            "other writers changed the value each time (nothing was written)",
            collection=self.name,
            key=key,
            attempts=attempts,
        )


class Collection(CollectionBase[T]):
    """A typed collection on a ``PluginAPIClient`` (see the module doc)."""

    def __init__(
        self,
        api: PluginAPIClient,
        name: str,
        type_: type[T],
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        super().__init__(name, type_, max_attempts=max_attempts)
        self._api = api

    def get(self, key: str) -> T | None:
        """The value under ``key``, or ``None`` when there is none (or it expired)."""
        raw = self._api.kv_get(self.store_key(key))
        return None if raw is None else self.decode(key, raw)

    def set(self, key: str, value: T, *, expires_in: Expiry | None = None) -> None:
        """Store ``value`` (unconditionally); ``expires_in`` (seconds or a ``timedelta``)
        makes it disappear after that time."""
        stored_key = self.store_key(key)
        self._api.kv_set(stored_key, self.encode(key, value), expires_in=expires_in)

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing happens when it is missing)."""
        self._api.kv_delete(self.store_key(key))

    def update(
        self,
        key: str,
        fn: Callable[[T | None], T],
        *,
        expires_in: Expiry | None = None,
        max_attempts: int | None = None,
    ) -> T:
        """Change the value under ``key`` safely against concurrent writers, and return it.

        ``fn`` gets the current value (``None`` when missing) and returns the new one; it
        may run several times, so it must not have side effects. Each run gets a value
        freshly read, which ``fn`` may change in place and return. The write is a
        compare-and-set: when another writer changed the value in between, ``update``
        waits a little and starts over, up to ``max_attempts`` times (default: the
        collection's), then raises :class:`UpdateConflictError`. ``expires_in`` applies to
        the written value; without it the value does not expire (like ``set``).
        """
        return run_sync(self._update_steps(key, fn, expires_in, max_attempts), self._api)

    def keys(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[str]:
        """This collection's keys, fetched lazily a page of the plugin's keys at a time."""
        page_number, previous = 0, frozenset[str]()
        while True:
            page = self._api.kv_list(page=page_number, per_page=page_size)
            yield from self._user_keys(page, previous)
            if len(page) < page_size:
                return
            page_number, previous = page_number + 1, frozenset(page)

    def items(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[tuple[str, T]]:
        """``(key, value)`` pairs: :meth:`keys` plus one read per key (keys deleted
        meanwhile are skipped)."""
        for key in self.keys(page_size=page_size):
            value = self.get(key)
            if value is not None:
                yield key, value


class AsyncCollection(CollectionBase[T]):
    """A typed collection on an ``AsyncPluginAPIClient``: :class:`Collection` as coroutines
    (``keys()`` and ``items()`` are async iterators; ``update``'s function may be async)."""

    def __init__(
        self,
        api: AsyncPluginAPIClient,
        name: str,
        type_: type[T],
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        super().__init__(name, type_, max_attempts=max_attempts)
        self._api = api

    async def get(self, key: str) -> T | None:
        """The value under ``key``, or ``None`` when there is none (or it expired)."""
        raw = await self._api.kv_get(self.store_key(key))
        return None if raw is None else self.decode(key, raw)

    async def set(self, key: str, value: T, *, expires_in: Expiry | None = None) -> None:
        """Store ``value`` (unconditionally), optionally expiring."""
        stored_key = self.store_key(key)
        await self._api.kv_set(stored_key, self.encode(key, value), expires_in=expires_in)

    async def delete(self, key: str) -> None:
        """Remove ``key`` (nothing happens when it is missing)."""
        await self._api.kv_delete(self.store_key(key))

    async def update(
        self,
        key: str,
        fn: Callable[[T | None], T | Awaitable[T]],
        *,
        expires_in: Expiry | None = None,
        max_attempts: int | None = None,
    ) -> T:
        """:meth:`Collection.update`; ``fn`` may be a plain or an ``async`` function."""
        return await run_async(self._update_steps(key, fn, expires_in, max_attempts), self._api)

    async def keys(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[str]:
        """This collection's keys, fetched lazily a page of the plugin's keys at a time."""
        page_number, previous = 0, frozenset[str]()
        while True:
            page = await self._api.kv_list(page=page_number, per_page=page_size)
            for key in self._user_keys(page, previous):
                yield key
            if len(page) < page_size:
                return
            page_number, previous = page_number + 1, frozenset(page)

    async def items(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[tuple[str, T]]:
        """``(key, value)`` pairs: :meth:`keys` plus one read per key."""
        async for key in self.keys(page_size=page_size):
            value = await self.get(key)
            if value is not None:
                yield key, value


class _KVBase:
    def __init__(self) -> None:
        self._collections: dict[tuple[str, Any, int], Any] = {}

    def _cached(self, name: str, type_: Any, max_attempts: int, build: Callable[[], T]) -> T:
        # TypeAdapter construction costs far more than a KV call: build each one once.
        try:
            cache_key = (name, type_, max_attempts)
            found: T = self._collections[cache_key]
        except KeyError:
            found = self._collections[cache_key] = build()
        except TypeError:  # an unhashable type expression
            found = build()
        return found


class KV(_KVBase):
    """Typed collections on a ``PluginAPIClient`` (a plugin has one as ``self.kv``)."""

    def __init__(self, api: PluginAPIClient) -> None:
        super().__init__()
        self.api = api

    def collection(
        self, name: str, type_: type[T], *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> Collection[T]:
        """The collection ``name`` of values of ``type_`` (the same object on every call)."""
        return self._cached(
            name,
            type_,
            max_attempts,
            lambda: Collection(self.api, name, type_, max_attempts=max_attempts),
        )


class AsyncKV(_KVBase):
    """Typed collections on an ``AsyncPluginAPIClient`` (``self.async_kv``)."""

    def __init__(self, api: AsyncPluginAPIClient) -> None:
        super().__init__()
        self.api = api

    def collection(
        self, name: str, type_: type[T], *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> AsyncCollection[T]:
        """The collection ``name`` of values of ``type_`` (the same object on every call)."""
        return self._cached(
            name,
            type_,
            max_attempts,
            lambda: AsyncCollection(self.api, name, type_, max_attempts=max_attempts),
        )
