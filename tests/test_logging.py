"""hclog JSON logging: the formatter, configure_logging, redaction and parse_hclog_line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mattermost_plugin.logging import (
    LOG_LEVEL_ENV,
    LOG_LEVEL_VARIABLES,
    REDACTED,
    TRACE,
    HclogFormatter,
    configure_logging,
    get_plugin_logger,
    hclog_level,
    is_secret_key,
    parse_hclog_line,
    parse_level,
)

SDK = logging.getLogger("mattermost_plugin")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
RESERVED = {"@level", "@message", "@timestamp", "@module"}


@pytest.fixture(autouse=True)
def _reset_sdk_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in LOG_LEVEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    for handler in list(SDK.handlers):
        SDK.removeHandler(handler)
    SDK.setLevel(logging.NOTSET)
    SDK.propagate = True


@pytest.fixture
def stream() -> io.StringIO:
    buffer = io.StringIO()
    configure_logging("trace", stream=buffer)
    return buffer


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _format(**extra: object) -> dict[str, Any]:
    record = logging.LogRecord("mod", logging.INFO, __file__, 1, "msg", None, None)
    record.__dict__.update(extra)
    result: dict[str, Any] = json.loads(HclogFormatter().format(record))
    return result


# --- Formatter -------------------------------------------------------------------------------


def test_guide_logger_access(stream: io.StringIO) -> None:
    logger = get_plugin_logger("com.example.myplugin")
    logger.debug("Debug message")
    logger.info("Info message")
    logger.warning("Warning message")
    logger.error("Error message")
    lines = _lines(stream)
    assert [(line["@level"], line["@message"]) for line in lines] == [
        ("debug", "Debug message"),
        ("info", "Info message"),
        ("warn", "Warning message"),
        ("error", "Error message"),
    ]
    assert {line["@module"] for line in lines} == {"mattermost_plugin.plugin.com.example.myplugin"}
    assert all(TIMESTAMP.fullmatch(line["@timestamp"]) for line in lines)


@pytest.mark.parametrize(
    ("levelno", "name"),
    [
        (1, "trace"),
        (TRACE, "trace"),
        (logging.DEBUG, "debug"),
        (logging.INFO, "info"),
        (25, "info"),
        (logging.WARNING, "warn"),
        (logging.ERROR, "error"),
        (logging.CRITICAL, "error"),
    ],
)
def test_levels(levelno: int, name: str) -> None:
    assert hclog_level(levelno) == name


def test_timestamp_is_utc_with_microseconds() -> None:
    record = logging.LogRecord("mod", logging.INFO, __file__, 1, "msg", None, None)
    record.created = datetime(2026, 11, 25, 10, 0, 0, 123456, timezone.utc).timestamp()
    line = json.loads(HclogFormatter().format(record))
    assert line["@timestamp"] == "2026-11-25T10:00:00.123456Z"


def test_message_args_and_one_line(stream: io.StringIO) -> None:
    get_plugin_logger("p.x").info("user %s said:\n%s", "u1", "héllo\u2028")
    (raw,) = stream.getvalue().splitlines()
    assert raw.isascii()
    assert json.loads(raw)["@message"] == "user u1 said:\nhéllo\u2028"


def test_extra_fields() -> None:
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    line = _format(
        user_id="u1",
        count=3,
        ratio=0.5,
        ok=True,
        nothing=None,
        tags=("a", "b"),
        nested={"k": [1, {"x": Thing()}], 2: "int key"},
        thing=Thing(),
        nan=float("nan"),
        when=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    assert line["user_id"] == "u1"
    assert (line["count"], line["ratio"], line["ok"], line["nothing"]) == (3, 0.5, True, None)
    assert line["tags"] == ["a", "b"]
    assert line["nested"] == {"k": [1, {"x": "a thing"}], "2": "int key"}
    assert line["thing"] == "a thing"
    assert line["nan"] == "nan"
    assert line["when"] == "2026-01-02T03:04:05+00:00"


def test_unprintable_and_cyclic_values() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    cycle: list[object] = []
    cycle.append(cycle)
    line = _format(broken=Broken(), cycle=cycle)
    assert line["broken"] == "<unprintable Broken>"
    assert isinstance(line["cycle"], list)


def test_reserved_keys_are_not_overwritten() -> None:
    line = _format(**{"@level": "fake", "@module": "fake"})
    assert line["@level"] == "info"
    assert line["@module"] == "mod"
    assert (line["_@level"], line["_@module"]) == ("fake", "fake")


def test_exception_info(stream: io.StringIO) -> None:
    logger = get_plugin_logger("p.x")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed", extra={"error": "mine"})
    (line,) = _lines(stream)
    assert line["@level"] == "error"
    assert line["error"] == "ValueError: boom"
    assert line["stacktrace"].startswith("Traceback (most recent call last):")
    assert line["stacktrace"].endswith("ValueError: boom")
    assert line["_error"] == "mine"


def test_stack_info(stream: io.StringIO) -> None:
    get_plugin_logger("p.x").warning("here", stack_info=True)
    (line,) = _lines(stream)
    assert line["stacktrace"].startswith("Stack (most recent call last):")
    assert "error" not in line


def test_exception_outside_handler(stream: io.StringIO) -> None:
    get_plugin_logger("p.x").exception("no exception active")
    (line,) = _lines(stream)
    assert "error" not in line
    assert "stacktrace" not in line


# --- configure_logging -----------------------------------------------------------------------


def test_configure_twice_keeps_one_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", stream=first)
    configure_logging("info", stream=second)
    assert len(SDK.handlers) == 1
    get_plugin_logger("p.x").info("once")
    assert first.getvalue() == ""
    assert [line["@message"] for line in _lines(second)] == ["once"]


def test_keeps_other_handlers() -> None:
    other = logging.NullHandler()
    SDK.addHandler(other)
    configure_logging()
    configure_logging()
    assert len(SDK.handlers) == 2
    assert other in SDK.handlers


def test_default_stream_is_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    logging.getLogger("mattermost_plugin.server").info("started")
    captured = capsys.readouterr()
    assert captured.out == ""
    line = json.loads(captured.err)
    assert (line["@level"], line["@message"]) == ("info", "started")
    assert line["@module"] == "mattermost_plugin.server"


def test_does_not_propagate_to_root(stream: io.StringIO) -> None:
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    root_handler = Collect()
    logging.getLogger().addHandler(root_handler)
    try:
        get_plugin_logger("p.x").error("only once")
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert not SDK.propagate
    assert seen == []
    assert len(_lines(stream)) == 1


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (None, logging.INFO),
        ("", logging.INFO),
        ("TRACE", TRACE),
        ("debug", logging.DEBUG),
        ("Info", logging.INFO),
        ("warn", logging.WARNING),
        ("WARNING", logging.WARNING),
        (" error ", logging.ERROR),
    ],
)
def test_level_from_env(monkeypatch: pytest.MonkeyPatch, value: str | None, level: int) -> None:
    if value is not None:
        monkeypatch.setenv(LOG_LEVEL_ENV, value)
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    assert SDK.level == level
    assert buffer.getvalue() == ""


def test_invalid_env_level_means_info_and_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_LEVEL_ENV, "verbose")
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    assert SDK.level == logging.INFO
    (line,) = _lines(buffer)
    assert line["@level"] == "warn"
    assert line["@message"].startswith(f"{LOG_LEVEL_ENV}: unknown log level 'verbose'")
    assert line["@message"].endswith("using info")


@pytest.mark.parametrize(
    ("plugin_level", "server_level", "level"),
    [
        (None, "debug", logging.DEBUG),  # the server's documented name alone
        ("warn", "debug", logging.WARNING),  # the SDK's own name wins
        ("", "ERROR", logging.ERROR),  # empty counts as unset
        ("trace", None, TRACE),
    ],
)
def test_level_variables_and_their_precedence(
    monkeypatch: pytest.MonkeyPatch, plugin_level: str | None, server_level: str | None, level: int
) -> None:
    assert LOG_LEVEL_VARIABLES == ("MATTERMOST_PLUGIN_LOG_LEVEL", "MATTERMOST_LOG_LEVEL")
    for name, value in zip(LOG_LEVEL_VARIABLES, (plugin_level, server_level), strict=True):
        if value is not None:
            monkeypatch.setenv(name, value)
    configure_logging(stream=io.StringIO())
    assert SDK.level == level


def test_invalid_server_level_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATTERMOST_LOG_LEVEL", "chatty")
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    assert SDK.level == logging.INFO
    (line,) = _lines(buffer)
    assert line["@message"].startswith("MATTERMOST_LOG_LEVEL: unknown log level 'chatty'")


def test_explicit_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_LEVEL_ENV, "error")
    configure_logging("debug", stream=io.StringIO())
    assert SDK.level == logging.DEBUG
    configure_logging(logging.WARNING, stream=io.StringIO())
    assert SDK.level == logging.WARNING
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging("loud")
    assert parse_level("Warn") == logging.WARNING


def test_level_filters(stream: io.StringIO) -> None:
    configure_logging("warn", stream=stream)
    logger = get_plugin_logger("p.x")
    logger.info("dropped")
    logger.log(TRACE, "dropped")
    logger.warning("kept")
    assert [line["@message"] for line in _lines(stream)] == ["kept"]


def test_plugin_logger_name() -> None:
    logger = get_plugin_logger("com.example.x")
    assert logger.name == "mattermost_plugin.plugin.com.example.x"
    assert logger is get_plugin_logger("com.example.x")
    with pytest.raises(ValueError):
        get_plugin_logger("")


# --- Redaction -------------------------------------------------------------------------------


SECRET_KEYS = [
    "token",
    "access_token",
    "password",
    "db_password",
    "passwd",
    "client_secret",
    "api_key",
    "apiKey",
    "X-Api-Key",
    "Authorization",
    "cookie",
    "Set-Cookie",
    "credentials",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_extra_fields_are_redacted(stream: io.StringIO, key: str) -> None:
    get_plugin_logger("p.x").info("call", extra={key: "s3cr3t", "user_id": "u1"})
    (line,) = _lines(stream)
    assert line[key] == REDACTED
    assert line["user_id"] == "u1"
    assert "s3cr3t" not in stream.getvalue()


def test_nested_secrets_are_redacted_without_touching_the_callers_data(
    stream: io.StringIO,
) -> None:
    headers = {"Authorization": "Bearer abc", "Accept": "json"}
    calls = [{"token": "t"}, "plain"]
    get_plugin_logger("p.x").info("request", extra={"headers": headers, "calls": calls})
    (line,) = _lines(stream)
    assert line["headers"] == {"Authorization": REDACTED, "Accept": "json"}
    assert line["calls"] == [{"token": REDACTED}, "plain"]
    assert headers == {"Authorization": "Bearer abc", "Accept": "json"}
    assert calls == [{"token": "t"}, "plain"]


@pytest.mark.parametrize("key", ["user_id", "channel", "message", "author", "status"])
def test_plain_keys_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


# --- parse_hclog_line ------------------------------------------------------------------------


def test_parses_a_go_hclog_line() -> None:
    line = (
        '{"@level":"debug","@message":"plugin started","@module":"plugin.x",'
        '"@timestamp":"2026-11-25T10:00:00.000000+01:00","path":"/x","pid":123}\n'
    )
    record = parse_hclog_line(line)
    assert record is not None
    assert (record.level, record.levelno, record.message) == (
        "debug",
        logging.DEBUG,
        "plugin started",
    )
    assert record.module == "plugin.x"
    assert record.timestamp == datetime(2026, 11, 25, 10, tzinfo=timezone(timedelta(hours=1)))
    assert record.fields == {"path": "/x", "pid": 123}


def test_optional_keys() -> None:
    record = parse_hclog_line('{"@level":"WARNING"}')
    assert record is not None
    assert (record.level, record.levelno) == ("warn", logging.WARNING)
    assert (record.message, record.timestamp, record.module, record.fields) == ("", None, None, {})
    record = parse_hclog_line('{"@level":"info","@module":7}')
    assert record is not None
    assert (record.module, record.fields) == (None, {"@module": 7})


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   \n",
        "panic: runtime error",
        "Traceback (most recent call last):",
        "[1, 2]",
        "{not json",
        '{"@message":"no level"}',
        '{"@level":"fatal","@message":"x"}',
        '{"@level":"off","@message":"x"}',
        '{"@level":3,"@message":"x"}',
        '{"@level":"info","@message":3}',
        '{"@level":"info","@timestamp":"2026-11-25T10:00:00Z"}',
        '{"@level":"info","@timestamp":"2026-11-25T10:00:00.123Z"}',
        '{"@level":"info","@timestamp":"2026-13-25T10:00:00.000000Z"}',
        '{"@level":"info","@timestamp":1764064800}',
    ],
)
def test_lines_the_host_logs_raw(line: str) -> None:
    assert parse_hclog_line(line) is None


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=8,
)
EXTRA_KEYS = st.text(min_size=1).filter(lambda key: key not in RECORD_ATTRS | RESERVED)
LEVELS = st.sampled_from(
    [
        (TRACE, "trace"),
        (logging.DEBUG, "debug"),
        (logging.INFO, "info"),
        (logging.WARNING, "warn"),
        (logging.ERROR, "error"),
        (logging.CRITICAL, "error"),
    ]
)


@given(
    message=st.text(),
    level=LEVELS,
    module=st.text(),
    extra=st.dictionaries(EXTRA_KEYS, JSON_VALUES, max_size=5),
)
def test_round_trip(
    message: str, level: tuple[int, str], module: str, extra: dict[str, Any]
) -> None:
    levelno, name = level
    record = logging.LogRecord(module, levelno, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    line = HclogFormatter().format(record)
    assert "\n" not in line
    assert line.isascii()
    parsed = parse_hclog_line(line + "\n")
    assert parsed is not None
    assert (parsed.level, parsed.message, parsed.module) == (name, message, module)
    assert parsed.fields == extra
    assert parsed.timestamp == datetime.fromtimestamp(record.created, timezone.utc)


def test_stderr_encoding_does_not_matter() -> None:
    # ASCII output: even a stderr that can only encode ASCII gets every line intact.
    raw = io.BytesIO()
    ascii_stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    configure_logging("info", stream=ascii_stream)
    get_plugin_logger("p.x").info("emoji \U0001f600 and lone surrogate \ud800")
    parsed = parse_hclog_line(raw.getvalue().decode("ascii"))
    assert parsed is not None
    assert parsed.message == "emoji \U0001f600 and lone surrogate \ud800"
