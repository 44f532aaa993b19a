"""The pytest plugin of :mod:`mattermost_plugin.testing` (entry point ``pytest11``).

Importing this module is cheap: the SDK's host side loads when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mattermost_plugin.host.local import LocalMattermost

MARKER = "mattermost_plugin"
INI_DIR = "mattermost_plugin_dir"
INI_TIMEOUT = "mattermost_hook_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_DIR,
        "plugin folder the `mattermost` fixture runs (relative to the ini file)",
        default=None,
    )
    parser.addini(
        INI_TIMEOUT, "hook deadline in seconds for the `mattermost` fixture", default="30"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path=None, *, config=None, db=None, hook_timeout=None): the plugin folder "
        "(relative to the test file), its settings, a SQLite state file and the hook "
        "deadline for the `mattermost` fixture",
    )


def _marker(request: pytest.FixtureRequest) -> pytest.Mark | None:
    marker: pytest.Mark | None = request.node.get_closest_marker(MARKER)
    return marker


@pytest.fixture
def mattermost_plugin_dir(request: pytest.FixtureRequest) -> Path:
    """The plugin folder the ``mattermost`` fixture starts."""
    marker = _marker(request)
    if marker is not None and marker.args:
        return (Path(request.path).parent / str(marker.args[0])).resolve()
    configured = request.config.getini(INI_DIR)
    if configured:
        base = request.config.inipath.parent if request.config.inipath else request.config.rootpath
        return (base / str(configured)).resolve()
    root = request.config.rootpath
    if (root / "plugin.json").is_file() or (root / "plugin.yaml").is_file():
        return root
    raise pytest.UsageError(
        "the `mattermost` fixture needs a plugin folder: use "
        f"@pytest.mark.{MARKER}('path/to/plugin'), set `{INI_DIR}` in your pytest "
        "configuration, or override the `mattermost_plugin_dir` fixture"
    )


@pytest.fixture
def mattermost_plugin_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The plugin's settings when it starts."""
    marker = _marker(request)
    config = marker.kwargs.get("config") if marker is not None else None
    return dict(config or {})


@pytest.fixture
def mattermost(
    request: pytest.FixtureRequest,
    mattermost_plugin_dir: Path,
    mattermost_plugin_config: dict[str, Any],
) -> Iterator[LocalMattermost]:
    """A fake Mattermost with the plugin started as a subprocess; stopped after the test."""
    from mattermost_plugin.host.local import LocalMattermost

    marker = _marker(request)
    options = marker.kwargs if marker is not None else {}
    db = options.get("db")
    if db is not None:
        db = Path(request.path).parent / str(db)
    timeout = options.get("hook_timeout") or float(request.config.getini(INI_TIMEOUT))
    local = LocalMattermost(
        mattermost_plugin_dir,
        db=db,
        plugin_config=mattermost_plugin_config,
        hook_timeout=float(timeout),
    )
    local.full_tracebacks = _verbose(request.config)
    try:
        local.start()
    except BaseException:
        _report_logs(request, local)
        local.stop()
        raise
    try:
        yield local
    finally:
        local.stop()
        _report_logs(request, local)


def _verbose(config: pytest.Config) -> bool:
    verbosity: int = config.getoption("verbose")
    return verbosity > 0


def _report_logs(request: pytest.FixtureRequest, local: LocalMattermost) -> None:
    """The plugin's log as a report section (pytest shows it for failing tests); a line with
    a traceback is followed by it, readable (all of its frames under ``pytest -v``)."""
    from mattermost_plugin.host._tracebacks import readable_traceback, split_stacktrace

    lines = []
    for record in local.logs:
        fields, stacktrace = split_stacktrace(record.fields)
        lines.append(f"[{record.level}] {record.message}" + (f" {fields}" if fields else ""))
        if stacktrace is not None:
            shown = readable_traceback(
                stacktrace, plugin_dir=local.plugin_dir, verbose=_verbose(request.config)
            )
            lines += [f"    {line}" for line in shown.splitlines()]
    problems = [e.message for e in local.events if e.level in ("warn", "error")]
    text = "\n".join(lines) or "(no log lines)"
    if problems:
        text += "\n-- problems --\n" + "\n".join(problems)
    item = request.node
    if isinstance(item, pytest.Item):
        item.add_report_section("teardown", "mattermost plugin log", text)
