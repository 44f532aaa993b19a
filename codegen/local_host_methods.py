"""``python -m codegen.local_host_methods [--check]``: write ``docs/local-host-methods.md``,
the table of every Plugin API method and what the local host does with it, from the
fake's registry (``fake_server.MODELLED``) and its tests.

A method counts as modelled only when it is in the registry *and* the tests have a test of
its success and a test of its error path: test functions under ``tests/fake`` marked
``@ok("Method", ...)`` and ``@fails("Method", ...)`` (``tests/support/coverage.py``; the
marks are checked at run time: the test must make such a call). Unlike ``python -m
codegen``, this reads the runtime package, so it runs after codegen.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "local-host-methods.md"
TESTS = REPO / "tests" / "fake"
MARKS = {"ok": "success", "fails": "error"}
MINIMUM = 170
"""How many methods the local host must model (issue 21)."""


@dataclass
class Coverage:
    """The tests of one method, by outcome (``success``, ``error``): ``file::test`` ids."""

    success: list[str] = field(default_factory=list)
    error: list[str] = field(default_factory=list)


def scan_tests(folder: Path = TESTS) -> dict[str, Coverage]:
    """The ``@ok``/``@fails`` marks of the test functions under ``folder``, by method."""
    found: dict[str, Coverage] = defaultdict(Coverage)
    for path in sorted(folder.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        names = _string_tuples(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
                continue
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Name)):
                    continue
                outcome = MARKS.get(decorator.func.id)
                if outcome is None:
                    continue
                test_id = f"{path.relative_to(REPO)}::{node.name}"
                for method in _methods(decorator.args, names):
                    getattr(found[method], outcome).append(test_id)
    return dict(found)


def _string_tuples(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level ``NAME = ("A", "B")`` tuples of strings (marks spread them: ``*NAME``)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            items = node.value.elts
            if all(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = [str(i.value) for i in items]  # type: ignore[attr-defined]
    return found


def _methods(args: list[ast.expr], names: dict[str, list[str]]) -> list[str]:
    methods = []
    for arg in args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            methods.append(arg.value)
        elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
            if arg.value.id not in names:
                raise ValueError(f"cannot read the marks' *{arg.value.id}: not a tuple of names")
            methods.extend(names[arg.value.id])
        else:
            raise ValueError(f"a mark's method must be a string or *TUPLE, not {ast.dump(arg)}")
    return methods


def counted(coverage: dict[str, Coverage]) -> list[str]:
    """The modelled methods that have both tests, sorted."""
    from mattermost_plugin.host.fake_server import MODELLED

    return sorted(
        name
        for name in MODELLED
        if name in coverage and coverage[name].success and coverage[name].error
    )


def _tests(ids: list[str]) -> str:
    return "<br>".join(f"`{i.split('::')[1]}`" for i in sorted(set(ids))) or "—"


def render() -> str:
    """The document, from the registry and the tests."""
    from mattermost_plugin._generated.unserved import UNSERVED_METHODS
    from mattermost_plugin._pb.pluginapi.v1 import api_pb2
    from mattermost_plugin.host.fake_server import MODELLED

    coverage = scan_tests()
    methods = [m.name for m in api_pb2.DESCRIPTOR.services_by_name["PluginAPI"].methods]
    good = set(counted(coverage))
    rows = []
    for name in sorted(methods):
        modelled = MODELLED.get(name)
        tests = coverage.get(name, Coverage())
        if name in UNSERVED_METHODS:
            what, area, hooks = "not answered by the server either: UNIMPLEMENTED", "—", ""
        elif modelled is None:
            what, area, hooks = "not modelled: an AppError, 501", "—", ""
        else:
            area = modelled.area
            hooks = ", ".join(modelled.hooks)
            what = modelled.summary or "modelled"
            if modelled.never_fails:
                what += " *(never fails: the error-path test checks the negative answer)*"
            if name not in good:
                what += " **(lacks a success or an error test: not counted)**"
        rows.append(
            f"| `{name}` | {area} | {what} | {hooks} | {_tests(tests.success)} "
            f"| {_tests(tests.error)} |"
        )
    unmodelled = len(methods) - len(MODELLED) - len(UNSERVED_METHODS)
    lines = [
        "# What the local host does with each Plugin API method",
        "",
        "<!-- Generated by `python -m codegen.local_host_methods` from the fake server's "
        "registry and tests/fake: do not edit. -->",
        "",
        f"The local host (`LocalMattermost`, `mattermost-plugin dev`, the pytest fixture) models "
        f"**{len(good)}** of the {len(methods)} methods with the server's semantics: each has a "
        "test of its success and of its error path (the last two columns). "
        f'{unmodelled} answer an `AppError` with status 501, "the local host does not model '
        f'X", and {len(UNSERVED_METHODS)} answer `UNIMPLEMENTED`, as the server does (it '
        'has no handler for them). "Hooks" are the plugin hooks a call runs, as on the '
        "server; the plugin API itself checks no permissions.",
        "",
        "| method | area | what the local host does | hooks | success test | error test |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen.local_host_methods")
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print(
                f"{DOC.relative_to(REPO)} is stale: run `python -m codegen.local_host_methods`",
                file=sys.stderr,
            )
            return 1
        print(f"{DOC.relative_to(REPO)} is up to date")
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
