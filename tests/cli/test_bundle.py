"""`mattermost-plugin bundle`: each dependency mode, unpacked into an empty folder and started
under the supervisor with an interpreter that has nothing installed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from tests.support.cli import NO_NETWORK, run_cli, start_plugin, unpack, write_plugin
from tests.support.dev import dev_server

from mattermost_plugin.cli.bundle import Target, expand_platform
from mattermost_plugin.host.supervisor import PluginExitedError

PLUGIN_ID = "com.example.hello-world"
ARCHIVE = f"{PLUGIN_ID}-0.1.0.tar.gz"


def _members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return {m.name: m for m in tar.getmembers()}


def _manifest(archive: Path) -> dict[str, object]:
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(f"{PLUGIN_ID}/plugin.json")
        assert handle is not None
        data = json.load(handle)
    assert isinstance(data, dict)
    return data


def _check_common_layout(archive: Path) -> dict[str, tarfile.TarInfo]:
    assert archive.name == ARCHIVE
    members = _members(archive)
    assert {name.split("/")[0] for name in members} == {PLUGIN_ID}
    assert f"{PLUGIN_ID}/plugin.json" in members
    assert f"{PLUGIN_ID}/server/plugin.py" in members
    # executable bits kept, owners normalized
    assert members[f"{PLUGIN_ID}/server/tool.sh"].mode == 0o755
    assert members[f"{PLUGIN_ID}/server/plugin.py"].mode == 0o644
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "" for m in members.values())
    # no local environments, caches, tests or README of the developer's folder
    names = "\n".join(members)
    assert "__pycache__" not in names and ".venv" not in names
    assert f"{PLUGIN_ID}/tests/" not in names and f"{PLUGIN_ID}/README.md" not in names
    return members


@pytest.mark.slow
def test_bundled_starts_with_nothing_installed(
    archives: dict[str, Path], bare_python: str, tmp_path: Path
) -> None:
    archive = archives["bundled"]
    members = _check_common_layout(archive)
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}-manylinux2014_x86_64"
    vendor = f"{PLUGIN_ID}/server/vendor/{tag}"
    assert f"{vendor}/mattermost_plugin/__init__.py" in members
    assert any(n.startswith(f"{vendor}/grpc/") for n in members)
    assert members[f"{PLUGIN_ID}/server/plugin.bundle.py"].mode == 0o755
    server = _manifest(archive)["server"]
    assert isinstance(server, dict)
    assert server["executable"] == "server/plugin.bundle.py"
    assert server["python"]["dependency_mode"] == "bundled"

    plugin_dir = unpack(archive, tmp_path / "empty")
    with start_plugin(plugin_dir, bare_python) as started:
        assert started.supervisor.implemented == ["OnActivate", "OnDeactivate", "ExecuteCommand"]
        assert ("", "hello-world") in started.fake.commands
        print(f"bundled: {archive.stat().st_size} bytes, start {started.seconds:.2f} s")
    assert started.supervisor.returncode == 0


@pytest.mark.slow
def test_dev_runs_an_unpacked_bundle_on_a_bare_python(
    archives: dict[str, Path], bare_python: str, tmp_path: Path
) -> None:
    plugin_dir = unpack(archives["bundled"], tmp_path / "empty")
    with dev_server(plugin_dir, "--in-memory", "--python", bare_python) as dev:
        assert dev.status()["state"] == "running"
        command = {"channel_id": "town-square", "command": "/hello-world Ada"}
        answer = dev.request("POST", "/api/v4/commands/execute", command)
        assert answer.json()["text"] == "Hello, Ada!"


@pytest.mark.slow
def test_bundled_refuses_another_python_clearly(
    archives: dict[str, Path], bare_python: str, tmp_path: Path
) -> None:
    plugin_dir = unpack(archives["bundled"], tmp_path / "empty")
    entry = plugin_dir / "server" / "plugin.bundle.py"
    text = entry.read_text()
    here = f"'python': [{sys.version_info[0]}, {sys.version_info[1]}]"
    assert here in text
    entry.write_text(text.replace(here, "'python': [3, 99]"))
    with pytest.raises(PluginExitedError) as caught, start_plugin(plugin_dir, bare_python):
        pass
    message = str(caught.value)
    assert "built for CPython 3.99 on manylinux2014_x86_64" in message
    assert f"--python-version {sys.version_info[0]}.{sys.version_info[1]}" in message


@pytest.mark.slow
def test_venv_builds_its_venv_offline_on_first_start(
    archives: dict[str, Path], bare_python: str, tmp_path: Path
) -> None:
    archive = archives["venv"]
    members = _check_common_layout(archive)
    wheels = [n for n in members if n.startswith(f"{PLUGIN_ID}/server/wheelhouse/")]
    assert any("/mattermost_plugin_sdk-" in n for n in wheels)
    assert any("/pip-" in n for n in wheels)
    assert not any("/vendor/" in n for n in members)
    server = _manifest(archive)["server"]
    assert isinstance(server, dict)
    assert server["executable"] == "server/plugin.bundle.py"

    plugin_dir = unpack(archive, tmp_path / "empty")
    with start_plugin(plugin_dir, bare_python, env=NO_NETWORK) as first:
        assert first.supervisor.implemented == ["OnActivate", "OnDeactivate", "ExecuteCommand"]
        ready = [
            line for line in first.supervisor.logs if line.message == "virtual environment ready"
        ]
        assert ready, first.supervisor.logs
    assert (plugin_dir / "venv" / ".mattermost-bundle").is_file()
    # Later starts: the bootstrap re-executes into the venv at once; the server itself would
    # pick venv/bin/python (python=None: the supervisor's discovery, as the server's).
    with start_plugin(plugin_dir, bare_python) as second:
        assert not any(
            line.message == "virtual environment ready" for line in second.supervisor.logs
        )
    with start_plugin(plugin_dir, None) as third:
        pass
    print(
        f"venv: {archive.stat().st_size} bytes, first start {first.seconds:.2f} s (venv built in "
        f"{ready[0].fields['seconds']} s), then {second.seconds:.2f} s, {third.seconds:.2f} s"
    )
    assert first.seconds < 10, "the first start must fit the server's 10 s handshake limit"


@pytest.mark.slow
def test_venv_rebuilds_a_half_made_venv(
    archives: dict[str, Path], bare_python: str, tmp_path: Path
) -> None:
    plugin_dir = unpack(archives["venv"], tmp_path / "empty")
    # A start killed midway: the venv exists but was never marked complete.
    subprocess.run(
        [bare_python, "-m", "venv", "--without-pip", str(plugin_dir / "venv")], check=True
    )
    with start_plugin(plugin_dir, None) as started:  # discovery picks the half-made venv
        assert started.supervisor.implemented[0] == "OnActivate"
    assert (plugin_dir / "venv" / ".mattermost-bundle").is_file()


@pytest.mark.slow
def test_system_ships_sources_only(
    archives: dict[str, Path], bare_python: str, tmp_path: Path
) -> None:
    archive = archives["system"]
    members = _check_common_layout(archive)
    assert set(members) == {
        PLUGIN_ID,
        f"{PLUGIN_ID}/plugin.json",
        f"{PLUGIN_ID}/server",
        f"{PLUGIN_ID}/server/plugin.py",
        f"{PLUGIN_ID}/server/requirements.txt",
        f"{PLUGIN_ID}/server/tool.sh",
    }
    server = _manifest(archive)["server"]
    assert isinstance(server, dict)
    assert server["executable"] == "server/plugin.py"
    assert server["python"]["dependency_mode"] == "system"
    plugin_dir = unpack(archive, tmp_path / "empty")
    missing = "No module named 'mattermost_plugin'"
    with pytest.raises(PluginExitedError, match=missing), start_plugin(plugin_dir, bare_python):
        pass


@pytest.mark.slow
def test_system_starts_once_requirements_are_installed(
    archives: dict[str, Path], sdk_wheel: Path, tmp_path: Path
) -> None:
    # The venv archive's wheelhouse stands in for what an admin has: install offline.
    wheelhouse = unpack(archives["venv"], tmp_path / "wheels") / "server" / "wheelhouse"
    plugin_dir = unpack(archives["system"], tmp_path / "empty")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(plugin_dir / "venv")], check=True
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(plugin_dir / "venv" / "bin" / "python"),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "-r",
            str(plugin_dir / "server" / "requirements.txt"),
        ],
        check=True,
        capture_output=True,
    )
    with start_plugin(plugin_dir, None) as started:
        assert started.supervisor.implemented == ["OnActivate", "OnDeactivate", "ExecuteCommand"]


def test_bundle_refuses_a_broken_plugin(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path / "p",
        "def broken(:\n",
        manifest={
            "server": {
                "executable": "server/plugin.py",
                "runtime": "python",
                "python": {"dependency_mode": "system"},
            }
        },
    )
    result = run_cli("bundle", plugin)
    assert result.exit_code == 1
    assert "server/plugin.py:1: SyntaxError" in result.stderr
    assert "no archive was written" in result.stderr
    assert "--no-check" in result.stderr
    assert not (plugin / "dist").exists() or not any((plugin / "dist").iterdir())


def test_bundle_needs_a_version(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p")
    data = json.loads((plugin / "plugin.json").read_text())
    del data["version"]
    (plugin / "plugin.json").write_text(json.dumps(data))
    result = run_cli("bundle", plugin, "--mode", "system")
    assert result.exit_code == 1
    assert "plugin.json: version: required to name the bundle" in result.stderr


def test_bundle_missing_webapp(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path / "p", manifest={"webapp": {"bundle_path": "webapp/dist/main.js"}}
    )
    result = run_cli("bundle", plugin, "--mode", "system")
    assert result.exit_code == 1
    assert "webapp.bundle_path: webapp/dist/main.js does not exist" in result.stderr


def test_system_bundle_is_reproducible_and_keeps_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin = write_plugin(tmp_path / "p")
    (plugin / "plugin.json").unlink()
    (plugin / "plugin.yaml").write_text(
        "id: com.example.yaml\nversion: 0.2.0\nserver:\n  executable: server/plugin.py\n"
        "  runtime: python\n"
    )
    (plugin / "assets").mkdir()
    (plugin / "assets" / "icon.svg").write_text("<svg/>")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = run_cli("bundle", plugin, "--mode", "system", "-o", tmp_path / "a", "-q")
    time.sleep(1.1)
    second = run_cli("bundle", plugin, "--mode", "system", "-o", tmp_path / "b", "-q")
    assert first.exit_code == second.exit_code == 0, first.stderr
    a, b = Path(first.stdout.strip()), Path(second.stdout.strip())
    assert a.name == "com.example.yaml-0.2.0.tar.gz"
    assert a.read_bytes() == b.read_bytes()
    members = _members(a)
    assert "com.example.yaml/plugin.yaml" in members
    assert "com.example.yaml/assets/icon.svg" in members
    assert all(m.mtime == 1700000000 for m in members.values())


def test_expand_platform() -> None:
    assert expand_platform("manylinux2014_x86_64")[:3] == [
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
        "manylinux_2_16_x86_64",
    ]
    tags = expand_platform("manylinux_2_28_aarch64")
    assert tags[0] == "manylinux_2_28_aarch64"
    assert {"manylinux2014_aarch64", "manylinux1_aarch64", "manylinux_2_5_aarch64"} <= set(tags)
    assert expand_platform("linux-arm64")[0] == "manylinux_2_17_aarch64"
    assert expand_platform("macosx_11_0_arm64") == ["macosx_11_0_arm64"]
    assert expand_platform("musllinux_1_2_x86_64") == [
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
    ]


def test_target() -> None:
    target = Target((3, 12), "manylinux_2_28_aarch64")
    assert (target.tag, target.os, target.machine) == (
        "cp312-manylinux_2_28_aarch64",
        "linux",
        "aarch64",
    )
    assert Target((3, 11), "win_amd64").os == "win32"
    assert Target((3, 11), "win_amd64").machine == "x86_64"
    assert Target((3, 11), "macosx_11_0_arm64").machine == "aarch64"


def test_bad_python_version_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("bundle", write_plugin(tmp_path / "p"), "--python-version", "two")
    assert result.exit_code == 2
    assert re.search(r"use a CPython version like 3\.12", result.stderr)
