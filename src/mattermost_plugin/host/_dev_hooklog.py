"""The dev server's hook log: every hook call, with a short view of its arguments, what it
answered, how long it took, the node that served it, and its failure with the readable
traceback. ``GET /dev/hooks`` pages through it (``_dev_panels``) and each call is published
on ``/dev/events`` as ``dev_hook``.

Memory stays bounded: the latest :data:`MAX_HOOK_CALLS` calls are kept, each argument view is
cut to :data:`MAX_ARGS_VIEW` characters (built from the request's set fields only, bytes shown
as their length, long texts and lists cut on the way) and each traceback to
:data:`MAX_TRACEBACK` bytes. Secrets are hidden with the plugin's redactor, as in its logs.

A handler that raises does not make the call fail on the wire: the SDK logs the failure
(with ``hook`` and the ``stacktrace``) and answers as if the handler had not been there. The
log line can arrive just before or just after the hook's answer (stderr is read on its own
thread), so a failure is matched to the latest call of that hook within
:data:`FAILURE_WINDOW` seconds, whichever comes first; a call that gets its failure after it
was published is published again with the same ``id``.
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from google.protobuf import struct_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from mattermost_plugin.host._local_types import Event, HookCallInfo
from mattermost_plugin.host._logring import cut_text
from mattermost_plugin.host._tracebacks import readable_traceback, traceback_origin
from mattermost_plugin.logging import REDACTED, Redactor

__all__ = [
    "FAILURE_WINDOW",
    "MAX_ARGS_VIEW",
    "MAX_HOOK_CALLS",
    "MAX_TRACEBACK",
    "HookLog",
    "HookRecord",
    "args_view",
    "shown_target",
    "shown_traceback",
]

MAX_HOOK_CALLS = 2000
"""Hook calls the dev server keeps (the oldest go first)."""
MAX_ARGS_VIEW = 300
"""Characters of a call's argument view."""
MAX_TRACEBACK = 8 * 1024
"""Bytes of a failure's traceback kept."""
FAILURE_WINDOW = 5.0
"""Seconds between a hook call and its failure's log line for the two to be matched."""
_CONTEXT_FIELDS = frozenset({"context", "plugin_context"})
_MAX_TEXT = 120
_MAX_ITEMS = 5
_MAX_DEPTH = 4
_Hide = Callable[[str], str]
_CLOCK_SLACK = 0.05  # seconds: a call's start is computed, a log line's time is measured


@dataclass
class HookRecord:
    """One hook call as the hook log shows it."""

    id: int
    hook: str
    args: str
    outcome: str
    level: str
    duration_ms: float
    node: int
    time: float
    error: str | None = None
    """The failure's message: the call failed on the wire, or the handler raised."""
    traceback: str | None = None
    """The handler's traceback, readable: the plugin's file and line first."""
    origin: str | None = None
    """Where in the plugin's code it failed (``server/plugin.py:12 in parse``)."""

    @property
    def failed(self) -> bool:
        return self.error is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hook": self.hook,
            "args": self.args,
            "outcome": self.outcome,
            "level": self.level,
            "duration_ms": round(self.duration_ms, 3),
            "duration": _duration(self.duration_ms),
            "node": self.node,
            "time": self.time,
            "failed": self.failed,
            "error": self.error,
            "traceback": self.traceback,
            "origin": self.origin,
        }


def _duration(ms: float) -> str:
    return f"{ms:.1f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


