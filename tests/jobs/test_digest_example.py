"""examples/digest: its own tests pass, run as a user runs them (``python -m pytest`` in
the folder, with its pyproject.toml), and it bundles."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.plugins import EXAMPLES

DIGEST = EXAMPLES / "digest"


def test_the_example_passes_its_own_tests() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=DIGEST,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout, result.stdout


def test_the_example_bundles_and_validates(tmp_path: Path) -> None:
    assert run_cli("validate", DIGEST).exit_code == 0
    result = run_cli("bundle", DIGEST, "--mode", "system", "-o", tmp_path, "-q")
    assert result.exit_code == 0, result.output
    (archive,) = tmp_path.glob("com.example.digest-0.1.0*.tar.gz")
    with tarfile.open(archive) as bundle:
        names = set(bundle.getnames())
    assert {
        "com.example.digest/plugin.json",
        "com.example.digest/server/plugin.py",
        "com.example.digest/server/requirements.txt",
    } <= names
    assert not any("/tests/" in name for name in names)
