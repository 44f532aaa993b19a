"""docs/commands.md's complete example, run as a real plugin: what its "What users see"
block shows, and its HTTP routes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mattermost_plugin.testing import ANONYMOUS, LocalMattermost, local_mattermost

DOC = Path(__file__).resolve().parents[2] / "docs" / "commands.md"


@pytest.fixture(scope="module")
def mattermost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMattermost]:
    source = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert source is not None
    folder = tmp_path_factory.mktemp("todo")
    (folder / "server").mkdir()
    (folder / "server" / "plugin.py").write_text(source.group(1))
    manifest = {
        "id": "com.example.todo",
        "name": "To do",
        "version": "0.1.0",
        "server": {"executable": "server/plugin.py", "runtime": "python"},
    }
    (folder / "plugin.json").write_text(json.dumps(manifest))
    with local_mattermost(folder, hook_timeout=5.0) as local:
        yield local


def test_what_users_see(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")

    def run(line: str) -> list[str]:
        return mattermost.execute_command(line).text.splitlines()

    assert run("/todo add --priority high call the plumber") == ["Added #1: call the plumber"]
    assert run("/todo give 1 @alice") == ["Gave #1 to @alice."]
    assert run("/todo give 5 @alice") == [
        "There is no item #5.",
        "Usage: `/todo give <item> <to>` (`/todo help give` for details)",
    ]
    assert run("/todo give one @alice")[0] == 'Invalid item: expected a whole number, got "one".'
    assert run("/todo") == [
        "**/todo** commands:",
        "- `/todo add [--priority <priority>] <title...>`: Add an item to your list.",
        "- `/todo list`: Show your list.",
        "- `/todo give <item> <to>`: Give one of your items to someone.",
        "- `/todo help [command]`: describe a command",
    ]
    assert run("/todo help add") == [
        "`/todo add [--priority <priority>] <title...>`",
        "Add an item to your list.",
        "",
        "- `title`: what there is to do. (text, the rest of the line)",
        "- `--priority`: how soon it matters. (one of low, high; default low)",
    ]
    assert run("/todo list") == ["Nothing to do."]  # item 1 went to alice
    assert mattermost.get("/items", user=alice).json() == ["call the plumber (high)"]


def test_http_routes(mattermost: LocalMattermost) -> None:
    bob = mattermost.create_user("bob")
    mattermost.execute_command("/todo add water the plants", user=bob)
    assert mattermost.get("/items", user=bob).json() == ["water the plants (low)"]
    assert mattermost.get("/items", user=ANONYMOUS).status_code == 401

    admin = mattermost.user
    assert mattermost.get(f"/users/{bob.id}/items", user=admin).json() == ["water the plants (low)"]
    assert mattermost.get(f"/users/{bob.id}/items", user=bob).status_code == 403
    assert mattermost.get(f"/users/{'z' * 26}/items", user=admin).status_code == 404

    assert mattermost.http("DELETE", "/items", user=bob).json() == {"cleared": True}
    assert mattermost.get("/items", user=bob).json() == []
    page = mattermost.get("/")
    assert page.status_code == 200 and b"X-CSRF-Token" in page.body
