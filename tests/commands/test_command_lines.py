"""Property, end to end: whatever a user types after a trigger the plugin's ``@command``
methods own, the plugin answers (the handler's result, help or a usage message); the command
never fails and nothing is logged as an error (a real plugin subprocess)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mattermost_plugin.testing import LocalMattermost, local_mattermost

TODO = Path(__file__).parent / "plugins" / "todo"


@pytest.fixture(scope="module")
def mattermost() -> Iterator[LocalMattermost]:
    with local_mattermost(TODO, hook_timeout=5.0) as local:
        local.create_user("alice")
        local.execute_command("/todo add a first item")
        yield local


_words = st.sampled_from(
    ["add", "list", "done", "assign", "share", "estimate", "where", "help", "HELP", "x",
     "1", "-2", "0", "3.5", "1e400", "d", "h", "@alice", "@nobody", "~town-square", "~none",
     "--all", "--priority", "--priority=high", "--unit", "--shout", "--", '"', "'quoted words'",
     "\u201csmart\u201d", "\\", "\n", "yes", "😀"]
)  # fmt: skip
_tails = st.one_of(st.lists(_words, max_size=8).map(" ".join), st.text(max_size=30))


@given(st.sampled_from(["/todo", "/echo", "/TODO"]), _tails)
def test_every_line_gets_an_answer(mattermost: LocalMattermost, trigger: str, tail: str) -> None:
    mark = len(mattermost.logs)
    response = mattermost.execute_command(f"{trigger} {tail}")
    assert response.response_type in ("ephemeral", "in_channel")
    assert "failed: an error occurred" not in response.text
    assert [r.message for r in mattermost.logs[mark:] if r.level == "error"] == []
