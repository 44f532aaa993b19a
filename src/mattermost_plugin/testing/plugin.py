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
CLUSTER_NODES = 3
"""How many nodes ``mattermost_cluster`` runs unless the marker says ``nodes=``."""


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
        f"{MARKER}(path=None, *, config=None, db=None, hook_timeout=None, nodes=None): the "
        "plugin folder (relative to the test file), its settings, a SQLite state file, the "
        "hook deadline and the number of nodes for the `mattermost` and "
        "`mattermost_cluster` fixtures",
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
    """A fake Mattermost with the plugin started as a subprocess (one per node with the
    marker's ``nodes=``); stopped after the test."""
    yield from _started(request, mattermost_plugin_dir, mattermost_plugin_config, default_nodes=1)


@pytest.fixture
def mattermost_cluster(
    request: pytest.FixtureRequest,
    mattermost_plugin_dir: Path,
    mattermost_plugin_config: dict[str, Any],
) -> Iterator[LocalMattermost]:
    """The plugin as a cluster: 3 nodes (the marker's ``nodes=`` for another number), each
    its own process, on one shared store; a killed node stays down until
    ``nodes[i].start()``. Stopped after the test."""
    yield from _started(
        request, mattermost_plugin_dir, mattermost_plugin_config, default_nodes=CLUSTER_NODES
    )


def _started(
    request: pytest.FixtureRequest,
    plugin_dir: Path,
    plugin_config: dict[str, Any],
    *,
    default_nodes: int,
) -> Iterator[LocalMattermost]:
    from mattermost_plugin.host.local import NO_RESTARTS, LocalMattermost

    marker = _marker(request)
    options = marker.kwargs if marker is not None else {}
    db = options.get("db")
    if db is not None:
        db = Path(request.path).parent / str(db)
    timeout = options.get("hook_timeout") or float(request.config.getini(INI_TIMEOUT))
    nodes = options.get("nodes", default_nodes)
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER}(nodes=...) must be a whole number of at least 1, not {nodes!r}"
        )
    local = LocalMattermost(
        plugin_dir,
        db=db,
        plugin_config=plugin_config,
        hook_timeout=float(timeout),
        nodes=nodes,
        restart_policy=NO_RESTARTS if nodes > 1 else None,
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
        node = f"[node {record.node}] " if record.node is not None else ""
        lines.append(f"{node}[{record.level}] {record.message}" + (f" {fields}" if fields else ""))
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
