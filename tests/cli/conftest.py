"""Session fixtures of the CLI tests: one SDK wheel, one clean interpreter, one scaffolded
plugin and one archive per dependency mode, shared by every test that needs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.cli import clean_python, run_cli

from mattermost_plugin.cli.bundle import build_sdk_wheel


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: builds wheels or archives, or starts plugins (seconds each)"
    )


@pytest.fixture(scope="session")
def sdk_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SDK built once as a wheel (from this checkout)."""
    return build_sdk_wheel(tmp_path_factory.mktemp("sdk-wheel"))


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A venv with nothing installed, not even pip."""
    return clean_python(tmp_path_factory.mktemp("clean") / "venv")


@pytest.fixture(scope="session")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plugin made by `mattermost-plugin new`, with an executable helper script added."""
    parent = tmp_path_factory.mktemp("scaffold")
    result = run_cli("new", "hello-world", "--directory", parent / "hello-world")
    assert result.exit_code == 0, result.stderr
    plugin = parent / "hello-world"
    tool = plugin / "server" / "tool.sh"
    tool.write_text("#!/bin/sh\necho tool\n")
    tool.chmod(0o755)
    # Things a developer's folder has that must never reach an archive.
    (plugin / "server" / "__pycache__").mkdir()
    (plugin / "server" / "__pycache__" / "plugin.cpython-311.pyc").write_bytes(b"junk")
    (plugin / ".venv").mkdir()
    (plugin / ".venv" / "marker").write_text("local venv")
    return plugin


@pytest.fixture(scope="session")
def archives(
    tmp_path_factory: pytest.TempPathFactory, scaffold: Path, sdk_wheel: Path
) -> dict[str, Path]:
    """``mode → archive`` of the scaffold, each mode built on first use."""
    return _ArchiveCache(tmp_path_factory, scaffold, sdk_wheel)


class _ArchiveCache(dict[str, Path]):
    def __init__(self, factory: pytest.TempPathFactory, plugin: Path, sdk_wheel: Path) -> None:
        super().__init__()
        self.factory, self.plugin, self.sdk_wheel = factory, plugin, sdk_wheel

    def __missing__(self, mode: str) -> Path:
        out = self.factory.mktemp(f"dist-{mode}")
        result = run_cli(
            "bundle", self.plugin, "--mode", mode, "--sdk-wheel", self.sdk_wheel, "-o", out
        )
        assert result.exit_code == 0, result.stderr
        archive = Path(result.stdout.strip().splitlines()[-1])
        self[mode] = archive
        return archive
