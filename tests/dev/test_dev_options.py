"""``mattermost-plugin dev``: the banner's hints, a failed start in their place, tracebacks in
the console, ``--python``, ``--setting`` and the config routes (real subprocesses)."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path
from typing import Any

from tests.support.cli import run_cli
from tests.support.dev import WORKBENCH, DevProcess, copy_plugin, dev_server

from mattermost_plugin.host._config_patch import FAKE_SETTING

FAILING = WORKBENCH.parent / "failing"
PLUGIN_ID = "com.example.workbench"
FOLDED = r"^    \s*\[\d+ SDK frames hidden; -v shows them\]$"


def banner(dev: DevProcess) -> list[str]:
    """The banner's lines after "serving on", up to its last one ("watching ...")."""
    dev.wait_output(r"^  watching  ")
    lines = dev.lines[next(i for i, line in enumerate(dev.lines) if line.startswith("serving")) :]
    return lines[1 : next(i for i, line in enumerate(lines) if line.startswith("  watching"))]


def curl(url: str, path: str, body: str | None = None) -> str:
    return f"curl -s -X POST {url}{path} -d '{body}'" if body else f"curl -s {url}{path}"


def test_the_banner_hints_fit_the_plugin(tmp_path: Path) -> None:
    workbench = copy_plugin(WORKBENCH, tmp_path / "workbench")
    with dev_server(workbench, "--in-memory") as dev:
        url = f"http://127.0.0.1:{dev.port}"
        lines = banner(dev)
        start = next(i for i, line in enumerate(lines) if line.startswith("  try"))
        command = '{"channel_id": "town-square", "command": "/%s"}'
        assert lines[start:] == [
            "  try       " + curl(url, "/api/v4/commands/execute", command % "count"),
            "            " + curl(url, "/api/v4/commands/execute", command % "echo"),
            "            " + curl(url, "/plugins/com.example.workbench/"),
            "            "
            + curl(url, "/api/v4/posts", '{"channel_id": "town-square", "message": "hello"}'),
        ]

    # A plugin with none of these: the status page.
    quiet = tmp_path / "quiet"
    (quiet / "server").mkdir(parents=True)
    (quiet / "plugin.json").write_text(
        '{"id": "com.example.quiet", "name": "Quiet", "version": "0.1.0",'
        ' "server": {"executable": "server/plugin.py", "runtime": "python"}}'
    )
    (quiet / "server" / "plugin.py").write_text(
        "from mattermost_plugin import Plugin\n\n\nclass Quiet(Plugin):\n"
        "    def on_activate(self) -> None:\n        pass\n\n\n"
        "if __name__ == '__main__':\n    from mattermost_plugin.server import run_plugin\n\n"
        "    run_plugin(Quiet)\n"
    )
    with dev_server(quiet, "--in-memory") as dev:
        url = f"http://127.0.0.1:{dev.port}"
        assert banner(dev)[-1] == "  try       " + curl(url, "/dev/status")


def test_a_failed_start_replaces_the_hints(tmp_path: Path) -> None:
    failing = copy_plugin(FAILING, tmp_path / "failing")
    with dev_server(failing, "--in-memory", "--setting", "fail_activate=true") as dev:
        lines = banner(dev)[-3:]
        assert not any("curl" in line for line in lines), lines
        assert lines[0] == (
            "  failed    OnActivate failed: plugin com.example.failing: Failing.on_activate: "
            "plugin.hook.error, no database at db.invalid"
        ), lines
        assert re.fullmatch(
            r"            at .*failing/server/plugin\.py:\d+ in connect \(the traceback is above\)",
            lines[1],
        ), lines
        assert lines[2].strip() == "fix it and save: the plugin starts again on every change"
        # Above it, the traceback as the plugin logged it: its own frames, the SDK folded.
        assert re.search(FOLDED, dev.output, re.M), dev.output
        assert "_dispatch.py" not in dev.output
        assert dev.status()["state"] == "stopped"


def test_console_tracebacks_start_at_the_plugins_line(tmp_path: Path) -> None:
    failing = copy_plugin(FAILING, tmp_path / "failing")
    for verbose in (False, True):
        with dev_server(failing, "--in-memory", *(["-v"] if verbose else [])) as dev:
            assert dev.post("twelve").status == 201  # fails open
            origin = dev.wait_output(r"in parse_count: ValueError")
            assert re.fullmatch(
                r"    .*failing/server/plugin\.py:\d+ in parse_count: ValueError: invalid literal "
                r"for int\(\) with base 10: 'twelve'",
                origin,
            ), dev.output
            dev.wait_output(r"^    ValueError: invalid literal for int\(\) with base 10: 'twelve'$")
            error_line = dev.wait_output(r"ERROR hook MessageWillBePosted")
            assert "stacktrace=" not in error_line and "error=" not in error_line
            assert ("_dispatch.py" in dev.output) is verbose
            assert bool(re.search(FOLDED, dev.output, re.M)) is not verbose