class HookLog:
    """The latest hook calls of a dev server; see the module doc. It is the local
    Mattermost's ``hook_observer``. ``publish`` gets each new or updated call; ``redactor``
    and ``plugin_dir`` are asked at each call (the settings and the running folder change)."""

    def __init__(
        self,
        *,
        redactor: Callable[[], Redactor],
        plugin_dir: Callable[[], Path],
        publish: Callable[[dict[str, Any]], None] = lambda record: None,
        keep: int = MAX_HOOK_CALLS,
    ) -> None:
        self._redactor = redactor
        self._plugin_dir = plugin_dir
        self._publish = publish
        self._records: collections.deque[HookRecord] = collections.deque(maxlen=keep)
        self._next_id = 1
        self._lock = threading.Lock()
        self._running: collections.Counter[str] = collections.Counter()
        # A failure logged while its call was still running: hook → (time, error, stacktrace).
        self._early: dict[str, tuple[float, str, str | None]] = {}

    def hook_started(self, hook: str) -> None:
        with self._lock:
            self._running[hook] += 1

    def hook_ended(self, call: HookCallInfo) -> None:
        """Record a hook call that ended."""
        redactor = self._redactor()
        if call.request is not None:
            args = args_view(call.request, redactor)
        else:
            method, _, target = call.summary.partition(" ")
            shown = f"{method} {shown_target(target, redactor)}" if target else method
            args = cut_text(redactor.text(shown), MAX_ARGS_VIEW)
        outcome = redactor.text(call.outcome)
        record = HookRecord(
            0,
            call.hook,
            args,
            outcome,
            call.level,
            call.seconds * 1000,
            call.node,
            call.time,
            error=outcome if call.level == "error" else None,
        )
        self._add(record, started=call.time - call.seconds)

    def _add(self, record: HookRecord, *, started: float) -> None:
        with self._lock:
            if self._running[record.hook] > 0:
                self._running[record.hook] -= 1
            record.id = self._next_id
            self._next_id += 1
            early = self._early.get(record.hook)
            if early is not None and early[0] >= started - _CLOCK_SLACK:
                del self._early[record.hook]
                self._set_failure(record, early[1], early[2])
            self._records.append(record)
            shown = record.as_json()
        self._publish(shown)

    def add_log(self, event: Event) -> None:
        """A log line of the plugin: an error naming its ``hook`` is that hook's failure,
        of the call still running if there is one, else of the latest one that ended."""
        if event.kind != "log" or event.level != "error":
            return
        hook = event.fields.get("hook")
        if not isinstance(hook, str) or not hook:
            return
        stacktrace = event.fields.get("stacktrace")
        trace = stacktrace if isinstance(stacktrace, str) else None
        with self._lock:
            if self._running[hook] > 0:  # its call has not ended yet: it takes it then
                self._early[hook] = (event.time, event.message, trace)
                return
            record = next(
                (
                    r
                    for r in reversed(self._records)
                    if r.hook == hook
                    and r.traceback is None
                    and r.time >= event.time - FAILURE_WINDOW
                ),
                None,
            )
            if record is None:  # a hook the log does not see (OnActivate): nothing to mark
                return
            self._set_failure(record, event.message, trace)
            shown = record.as_json()
        self._publish(shown)

    def _set_failure(self, record: HookRecord, message: str, stacktrace: str | None) -> None:
        record.error = message
        if record.level != "error":
            record.level = "error"
        if stacktrace is not None:
            record.traceback, record.origin = shown_traceback(stacktrace, self._plugin_dir())

    def page(
        self,
        *,
        hook: str | None = None,
        failed: bool | None = None,
        page: int = 0,
        per_page: int = 50,
    ) -> dict[str, Any]:
        """One page of the calls, newest first, of ``hook`` (any when ``None``), failed
        or not (any when ``None``); with the total that match and every hook name seen."""
        with self._lock:
            records = list(self._records)
            total = self._next_id - 1
        names = sorted({r.hook for r in records})
        matching = [
            r
            for r in reversed(records)
            if (hook is None or r.hook == hook) and (failed is None or r.failed == failed)
        ]
        start = page * per_page
        with self._lock:  # a failure may be attached meanwhile: read each one whole
            calls = [r.as_json() for r in matching[start : start + per_page]]
        return {
            "calls": calls,
            "matching": len(matching),
            "kept": len(records),
            "total": total,
            "hooks": names,
            "page": page,
            "per_page": per_page,
        }


def shown_target(target: str, redactor: Redactor) -> str:
    """A request target with the values of secret-looking query parameters hidden."""
    path, _, query = target.partition("?")
    if not query:
        return target
    pairs = parse_qsl(query, keep_blank_values=True)
    shown = [(k, REDACTED if redactor.is_secret(k) else v) for k, v in pairs]
    return f"{path}?{urlencode(shown, safe='[]')}" if shown != pairs else target


