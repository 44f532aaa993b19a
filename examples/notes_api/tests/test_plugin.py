"""Tests for Notes API: the notebook on its own, then the routes of the running plugin, as
logged-in users, anonymous clients and system admins call them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from mattermost_plugin.testing import ANONYMOUS, LocalMattermost

# server/ is on sys.path (see pyproject.toml): the tests import the plugin module as `plugin`.
from plugin import MAX_NOTES, NoSuchNoteError, Notebook, NotebookFullError, NoteIn


def test_a_notebook_numbers_changes_and_removes_notes() -> None:
    notebook = Notebook().add(NoteIn(title="a")).add(NoteIn(title="b", body="text"))
    assert notebook.newest.id == 2 and notebook.newest.body == "text"
    changed = notebook.change(1, NoteIn(title="A")).get(1)
    assert changed.title == "A" and changed.updated_at >= changed.created_at
    assert list(notebook.remove(1).notes) == [2]
    with pytest.raises(NoSuchNoteError):
        notebook.get(1)
    assert notebook.add(NoteIn(title="c")).newest.id == 3  # ids are never reused


def test_a_notebook_has_room_for_max_notes() -> None:
    notebook = Notebook()
    for number in range(MAX_NOTES):
        notebook.add(NoteIn(title=f"note {number}"))
    with pytest.raises(NotebookFullError):
        notebook.add(NoteIn(title="one too many"))


def test_add_read_change_and_delete(mattermost: LocalMattermost) -> None:
    added = mattermost.post("/notes", json_body={"title": "Groceries", "body": "milk"})
    assert added.status_code == 201
    note = added.json()
    assert (note["id"], note["title"], note["body"]) == (1, "Groceries", "milk")

    changed = mattermost.put("/notes/1", json_body={"title": "Groceries", "body": "milk, eggs"})
    assert changed.status_code == 200 and changed.json()["body"] == "milk, eggs"
    assert mattermost.get("/notes/1").json()["body"] == "milk, eggs"
    assert [n["title"] for n in mattermost.get("/notes").json()] == ["Groceries"]
    assert mattermost.get("/me").json() == {"username": "admin", "notes": 1}

    assert mattermost.delete("/notes/1").status_code == 204
    assert mattermost.get("/notes/1").status_code == 404
    assert mattermost.delete("/notes/1").status_code == 404
    assert mattermost.get("/notes").json() == []


def test_bad_notes_are_refused_with_the_field(mattermost: LocalMattermost) -> None:
    answer = mattermost.post("/notes", json_body={"title": ""})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "title"]
    assert mattermost.put("/notes/9", json_body={"title": "x"}).status_code == 404


def test_each_user_sees_only_their_notes(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    mattermost.post("/notes", json_body={"title": "admin's"})
    mattermost.post("/notes", json_body={"title": "alice's"}, user=alice)
    assert [n["title"] for n in mattermost.get("/notes", user=alice).json()] == ["alice's"]
    assert mattermost.get("/notes/1", user=alice).json()["title"] == "alice's"
    assert mattermost.get("/notes", user=ANONYMOUS).status_code == 401
    assert mattermost.post("/notes", json_body={"title": "x"}, user=ANONYMOUS).status_code == 401


def test_admins_read_anyones_notes(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    mattermost.post("/notes", json_body={"title": "alice's"}, user=alice)
    listed = mattermost.get(f"/users/{alice.id}/notes")
    assert [n["title"] for n in listed.json()] == ["alice's"]
    assert mattermost.get(f"/users/{mattermost.user.id}/notes", user=alice).status_code == 403
    assert mattermost.get("/users/nobody/notes").status_code == 404


def test_notes_added_at_once_are_all_kept(mattermost: LocalMattermost) -> None:
    def add(number: int) -> int:
        return mattermost.post("/notes", json_body={"title": f"note {number}"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(add, range(16))) == {201}
    notes = mattermost.get("/notes").json()
    assert sorted(n["title"] for n in notes) == sorted(f"note {number}" for number in range(16))
    assert sorted(n["id"] for n in notes) == list(range(1, 17))