def _wrapper(tmp_path: Path) -> tuple[Path, Path]:
    """An interpreter that notes it ran, then is this one."""
    marker = tmp_path / "used"
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {marker}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper, marker


def test_python_option_runs_the_plugin_with_that_interpreter(tmp_path: Path) -> None:
    workbench = copy_plugin(WORKBENCH, tmp_path / "workbench")
    wrapper, marker = _wrapper(tmp_path)
    with dev_server(workbench, "--in-memory", "--python", str(wrapper)) as dev:
        assert dev.status()["state"] == "running"
        assert marker.read_text().split()[-1] == str(workbench.resolve() / "server" / "plugin.py")

    missing = run_cli("dev", workbench, "--python", str(tmp_path / "no-such-python"))
    assert missing.exit_code == 2
    assert "is not an executable interpreter" in missing.stderr


def _config(dev: Any, patch: dict[str, Any] | None = None, **headers: str) -> Any:
    if patch is None:
        return dev.request("GET", "/api/v4/config", headers=headers)
    return dev.request("PUT", "/api/v4/config/patch", patch, headers=headers)


def test_settings_from_the_command_line_and_the_config_route(tmp_path: Path) -> None:
    workbench = copy_plugin(WORKBENCH, tmp_path / "workbench")
    manifest = (workbench / "plugin.json").read_text()
    (workbench / "plugin.json").write_text(
        manifest.rstrip().rstrip("}")
        + ', "settings_schema": {"settings": [{"key": "token", "type": "text", "secret": true}]}}'
    )
    with dev_server(
        workbench,
        "--in-memory",
        "--setting",
        "limit=5",
        "--setting",
        "enabled=false",
        "--setting",
        "name=Ada Lovelace",
        "--setting",
        "token=hunter2-secret",
    ) as dev:
        # Parsed as JSON when they are JSON; the plugin had them before it activated.
        first = dev.wait_output(r"log\s+INFO\s+configuration")
        assert "hunter2-secret" not in dev.output  # a secret setting is never printed
        assert "limit" in first
        settings = {"limit": 5, "enabled": False, "name": "Ada Lovelace"}
        shown = _config(dev).json()["PluginSettings"]["Plugins"][PLUGIN_ID]
        assert shown == {**settings, "token": FAKE_SETTING}
        assert (
            '  settings  limit=5, enabled=false, name="Ada Lovelace", token="[REDACTED]"'
            in banner(dev)
        )

        # A patch merges, runs OnConfigurationChange and answers the whole config, sanitized.
        mark = len(dev.lines)
        answer = _config(
            dev,
            {
                "PluginSettings": {
                    "Plugins": {"com.example.workbench": {"limit": 7, "token": FAKE_SETTING}}
                }
            },
        )
        assert answer.status == 200, answer.body
        config = answer.json()
        assert config["PluginSettings"]["Plugins"][PLUGIN_ID] == {
            **settings,
            "limit": 7,
            "token": FAKE_SETTING,
        }
        assert config["ServiceSettings"]["SiteURL"] == f"http://127.0.0.1:{dev.port}"
        dev.wait_output(r"hook\s+OnConfigurationChange → done")
        logged = [line for line in dev.lines[mark:] if re.search(r"INFO\s+configuration", line)]
        assert logged and '"limit": 7' in logged[-1], logged
        assert "hunter2-secret" not in dev.output  # sent back as the fake value: kept, hidden

        # The plugin refusing its settings: saved anyway, as the server does; reported.
        refused = _config(
            dev, {"PluginSettings": {"Plugins": {"com.example.workbench": {"mode": "invalid"}}}}
        )
        assert refused.status == 200
        dev.wait_output(r"OnConfigurationChange → failed: .*mode 'invalid' is not a mode")

        shapeless = _config(dev, {"PluginSettings": []})
        assert shapeless.status == 400
        assert shapeless.json()["message"] == "PluginSettings: expected an object"
        anonymous = dev.request("GET", "/api/v4/config", headers={"Mattermost-User-Id": ""})
        assert anonymous.status == 401
        bad = dev.request("PUT", "/api/v4/config/patch", body=[1])
        assert bad.status == 400 and bad.json()["id"] == "api.context.invalid_body_param.app_error"
        assert dev.request("POST", "/api/v4/config/patch", body={}).status == 405

    bad_setting = run_cli("dev", workbench, "--setting", "no-equals-sign")
    assert bad_setting.exit_code == 2 and "is not KEY=VALUE" in bad_setting.stderr