def shown_traceback(stacktrace: str, plugin_dir: Path) -> tuple[str, str | None]:
    """A failure's traceback for the panels, readable and cut to :data:`MAX_TRACEBACK`, and
    where in the plugin it came from, paths relative to the plugin folder."""
    text = readable_traceback(
        stacktrace,
        plugin_dir=plugin_dir,
        relative_to=plugin_dir,
        hint="GET /api/v4/logs has them all",
    )
    origin = traceback_origin(stacktrace, plugin_dir=plugin_dir, relative_to=plugin_dir)
    return cut_text(text, MAX_TRACEBACK), origin


def args_view(request: Message, redactor: Redactor, limit: int = MAX_ARGS_VIEW) -> str:
    """A short view of a hook request's arguments: its set fields but the plugin context,
    as compact JSON with secrets hidden, cut to ``limit`` characters."""
    shown = {
        field.name: _plain(field, value, 0, redactor.text)
        for field, value in request.ListFields()
        if field.name not in _CONTEXT_FIELDS
    }
    text = json.dumps(redactor.value(shown), ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(field: FieldDescriptor, value: Any, depth: int, hide: _Hide) -> Any:
    if field.is_repeated and not _is_map(field):
        items = list(value)
        shown = [_single(field, item, depth + 1, hide) for item in items[:_MAX_ITEMS]]
        if len(items) > _MAX_ITEMS:
            shown.append(f"… {len(items) - _MAX_ITEMS} more")
        return shown
    if _is_map(field):
        value_field = field.message_type.fields_by_name["value"]  # type: ignore[union-attr]
        pairs = list(value.items())[: _MAX_ITEMS * 2]
        return {str(k): _single(value_field, v, depth + 1, hide) for k, v in pairs}
    return _single(field, value, depth, hide)


def _json_value(
    value: struct_pb2.Struct | struct_pb2.Value | struct_pb2.ListValue, depth: int, hide: _Hide
) -> Any:
    """A ``Struct`` (a post's ``props``), ``Value`` or ``ListValue`` as the JSON it holds,
    cut as the rest."""
    if depth >= _MAX_DEPTH:
        return "…"
    if isinstance(value, struct_pb2.Struct):
        items = list(value.fields.items())
        shown = {k: _json_value(v, depth + 1, hide) for k, v in items[: _MAX_ITEMS * 2]}
        if len(items) > _MAX_ITEMS * 2:
            shown["…"] = f"{len(items) - _MAX_ITEMS * 2} more"
        return shown
    if isinstance(value, struct_pb2.ListValue):
        values = list(value.values)
        listed = [_json_value(v, depth + 1, hide) for v in values[:_MAX_ITEMS]]
        if len(values) > _MAX_ITEMS:
            listed.append(f"… {len(values) - _MAX_ITEMS} more")
        return listed
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return _json_value(value.struct_value, depth, hide)
    if kind == "list_value":
        return _json_value(value.list_value, depth, hide)
    if kind == "string_value":
        return _cut(hide(value.string_value))
    if kind in ("number_value", "bool_value"):
        return getattr(value, kind)
    return None


def _is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and message.GetOptions().map_entry


def _single(field: FieldDescriptor, value: Any, depth: int, hide: _Hide) -> Any:
    if isinstance(value, Message):
        if depth >= _MAX_DEPTH:
            return "{…}"
        if isinstance(value, (struct_pb2.Struct, struct_pb2.Value, struct_pb2.ListValue)):
            return _json_value(value, depth, hide)
        fields = sorted(value.ListFields(), key=lambda item: _is_bookkeeping(item[0].name))
        return {f.name: _plain(f, v, depth + 1, hide) for f, v in fields}
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return _cut(hide(value))
    if field.enum_type is not None:
        number = field.enum_type.values_by_number.get(value)
        return number.name if number is not None else value
    return value


def _is_bookkeeping(name: str) -> bool:
    """Ids and timestamps, which go last in a view: what a person wrote comes first."""
    return name == "id" or name.endswith(("_id", "_at", "_ids"))


def _cut(text: str) -> str:
    """A text of the view, cut (secrets are hidden before, so none is shown in part)."""
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"
