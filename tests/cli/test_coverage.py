"""Coverage of the plugin's own process: a plugin made by `mattermost-plugin new` reports its
handlers' lines as covered under `pytest --cov` and `coverage run -m pytest`, although only
the plugin's subprocess runs them (the scaffold's handler unit test is deselected)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.cli import run_cli

pytestmark = pytest.mark.slow
ONLY_THROUGH_THE_SERVER = ["-k", "not answers_with_the_name"]


def _handler_lines(source: Path, *names: str) -> set[int]:
    """The (first) line of every statement in the bodies of the methods ``names``."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name in names:
            for statement in node.body:
                lines.update(n.lineno for n in ast.walk(statement) if isinstance(n, ast.stmt))
    assert lines, names
    return lines


def _run(folder: Path, *command: str) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTEST_ADDOPTS" and not k.startswith(("COVERAGE_", "COV_CORE_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _executed(report: Path) -> set[int]:
    files = json.loads(report.read_text())["files"]
    lines: list[int] = files["server/plugin.py"]["executed_lines"]
    return set(lines)


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    assert run_cli("new", "measured", "-d", tmp_path / "measured").exit_code == 0
    return tmp_path / "measured"


def test_pytest_cov_measures_the_plugin_process(plugin: Path) -> None:
    _run(
        plugin,
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--cov=server",
        "--cov-branch",
        "--cov-report=json:coverage.json",
        *ONLY_THROUGH_THE_SERVER,
    )
    handlers = _handler_lines(plugin / "server" / "plugin.py", "execute_command", "on_activate")
    executed = _executed(plugin / "coverage.json")
    assert handlers <= executed, sorted(handlers - executed)
    assert not list(plugin.glob(".coverage.*"))  # combined by pytest-cov


def test_coverage_run_measures_the_plugin_process(plugin: Path) -> None:
    _run(
        plugin,
        "coverage",
        "run",
        "--source=server",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *ONLY_THROUGH_THE_SERVER,
    )
    # Not in parallel mode: the plugin's data was added to the run's own data file.
    assert [p.name for p in plugin.glob(".coverage*")] == [".coverage"]
    _run(plugin, "coverage", "json", "-o", "coverage.json")
    handlers = _handler_lines(plugin / "server" / "plugin.py", "execute_command", "on_activate")
    executed = _executed(plugin / "coverage.json")
    assert handlers <= executed, sorted(handlers - executed)
