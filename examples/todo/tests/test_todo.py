"""Tests for To do: the list's logic on its own, then the whole plugin as the server runs it
(commands, the Done button, the add dialog and the web route), with the SDK's pytest plugin."""

from __future__ import annotations

import datetime

import pytest
from mattermost_plugin.commands import UsageError
from mattermost_plugin.testing import ANONYMOUS, LocalMattermost

from plugin import TodoList, parse_due  # server/ is on sys.path: see pyproject.toml


def test_the_list_numbers_items_and_completes_them() -> None:
    todo = TodoList()
    todo.add("milk", None)
    todo.add("bread", datetime.date(2030, 1, 31))
    assert todo.complete(1).done
    assert [item.line() for item in todo.open_items()] == ["#2 bread (due 2030-01-31)"]
    with pytest.raises(LookupError, match="There is no item #9."):
        todo.complete(9)


def test_due_dates_are_checked() -> None:
    assert parse_due("2030-01-31") == datetime.date(2030, 1, 31)
    assert parse_due(None) is None
    with pytest.raises(UsageError, match="expected a date like 2030-01-31"):
        parse_due("tomorrow")


def test_add_list_and_done_with_commands(mattermost: LocalMattermost) -> None:
    assert mattermost.execute_command("/todo add buy milk").text == "Added #1 buy milk"
    answer = mattermost.execute_command("/todo add --due 2030-01-31 call the plumber")
    assert answer.text == "Added #2 call the plumber (due 2030-01-31)"
    assert mattermost.execute_command("/todo done 1").text == "Done: ~~#1 buy milk~~"
    assert mattermost.execute_command("/todo done 7").text.startswith("There is no item #7.")
    assert mattermost.execute_command("/todo add --due soon x").text.startswith("Invalid due:")


def test_the_done_button_completes_an_item(mattermost: LocalMattermost) -> None:
    mattermost.execute_command("/todo add buy milk")
    mattermost.execute_command("/todo add walk the dog")
    mattermost.execute_command("/todo list")
    listing = mattermost.ephemeral_posts(mattermost.user)[-1]
    assert listing.message == "You have 2 open item(s)."
    assert [a["text"] for a in listing.props["attachments"]] == ["#1 buy milk", "#2 walk the dog"]

    buttons = mattermost.actions(listing)
    clicked = mattermost.click(listing, buttons[0]["id"])
    assert clicked.updated is not None
    assert clicked.updated.message == "You have 1 open item(s)."
    assert [a["text"] for a in clicked.updated.props["attachments"]] == ["#2 walk the dog"]
    assert [item["done"] for item in mattermost.get("/items", user=mattermost.user).json()] == [
        True,
        False,
    ]
    # The list shown again has its own, working button.
    last = mattermost.click(listing, "Done").updated
    assert last is not None and last.message == "Nothing to do."
    assert mattermost.actions(listing) == []


def test_other_users_have_their_own_lists(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    mattermost.execute_command("/todo add mine")
    assert mattermost.get("/items", user=alice).json() == []
    assert mattermost.get("/items", user=ANONYMOUS).status_code == 401  # no session, no list


def test_the_add_dialog(mattermost: LocalMattermost) -> None:
    assert mattermost.execute_command("/todo add").text == ""
    dialog = mattermost.dialogs(mattermost.user)[-1].request.dialog
    assert dialog is not None and dialog.title == "Add an item"

    assert mattermost.submit_dialog({"title": ""}).errors == {"title": "This field is required."}
    wrong = mattermost.submit_dialog({"title": "taxes", "due": "someday"})
    assert wrong.errors["due"].startswith("Input should be a valid date")
    past = mattermost.submit_dialog({"title": "taxes", "due": "2001-01-01"})
    assert past.errors == {"due": "That date has passed."}

    closed = mattermost.submit_dialog({"title": "taxes", "due": "2099-04-15"})
    assert closed.errors == {} and closed.error == ""
    assert mattermost.ephemeral_posts(mattermost.user)[-1].message == (
        "Added #1 taxes (due 2099-04-15)"
    )
    items = mattermost.get("/items", user=mattermost.user).json()
    assert items == [{"id": 1, "title": "taxes", "due": "2099-04-15", "done": False}]
