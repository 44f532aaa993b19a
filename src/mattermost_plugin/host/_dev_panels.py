"""The dev server's ``/dev/`` routes for what a plugin author looks at and the server has no
REST route for: the hook log, the plugin's log with its levels, and the plugin's KV store.

* ``GET /dev/hooks?hook=&failed=&page=&per_page=``: the hook calls, newest first
  (:mod:`._dev_hooklog`);
* ``GET /dev/logs?level=&q=&page=&per_page=``: the plugin's log lines, newest first, of
  ``level`` and above, whose message contains ``q`` (any case); a failing handler's line
  has its readable ``traceback`` in place of the raw ``stacktrace`` field;
* ``GET /dev/kv?prefix=&page=&per_page=``: the plugin's KV keys in order, with their size,
  expiry and a short preview, and the collections (``name:key``) with their counts;
* ``GET /dev/kv/{key}``: one value: ``json`` when it is JSON, else ``text`` when it is
  UTF-8, else ``base64``; ``DELETE /dev/kv/{key}`` deletes it (``KVDelete``, as the plugin
  would). A key is percent-encoded in the path (``/`` as ``%2F``).

Each needs a system admin (``manage_system``; a request without a token acts as ``admin``).
Secrets are hidden with the plugin's redactor, as in its logs: values under secret-looking
names, and the current values of the settings marked ``secret``, read ``[REDACTED]`` (and
the answer says ``redacted: true``). What is read is bounded: at most :data:`MAX_PER_PAGE`
items a page, values shown up to :data:`MAX_VALUE_SHOWN` bytes.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import unquote

from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2
from mattermost_plugin.host._dev_hooklog import shown_traceback
from mattermost_plugin.host._http_front import HTTPError
from mattermost_plugin.host._rest import Call, invalid_param, query_int, route
from mattermost_plugin.host._tracebacks import split_stacktrace
from mattermost_plugin.logging import Redactor

__all__ = ["LOG_LEVELS", "MAX_PER_PAGE", "MAX_VALUE_SHOWN", "PANEL_ROUTES"]

MAX_PER_PAGE = 200
"""The most items one page of ``/dev/hooks``, ``/dev/logs`` or ``/dev/kv`` holds."""
MAX_VALUE_SHOWN = 256 * 1024
"""Bytes of a KV value ``GET /dev/kv/{key}`` shows (a longer one is cut, and says so)."""
LOG_LEVELS = ("debug", "info", "warn", "error")
"""The log levels, lowest first; ``level=warn`` shows warn and error."""
_LEVEL_RANK = {"trace": 0, "debug": 0, "info": 1, "warn": 2, "warning": 2, "error": 3}
_PREVIEW = 80
_PREVIEW_READ = 64 * 1024
_COLLECTION = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*):")
_NO_KEY = "app.plugin.kv.not_found"


def _paging(call: Call, default: int = 50) -> tuple[int, int]:
    return (
        query_int(call, "page", 0),
        max(query_int(call, "per_page", default, maximum=MAX_PER_PAGE), 1),
    )


@route("GET", "/dev/hooks")
def hooks(call: Call) -> None:
    """The hook log; ``failed=true`` only failures, ``false`` only the others."""
    call.require("manage_system")
    page, per_page = _paging(call)
    raw_failed = call.query.get("failed", "")
    if raw_failed not in ("", "true", "false"):
        raise invalid_param("failed")
    failed = None if raw_failed == "" else raw_failed == "true"
    hook = call.query.get("hook") or None
    call.respond(200, call.dev.hooks.page(hook=hook, failed=failed, page=page, per_page=per_page))


@route("GET", "/dev/logs")
def logs(call: Call) -> None:
    """The plugin's log, newest first."""
    call.require("manage_system")
    page, per_page = _paging(call, 100)
    level = (call.query.get("level") or "debug").lower()
    if level not in _LEVEL_RANK:
        raise invalid_param("level")
    lowest = _LEVEL_RANK[level]
    text = call.query.get("q", "").lower()
    first, records = call.local.logs.numbered()
    matching = [
        (first + index, record)
        for index, record in enumerate(records)
        if _LEVEL_RANK.get(record.level, 1) >= lowest
        and (not text or text in record.message.lower())
    ]
    matching.reverse()
    plugin_dir = call.local.plugin_dir
    lines = []
    for number, record in matching[page * per_page : (page + 1) * per_page]:
        fields, stacktrace = split_stacktrace(record.fields)
        line: dict[str, Any] = {
            "id": number,
            "time": record.time,
            "level": record.level,
            "message": record.message,
            "fields": fields,
            "source": record.source,
        }
        if stacktrace is not None:
            line["traceback"], line["origin"] = shown_traceback(stacktrace, plugin_dir)
        lines.append(line)
    call.respond(
        200,
        {
            "lines": lines,
            "matching": len(matching),
            "kept": len(records),
            "total": first + len(records),
            "levels": list(LOG_LEVELS),
            "page": page,
            "per_page": per_page,
        },
    )


