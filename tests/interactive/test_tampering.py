"""What a button carries and what a dialog brings back cannot be forged or replayed
elsewhere: property tests against a real plugin subprocess (tests/interactive/plugins/board).

An attacker is a logged-in user: they can copy a button into a post of their own (the
server then sends its context with *their* post's id), or POST anything to the plugin's
URL themselves (the server sets only ``Mattermost-User-Id``). Every test here has the
untampered request accepted first, so a refusal means the tampering was noticed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mattermost_plugin.host.fake_server import FakeAppError
from mattermost_plugin.interactive import KEY_NAME
from mattermost_plugin.interactive._signing import sign, verify
from mattermost_plugin.testing import LocalMattermost

BOARD = Path(__file__).parent / "plugins" / "board"
PLUGIN_ID = "com.example.board"


class Scene:
    """A running board plugin with one signed post, and what an attacker can see of it."""

    def __init__(self, local: LocalMattermost) -> None:
        self.local = local
        self.key = local.kv_get(KEY_NAME) or b""
        self.post_id = local.execute_command("/board post cats").text
        self.other_post_id = local.execute_command("/board post dogs").text
        self.up = local.actions(self.post_id)[0]
        self.token: str = self.up["integration"]["context"]["_sdk_token"]
        self.payload = verify(self.key, self.token)

    def body(self, **changes: Any) -> dict[str, Any]:
        body = {
            "user_id": self.local.user.id,
            "channel_id": self.local.channel.id,
            "post_id": self.post_id,
            "type": "button",
            "context": {"_sdk_token": self.token},
        }
        body.update(changes)
        return body

    def send(self, body: dict[str, Any], action: str = "vote", user: str | None = None) -> int:
        answer = self.local.post(
            f"/_sdk/actions/{action}", json_body=body, user=user or self.local.user.id
        )
        return answer.status_code


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    with LocalMattermost(BOARD, hook_timeout=10.0) as local:
        ready = Scene(local)
        assert ready.send(ready.body()) == 200  # the untampered request is accepted
        yield ready


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@given(
    part=st.sampled_from(["payload", "signature"]),
    position=st.integers(min_value=0, max_value=10_000),
    replacement=st.characters(codec="ascii", categories=["L", "N", "P"]),
)
def test_any_change_to_a_token_is_refused(
    scene: Scene, part: str, position: int, replacement: str
) -> None:
    body, signature = scene.token.split(".")
    target = body if part == "payload" else signature
    index = position % len(target)
    changed = target[:index] + replacement + target[index + 1 :]
    tampered = f"{changed}.{signature}" if part == "payload" else f"{body}.{changed}"
    status = scene.send(scene.body(context={"_sdk_token": tampered}))
    if tampered == scene.token:
        assert status == 200
    else:
        assert status == 403


@given(
    field=st.sampled_from(["p", "a", "i", "ch", "po", "au", "c", "t"]),
    value=st.one_of(st.text(max_size=30), st.integers(), st.none()),
)
def test_a_token_signed_with_the_key_for_something_else_is_refused(
    scene: Scene, field: str, value: object
) -> None:
    """Even one signed with the plugin's own key: another plugin, action, button id,
    channel, post, author, context or purpose than the button's is refused."""
    payload = {**scene.payload, field: value}
    status = scene.send(scene.body(context={"_sdk_token": sign(scene.key, payload)}))
    assert status == (200 if payload == scene.payload else 403)


@given(key=st.binary(min_size=32, max_size=32))
def test_a_token_signed_with_another_key_is_refused(scene: Scene, key: bytes) -> None:
    status = scene.send(scene.body(context={"_sdk_token": sign(key, scene.payload)}))
    assert status == (200 if key == scene.key else 403)


@given(
    field=st.sampled_from(["post_id", "channel_id"]),
    value=st.one_of(st.text(max_size=30), st.sampled_from(["<other post>"])),
)
def test_the_request_must_name_the_post_and_channel_signed(
    scene: Scene, field: str, value: str
) -> None:
    if value == "<other post>":  # a real post by the same author in the same channel
        value = scene.other_post_id
    body = scene.body(**{field: value})
    expected = 200 if body == scene.body() else 403
    assert scene.send(body) == expected


def test_the_action_in_the_url_must_be_the_signed_one(scene: Scene) -> None:
    assert scene.send(scene.body(), action="raw") == 403
    assert scene.send(scene.body(), action="vote") == 200


