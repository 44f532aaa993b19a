"""A failing handler's traceback: whole in the log line's ``stacktrace``, readable (the
plugin's line first, SDK frames folded) in the helpers' failure messages and in the pytest
report of a failing test (tests/local/plugins/failing)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mattermost_plugin.host.supervisor import PluginStartError
from mattermost_plugin.testing import LocalMattermost

FAILING = Path(__file__).parent / "plugins" / "failing"
pytestmark = pytest.mark.mattermost_plugin("plugins/failing", hook_timeout=10.0)
FOLDED = re.compile(r"^  \[\d+ SDK (and library )?frames? hidden; -v shows them\]$", re.M)


def test_the_log_line_keeps_the_whole_traceback(mattermost: LocalMattermost) -> None:
    post = mattermost.create_post(None, "not a number")  # fails open: the post is stored
    assert mattermost.get_post(post.id).message == "not a number"
    record = mattermost.wait_for_log("failed", level="error")
    assert record.fields["hook"] == "MessageWillBePosted"
    # The supervisor read it from the hclog JSON line: a string with every frame, the SDK's too.
    (line,) = [r for r in mattermost.supervisor.logs if r.fields.get("hook")]
    stacktrace = line.fields["stacktrace"]
    assert isinstance(stacktrace, str) and stacktrace == record.fields["stacktrace"]
    assert stacktrace.startswith("Traceback (most recent call last):\n")
    assert "mattermost_plugin/_dispatch.py" in stacktrace
    assert f'"{FAILING}/server/plugin.py"' in stacktrace
    assert ", in parse_count\n" in stacktrace
    assert stacktrace.endswith("ValueError: invalid literal for int() with base 10: 'not a number'")


def test_a_start_failure_names_the_plugins_line(tmp_path: Path) -> None:
    local = LocalMattermost(FAILING, plugin_config={"fail_activate": True}, hook_timeout=10.0)
    with pytest.raises(PluginStartError) as failed:
        local.start()
    local.stop()
    first, origin, *traceback = str(failed.value).splitlines()
    assert first == (
        "OnActivate failed: plugin com.example.failing: Failing.on_activate: plugin.hook.error, "
        "no database at db.invalid"
    )
    assert re.fullmatch(
        r".*failing/server/plugin\.py:\d+ in connect: ConnectionError: no database at db\.invalid",
        origin,
    ), origin
    text = "\n".join(traceback)
    assert FOLDED.search(text), text
    assert "_dispatch.py" not in text
    assert text.count(f'File "{FAILING}/server/plugin.py"') == 2  # on_activate, connect
    assert local.last_traceback is not None and "_dispatch.py" in local.last_traceback

    verbose = LocalMattermost(FAILING, plugin_config={"fail_activate": True}, hook_timeout=10.0)
    verbose.full_tracebacks = True
    with pytest.raises(PluginStartError) as failed_verbose:
        verbose.start()
    verbose.stop()
    assert "_dispatch.py" in str(failed_verbose.value)
    assert not FOLDED.search(str(failed_verbose.value))


def test_a_refused_configuration_shows_the_traceback(mattermost: LocalMattermost) -> None:
    with pytest.raises(RuntimeError) as failed:
        mattermost.set_plugin_config({"limit": "lots"})
    lines = str(failed.value).splitlines()
    assert lines[0].startswith("OnConfigurationChange failed: plugin com.example.failing: ")
    assert re.search(r"plugin\.py:\d+ in parse_count: ValueError: invalid literal", lines[1])
    assert lines[-1] == "ValueError: invalid literal for int() with base 10: 'lots'"


TEST_FILE = """\
import pytest


def test_counts(mattermost):
    mattermost.create_post(None, "twelve")
    assert mattermost.execute_command("/count 12").text == "13"
"""


def _run_pytest(project: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr  # the test fails
    return result.stdout


def test_a_failing_tests_report_shows_readable_tracebacks(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FAILING, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "tests").mkdir()
    (project / "tests" / "test_counting.py").write_text(textwrap.dedent(TEST_FILE))
    (project / "pytest.ini").write_text("[pytest]\nmattermost_plugin_dir = .\n")

    output = _run_pytest(project, "-q")
    section = output.split("mattermost plugin log", 1)[1]
    assert re.search(
        r"^    server/plugin\.py:\d+ in parse_count: ValueError: invalid literal for int\(\) "
        r"with base 10: 'twelve'$",
        section,
        re.M,
    ), section
    assert re.search(r"^      \[\d+ SDK frames hidden; -v shows them\]$", section, re.M)
    assert "_dispatch.py" not in section
    assert "\\n" not in section  # the traceback is lines, not an escaped string

    verbose = _run_pytest(project, "-v").split("mattermost plugin log", 1)[1]
    assert "mattermost_plugin/_dispatch.py" in verbose
    assert "frames hidden" not in verbose
