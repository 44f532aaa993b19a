"""How each kind of snippet is checked: run, started as a plugin, run under pytest, covered by
another test, or type-checked (one mypy run for all of them)."""

from __future__ import annotations

import json
import linecache
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.docs.snippets import REPO, Snippet

from mattermost_plugin.testing import local_mattermost

MYPY_ERROR = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): error: (?P<message>.*)$")
# Type-checked fragments are checked strictly, except that a handler in the user guide's
# style may leave its parameters unannotated (its body is still checked).
MYPY_FILE_HEADER = "# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls\n"


def slug(snippet: Snippet) -> str:
    return re.sub(r"[^a-z0-9]+", "_", snippet.id.lower()).strip("_")


def run_block(snippets: list[Snippet]) -> None:
    """Run one block (or the blocks of one group, in order) in a fresh namespace, from the
    repository's root, so that paths in setups are the repository's."""
    first = snippets[0]
    code = "".join(s.code for s in snippets)
    source = first.directive.wrap(code)
    namespace: dict[str, Any] = {"__name__": f"docs_{slug(first)}"}
    linecache.cache[first.id] = (len(source), None, source.splitlines(True), first.id)
    cwd = Path.cwd()
    os.chdir(REPO)
    try:
        exec(compile(source, first.id, "exec"), namespace)
    finally:
        os.chdir(cwd)


def plugin_folder(snippet: Snippet, folder: Path) -> Path:
    """The block as a plugin folder: ``server/plugin.py`` (the block in its template) and a
    manifest."""
    (folder / "server").mkdir(parents=True)
    template = snippet.directive if "{snippet}" in snippet.directive.body else None
    code = template.wrap(snippet.code) if template else snippet.code
    (folder / "server" / "plugin.py").write_text(code)
    plugin_id = snippet.directive.options.get("id", f"com.example.{slug(snippet)[-40:]}")
    manifest = {
        "id": plugin_id.replace("_", "-"),
        "name": f"Documentation example {snippet.id}",
        "version": "0.1.0",
        "server": {"executable": "server/plugin.py", "runtime": "python"},
    }
    (folder / "plugin.json").write_text(json.dumps(manifest, indent=2))
    return folder


def start_plugin(snippet: Snippet, folder: Path, check: str) -> None:
    """Start the block as a plugin under the local host, run the check against it (with
    ``mattermost`` bound), and stop it. The plugin must log no error on the way."""
    plugin_folder(snippet, folder)
    with local_mattermost(folder, hook_timeout=10.0) as mattermost:
        if check:
            exec(compile(check, f"{snippet.id} (check)", "exec"), {"mattermost": mattermost})
        mattermost.wait_for_hooks(timeout=10.0)
        errors = [line for line in mattermost.logs if line.level == "error"]
        supervisor = mattermost.supervisor
    assert not errors, f"{snippet.id}: the plugin logged errors: {errors}"
    assert supervisor.returncode == 0, f"{snippet.id}: exit code {supervisor.returncode}"


def run_pytest(snippet: Snippet, project: Path, plugin: Path) -> str:
    """Run the block as a test module under pytest (the SDK's pytest plugin loads from its
    entry point), in a plugin project: ``plugin`` copied to its root, or to ``place=``
    (a folder of the project, for a block whose marker names the plugin's folder)."""
    place = project / snippet.directive.options.get("place", ".")
    project.mkdir(parents=True)
    shutil.copytree(
        plugin, place, ignore=shutil.ignore_patterns("__pycache__", ".venv"), dirs_exist_ok=True
    )
    (project / "tests").mkdir(exist_ok=True)
    (project / "tests" / "test_snippet.py").write_text(snippet.directive.wrap(snippet.code))
    (project / "pytest.ini").write_text(
        "[pytest]\nmattermost_plugin_dir = .\npythonpath = .\naddopts = -p no:cacheprovider\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "tests/test_snippet.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{snippet.id}: pytest failed\n{output}"
    assert re.search(r"\b\d+ passed\b", output), output
    return output


def _normalized(text: str) -> list[str]:
    """Lines as compared for ``covered in=``: stripped, without blank lines and without the
    lint pragmas a copy may add."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"\s+# (noqa|type: ignore)\b.*$", "", line).strip()
        if line:
            out.append(line)
    return out


def covered_in(snippet: Snippet, copy: Path) -> None:
    """Every line of the block appears, in order, in ``copy`` (the file another test runs)."""
    wanted = _normalized(snippet.code)
    lines = iter(_normalized(copy.read_text()))
    missing = [line for line in wanted if not any(line == have for have in lines)]
    assert not missing, f"{snippet.id}: not in {display_path(copy)}, from: {missing[0]!r}"


def display_path(path: Path) -> str:
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def check_covered(snippet: Snippet) -> None:
    options = snippet.directive.options
    test = REPO / options["by"]
    assert test.is_file(), f"{snippet.id}: by={options['by']} does not exist"
    if "in" in options:
        covered_in(snippet, REPO / options["in"])
    else:  # the test reads the page itself
        name = snippet.path.name
        assert name in test.read_text(), f"{snippet.id}: {options['by']} never reads {name}"


@dataclass
class MypyResult:
    errors: dict[str, list[str]]  # file name → messages
    output: str


def typecheck(snippets: Iterable[Snippet], folder: Path) -> MypyResult:
    """One mypy run, with the project's configuration (strict), over every fragment, each
    in its template, in a file of its own."""
    files = []
    for snippet in snippets:
        path = folder / f"{slug(snippet)}.py"
        path.write_text(MYPY_FILE_HEADER + snippet.directive.wrap(snippet.code))
        files.append(path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(REPO / "pyproject.toml"),
            "--cache-dir",
            str(REPO / ".mypy_cache"),
            "--no-color-output",
            "--no-error-summary",
            "--hide-error-context",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "MYPYPATH": str(REPO / "src")},
        timeout=900,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    errors: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        match = MYPY_ERROR.match(line)
        if match:
            errors.setdefault(Path(match["file"]).name, []).append(
                f"line {match['line']}: {match['message']}"
            )
    return MypyResult(errors, result.stdout)
