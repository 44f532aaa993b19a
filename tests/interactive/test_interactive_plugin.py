"""Buttons, menus and dialogs in a real plugin subprocess, through LocalMattermost and the
pytest plugin: every kind of answer the server applies, typed contexts and forms, the
plugin's own routes beside the reserved prefix, and failures (tests/interactive/plugins)."""

from __future__ import annotations

import json

import pytest

from mattermost_plugin.host.fake_server import FakeAppError
from mattermost_plugin.interactive import KEY_NAME
from mattermost_plugin.testing import ANONYMOUS, LocalMattermost

pytestmark = pytest.mark.mattermost_plugin("plugins/board", hook_timeout=10.0)


def board(mattermost: LocalMattermost, topic: str = "cats") -> str:
    return mattermost.execute_command(f"/board post {topic}").text


def test_the_key_is_made_on_activation_and_the_hooks_listed(mattermost: LocalMattermost) -> None:
    key = mattermost.kv_get(KEY_NAME)
    assert key is not None and len(key) == 32
    hooks = [h for h in mattermost.supervisor.implemented if h != "Implemented"]
    assert hooks == ["OnActivate", "ExecuteCommand", "ServeHTTP"]


def test_buttons_carry_signed_typed_contexts(mattermost: LocalMattermost) -> None:
    post_id = board(mattermost)
    actions = mattermost.actions(post_id)
    assert [a["name"] for a in actions] == ["Up", "Down", "Weight", "Raw", "Edit", "Boom", "Retire"]
    up = actions[0]
    assert up["type"] == "button" and up["style"] == "good"
    assert up["id"].isalnum() and len({a["id"] for a in actions}) == len(actions)
    assert up["integration"]["url"] == "/plugins/com.example.board/_sdk/actions/vote"
    assert list(up["integration"]["context"]) == ["_sdk_token"]

    clicked = mattermost.click(post_id, "Up")
    user, channel = mattermost.user.id, mattermost.channel.id
    expected = f"{user} voted +1 on cats (Board: cats, {channel}, {up['id']})"
    assert clicked.ephemeral_text == expected
    assert clicked.api.status == "OK" and clicked.trigger_id
    assert clicked.request.user_name == "admin" and clicked.request.team_domain == "local"
    # The ephemeral text reached only the user who clicked, in the post's channel.
    assert clicked.ephemeral is not None and clicked.ephemeral.channel_id == channel
    assert mattermost.ephemeral_posts(user)[-1].message == expected
    # A dict context validates into the handler's model too.
    assert "voted -1 on cats" in mattermost.click(post_id, "Down").ephemeral_text
    # Numbers, lists and nulls come back as they went (the server's JSON is not ours).
    assert mattermost.click(post_id, "Raw").ephemeral_text == "{'n': 1.5, 'list': [1, 'a', None]}"


def test_a_menu_gets_the_selected_option(mattermost: LocalMattermost) -> None:
    post_id = board(mattermost)
    menu = next(a for a in mattermost.actions(post_id) if a["name"] == "Weight")
    assert menu["type"] == "select"
    assert menu["options"] == [{"text": v, "value": v} for v in ("1", "2", "3")]
    answer = mattermost.click(post_id, menu["id"], selected_option="2")
    assert answer.ephemeral_text == "cats weighs 2 (select)"  # an async def handler
    assert answer.request.context["selected_option"] == "2"