def _live_keys(call: Call) -> list[tuple[str, bytes, int]]:
    """Every live key of the plugin, in order, with its value and expiry."""
    fake = call.fake
    with fake.transaction():
        now = fake.now_ms()
        entries = [(key, entry) for key, entry in fake.kv.items()]
    live = [(k, e.value, e.expire_at) for k, e in entries if not e.expire_at or e.expire_at > now]
    live.sort(key=lambda item: item[0])
    return live


def _collection(key: str) -> str:
    match = _COLLECTION.match(key)
    return match[1] if match is not None else ""


@route("GET", "/dev/kv")
def kv_keys(call: Call) -> None:
    """One page of the keys starting with ``prefix``, and every collection's count."""
    call.require("manage_system")
    page, per_page = _paging(call)
    prefix = call.query.get("prefix", "")
    live = _live_keys(call)
    collections: dict[str, int] = {}
    for key, _value, _expiry in live:
        name = _collection(key)
        collections[name] = collections.get(name, 0) + 1
    matching = [item for item in live if item[0].startswith(prefix)]
    redactor = call.local.redactor()
    keys = [
        {
            "key": key,
            "size": len(value),
            "expire_at": expire_at,
            "collection": _collection(key),
            "preview": _preview(value, redactor),
        }
        for key, value, expire_at in matching[page * per_page : (page + 1) * per_page]
    ]
    call.respond(
        200,
        {
            "keys": keys,
            "matching": len(matching),
            "total": len(live),
            "collections": [
                {"name": name, "keys": count} for name, count in sorted(collections.items())
            ],
            "prefix": prefix,
            "page": page,
            "per_page": per_page,
        },
    )


def _key(call: Call) -> str:
    key = unquote(call.params["key"])
    if not key:
        raise invalid_param("key")
    return key


@route("GET", "/dev/kv/{key}")
def kv_value(call: Call) -> None:
    """One key's value, shown as JSON, text or base64."""
    call.require("manage_system")
    key = _key(call)
    found = next((item for item in _live_keys(call) if item[0] == key), None)
    if found is None:
        raise HTTPError(404, _NO_KEY, f"no KV key {key!r}")
    _key_name, value, expire_at = found
    shown: dict[str, Any] = {
        "key": key,
        "size": len(value),
        "expire_at": expire_at,
        "collection": _collection(key),
        "truncated": len(value) > MAX_VALUE_SHOWN,
    }
    shown.update(_value_view(value, call.local.redactor()))
    call.respond(200, shown)


@route("DELETE", "/dev/kv/{key}")
def kv_delete(call: Call) -> None:
    """Delete a key (404 when there is none), as the plugin's ``KVDelete`` does."""
    call.require("manage_system")
    key = _key(call)
    if not any(item[0] == key for item in _live_keys(call)):
        raise HTTPError(404, _NO_KEY, f"no KV key {key!r}")
    call.invoke("KVDelete", api_kv_config_pb2.KVDeleteRequest(key=key))
    call.dev.emit("server", f"KV key deleted: {call.local.redactor().text(key)}")
    call.ok()


def _value_view(value: bytes, redactor: Redactor) -> dict[str, Any]:
    """``json`` (JSON), ``text`` (other UTF-8) or ``base64``, secrets hidden. A value too
    long to show whole is cut, unless it looks like JSON: secrets under secret-looking names
    can only be found in JSON read whole, so such a value is not shown (``too_long``)."""
    if len(value) <= MAX_VALUE_SHOWN:
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            pass
        else:
            shown = redactor.value(parsed)
            return {"format": "json", "json": shown, "redacted": shown is not parsed}
    elif value.lstrip()[:1] in (b"{", b"["):
        return {"format": "too_long"}
    text = _decoded(value[:MAX_VALUE_SHOWN], cut=len(value) > MAX_VALUE_SHOWN)
    if text is None:
        return {"format": "base64", "base64": base64.b64encode(value[:MAX_VALUE_SHOWN]).decode()}
    hidden = redactor.text(text)
    return {"format": "text", "text": hidden, "redacted": hidden != text}


def _decoded(data: bytes, *, cut: bool) -> str | None:
    """``data`` as UTF-8 text (``None``: it is not); a ``cut`` value may end inside a
    character, which is left out."""
    for end in range(4 if cut else 1):
        try:
            return data[: len(data) - end].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def _preview(value: bytes, redactor: Redactor) -> str:
    """The start of a value as one short line of text (``<N bytes>`` for binary and for
    long values, which are not read whole for one line)."""
    if len(value) > _PREVIEW_READ:
        return f"<{len(value)} bytes>"
    view = _value_view(value, redactor)
    if view["format"] == "json":
        text = json.dumps(view["json"], ensure_ascii=False)
    elif view["format"] == "text":
        text = " ".join(view["text"].split())
    else:
        return f"<{len(value)} bytes>"
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


PANEL_ROUTES = (hooks, logs, kv_keys, kv_value, kv_delete)
"""The routes of this module, searched by ``_dev_routes`` after the REST table."""
