"""`mattermost-plugin new`: the scaffold is valid, lint-clean, and its own tests pass."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.cli import run_cli

from mattermost_plugin import __version__
from mattermost_plugin.manifest import load_manifest

EXPECTED = {
    "plugin.json",
    "README.md",
    ".gitignore",
    "pyproject.toml",
    "server/plugin.py",
    "server/requirements.txt",
    "requirements-dev.txt",
    "tests/test_plugin.py",
}


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_new_writes_a_valid_plugin(tmp_path: Path) -> None:
    result = run_cli("new", "Team Greeter", "--directory", tmp_path / "greeter")
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "greeter"
    assert _files(folder) == EXPECTED
    manifest = load_manifest(folder)
    assert manifest.id == "com.example.team-greeter"
    assert manifest.name == "Team Greeter"
    assert manifest.server is not None
    assert manifest.server.python.dependency_mode == "bundled"
    assert (
        f"mattermost-plugin-sdk>={__version__}" in (folder / "server/requirements.txt").read_text()
    )
    assert "class TeamGreeterPlugin(Plugin):" in (folder / "server/plugin.py").read_text()
    assert "Next:" in result.stderr
    assert (
        f"mattermost-plugin-sdk[cli,test]>={__version__}"
        in (folder / "requirements-dev.txt").read_text()
    )


def test_new_options(tmp_path: Path) -> None:
    result = run_cli(
        "new", "x-plugin", "--id", "org.acme.x", "--mode", "venv", "-d", tmp_path / "x"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads((tmp_path / "x" / "plugin.json").read_text())
    assert data["id"] == "org.acme.x"
    assert data["server"]["python"]["dependency_mode"] == "venv"
    assert "class XPlugin(Plugin):" in (tmp_path / "x" / "server" / "plugin.py").read_text()


def test_new_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("mine")
    result = run_cli("new", "taken", "-d", tmp_path / "taken")
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "taken" / "file.txt").read_text() == "mine"
    assert run_cli("new", "taken", "-d", tmp_path / "taken", "--force").exit_code == 0


def test_new_rejects_an_invalid_id(tmp_path: Path) -> None:
    result = run_cli("new", "ok", "--id", "9lives", "-d", tmp_path / "ok")
    assert result.exit_code == 1
    assert "id: must start with a letter" in result.stderr
    assert not (tmp_path / "ok").exists()


def test_new_usage_errors_exit_2() -> None:
    assert run_cli("new").exit_code == 2
    assert run_cli("new", "x", "--mode", "docker").exit_code == 2


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_scaffold_tests_pass_and_lint_clean(tmp_path: Path) -> None:
    assert run_cli("new", "fresh", "-d", tmp_path / "fresh").exit_code == 0
    folder = tmp_path / "fresh"
    proc = _pytest(folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if Path(ruff).exists():
        for command in ([ruff, "check", "."], [ruff, "format", "--check", "."]):
            lint = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
            assert lint.returncode == 0, lint.stdout + lint.stderr
    validated = run_cli("validate", folder)
    assert validated.exit_code == 0, validated.stderr


def test_scaffold_tests_use_the_sdk_pytest_plugin(tmp_path: Path) -> None:
    """No conftest of its own: the `mattermost` fixture comes from mattermost_plugin.testing."""
    assert run_cli("new", "fresh", "-d", tmp_path / "fresh").exit_code == 0
    assert not (tmp_path / "fresh" / "tests" / "conftest.py").exists()
    assert (
        "mattermost_plugin.testing" in (tmp_path / "fresh" / "tests" / "test_plugin.py").read_text()
    )
