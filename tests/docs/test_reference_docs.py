"""The reference documents every parameter, result and error of every generated Plugin API
method and every hook argument, from the proto comments; codegen refuses protos that leave
one out. The hand-written methods of ``mattermost_plugin.client`` are held to the same rule."""

from __future__ import annotations

import ast
import inspect
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from griffe import Docstring, DocstringSectionKind
from tests.docs.test_site import section

from codegen import __main__ as codegen_main
from codegen import completeness, ir, protoc
from codegen.models import prose
from mattermost_plugin._generated.client import GeneratedAsyncAPI, GeneratedSyncAPI
from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient

HAND_WRITTEN = sorted(
    name
    for name, value in vars(PluginAPIClient).items()
    if not name.startswith("_") and inspect.isfunction(value)
)
GENERATED = sorted(
    name
    for name, value in inspect.getmembers(GeneratedSyncAPI, inspect.isfunction)
    if not name.startswith("_") and "plugin.API." in (value.__doc__ or "")
)


def sections(function: object) -> dict[DocstringSectionKind, list[tuple[str, str]]]:
    """The Google sections of a docstring as mkdocstrings reads them: (name, description)."""
    griffe_logger = logging.getLogger("griffe")
    previous, griffe_logger.disabled = griffe_logger.disabled, True  # "no annotation": fine
    try:
        parsed = Docstring(inspect.getdoc(function) or "", parser="google").parse()
    finally:
        griffe_logger.disabled = previous
    out: dict[DocstringSectionKind, list[tuple[str, str]]] = {}
    for part in parsed:
        items = part.value if isinstance(part.value, list) else []
        out[part.kind] = [
            (getattr(i, "name", "") or str(getattr(i, "annotation", "")), i.description)
            for i in items
        ]
    return out


def test_all_generated_methods_are_checked() -> None:
    assert len(GENERATED) == 232  # 236 RPCs, four of them hand-written
    assert {"create_post", "kv_set", "kv_get", "get_plugin_id"} <= set(HAND_WRITTEN)


@pytest.mark.parametrize("client", [GeneratedSyncAPI, GeneratedAsyncAPI])
@pytest.mark.parametrize("name", GENERATED)
def test_every_parameter_result_and_error_is_documented(client: type, name: str) -> None:
    check_documented(getattr(client, name), name)


@pytest.mark.parametrize("client", [PluginAPIClient, AsyncPluginAPIClient])
@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_the_hand_written_methods_are_documented_alike(client: type, name: str) -> None:
    check_documented(vars(client)[name], name)


def check_documented(method: Any, name: str) -> None:
    """Args for every parameter, Returns exactly when something is returned, and Raises."""
    found = sections(method)
    signature = inspect.signature(method)
    parameters = [p.name for p in list(signature.parameters.values())[1:]]
    documented = found.get(DocstringSectionKind.parameters, [])
    assert sorted(n.lstrip("*") for n, _ in documented) == sorted(parameters)
    assert all(text.strip() for _, text in documented), documented
    returns = found.get(DocstringSectionKind.returns, [])
    if signature.return_annotation in (None, "None"):
        assert not returns
    else:
        assert returns and all(text.strip() for _, text in returns), name
    raised = [n for n, _ in found.get(DocstringSectionKind.raises, [])]
    assert "PluginAPIError" in raised, name


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_every_hook_argument_is_documented(hook: str) -> None:
    text = section(hook)
    declaration = text.split("```python\n", 1)[1].split("\n```", 1)[0]
    (function,) = ast.parse(declaration).body
    assert isinstance(function, ast.FunctionDef)
    names = [a.arg for a in function.args.posonlyargs[1:]]  # after self
    listed = [line.split("`")[1] for line in text.splitlines() if line.startswith("    - `")]
    assert listed == names
    if not names:
        assert "- **Arguments**: none." in text


@pytest.fixture(scope="module")
def proto_ir(tmp_path_factory: pytest.TempPathFactory) -> ir.ProtoIR:
    return ir.build(protoc.run_protoc(tmp_path_factory.mktemp("pb")))


def test_the_protos_document_every_parameter_and_result(proto_ir: ir.ProtoIR) -> None:
    assert completeness.undocumented(proto_ir) == []


def test_a_field_without_a_comment_is_named(proto_ir: ir.ProtoIR) -> None:
    field = proto_ir.messages[".mattermost.pluginapi.v1.GetUserRequest"].fields[0]
    kept, field.comment = field.comment, ""
    try:
        with pytest.raises(SystemExit, match=r"GetUserRequest\.user_id \(api_user_team\.proto"):
            completeness.check(proto_ir)
    finally:
        field.comment = kept


def test_generation_stops_on_an_undocumented_hook_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: ``python -m codegen`` on protos where one hook argument lost its comment."""
    protos = tmp_path / "proto"
    shutil.copytree(protoc.PROTO_ROOT, protos)
    hooks = protos / "mattermost_plugin" / "_pb" / "pluginapi" / "v1" / "hooks_message.proto"
    text = hooks.read_text()
    documented = "  // The post as saved.\n  Post post = 3;"
    assert documented in text
    hooks.write_text(text.replace(documented, "  Post post = 3;"))
    monkeypatch.setattr(protoc, "PROTO_ROOT", protos)
    with pytest.raises(SystemExit) as stopped:
        codegen_main.generate(tmp_path / "out")
    message = str(stopped.value)
    assert "MessageHasBeenPostedRequest.post (hooks_message.proto: hook argument of" in message
    assert message.count("\n  ") == 1  # only that one


@pytest.mark.parametrize(
    ("comment", "shown"),
    [
        ("to /plugins/<plugin id>/...; then", "to ``/plugins/<plugin id>/...``; then"),
        ("starting with /<target plugin id>/.", "starting with ``/<target plugin id>/``."),
        ('without the "custom_<plugin id>_" prefix', "without the ``custom_<plugin id>_`` prefix"),
        ("x < 3 and y > 2; map<string, string>", "x < 3 and y > 2; map<string, string>"),
    ],
)
def test_placeholders_are_shown_as_code(comment: str, shown: str) -> None:
    """Markdown would take ``<plugin id>`` for an HTML tag and drop it from the page."""
    assert prose(comment) == shown
