"""hclog-compatible JSON log lines on stderr, the form the host keeps levels and fields of.

The host (go-plugin) reads the plugin's stderr: a JSON line with ``@level``, ``@message``
and ``@timestamp`` keeps its level and extra keys, anything else is logged at DEBUG
(PROTOCOL §2.8). It reads through a 64 KiB buffer and logs the pieces of a longer line as
raw text, so no line written here is longer than :data:`LINE_LIMIT`: :func:`hclog_lines`
cuts a longer entry into marked parts. :func:`parse_hclog_line` is the host's reading, for
a Python host.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import IO, Any, Protocol

__all__ = [
    "LINE_LIMIT",
    "LOG_LEVEL_ENV",
    "LOG_LEVEL_VARIABLES",
    "REDACTED",
    "TRACE",
    "HclogFormatter",
    "HclogRecord",
    "RedactSecretsFilter",
    "Redactor",
    "configure_logging",
    "get_plugin_logger",
    "hclog_level",
    "hclog_lines",
    "is_secret_key",
    "parse_hclog_line",
    "parse_level",
    "redact_setting_values",
    "secret_setting_keys",
]

TRACE = 5
"""hclog's level below DEBUG; ``logger.log(TRACE, ...)``."""
logging.addLevelName(TRACE, "TRACE")

LOG_LEVEL_ENV = "MATTERMOST_PLUGIN_LOG_LEVEL"
LOG_LEVEL_VARIABLES = (LOG_LEVEL_ENV, "MATTERMOST_LOG_LEVEL")
"""Where the level comes from, first set first: the SDK's own name, then the server's."""
LINE_LIMIT = 60 * 1024
"""The longest line written to stderr, in bytes (go-plugin's line buffer is 64 KiB)."""
REDACTED = "[REDACTED]"
SDK_LOGGER = "mattermost_plugin"
PLUGIN_LOGGER_PREFIX = f"{SDK_LOGGER}.plugin"

_HANDLER_NAME = "mattermost_plugin.hclog"
_LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_HCLOG_LEVELS = ("trace", "debug", "info", "warn", "error")
# Keys of the line itself; an extra field with one of these names is written as "_<name>".
_RESERVED = ("@level", "@message", "@timestamp", "@module")
# go-plugin parses @timestamp with Go's "2006-01-02T15:04:05.000000Z07:00": exactly six
# fractional digits; any other form makes it log the whole line raw at DEBUG.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(?:Z|[+-]\d{2}:\d{2})")
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "credential",
    "cookie",
    "apikey",
    "privatekey",
    "authorization",
)
_WHOLE_SECRET_PARTS = frozenset({"auth"})  # only whole: "author" is no secret
_MIN_SECRET_VALUE = 4
_MAX_DEPTH = 20


def hclog_level(levelno: int) -> str:
    """The hclog level name for a ``logging`` level (CRITICAL is hclog's ``error``)."""
    if levelno < logging.DEBUG:
        return "trace"
    if levelno < logging.INFO:
        return "debug"
    if levelno < logging.WARNING:
        return "info"
    if levelno < logging.ERROR:
        return "warn"
    return "error"


def parse_level(level: str | int) -> int:
    """A ``logging`` level from an int or a name (trace, debug, info, warn, warning, error;
    any case). Raises ``ValueError`` for other names."""
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown log level {level!r} (expected trace, debug, info, warn or error)"
        ) from None


