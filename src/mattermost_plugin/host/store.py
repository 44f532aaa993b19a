"""Where the fake Mattermost keeps its state: in memory, optionally written through to SQLite.

:class:`Table` is a ``dict`` that remembers which keys were written *or read* since the last
flush (a read hands out a mutable protobuf message, which the caller may change in place).
:meth:`SQLiteStore.flush` serializes those entries, compares them with what the file holds
and writes the differences in one transaction, so each PluginAPI call is applied to the file
all at once or not at all. Iterating with ``values()``/``items()`` does not mark anything:
code that changes entries it found by iterating calls :meth:`Table.touch`.

The file is opened in SQLite's exclusive locking mode: a second process opening the same
file gets :class:`StoreLockedError` instead of a diverging copy of the state.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import struct
from collections.abc import (
    Callable,
    Hashable,
    ItemsView,
    Iterable,
    Iterator,
    MutableMapping,
    ValuesView,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from google.protobuf.message import Message

__all__ = ["Codec", "SQLiteStore", "StoreError", "StoreLockedError", "Table"]

SCHEMA_VERSION = 1

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
M = TypeVar("M", bound=Message)


class StoreError(Exception):
    """The state file cannot be used."""


class StoreLockedError(StoreError):
    """Another process holds the state file."""


@dataclass(frozen=True)
class Codec(Generic[V]):
    """How one table's values become bytes and back."""

    encode: Callable[[V], bytes]
    decode: Callable[[bytes], V]


def proto_codec(cls: type[M]) -> Codec[M]:
    """A protobuf message, serialized deterministically (so equal values compare equal)."""
    return Codec(lambda m: m.SerializeToString(deterministic=True), cls.FromString)


def pack_parts(parts: Iterable[bytes]) -> bytes:
    """Length-prefixed concatenation; the inverse of :func:`unpack_parts`."""
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def unpack_parts(data: bytes) -> list[bytes]:
    parts, offset = [], 0
    while offset < len(data):
        (size,) = struct.unpack_from(">I", data, offset)
        offset += 4
        parts.append(data[offset : offset + size])
        offset += size
    return parts


def proto_list_codec(cls: type[M]) -> Codec[list[M]]:
    """A list of messages."""
    return Codec(
        lambda items: pack_parts(m.SerializeToString(deterministic=True) for m in items),
        lambda data: [cls.FromString(p) for p in unpack_parts(data)],
    )


def proto_dict_codec(cls: type[M], key: Callable[[M], str]) -> Codec[dict[str, M]]:
    """A dict of messages whose key is a field of the message (e.g. a member's user id)."""
    return Codec(
        lambda items: pack_parts(m.SerializeToString(deterministic=True) for m in items.values()),
        lambda data: {key(m): m for m in (cls.FromString(p) for p in unpack_parts(data))},
    )


def _encode_key(key: object) -> str:
    return json.dumps(list(key)) if isinstance(key, tuple) else str(key)


class Table(MutableMapping[K, V]):
    """A dict of one kind of entity that tracks what to write back (see the module doc)."""

    def __init__(self, kind: str, codec: Codec[V], *, tuple_keys: bool = False) -> None:
        self.kind = kind
        self.codec = codec
        self.tuple_keys = tuple_keys
        self._data: dict[K, V] = {}
        self._touched: set[K] = set()
        self._persisted: dict[K, bytes] = {}
        self._pending: list[tuple[K, bytes | None]] = []
        self._retry: set[K] = set()
        self.tracking = False

    def decode_key(self, raw: str) -> Any:
        return tuple(json.loads(raw)) if self.tuple_keys else raw

    # --- the mapping ---------------------------------------------------------------------

    def __getitem__(self, key: K) -> V:
        value = self._data[key]
        if self.tracking:
            self._touched.add(key)
        return value

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T, /) -> V | T: ...
    def get(self, key: K, default: object = None, /) -> object:
        if key not in self._data:
            return default
        if self.tracking:
            self._touched.add(key)
        return self._data[key]

    def __setitem__(self, key: K, value: V) -> None:
        self._data[key] = value
        if self.tracking:
            self._touched.add(key)

    def __delitem__(self, key: K) -> None:
        del self._data[key]
        if self.tracking:
            self._touched.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def values(self) -> ValuesView[V]:  # a live view, without marking (see the module doc)
        return self._data.values()

    def items(self) -> ItemsView[K, V]:
        return self._data.items()

    def clear(self) -> None:
        if self.tracking:
            self._touched.update(self._data)
        self._data.clear()

    def touch(self, key: K) -> None:
        """Mark an entry changed in place after it was found by iterating."""
        if self.tracking:
            self._touched.add(key)

    def __repr__(self) -> str:
        return f"<Table {self.kind}: {len(self._data)} entries>"

    # --- persistence ---------------------------------------------------------------------

    def load(self, rows: Iterable[tuple[str, bytes]]) -> None:
        for raw_key, blob in rows:
            key = self.decode_key(raw_key)
            self._data[key] = self.codec.decode(blob)
            self._persisted[key] = bytes(blob)
        self.tracking = True

    def changes(self) -> tuple[list[tuple[str, bytes]], list[str]]:
        """``(upserts, deletes)`` since the last flush, as rows; then :meth:`confirm` (they
        were written) or :meth:`retry` (they were not)."""
        upserts: list[tuple[str, bytes]] = []
        deletes: list[str] = []
        self._pending = []
        for key in self._touched:
            if key in self._data:
                blob = self.codec.encode(self._data[key])
                if self._persisted.get(key) != blob:
                    self._pending.append((key, blob))
                    upserts.append((_encode_key(key), blob))
            elif key in self._persisted:
                self._pending.append((key, None))
                deletes.append(_encode_key(key))
        self._retry = set(self._touched)
        self._touched.clear()
        return upserts, deletes

    def confirm(self) -> None:
        for key, blob in self._pending:
            if blob is None:
                self._persisted.pop(key, None)
            else:
                self._persisted[key] = blob
        self._pending = []

    def retry(self) -> None:
        self._touched |= self._retry
        self._pending = []