def test_the_acting_user_is_who_clicked(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    post_id = board(mattermost)
    answer = mattermost.click(post_id, "Up", user=alice)
    assert answer.ephemeral_text.startswith(f"{alice.id} voted +1")
    assert mattermost.ephemeral_posts(alice)[-1].message == answer.ephemeral_text


def test_an_update_replaces_the_attachments_and_keeps_the_post(
    mattermost: LocalMattermost,
) -> None:
    post_id = board(mattermost)
    before = mattermost.get_post(post_id)
    answer = mattermost.click(post_id, "Edit")
    assert answer.ephemeral_text == "edited"
    after = mattermost.get_post(post_id)
    assert after.message == before.message == "Board: cats"
    assert (after.id, after.channel_id, after.user_id, after.create_at) == (
        before.id,
        before.channel_id,
        before.user_id,
        before.create_at,
    )
    assert [a["name"] for a in mattermost.actions(post_id)] == ["Edit"]
    assert after.props["attachments"][0]["text"] == "only edit"
    # The new button is signed for the same post, and works.
    assert mattermost.click(post_id, "Edit").ephemeral_text == "edited"


def test_retire_updates_opens_a_dialog_and_sends_the_client_elsewhere(
    mattermost: LocalMattermost,
) -> None:
    post_id = board(mattermost)
    answer = mattermost.click(post_id, "Retire")
    assert answer.api.goto_location == "https://example.com/r"
    assert mattermost.get_post(post_id).message == "cats: retired"
    assert mattermost.actions(post_id) == []  # the update had no attachments
    opened = mattermost.dialogs()[-1]
    assert opened.user_id == mattermost.user.id
    assert opened.trigger_id == answer.trigger_id  # the click's trigger id opened it
    assert opened.request.dialog is not None and opened.request.dialog.title == "Retire?"


def test_a_failing_handler_answers_in_words_and_logs(mattermost: LocalMattermost) -> None:
    post_id = board(mattermost)
    mark = mattermost.logs.total
    answer = mattermost.click(post_id, "Boom")
    assert answer.ephemeral_text == (
        "The action failed: an error occurred in the plugin. It has been logged."
    )
    record = mattermost.wait_for_log("the boom button exploded", level="error", since=mark)
    assert "BoardPlugin.boom (@action 'boom')" in record.message
    assert mattermost.running


def test_ephemeral_posts_are_bound_to_their_id(mattermost: LocalMattermost) -> None:
    post_id = mattermost.execute_command("/board mine dogs").text
    assert len(post_id) == 26
    assert mattermost.posts() == []  # ephemeral: not stored as a post
    assert "voted +1 on dogs (?, " in mattermost.click(post_id, "Up").ephemeral_text
    updated = mattermost.click(post_id, "Edit").updated
    assert updated is not None and updated.message == "Edited: dogs" and updated.id == post_id
    assert [a["name"] for a in mattermost.actions(post_id)] == ["Edit"]
    assert mattermost.click(post_id, "Edit").updated is not None
    # Another user cannot click someone's ephemeral post.
    bob = mattermost.create_user("bob")
    with pytest.raises(FakeAppError) as refused:
        mattermost.click(post_id, "Edit", user=bob)
    assert refused.value.status_code == 400


def test_the_plugins_own_routes_keep_working(mattermost: LocalMattermost) -> None:
    assert mattermost.get("/anything").text == "own route"
    assert mattermost.get("/_sdkish").text == "own route"
    # The reserved prefix: POST only, known names only, a session required.
    assert mattermost.get("/_sdk/actions/vote").status_code == 405
    unknown = mattermost.post("/_sdk/actions/nope", json_body={}, user=mattermost.user)
    assert unknown.status_code == 404 and "no @action handler named 'nope'" in unknown.text
    anonymous = mattermost.post("/_sdk/actions/vote", json_body={}, user=ANONYMOUS)
    assert anonymous.status_code == 401
    garbage = mattermost.post("/_sdk/dialogs/poll", body="{", user=mattermost.user)
    assert garbage.status_code == 400
    big = mattermost.post("/_sdk/actions/vote", body=b"x" * (1024 * 1024 + 1), user="u")
    assert big.status_code == 413


# -- dialogs ----------------------------------------------------------------------------------


def test_a_dialog_opens_from_a_command_and_submits_typed_values(
    mattermost: LocalMattermost,
) -> None:
    assert mattermost.execute_command("/board poll lunch").text == ""
    opened = mattermost.dialogs(mattermost.user)[-1]
    dialog = opened.request.dialog
    assert dialog is not None and dialog.callback_id == "poll" and dialog.title == "New poll"
    assert opened.request.url == "/plugins/com.example.board/_sdk/dialogs/poll"
    kinds = [(e.name, e.type, e.subtype) for e in dialog.elements]
    assert kinds[:3] == [
        ("question", "text", "text"),
        ("due", "text", "text"),
        ("votes", "text", "number"),
    ]
    assert [e.type for e in dialog.elements[3:]] == ["bool", "radio", "select", "textarea"]
    assert dialog.elements[5].data_source == "users"

    alice = mattermost.create_user("alice")
    answer = mattermost.submit_dialog(
        {"question": "Lunch?", "due": "2030-05-01", "votes": 3, "urgent": True, "owner": alice.id}
    )
    assert answer.errors == {} and answer.error == ""
    stored = json.loads(mattermost.kv_get("poll") or b"{}")
    assert stored["poll"] == {
        "question": "Lunch?",
        "due": "2030-05-01",
        "votes": 3,
        "urgent": True,
        "size": "m",  # the radio's default, as the webapp sends it
        "owner": alice.id,
    }
    assert stored["state"] == {"topic": "lunch"}
    assert stored["user"] == mattermost.user.id
    assert stored["values"]["notes"] is None


def test_field_errors_keep_the_dialog_open(mattermost: LocalMattermost) -> None:
    mattermost.execute_command("/board poll")
    # The element checks, as the webapp makes them, before any model.
    answer = mattermost.submit_dialog({"question": "", "due": "x", "votes": "many", "notes": "ab"})
    assert answer.errors == {
        "question": "This field is required.",
        "votes": "Must be a number.",
        "notes": "Must be at least 3 characters.",
    }
    assert mattermost.submit_dialog({"question": "q" * 41, "due": "x"}).errors == {
        "question": "Must be at most 40 characters."
    }
    # The model's own validation, per field.
    answer = mattermost.submit_dialog({"question": "LOUD!", "due": "soon"})
    assert answer.errors["question"] == "no shouting"
    assert answer.errors["due"].startswith("Input should be a valid date")
    # The handler's own answers.
    assert mattermost.submit_dialog({"question": "q", "due": "1999-12-31"}).errors == {
        "due": "too long ago"
    }
    assert mattermost.submit_dialog({"question": "error", "due": "2030-01-01"}).error == (
        "general trouble"
    )
    assert mattermost.kv_get("poll") is None


def test_cancelling_reaches_the_handler_only_when_asked(mattermost: LocalMattermost) -> None:
    mattermost.execute_command("/board poll")
    assert mattermost.submit_dialog(cancelled=True).errors == {}
    assert mattermost.kv_get("poll-cancelled") is None
    mattermost.execute_command("/board poll notify")
    assert mattermost.dialogs()[-1].request.dialog.notify_on_cancel  # type: ignore[union-attr]
    mattermost.submit_dialog(cancelled=True)
    assert mattermost.kv_get("poll-cancelled") == mattermost.user.id.encode()


def test_a_dialog_opened_for_one_user_refuses_another(mattermost: LocalMattermost) -> None:
    mattermost.execute_command("/board poll")
    opened = mattermost.dialogs()[-1]
    mallory = mattermost.create_user("mallory")
    mark = mattermost.logs.total
    with pytest.raises(FakeAppError) as refused:
        mattermost.submit_dialog(
            {"question": "q", "due": "2030-01-01"}, dialog=opened, user=mallory
        )
    assert refused.value.message == "status=403"
    record = mattermost.wait_for_log("refused a dialog request", level="warn", since=mark)
    assert "opened for another user" in record.message
    assert record.fields["user_id"] == mallory.id
