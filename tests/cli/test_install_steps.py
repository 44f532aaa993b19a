"""The install steps we print work verbatim in a fresh venv: the README's quick start and
the "Next:" lines of `mattermost-plugin new`, given an index that serves our wheel (here a
wheel of this checkout, through PIP_FIND_LINKS only; everything else comes from the index).

Slow (a fresh venv installs grpcio, pydantic, … twice), so marked ``slow``; CI runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _environment(wheels: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PIP_FIND_LINKS"] = str(wheels)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # A PATH whose python3 is this interpreter, outside any venv.
    base = Path(sys._base_executable).parent  # type: ignore[attr-defined]
    env["PATH"] = os.pathsep.join([str(base), "/usr/bin", "/bin"])
    return env


def _bash(script: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout + result.stderr


def _quick_start() -> list[str]:
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Five-minute quick start", 1)[1].split("```bash", 1)[1]
    lines = block.split("```", 1)[0].strip().splitlines()
    return [line.split("  #", 1)[0].strip() for line in lines]


def test_readme_quick_start_and_the_printed_next_steps(sdk_wheel: Path, tmp_path: Path) -> None:
    env = _environment(sdk_wheel.parent)
    steps = _quick_start()
    assert steps[:4] == [
        "python3 -m venv .venv && . .venv/bin/activate",
        "pip install 'mattermost-plugin-sdk[cli,test]'",
        "mattermost-plugin new hello",
        "cd hello",
    ]
    # Every line but `dev`, which serves until stopped (tests/dev covers it).
    script = "\n".join(line for line in steps if not line.startswith("mattermost-plugin dev"))
    output = _bash(script, tmp_path, env, timeout=900)
    assert re.search(r"\d+ passed", output), output
    assert "dist/com.example.hello-0.1.0.tar.gz" in output

    # The "Next:" lines `new` prints, verbatim, in a shell of their own (no venv active).
    printed = _bash(f"{tmp_path}/.venv/bin/mattermost-plugin new greeter 2>&1", tmp_path, env)
    next_steps = [
        line.strip() for line in printed.split("Next:", 1)[1].strip().splitlines() if line.strip()
    ]
    assert next_steps[0] == "cd greeter"
    assert next_steps[1] == "python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt"
    started = time.monotonic()
    _bash("\n".join(next_steps[:3]), tmp_path, env, timeout=900)  # cd, install, pytest
    took = time.monotonic() - started
    print(f"new → first green pytest, following the printed steps: {took:.1f} s")
    _bash("\n".join([next_steps[0], *next_steps[3:]]), tmp_path, env, timeout=900)
