"""mypy --strict over plugins that use the typed hook methods: good ones pass, bad ones fail.

``plugins/`` holds hand-written cases (a comment ``# E: text`` says that the line after it
must get an error containing that text; no other line may get one). On top, the hook table
drives a good handler (``def`` and ``async def``) and four bad ones (wrong arity, wrong
parameter type, wrong return type, ``async def`` with a wrong return type) for every hook.
One mypy run checks them all, with the project's mypy, in a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor

from mattermost_plugin._generated.hook_methods import HOOK_METHODS
from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin._hookspec import FieldKind, HookSpec, ResponseKind

PLUGINS = Path(__file__).parent / "plugins"
TYPED_PLUGIN = Path(__file__).parent.parent / "hooks" / "plugins" / "typed" / "server"
EXPECTED = re.compile(r"^\s*# E: (.+?)\s*$")
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*)$")

SCALARS = {
    FieldDescriptor.TYPE_STRING: "str",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
}
HEADER = """from __future__ import annotations

from typing import Any

from mattermost_plugin import HTTPRequest, HTTPResponse, Plugin, models


class Wrong:
    pass
"""


def parameters(spec: HookSpec) -> list[tuple[str, str]]:
    """What a handler of ``spec`` takes, as the guide describes it (context first)."""
    if spec.kind is ResponseKind.STREAM:
        return [("context", "models.PluginContext"), ("request", "HTTPRequest")]
    out = []
    for arg in spec.args:
        if arg.name == "plugin_context":
            out.append(("context", "models.PluginContext"))
        elif arg.kind is FieldKind.JSON:
            out.append((arg.name, "dict[str, Any]"))
        elif arg.kind is FieldKind.MESSAGES:
            out.append((arg.name, f"list[models.{arg.model}]"))
        elif arg.kind is FieldKind.MESSAGE:
            optional = " | None" if arg.name == "actor" else ""  # set only by an admin action
            out.append((arg.name, f"models.{arg.model}{optional}"))
        else:
            field = spec.request.DESCRIPTOR.fields_by_name[arg.name]
            out.append((arg.name, SCALARS.get(field.type, "int")))
    return out


def good_returns(spec: HookSpec) -> list[tuple[str, str]]:
    """Return annotations and values the guide's table allows for ``spec``: two forms each."""
    if spec.kind is ResponseKind.STREAM:
        return [("HTTPResponse", "HTTPResponse(200)"), ("dict[str, Any]", '{"body": "ok"}')]
    if spec.kind is ResponseKind.VOID:
        return [("None", "None"), ("None", "None")]
    if spec.kind is ResponseKind.ERROR:
        return [("None", "None"), ("str | None", '"it failed"')]
    first = spec.outputs[0]
    if spec.kind is ResponseKind.WILL_BE:
        model = f"models.{first.model}"
        return [(f"tuple[{model} | None, str]", '(None, "rejected")'), (f"{model} | None", "None")]
    if first.kind is FieldKind.MESSAGE:
        return [(f"models.{first.model}", f"models.{first.model}()"), ("dict[str, Any]", "{}")]
    if first.kind is FieldKind.MESSAGES:
        return [(f"list[models.{first.model}]", "[]"), ("None", "None")]
    if first.kind is FieldKind.JSON:
        return [("dict[str, Any]", "{}"), ("None", "None")]
    field = spec.response.DESCRIPTOR.fields_by_name[first.name]
    python = SCALARS.get(field.type, "int")
    value = {"str": '""', "bool": "True", "int": "0"}[python]
    return [(python, value), (f"{python} | None", "None")]


def method(
    name: str, params: list[tuple[str, str]], returns: str, value: str, *, is_async: bool = False
) -> list[str]:
    signature = ", ".join(["self", *(f"{p}: {t}" for p, t in params)])
    prefix = "async " if is_async else ""
    return [f"    {prefix}def {name}({signature}) -> {returns}:", f"        return {value}"]


@dataclass
class Case:
    """A generated bad handler and the error mypy must report on its ``def`` line."""

    hook: str
    form: str
    expected: str
    line: int = 0


