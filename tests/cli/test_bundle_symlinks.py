"""``bundle`` and ``validate`` with symlinks and paths that lead outside the plugin folder:
nothing from outside is packed without being asked for, and nothing is dropped silently."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from tests.support.cli import run_cli, write_plugin

SYSTEM = {"server": {"executable": "server/plugin.py", "runtime": "python"}}


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    folder = write_plugin(tmp_path / "plugin", manifest=SYSTEM)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("from outside")
    return folder


def _bundle(plugin: Path, out: Path, *args: str) -> tuple[int, str, dict[str, bytes]]:
    result = run_cli("bundle", plugin, "--mode", "system", "--no-check", "-o", out, *args)
    files: dict[str, bytes] = {}
    if result.exit_code == 0:
        archive = Path(result.stdout.strip().splitlines()[-1])
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                assert member.isfile() or member.isdir(), member.name  # never a link
                if member.isfile():
                    handle = tar.extractfile(member)
                    assert handle is not None
                    files[member.name.split("/", 1)[1]] = handle.read()
    return result.exit_code, result.stderr, files


def test_a_symlink_to_an_outside_file_is_refused(plugin: Path, tmp_path: Path) -> None:
    (plugin / "server" / "secret.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    code, stderr, _ = _bundle(plugin, tmp_path / "dist")
    assert code == 1
    assert "server/secret.txt -> " in stderr and "outside" in stderr
    assert "--follow-external-symlinks" in stderr
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


def test_a_symlink_to_an_outside_folder_is_refused(plugin: Path, tmp_path: Path) -> None:
    (plugin / "assets").mkdir()
    (plugin / "assets" / "shared").symlink_to(tmp_path / "outside")
    code, stderr, _ = _bundle(plugin, tmp_path / "dist")
    assert code == 1
    assert "assets/shared -> " in stderr


def test_the_flag_packs_what_outside_symlinks_point_to(plugin: Path, tmp_path: Path) -> None:
    (plugin / "server" / "secret.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (plugin / "assets").mkdir()
    (plugin / "assets" / "shared").symlink_to(tmp_path / "outside")
    code, stderr, files = _bundle(plugin, tmp_path / "dist", "--follow-external-symlinks")
    assert code == 0, stderr
    assert files["server/secret.txt"] == b"from outside"
    assert files["assets/shared/secret.txt"] == b"from outside"


def test_symlinks_inside_the_plugin_are_packed_as_their_content(
    plugin: Path, tmp_path: Path
) -> None:
    (plugin / "assets" / "icons").mkdir(parents=True)
    (plugin / "assets" / "icons" / "a.svg").write_text("<svg/>")
    (plugin / "server" / "icons").symlink_to(Path("..") / "assets" / "icons")
    (plugin / "server" / "alias.py").symlink_to("plugin.py")
    code, stderr, files = _bundle(plugin, tmp_path / "dist")
    assert code == 0, stderr
    assert files["server/icons/a.svg"] == b"<svg/>"  # a linked folder is no longer skipped
    assert files["server/alias.py"] == files["server/plugin.py"]


def test_a_symlink_loop_and_a_broken_symlink_are_errors(plugin: Path, tmp_path: Path) -> None:
    (plugin / "server" / "loop").symlink_to(".")
    code, stderr, _ = _bundle(plugin, tmp_path / "dist")
    assert code == 1 and "server/loop" in stderr and "loop" in stderr
    (plugin / "server" / "loop").unlink()
    (plugin / "server" / "gone.txt").symlink_to("nowhere.txt")
    code, stderr, _ = _bundle(plugin, tmp_path / "dist")
    assert code == 1 and "server/gone.txt -> nowhere.txt" in stderr and "nowhere" in stderr


@pytest.mark.parametrize("path", ["../outside/secret.txt", "server/../../outside", "ABSOLUTE"])
def test_include_outside_the_plugin_is_an_error(plugin: Path, tmp_path: Path, path: str) -> None:
    if path == "ABSOLUTE":
        path = str(tmp_path / "outside" / "secret.txt")
    code, stderr, _ = _bundle(plugin, tmp_path / "dist", "--include", path)
    assert code == 1
    assert f"--include {path}: outside the plugin folder" in stderr
    assert not (tmp_path / "outside-copy").exists()


def test_include_inside_the_plugin_still_works(plugin: Path, tmp_path: Path) -> None:
    (plugin / "docs").mkdir()
    (plugin / "docs" / "notes.md").write_text("notes")
    code, stderr, files = _bundle(plugin, tmp_path / "dist", "--include", "docs/../docs")
    assert code == 0, stderr
    assert files["docs/notes.md"] == b"notes"


def test_validate_reports_an_executable_behind_an_outside_symlink(
    plugin: Path, tmp_path: Path
) -> None:
    real = tmp_path / "outside" / "plugin.py"
    real.write_text((plugin / "server" / "plugin.py").read_text())
    (plugin / "server" / "plugin.py").unlink()
    (plugin / "server" / "plugin.py").symlink_to(real)
    result = run_cli("validate", plugin)
    assert result.exit_code == 1
    assert "server/plugin.py is a symlink (or under one) leading outside the plugin" in (
        result.stderr
    )
    # The same through a linked folder.
    (plugin / "server" / "plugin.py").unlink()
    (plugin / "server").rmdir()
    (plugin / "server").symlink_to(tmp_path / "outside")
    result = run_cli("validate", plugin)
    assert result.exit_code == 1
    assert "leading outside the plugin folder" in result.stderr
