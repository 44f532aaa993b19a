"""`mattermost-plugin validate`: one test per kind of problem, plus the good case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import GOOD_PLUGIN, run_cli, write_plugin


def _json(folder: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("validate", folder, "--json", *extra)
    return result.exit_code, json.loads(result.stdout)


def _messages(report: dict[str, Any], severity: str = "error") -> list[str]:
    return [
        f"{p['where']}: {p['message']}" if p["where"] else p["message"]
        for p in report["problems"]
        if p["severity"] == severity
    ]


def test_good_plugin(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path / "p",
        GOOD_PLUGIN.replace(
            '        self.logger.info("activated")\n',
            '        self.logger.info("activated")\n\n'
            "    @hook(HookName.MessageHasBeenPosted)\n"
            "    async def on_posted(self, context, post) -> None:\n"
            "        pass\n",
        ),
    )
    code, report = _json(plugin)
    assert code == 0, report
    assert report["ok"] is True
    assert report["served"] == "MyPlugin"
    assert report["implemented"] == ["OnActivate", "MessageHasBeenPosted"]
    handlers = report["plugins"][0]["handlers"]
    assert handlers["OnActivate"] == {
        "method": "on_activate",
        "async": False,
        "where": "server/plugin.py:5",  # the decorator line
    }
    assert handlers["MessageHasBeenPosted"]["async"] is True
    human = run_cli("validate", plugin)
    assert human.exit_code == 0
    assert "MyPlugin implements OnActivate, MessageHasBeenPosted" in human.stderr


def test_manifest_problems_have_field_paths(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path / "p",
        manifest={"id": "9bad", "version": "1.0", "server": {"runtime": "python"}},
    )
    code, report = _json(plugin)
    assert code == 1
    errors = _messages(report)
    assert any(e.startswith("plugin.json: id: must start with a letter") for e in errors), errors
    assert any(e.startswith("plugin.json: version: must be a semantic version") for e in errors)
    assert any(e.startswith("plugin.json: server: must set executable") for e in errors)


def test_no_manifest(tmp_path: Path) -> None:
    result = run_cli("validate", tmp_path)
    assert result.exit_code == 1
    assert "no plugin.json, plugin.yaml or plugin.yml here" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"✗ 1 problem in {tmp_path}"


def test_summary_line_counts_problems_and_warnings(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.replace(
        '        self.logger.info("activated")\n',
        '        self.logger.info("activated")\n\n'
        "    def MessageHasBeenPosted(self, context, post) -> None:\n"
        "        pass\n",
    )
    plugin = write_plugin(tmp_path / "p", source)
    result = run_cli("validate", plugin)
    assert result.exit_code == 0
    assert result.stderr.strip().splitlines()[-1] == (
        "✓ com.example.checked 1.2.3: MyPlugin implements OnActivate (1 warning)"
    )
    strict = run_cli("validate", plugin, "--strict")
    assert strict.exit_code == 1
    assert strict.stderr.strip().splitlines()[-1] == "✗ 1 problem in com.example.checked 1.2.3"
    server = {"executable": "server/plugin.py", "runtime": "python", "python_version": ">=3.99"}
    broken = write_plugin(
        tmp_path / "q",
        GOOD_PLUGIN.replace("def on_activate(self)", "def on_activate(self, extra)"),
        manifest={"server": server},
    )
    failed = run_cli("validate", broken)
    assert failed.exit_code == 1
    assert failed.stderr.strip().splitlines()[-1] == (
        "✗ 1 problem (1 warning) in com.example.checked 1.2.3"
    )


def test_missing_executable_and_not_python(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path / "p", manifest={"server": {"executable": "server/main", "runtime": "go"}}
    )
    code, report = _json(plugin)
    assert code == 1
    errors = _messages(report)
    assert "plugin.json: server.executable: server/main does not exist" in errors
    assert any(e.startswith("plugin.json: server.runtime: the server will not run") for e in errors)


def test_syntax_error_with_file_and_line(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p", "import os\n\ndef broken(:\n    pass\n")
    (plugin / "server" / "helpers.py").write_text("x = (\n")
    code, report = _json(plugin)
    assert code == 1
    errors = _messages(report)
    assert any(e.startswith("server/plugin.py:3: SyntaxError") for e in errors), errors
    assert any(e.startswith("server/helpers.py:1: SyntaxError") for e in errors), errors


def test_import_error_names_the_module(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p", "import not_a_real_module_xyz\n" + GOOD_PLUGIN)
    code, report = _json(plugin)
    assert code == 1
    errors = _messages(report)
    assert any(
        e.startswith("server/plugin.py:1: ModuleNotFoundError: No module named") for e in errors
    ), errors
    assert any("'not_a_real_module_xyz' is not installed" in e for e in errors)


def test_unknown_hook_name(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path / "p", GOOD_PLUGIN.replace("@hook(HookName.OnActivate)", '@hook("OnActivat")')
    )
    code, report = _json(plugin)
    assert code == 1
    (error,) = _messages(report)
    assert error.startswith("server/plugin.py:5: ValueError: unknown hook 'OnActivat'")
    assert "did you mean OnActivate" in error


def test_handler_arity(tmp_path: Path) -> None:
    source = """\
        from mattermost_plugin import HookName, Plugin, hook
        from mattermost_plugin.server import run_plugin


        class MyPlugin(Plugin):
            @hook(HookName.MessageWillBePosted)
            def on_post(self, post):
                return post, ""


        run_plugin(MyPlugin)
    """
    plugin = write_plugin(tmp_path / "p", source)
    code, report = _json(plugin)
    assert code == 1
    (error,) = _messages(report)
    # The handler's line (its decorator's, as for every handler), not the class's (5).
    assert error.startswith(
        "server/plugin.py:6: HandlerDefinitionError: MyPlugin.on_post handles "
        "MessageWillBePosted, which passes 2 argument(s) after self; define it as "
        "(self, context, post)"
    ), error
    human = run_cli("validate", plugin).stderr.strip().splitlines()
    assert human[-1] == "✗ 1 problem in com.example.checked 1.2.3", human


def test_two_handlers_for_one_hook(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.replace(
        "    @hook(HookName.OnActivate)\n",
        "    @hook(HookName.OnActivate)\n    def first(self) -> None: ...\n\n"
        "    @hook(HookName.OnActivate)\n",
    )
    code, report = _json(write_plugin(tmp_path / "p", source))
    assert code == 1
    (error,) = _messages(report)
    # The second handler's line: GOOD_PLUGIN's handler moved down by the two added lines.
    assert error.startswith("server/plugin.py:8: HandlerDefinitionError: MyPlugin has two "), error
    assert "has two handlers for OnActivate: first and on_activate" in error


def test_unregistered_lookalike_is_a_warning(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.replace(
        '        self.logger.info("activated")\n',
        '        self.logger.info("activated")\n\n'
        "    def MessageHasBeenPosted(self, context, post) -> None:\n"
        "        pass\n",
    )
    plugin = write_plugin(tmp_path / "p", source)
    code, report = _json(plugin)
    assert code == 0
    (warning,) = _messages(report, "warning")
    assert warning.startswith(
        "server/plugin.py:9: MyPlugin.MessageHasBeenPosted looks like a MessageHasBeenPosted "
        "handler but has no @hook(HookName.MessageHasBeenPosted)"
    ), warning
    assert run_cli("validate", plugin, "--strict").exit_code == 1


def test_method_named_after_a_hook_is_its_handler(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.replace(
        '        self.logger.info("activated")\n',
        '        self.logger.info("activated")\n\n'
        "    def message_has_been_posted(self, context, post) -> None:\n"
        "        pass\n",
    )
    code, report = _json(write_plugin(tmp_path / "p", source))
    assert code == 0
    assert not _messages(report, "warning")
    assert report["implemented"] == ["OnActivate", "MessageHasBeenPosted"]


def test_generator_handler(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.replace(
        '        self.logger.info("activated")\n', '        yield "activated"\n'
    )
    code, report = _json(write_plugin(tmp_path / "p", source))
    assert code == 1
    assert "is a generator function (def with yield)" in _messages(report)[0]


def test_init_with_required_arguments(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.replace(
        "    @hook(HookName.OnActivate)\n",
        "    def __init__(self, token: str) -> None:\n        self.token = token\n\n"
        "    @hook(HookName.OnActivate)\n",
    )
    code, report = _json(write_plugin(tmp_path / "p", source))
    assert code == 1
    assert "MyPlugin() cannot be built without arguments" in _messages(report)[0]


def test_no_run_plugin_call(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.split("if __name__")[0]
    code, report = _json(write_plugin(tmp_path / "p", source))
    assert code == 1
    (error,) = _messages(report)
    assert error.startswith("server/plugin.py: never calls run_plugin()")
    assert "run_plugin(MyPlugin)" in error


def test_stdout_before_the_handshake(tmp_path: Path) -> None:
    code, report = _json(write_plugin(tmp_path / "p", 'print("hello")\n' + GOOD_PLUGIN))
    assert code == 1
    (error,) = _messages(report)
    assert "writes to stdout before the handshake ('hello')" in error


def test_exception_at_import(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.replace("class MyPlugin", "CONFIG = {}['key']\n\n\nclass MyPlugin")
    code, report = _json(write_plugin(tmp_path / "p", source))
    assert code == 1
    assert _messages(report) == ["server/plugin.py:4: KeyError: 'key'"]


def test_blocking_import_times_out(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p", "import time\ntime.sleep(60)\n" + GOOD_PLUGIN)
    code, report = _json(plugin, "--timeout", "1.5")
    assert code == 1
    assert "did not finish within 1.5 s" in _messages(report)[0]


def test_python_version_is_a_warning(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path / "p",
        manifest={
            "server": {
                "executable": "server/plugin.py",
                "runtime": "python",
                "python_version": ">=3.99",
            }
        },
    )
    code, report = _json(plugin)
    assert code == 0
    (warning,) = _messages(report, "warning")
    assert warning.startswith("plugin.json: server.python_version: '>=3.99' does not admit Python")
    assert run_cli("validate", plugin, "--strict").exit_code == 1


@pytest.mark.slow
def test_interpreter_without_the_sdk(tmp_path: Path, bare_python: str) -> None:
    code, report = _json(write_plugin(tmp_path / "p"), "--python", bare_python)
    assert code == 1
    assert report["interpreter"] == bare_python
    (error,) = _messages(report)
    assert "cannot import the SDK" in error
    assert "--python" in error


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("validate", tmp_path / "missing").exit_code == 2
    assert run_cli("validate", "--bogus").exit_code == 2


def test_every_command_has_help() -> None:
    for command in ("new", "validate", "bundle"):
        result = run_cli(command, "--help")
        assert result.exit_code == 0
        assert "Exit codes" in result.stdout


def test_client_style_must_match_the_handler(tmp_path: Path) -> None:
    source = GOOD_PLUGIN.replace(
        '        self.logger.info("activated")\n',
        '        self.logger.info("activated")\n'
        "        self.async_api.get_server_version()\n\n"
        "    @hook(HookName.OnDeactivate)\n"
        "    async def on_deactivate(self) -> None:\n"
        "        self.api.log_info('bye')\n"
        "        await self.async_api.log_info('bye')\n",
    )
    code, report = _json(write_plugin(tmp_path / "p", source))
    assert code == 1
    (error,) = _messages(report)
    assert error.startswith(
        "server/plugin.py:8: MyPlugin.on_activate is a def handler but calls "
        "self.async_api.get_server_version"
    ), error
    (warning,) = _messages(report, "warning")
    assert warning.startswith(
        "server/plugin.py:12: MyPlugin.on_deactivate is async def but calls self.api.log_info"
    ), warning