def generated_files(folder: Path) -> tuple[Path, Path, list[Case]]:
    """A good plugin with every hook (``def`` and ``async def``) and a file of bad ones."""
    names = {hook: name for name, hook in HOOK_METHODS.items()}
    good = [HEADER]
    for is_async in (False, True):
        good += ["", "", f"class Every{'Async' if is_async else 'Sync'}Hook(Plugin):"]
        for hook_name, spec in HOOKS.items():
            returns, value = good_returns(spec)[is_async]
            good += method(names[hook_name], parameters(spec), returns, value, is_async=is_async)
    bad = [HEADER]
    cases: list[Case] = []

    def add(hook_name: str, form: str, expected: str, lines: list[str]) -> None:
        bad.extend(["", "", f"class {hook_name}{form}(Plugin):"])
        cases.append(Case(hook_name, form, expected, line=len("\n".join(bad).splitlines()) + 1))
        bad.extend(lines)

    for hook_name, spec in HOOKS.items():
        name, params = names[hook_name], parameters(spec)
        returns, value = good_returns(spec)[0]
        add(
            hook_name,
            "WrongArity",
            f'Signature of "{name}" incompatible with supertype',
            method(name, [*params, ("extra", "int")], returns, value),
        )
        if params:
            add(
                hook_name,
                "WrongParameter",
                f'Argument 1 of "{name}" is incompatible with supertype',
                method(name, [(params[0][0], "Wrong"), *params[1:]], returns, value),
            )
        add(
            hook_name,
            "WrongReturn",
            f'Return type "Wrong" of "{name}" incompatible with return type',
            method(name, params, "Wrong", "Wrong()"),
        )
        add(
            hook_name,
            "WrongAsyncReturn",
            f'Return type "Coroutine[Any, Any, Wrong]" of "{name}" incompatible',
            method(name, params, "Wrong", "Wrong()", is_async=True),
        )
    good_file, bad_file = folder / "every_hook_good.py", folder / "every_hook_bad.py"
    good_file.write_text("\n".join(good) + "\n")
    bad_file.write_text("\n".join(bad) + "\n")
    return good_file, bad_file, cases


@dataclass
class MypyRun:
    errors: dict[str, dict[int, list[str]]]  # file name → line → messages
    output: str

    def of(self, path: Path) -> dict[int, list[str]]:
        return self.errors.get(path.name, {})


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MypyRun, list[Case]]]:
    folder = tmp_path_factory.mktemp("typed_hooks")
    good, bad, cases = generated_files(folder)
    files = [*sorted(PLUGINS.glob("*.py")), TYPED_PLUGIN / "plugin.py", good, bad]
    (folder / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    env = {**os.environ, "MYPYPATH": str(Path(__file__).parents[2] / "src")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(folder / "mypy.ini"),
            "--cache-dir",
            str(folder / ".mypy_cache"),
            "--no-color-output",
            "--no-error-summary",
            "--hide-error-context",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=600,
    )
    errors: dict[str, dict[int, list[str]]] = {}
    for line in result.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            by_line = errors.setdefault(Path(match["file"]).name, {})
            by_line.setdefault(int(match["line"]), []).append(match["message"])
    assert result.returncode in (0, 1), result.stdout + result.stderr
    yield MypyRun(errors, result.stdout), cases


@pytest.mark.parametrize("path", sorted(PLUGINS.glob("*.py")), ids=lambda p: p.name)
def test_hand_written_plugins(mypy_run: tuple[MypyRun, list[Case]], path: Path) -> None:
    run, _ = mypy_run
    expected = {  # the line after the comment
        number + 1: match[1]
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if (match := EXPECTED.match(text))
    }
    got = run.of(path)
    for number, text in expected.items():
        assert any(text in message for message in got.get(number, [])), (
            f"{path.name}:{number}: expected an error containing {text!r}\nmypy said:\n{run.output}"
        )
    unexpected = {n: m for n, m in got.items() if n not in expected}
    assert not unexpected, f"{path.name}: unexpected errors {unexpected}"


def test_typed_plugin_of_the_process_tests_is_clean(mypy_run: tuple[MypyRun, list[Case]]) -> None:
    run, _ = mypy_run
    assert not run.of(TYPED_PLUGIN / "plugin.py"), run.output


def test_every_hook_good_forms_pass(mypy_run: tuple[MypyRun, list[Case]]) -> None:
    run, _ = mypy_run
    assert not run.errors.get("every_hook_good.py"), run.output


def test_every_hook_bad_forms_fail(mypy_run: tuple[MypyRun, list[Case]]) -> None:
    run, cases = mypy_run
    got = run.errors.get("every_hook_bad.py", {})
    assert {case.hook for case in cases} == set(HOOKS)
    missed = [
        f"{case.hook} {case.form}: line {case.line}: {case.expected!r} not in {got.get(case.line)}"
        for case in cases
        if not any(case.expected in message for message in got.get(case.line, []))
    ]
    assert not missed, "\n".join(missed)
    assert set(got) == {case.line for case in cases}, "errors on lines that have no bad form"
