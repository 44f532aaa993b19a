"""docs/interactive.md's complete example, run as a real plugin, with the doc's own test."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mattermost_plugin.testing import LocalMattermost, local_mattermost

DOC = Path(__file__).resolve().parents[2] / "docs" / "interactive.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


@pytest.fixture
def mattermost(tmp_path: Path) -> Iterator[LocalMattermost]:
    folder = tmp_path / "approvals"
    (folder / "server").mkdir(parents=True)
    (folder / "server" / "plugin.py").write_text(BLOCKS[0])
    manifest = {
        "id": "com.example.approvals",
        "name": "Approvals",
        "version": "0.1.0",
        "server": {"executable": "server/plugin.py", "runtime": "python"},
    }
    (folder / "plugin.json").write_text(json.dumps(manifest))
    with local_mattermost(folder, hook_timeout=10.0) as local:
        yield local


def test_the_docs_test_passes(mattermost: LocalMattermost) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(BLOCKS[1], str(DOC), "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0](mattermost)


def test_approving_updates_the_post(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    assert mattermost.execute_command("/approval a desk", user=alice).text == "Asked."
    post = mattermost.posts()[-1]
    assert post.message == "Approve a desk?" and post.user_id == alice.id
    assert mattermost.click(post, "Approve").ephemeral_text == ""
    updated = mattermost.get_post(post.id)
    assert updated.message == "Approved by @admin: a desk"
    assert mattermost.actions(post) == []
