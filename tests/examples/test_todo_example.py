"""``examples/todo``: its own tests pass (run as its developer runs them, in its folder, with
the SDK's pytest plugin), it validates, and its archive starts as the server starts it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.cli import run_cli, start_plugin, unpack

from mattermost_plugin.interactive import KEY_NAME

TODO = Path(__file__).resolve().parent.parent.parent / "examples" / "todo"


def test_the_examples_own_tests_pass() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=TODO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None and int(passed[1]) >= 6, summary
    assert "failed" not in summary and "error" not in summary, summary


def test_it_validates() -> None:
    result = run_cli("validate", TODO)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_its_archive_starts(tmp_path: Path) -> None:
    result = run_cli("bundle", TODO, "--mode", "system", "-o", tmp_path / "dist")
    assert result.exit_code == 0, result.stderr
    archive = Path(result.stdout.strip().splitlines()[-1])
    assert archive.name == "com.example.todo-0.1.0.tar.gz"
    plugin_dir = unpack(archive, tmp_path / "installed")
    assert not (plugin_dir / "tests").exists()
    # "system": the server's python3 has the requirements; this interpreter has them.
    with start_plugin(plugin_dir, sys.executable) as started:
        assert started.supervisor.implemented == ["OnActivate", "ExecuteCommand", "ServeHTTP"]
        assert ("", "todo") in started.fake.commands
        assert KEY_NAME in started.fake.kv  # the signing key, made on activation
        assert any(bot.username == "todo" for bot in started.fake.bots.values())