def test_missing_and_malformed_tokens_are_refused(scene: Scene) -> None:
    for context in ({}, {"_sdk_token": None}, {"_sdk_token": 3}, {"_sdk_token": "a.b.c"}):
        assert scene.send(scene.body(context=context)) == 403
    assert scene.send(scene.body(context={"_sdk_token": "." + scene.token})) == 403


def test_a_button_copied_into_another_post_is_refused_and_logged(scene: Scene) -> None:
    local = scene.local
    mallory = local.create_user("mallory")
    original = local.get_post(scene.post_id)
    records = []
    for channel in (local.channel, local.resolve_channel("off-topic")):
        local.add_to_channel(mallory, channel)
        copy = local.create_post(channel, "free votes", user=mallory, props=original.props)
        mark = local.logs.total
        with pytest.raises(FakeAppError) as refused:
            local.click(copy.id, "Up", user=mallory)
        assert refused.value.message == "status=403"
        # The plugin's stderr is read on a thread: the warning may arrive just after.
        records.append(
            local.wait_for_log("refused a action request for 'vote'", level="warn", since=mark)
        )
    reasons = [r.message for r in records]
    assert "another author or channel" in reasons[0], reasons
    assert "another channel" in reasons[1], reasons
    assert all(r.fields["user_id"] == mallory.id for r in records)
    assert all(
        scene.token not in r.message and scene.token not in json.dumps(r.fields) for r in records
    )
    # The original still works, for anyone who can see it.
    assert local.click(scene.post_id, "Up", user=mallory).ephemeral_text.startswith(mallory.id)


# -- dialog states ----------------------------------------------------------------------------


def _submission(scene: Scene) -> dict[str, Any]:
    local = scene.local
    local.execute_command("/board poll")
    opened = local.dialogs()[-1]
    assert opened.request.dialog is not None
    return {
        "url": opened.request.url,
        "callback_id": "poll",
        "state": opened.request.dialog.state,
        "submission": {"question": "q", "due": "2030-01-01", "size": "m"},
    }


@pytest.fixture(scope="module")
def submission(scene: Scene) -> dict[str, Any]:
    found = _submission(scene)
    answer = scene.local.post("/_sdk/dialogs/poll", json_body=found, user=scene.local.user.id)
    assert answer.status_code == 200 and answer.json() == {}
    return found


@given(
    field=st.sampled_from(["t", "p", "d", "u", "s", "e", "n"]),
    value=st.one_of(st.text(max_size=20), st.booleans(), st.lists(st.integers(), max_size=2)),
)
def test_a_dialog_state_signed_for_something_else_is_refused(
    scene: Scene, submission: dict[str, Any], field: str, value: object
) -> None:
    payload = verify(scene.key, submission["state"])
    changed = {**payload, field: value}
    body = {**submission, "state": sign(scene.key, changed)}
    answer = scene.local.post("/_sdk/dialogs/poll", json_body=body, user=scene.local.user.id)
    if changed == payload or field in ("s", "n") or (field == "u" and not value):
        # The same, the plugin's own state, the cancel flag, or a dialog bound to nobody.
        assert answer.status_code == 200
    elif field == "e" and value == []:  # no elements: the form's fields are all missing
        assert answer.status_code == 200
        assert answer.json()["error"].startswith("question: Field required")
    else:
        assert answer.status_code == 403


@given(state=st.text(max_size=200))
def test_a_forged_dialog_state_is_refused(
    scene: Scene, submission: dict[str, Any], state: str
) -> None:
    body = {**submission, "state": state}
    answer = scene.local.post("/_sdk/dialogs/poll", json_body=body, user=scene.local.user.id)
    assert answer.status_code == (200 if state == submission["state"] else 403)


def test_a_dialog_state_cannot_be_used_for_another_dialog_or_key(
    scene: Scene, submission: dict[str, Any]
) -> None:
    other = {**submission, "callback_id": "other"}
    assert scene.local.post("/_sdk/dialogs/poll", json_body=other, user="u").status_code == 403
    payload = verify(scene.key, submission["state"])
    resigned = {**submission, "state": sign(os.urandom(32), payload)}
    assert scene.local.post("/_sdk/dialogs/poll", json_body=resigned, user="u").status_code == 403
    # A state this plugin signed for a button is not a dialog state either.
    as_state = {**submission, "state": scene.token}
    assert scene.local.post("/_sdk/dialogs/poll", json_body=as_state, user="u").status_code == 403
