"""The examples gallery (``examples/``): each example is a complete plugin project, its own
tests pass, and its bundle validates and starts as the server starts it.

Each example's tests run in a pytest of their own, in the example's folder, exactly as its
developer runs them (``python -m pytest`` with the example's ``pyproject.toml``). Running
them in this process instead would clash: every example's plugin module is ``plugin``
(``server/`` on ``sys.path``, as ``mattermost-plugin new`` lays a project out), and the
examples' ini options (``pythonpath``, the rootdir holding ``plugin.json``) would not apply.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.support.cli import run_cli, start_plugin, unpack
from tests.support.plugins import EXAMPLES, REPO

from mattermost_plugin.interactive import KEY_NAME

PROJECT_FILES = (
    ".gitignore",
    "README.md",
    "plugin.json",
    "pyproject.toml",
    "requirements-dev.txt",
    "server/plugin.py",
    "server/requirements.txt",
)
"""What ``mattermost-plugin new`` makes, and so what every example has (and ``tests/``)."""


@dataclass(frozen=True)
class Example:
    """What an example's archive does when the server starts it, and how many tests it has."""

    hooks: set[str]
    """The hooks it implements (``Implemented``)."""
    min_tests: int
    commands: set[str] = field(default_factory=set)
    """Triggers registered on activation."""
    bots: set[str] = field(default_factory=set)
    """Bot usernames made on activation."""
    kv_keys: set[str] = field(default_factory=set)
    """KV keys it writes on activation (others may be there too: the bots' and jobs' records
    the SDK keeps)."""
    linked_from: set[str] = field(default_factory=set)
    """The docs pages that explain its features, and link its section of the gallery."""


WITH_SETTINGS = {"OnActivate", "OnConfigurationChange"}  # Plugin[Settings] loads them
GALLERY = {
    "hello_python": Example(
        {"OnActivate", "OnDeactivate", "MessageWillBePosted", "ExecuteCommand"},
        min_tests=4,
        commands={"hello"},
        linked_from={"hooks.md"},
    ),
    "todo": Example(
        {"OnActivate", "ExecuteCommand", "ServeHTTP"},
        min_tests=6,
        commands={"todo"},
        bots={"todo"},
        kv_keys={KEY_NAME},  # the key that signs the buttons' context
        linked_from={"commands.md", "interactive.md", "state.md"},
    ),
    "digest": Example(
        WITH_SETTINGS | {"OnDeactivate"}, min_tests=3, bots={"digest"}, linked_from={"state.md"}
    ),
    "moderation": Example(
        WITH_SETTINGS
        | {"ConfigurationWillBeSaved", "MessageWillBePosted", "MessageWillBeUpdated"}
        | {"ExecuteCommand"},
        min_tests=8,
        commands={"moderation"},
        linked_from={"settings.md", "state.md", "commands.md", "hooks.md"},
    ),
    "notes_api": Example(
        {"ServeHTTP"}, min_tests=6, linked_from={"http.md", "commands.md", "state.md"}
    ),
    "welcome_bot": Example(
        WITH_SETTINGS | {"ExecuteCommand", "UserHasJoinedChannel", "UserHasJoinedTeam"},
        min_tests=6,
        commands={"welcome"},
        bots={"welcome"},
        linked_from={"state.md", "settings.md", "hooks.md"},
    ),
}
NAMES = sorted(GALLERY)


def test_every_example_is_a_complete_project_in_the_gallery() -> None:
    found = sorted(path.parent.name for path in EXAMPLES.glob("*/plugin.json"))
    assert found == NAMES
    docs = REPO / "docs"
    gallery_page = (docs / "examples.md").read_text()
    for name in NAMES:
        folder = EXAMPLES / name
        missing = [file for file in PROJECT_FILES if not (folder / file).is_file()]
        assert not missing, f"examples/{name} lacks {missing}"
        assert list((folder / "tests").glob("test_*.py")), f"examples/{name} has no tests"
        # The gallery has a section titled as the README (its anchor: "To do" → "to-do").
        title = (folder / "README.md").read_text().splitlines()[0].removeprefix("# ")
        assert f"\n## {title}\n" in gallery_page, f"docs/examples.md has no section {title!r}"
        link = f"(examples.md#{'-'.join(title.lower().split())})"
        for page in GALLERY[name].linked_from:
            assert link in (docs / page).read_text(), f"docs/{page} does not link {link}"
        assert f"examples/{name}" in gallery_page, f"docs/examples.md does not show {name}"


def summary_counts(output: str) -> dict[str, int]:
    """pytest's last line, ``5 passed, 1 skipped in 2.00s``, as ``{"passed": 5, ...}``."""
    last = output.strip().splitlines()[-1]
    return {word: int(count) for count, word in re.findall(r"(\d+) (\w+)", last)}


@pytest.mark.parametrize("name", NAMES)
def test_its_own_tests_pass(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=EXAMPLES / name,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    counts = summary_counts(result.stdout)
    # Every test ran and passed: none skipped, deselected or expected to fail.
    assert set(counts) == {"passed"}, result.stdout
    assert counts["passed"] >= GALLERY[name].min_tests, result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_its_bundle_validates_and_starts(name: str, tmp_path: Path) -> None:
    folder = EXAMPLES / name
    manifest = json.loads((folder / "plugin.json").read_text())
    built = run_cli("bundle", folder, "--mode", "system", "-o", tmp_path / "dist", "-q")
    assert built.exit_code == 0, built.output
    archive = tmp_path / "dist" / f"{manifest['id']}-{manifest['version']}.tar.gz"
    with tarfile.open(archive) as bundle:
        files = {member.split("/", 1)[1] for member in bundle.getnames() if "/" in member}
    assert {"plugin.json", "server/plugin.py", "server/requirements.txt"} <= files
    assert not any(path.startswith("tests/") for path in files)

    installed = unpack(archive, tmp_path / "installed")
    checked = run_cli("validate", installed)
    assert checked.exit_code == 0, checked.output
    expected = GALLERY[name]
    # "system": the server's python3 has the requirements; this interpreter has them.
    with start_plugin(installed, sys.executable) as started:
        fake = started.fake
        assert set(started.supervisor.implemented) == expected.hooks
        assert {trigger for _team, trigger in fake.commands} == expected.commands
        assert {bot.username for bot in fake.bots.values()} == expected.bots
        assert expected.kv_keys <= set(fake.kv)
