"""The site's structure and the generated hook reference, against the code they describe."""

from __future__ import annotations

import re

import pytest
import yaml
from tests.docs.snippets import REPO

from codegen.reference import FAIL_CLOSED, FAIL_OPEN_CONTENT, FAILURES, KIND_FAILURES
from mattermost_plugin import Plugin
from mattermost_plugin._answers import failure_response
from mattermost_plugin._generated.hook_methods import HOOK_METHODS
from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin._hookspec import ResponseKind

HOOK_PAGE = (REPO / "docs" / "reference" / "hooks.md").read_text()


def nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [page for value in node.values() for page in nav_pages(value)]
    if isinstance(node, list):
        return [page for item in node for page in nav_pages(item)]
    return []


def test_every_page_is_in_the_nav_once() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    listed = nav_pages(config["nav"])
    pages = sorted(p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md"))
    assert sorted(listed) == pages
    assert len(listed) == len(set(listed))


def section(hook: str) -> str:
    found = re.search(rf"^## {hook}\n(.*?)(?=^## |\Z)", HOOK_PAGE, re.S | re.M)
    assert found, hook
    return found[1]


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_the_hook_reference_names_the_handler(hook: str) -> None:
    (method,) = [name for name, h in HOOK_METHODS.items() if h == hook]
    assert f"def {method}(self" in section(hook)


@pytest.mark.parametrize("hook", sorted(set(HOOKS) - {"ServeHTTP"}))
def test_the_failure_policy_is_the_runtimes(hook: str) -> None:
    """What the page says a failing handler leads to, against ``failure_response``."""
    spec = HOOKS[hook]
    answer = failure_response(spec, spec.request(), Plugin, RuntimeError("boom"))
    stated = section(hook).split("**When the handler fails**: ", 1)[1]
    fields = {f.name for f, _ in answer.ListFields()}
    if fields == {"rejection_reason"}:
        assert answer.rejection_reason == Plugin.failure_rejection_reason
        assert stated.startswith(FAIL_CLOSED)
    elif fields == {"error"}:
        assert answer.error.detailed_error == "boom"
        assert stated.startswith(KIND_FAILURES["ERROR"])
    elif hook == "ExecuteCommand":
        assert answer.response.text.endswith(
            "failed: an error occurred in the plugin. It has been logged."
        )
        assert stated.startswith(FAILURES[hook])
    elif spec.kind is ResponseKind.WILL_BE:
        assert not fields
        assert stated.startswith(FAIL_OPEN_CONTENT)
    elif hook == "OnSharedChannelsPing":
        assert not answer.healthy
        assert stated.startswith(FAILURES[hook])
    else:
        assert not fields  # nothing sent: the server keeps what it had
        assert stated.startswith(FAILURES.get(hook, KIND_FAILURES["VOID"]))