def _jsonable(value: object, depth: int = 0) -> Any:
    """``value`` made JSON-safe: containers walked, the rest as ``str()``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        # NaN and infinities are not JSON: Go would reject the whole line.
        return value if math.isfinite(value) else str(value)
    if depth >= _MAX_DEPTH:
        return _str(value)
    if isinstance(value, Mapping):
        return {
            k if isinstance(k, str) else _str(k): _jsonable(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item, depth + 1) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return _str(value)


def _str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a broken __str__ must not lose the log line
        return f"<unprintable {type(value).__name__}>"


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _fitting_prefix(text: str, room: int) -> str:
    """The longest prefix of ``text`` whose JSON string form, quotes excluded, has at most
    ``room`` characters (``room`` >= 12: one escaped character always fits)."""
    size = min(len(text), room)
    while True:
        escaped = len(_dumps(text[:size])) - 2
        if escaped <= room:
            return text[:size]
        size = min(size - 1, size * room // escaped)


_PART_HEAD = ("@level", "@timestamp", "@module")
_PART_MARKERS = ("part", "more")


def hclog_lines(
    entry: Mapping[str, Any], *, part: int | None = None, more: bool = False
) -> list[str]:
    """``entry`` (an hclog line's keys and JSON-safe values) as JSON lines of at most
    :data:`LINE_LIMIT` characters (ASCII), without newlines.

    An entry that fits is one line. A longer one is cut into parts, each a complete hclog
    line with the entry's ``@level``, ``@timestamp`` and ``@module``, marked ``"part": n``
    (1, 2, ...) and, on all but the last, ``"more": true``. The first part carries the short
    fields; ``@message`` and each long field are cut into pieces, in order, one value per
    part (a long non-string value is cut as its JSON text): joining a key's pieces gives it
    back. ``part`` numbers the parts from there and marks even a short entry (text that
    continues a line already cut); ``more`` marks the last part as continued too. A caller's
    own ``part`` or ``more`` field is kept as ``_part`` / ``_more`` then.
    """
    if part is None:
        line = _dumps(entry)
        if not more and len(line) <= LINE_LIMIT:
            return [line]
        part = 1
    fields = dict(entry)
    for marker in _PART_MARKERS:
        if marker in fields:
            key = f"_{marker}"
            while key in fields:
                key = f"_{key}"
            fields[key] = fields.pop(marker)
    head = {key: fields.pop(key) for key in _PART_HEAD if key in fields}
    if len(_dumps(head)) > LINE_LIMIT // 4:  # an absurd logger name must not starve the parts
        head = {key: str(value)[:1024] for key, value in head.items()}
    long: list[tuple[str, str]] = [("@message", _str(fields.pop("@message", "")))]
    short: dict[str, Any] = {}
    budget = LINE_LIMIT // 2  # short fields, together, fill at most half the first part
    for key, value in fields.items():
        size = len(_dumps({key: value}))
        if size <= budget:
            short[key] = value
            budget -= size
        else:
            long.append((key, value if isinstance(value, str) else _dumps(value)))
    parts: list[dict[str, Any]] = []
    for key, text in long:
        first = True
        while first or text:
            piece: dict[str, Any] = {**head, "@message": ""}
            if not parts:
                piece.update(short)
            piece.update({"part": part + len(parts), "more": True, key: ""})
            room = LINE_LIMIT - len(_dumps(piece))
            piece[key] = _fitting_prefix(text, room)
            text = text[len(piece[key]) :]
            parts.append(piece)
            first = False
    if not more:
        del parts[-1]["more"]
    return [_dumps(piece) for piece in parts]


class HclogFormatter(logging.Formatter):
    """Format records as hclog JSON lines.

    Keys: ``@level``, ``@message``, ``@timestamp`` (UTC, microseconds), ``@module`` (logger
    name), every ``extra=`` field, and with ``exc_info`` ``error`` (``"Type: message"``) and
    ``stacktrace`` (hclog's key for stacks). Output is ASCII, so any stderr encoding works.
    A record longer than :data:`LINE_LIMIT` becomes several lines (see :func:`hclog_lines`).
    """

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object per line, no final newline."""
        line: dict[str, Any] = {
            "@level": hclog_level(record.levelno),
            "@message": record.getMessage(),
            "@timestamp": datetime.fromtimestamp(record.created, timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
            "@module": record.name,
        }
        stack = []
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            stack.append(self.formatException(record.exc_info))
        if record.stack_info:
            stack.append(self.formatStack(record.stack_info))
        if stack:
            line["stacktrace"] = "\n".join(stack)
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRS:
                continue
            while key in line:  # the line's own keys win; the caller's value is kept
                key = f"_{key}"
            line[key] = _jsonable(value)
        return "\n".join(hclog_lines(line))


def _word_parts(name: str) -> list[str]:
    """``name``'s words, lowercased: split at separators and camelCase humps."""
    return [part.lower() for part in _WORD.findall(name)]


def is_secret_key(key: str) -> bool:
    """Whether a field name looks like it holds a secret, by its word parts, ignoring case:
    a part (or two adjacent parts, as in ``api_key``) containing token, secret, password,
    passwd, credential, cookie, apikey, privatekey or authorization, or a part that is
    ``auth``. So ``X-Api-Key``, ``authToken`` and ``db_password`` are secret, while ``key``,
    ``kv_key`` and ``author_id`` are not."""
    parts = _word_parts(key)
    if _WHOLE_SECRET_PARTS.intersection(parts):
        return True
    candidates = [*parts, *(a + b for a, b in itertools.pairwise(parts))]
    return any(word in part for part in candidates for word in _SECRET_WORDS)


class Redactor:
    """Hides secrets in log lines: the values of fields whose name looks secret
    (:func:`is_secret_key`) or is one of ``secret_names`` (e.g. the keys of the plugin's
    settings marked ``secret``; any case), also inside nested mappings; and every occurrence
    of one of ``secret_values`` (e.g. those settings' current values) in messages and
    string values."""

    def __init__(self, secret_names: Iterable[str] = (), secret_values: Iterable[str] = ()):
        self.secret_names = frozenset(name.lower() for name in secret_names)
        # Short values would blank out ordinary words; longest first, so a value that
        # contains another one is hidden whole.
        self.secret_values = sorted(
            {v for v in secret_values if len(v) >= _MIN_SECRET_VALUE}, key=len, reverse=True
        )

    def with_settings(self, settings: Mapping[str, Any]) -> Redactor:
        """This redactor, also hiding the string values of the secret names in ``settings``."""
        values = [v for k, v in settings.items() if isinstance(v, str) and self.is_named(k)]
        if not values:
            return self
        return Redactor(self.secret_names, [*self.secret_values, *values])

    def is_named(self, name: str) -> bool:
        """Whether ``name`` is one of the secret names (not just secret-looking)."""
        return name.lower() in self.secret_names

    def is_secret(self, name: str) -> bool:
        return name.lower() in self.secret_names or is_secret_key(name)

    def text(self, text: str) -> str:
        """``text`` with the secret values replaced."""
        for value in self.secret_values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``fields`` with secrets redacted (the caller's objects are untouched)."""
        return {
            key: REDACTED if self.is_secret(key) else self.value(value)
            for key, value in fields.items()
        }

    def value(self, value: object, depth: int = 0) -> Any:
        """``value`` with secrets redacted; the same object when nothing changed."""
        if depth >= _MAX_DEPTH:
            return value
        if isinstance(value, str):
            return self.text(value) if self.secret_values else value
        if isinstance(value, Mapping):
            redacted = {
                k: REDACTED
                if isinstance(k, str) and self.is_secret(k)
                else self.value(v, depth + 1)
                for k, v in value.items()
            }
            return redacted if any(redacted[k] is not v for k, v in value.items()) else value
        if isinstance(value, (list, tuple)):
            items = [self.value(item, depth + 1) for item in value]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        return value


def secret_setting_keys(settings_schema: Any) -> list[str]:
    """The keys of the settings a manifest's ``settings_schema`` marks ``"secret": true``,
    in its ``settings`` and in each of its ``sections``; tolerant of any shape (a schema the
    manifest check refuses has none)."""
    if not isinstance(settings_schema, dict):
        return []
    groups = [settings_schema.get("settings")]
    sections = settings_schema.get("sections")
    if isinstance(sections, list):
        groups += [section.get("settings") for section in sections if isinstance(section, dict)]
    keys = []
    for group in groups:
        for setting in group if isinstance(group, list) else []:
            if isinstance(setting, dict) and setting.get("secret") is True:
                key = setting.get("key")
                if isinstance(key, str) and key:
                    keys.append(key)
    return keys


class RedactSecretsFilter(logging.Filter):
    """Replace the values of ``extra=`` fields whose key looks secret (or is one of
    ``redactor``'s names) with ``[REDACTED]``, also inside nested mappings. Messages are
    only searched for the ``redactor``'s secret values: keep secrets out of them."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place on the record (never in the caller's objects); always passes."""
        redactor = self.redactor
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRS:
                record.__dict__[key] = (
                    REDACTED if redactor.is_secret(key) else redactor.value(value)
                )
        if redactor.secret_values:
            record.msg, record.args = redactor.text(record.getMessage()), None
        return True


def redact_setting_values(settings: Mapping[str, Any]) -> None:
    """Hide, in the SDK's log lines from now on, the string values of the ``settings`` whose
    key is one of the secret names :func:`configure_logging` was given (the plugin's settings
    marked ``secret``). The clients call it with what ``get_plugin_config`` returns."""
    for handler in logging.getLogger(SDK_LOGGER).handlers:
        if handler.get_name() != _HANDLER_NAME:
            continue
        for found in handler.filters:
            if isinstance(found, RedactSecretsFilter):
                found.redactor = found.redactor.with_settings(settings)


def _level_from_env() -> tuple[int, str | None]:
    for name in LOG_LEVEL_VARIABLES:
        raw = os.environ.get(name, "")
        if raw.strip():
            try:
                return parse_level(raw), None
            except ValueError as exc:
                return logging.INFO, f"{name}: {exc}; using info"
    return logging.INFO, None


class _TextSink(Protocol):
    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...


_log_stream: _TextSink | None = None  # set by the plugin process while it relays its output


def _use_log_stream(stream: _TextSink) -> None:
    """From now on the SDK's records go to ``stream``, also from a handler already set up
    and from later :func:`configure_logging` calls without a ``stream``."""
    global _log_stream
    _log_stream = stream
    for handler in logging.getLogger(SDK_LOGGER).handlers:
        if handler.get_name() == _HANDLER_NAME and isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)


def configure_logging(
    level: str | int | None = None,
    stream: IO[str] | None = None,
    *,
    secret_names: Iterable[str] | None = None,
) -> None:
    """Send the ``mattermost_plugin`` logger tree (SDK and plugin loggers) as hclog JSON to
    ``stream`` (default: the current ``sys.stderr``; in a plugin process under a host, the
    SDK's own channel to it), not to the root logger.

    ``level`` defaults to ``$MATTERMOST_PLUGIN_LOG_LEVEL``, else ``$MATTERMOST_LOG_LEVEL``
    (the name the server's documentation uses), else info; an invalid value in the variable
    that is read means info and one warning, an invalid ``level`` argument raises
    ``ValueError``. Calling again replaces the handler instead of adding one. Fields named
    like secrets, or one of ``secret_names`` (the plugin's settings marked ``secret``), are
    redacted; without ``secret_names``, a call keeps what an earlier call was given.
    """
    resolved, warning = _level_from_env() if level is None else (parse_level(level), None)
    sink: IO[str] | _TextSink = sys.stderr
    if stream is not None:
        sink = stream
    elif _log_stream is not None:
        sink = _log_stream
    logger = logging.getLogger(SDK_LOGGER)
    redactor = Redactor(secret_names or ())
    for old in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        if secret_names is None:
            kept = [f.redactor for f in old.filters if isinstance(f, RedactSecretsFilter)]
            redactor = kept[0] if kept else redactor
        # Replaced, not re-pointed: setStream would flush the old stream, which may be closed.
        logger.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(sink)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(HclogFormatter())
    handler.addFilter(RedactSecretsFilter(redactor))
    logger.addHandler(handler)
    logger.setLevel(resolved)
    logger.propagate = False
    if warning:
        logging.getLogger(__name__).warning(warning)


def get_plugin_logger(plugin_id: str) -> logging.Logger:
    """The logger a plugin gets as ``self.logger``: ``mattermost_plugin.plugin.<id>``, so it
    shares the SDK's handler and level."""
    if not plugin_id:
        raise ValueError("plugin_id must not be empty")
    return logging.getLogger(f"{PLUGIN_LOGGER_PREFIX}.{plugin_id}")


@dataclass(frozen=True)
class HclogRecord:
    """One hclog JSON line, as the host reads it."""

    level: str
    """trace, debug, info, warn or error."""
    message: str
    timestamp: datetime | None
    module: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    """Every other key, e.g. extra fields, ``error`` and ``stacktrace``."""

    @property
    def levelno(self) -> int:
        """The ``logging`` level to re-log the line at."""
        return _LEVELS[self.level]


def parse_hclog_line(line: str) -> HclogRecord | None:
    """Read one stderr line; ``None`` when the host would log it raw at DEBUG instead: not a
    JSON object, no known ``@level``, a non-string ``@message``, or a malformed
    ``@timestamp``."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    level, message = data.pop("@level", None), data.pop("@message", "")
    if not isinstance(level, str) or not isinstance(message, str):
        return None
    level = level.strip().lower()
    level = "warn" if level == "warning" else level
    if level not in _HCLOG_LEVELS:
        return None
    timestamp = None
    if "@timestamp" in data:
        raw = data.pop("@timestamp")
        if not isinstance(raw, str) or not _TIMESTAMP.fullmatch(raw):
            return None
        try:
            timestamp = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:  # e.g. month 13
            return None
    module = data.pop("@module") if isinstance(data.get("@module"), str) else None
    return HclogRecord(level, message, timestamp, module, data)