def _create_private(path: Path) -> None:
    """Make the state file private to this user (0600; SQLite gives its -wal and -shm files
    the same mode), and its folder 0700 when it has to be made."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o077:  # made by an older version
            os.chmod(file, 0o600)


class SQLiteStore:
    """A SQLite file of entities: ``(kind, key) -> serialized value``, plus a few JSON
    documents (the server config). Not thread-safe: the fake calls it under its lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            _create_private(self.path)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path}: {exc}") from None
        try:
            self._db = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from None
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")  # takes the exclusive lock, for good
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS entities (kind TEXT NOT NULL, key TEXT NOT NULL, "
                "value BLOB NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, value TEXT)"
            )
            row = self._db.execute("SELECT value FROM documents WHERE name='schema'").fetchone()
            if row is not None and int(row[0]) != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {row[0]}; this SDK reads {SCHEMA_VERSION}"
                )
            self._db.execute(
                "INSERT OR REPLACE INTO documents VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "locked" in str(exc):
                raise StoreLockedError(
                    f"{self.path} is in use by another process (another dev server or test?)"
                ) from None
            raise StoreError(f"cannot use {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{self.path} is not a state file: {exc}") from None
        except StoreError:
            self._db.close()
            raise
        self._documents: dict[str, str] = dict(
            self._db.execute("SELECT name, value FROM documents").fetchall()
        )
        self.tables: list[Table[Any, Any]] = []

    def attach(self, table: Table[Any, Any]) -> None:
        """Load ``table`` from the file and track it from now on."""
        rows = self._db.execute(
            "SELECT key, value FROM entities WHERE kind = ?", (table.kind,)
        ).fetchall()
        table.load(rows)
        self.tables.append(table)

    def document(self, name: str) -> Any:
        """A stored JSON document, or ``None``."""
        raw = self._documents.get(name)
        return None if raw is None else json.loads(raw)

    def flush(self, documents: dict[str, Any] | None = None) -> None:
        """Write every change of the attached tables (and changed documents) at once."""
        writes = [(table, *table.changes()) for table in self.tables]
        changed_docs = {}
        for name, value in (documents or {}).items():
            raw = json.dumps(value, sort_keys=True)
            if self._documents.get(name) != raw:
                changed_docs[name] = raw
        if not changed_docs and not any(up or down for _, up, down in writes):
            return
        try:
            self._db.execute("BEGIN")
            for table, upserts, deletes in writes:
                if upserts:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO entities VALUES (?, ?, ?)",
                        [(table.kind, key, blob) for key, blob in upserts],
                    )
                if deletes:
                    self._db.executemany(
                        "DELETE FROM entities WHERE kind = ? AND key = ?",
                        [(table.kind, key) for key in deletes],
                    )
            self._db.executemany(
                "INSERT OR REPLACE INTO documents VALUES (?, ?)", changed_docs.items()
            )
            self._db.execute("COMMIT")
        except sqlite3.Error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            for table in self.tables:
                table.retry()
            raise
        for table in self.tables:
            table.confirm()
        self._documents.update(changed_docs)

    def close(self) -> None:
        self._db.close()
