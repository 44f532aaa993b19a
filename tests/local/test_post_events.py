"""LocalMattermost's edit, delete, reaction and preference flows, against a real plugin
subprocess (tests/local/plugins/post_events) that records what its hooks got in its KV store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mattermost_plugin.host.fake_server import FakeAppError
from mattermost_plugin.models import Preference
from mattermost_plugin.testing import LocalMattermost, PostRejectedError, local_mattermost

WORKBENCH = Path(__file__).parent / "plugins" / "workbench"
pytestmark = pytest.mark.mattermost_plugin("plugins/post_events", hook_timeout=2.0)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def recorded(mm: LocalMattermost, key: str) -> list[dict[str, Any]]:
    raw = mm.kv_get(key)
    entries: list[dict[str, Any]] = json.loads(raw) if raw else []
    return entries


def events(mm: LocalMattermost, hook: str) -> list[dict[str, Any]]:
    return [e for e in recorded(mm, "events") if e["hook"] == hook]


# --- update_post -------------------------------------------------------------------------


def test_update_post_runs_the_update_hooks_with_new_and_old(mattermost: LocalMattermost) -> None:
    post = mattermost.create_post(None, "first draft", props={"kept": "yes"})
    updated = mattermost.update_post(post.id, "second draft")

    assert updated.id == post.id and updated.message == "second draft"
    assert updated.edit_at > 0 and updated.update_at >= updated.edit_at
    assert updated.create_at == post.create_at and updated.props == {"kept": "yes"}
    assert mattermost.get_post(post.id) == updated

    (will,) = recorded(mattermost, "will_be_updated")
    assert will["request_id"]
    assert will["new"]["id"] == will["old"]["id"] == post.id
    assert will["new"]["message"] == "second draft" and will["new"]["edit_at"] > 0
    assert will["old"]["message"] == "first draft" and will["old"]["edit_at"] == 0
    # The server's Python host sends posts to "will be" hooks without props.
    assert will["new"]["props"] == {} and will["old"]["props"] == {}

    # MessageHasBeenUpdated ran before update_post returned, with the stored post.
    (has,) = events(mattermost, "updated")
    assert has["new"]["message"] == "second draft" and has["new"]["props"] == {"kept": "yes"}
    assert has["new"]["edit_at"] == updated.edit_at
    assert has["old"]["message"] == "first draft" and has["old"]["edit_at"] == 0


def test_update_post_takes_only_the_editable_fields(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    post = mattermost.create_post(None, "pin me", user=alice)
    edit = post.model_copy(
        update={"is_pinned": True, "user_id": mattermost.user.id, "channel_id": "x" * 26}
    )
    updated = mattermost.update_post(edit)
    assert updated.is_pinned and updated.message == "pin me"
    assert updated.edit_at == 0  # the message, files and attachments did not change
    assert (updated.user_id, updated.channel_id) == (alice.id, post.channel_id)

    updated = mattermost.update_post(post.id, props={"attachments": [{"text": "hi"}]})
    assert updated.edit_at > 0 and updated.props == {"attachments": [{"text": "hi"}]}
    assert updated.is_pinned  # unchanged: the stored post is the base of an edit by id

    with pytest.raises(FakeAppError) as missing:
        mattermost.update_post("x" * 26, "nothing here")
    assert missing.value.status_code == 404
    assert len(recorded(mattermost, "will_be_updated")) == 2


def test_update_post_rejected_stores_nothing(mattermost: LocalMattermost) -> None:
    post = mattermost.create_post(None, "original")
    with pytest.raises(PostRejectedError, match="edits to 'reject' are refused") as rejected:
        mattermost.update_post(post.id, "reject")
    assert rejected.value.reason == "edits to 'reject' are refused"
    assert rejected.value.post.message == "reject"
    stored = mattermost.get_post(post.id)
    assert stored.message == "original" and stored.edit_at == 0
    assert stored.update_at == post.update_at
    mattermost.wait_for_hooks()
    assert events(mattermost, "updated") == []


def test_update_post_stores_the_modified_post(mattermost: LocalMattermost) -> None:
    post = mattermost.create_post(None, "quiet")
    updated = mattermost.update_post(post.id, "shout louder")
    assert updated.message == "LOUDER" and updated.edit_at > 0
    assert mattermost.get_post(post.id).message == "LOUDER"
    (has,) = events(mattermost, "updated")
    assert (has["new"]["message"], has["old"]["message"]) == ("LOUDER", "quiet")


def test_update_post_fails_open(mattermost: LocalMattermost) -> None:
    post = mattermost.create_post(None, "steady")

    # The handler raises: the SDK answers "no change", the edit goes through.
    assert mattermost.update_post(post.id, "raise").message == "raise"

    # The handler passes the hook deadline: the edit goes through when the deadline ends.
    started = time.monotonic()
    assert mattermost.update_post(post.id, "slow edit").message == "slow edit"
    assert time.monotonic() - started < 3.0
    assert [e["new"]["message"] for e in events(mattermost, "updated")] == ["raise", "slow edit"]

    # The plugin crashes in the hook: the call fails on the transport, the host lets the
    # edit through, and the health checks restart the plugin.
    first_pid = mattermost.supervisor.pid
    updated = mattermost.update_post(post.id, "crash")
    assert updated.message == "crash" and mattermost.get_post(post.id).message == "crash"
    assert any(
        e.message.startswith("MessageWillBeUpdated → failed") and "fail open" in e.message
        for e in mattermost.events
    )
    wait_until(lambda: mattermost.running and mattermost.supervisor.pid != first_pid)
    assert mattermost.update_post(post.id, "shout back").message == "BACK"


# --- delete_post -------------------------------------------------------------------------


def test_delete_post_runs_message_has_been_deleted(mattermost: LocalMattermost) -> None:
    root = mattermost.create_post(None, "root")
    reply = mattermost.create_post(None, "reply", root_id=root.id)
    deleted = mattermost.delete_post(root.id)
    assert deleted.id == root.id and deleted.delete_at > 0

    (event,) = events(mattermost, "deleted")
    assert event["post"]["id"] == root.id and event["post"]["message"] == "root"
    assert event["post"]["delete_at"] == deleted.delete_at
    assert event["post"]["channel_id"] == mattermost.channel.id

    # Stored as the API's DeletePost stores it: gone from reads, its thread with it.
    assert mattermost.posts() == []
    assert {p.id for p in mattermost.posts(include_deleted=True)} == {root.id, reply.id}
    with pytest.raises(FakeAppError) as again:
        mattermost.delete_post(root.id)
    assert again.value.status_code == 404
    assert len(events(mattermost, "deleted")) == 1


# --- reactions ---------------------------------------------------------------------------


def test_reactions_run_their_hooks(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    post = mattermost.create_post(None, "react to me")

    reaction = mattermost.add_reaction(post, "thumbsup", user=alice)
    assert (reaction.user_id, reaction.post_id, reaction.emoji_name) == (
        alice.id,
        post.id,
        "thumbsup",
    )
    assert reaction.create_at > 0
    assert mattermost.get_post(post.id).has_reactions
    assert [r.emoji_name for r in mattermost.reactions(post)] == ["thumbsup"]
    (added,) = events(mattermost, "reaction_added")
    assert added["reaction"] == {
        "user_id": alice.id,
        "post_id": post.id,
        "emoji_name": "thumbsup",
        "channel_id": mattermost.channel.id,
        "create_at": reaction.create_at,
        "delete_at": 0,
    }

    mattermost.remove_reaction(post.id, "thumbsup", user=alice)
    assert mattermost.reactions(post) == []
    assert not mattermost.get_post(post.id).has_reactions
    (removed,) = events(mattermost, "reaction_removed")
    assert removed["reaction"]["user_id"] == alice.id
    assert removed["reaction"]["post_id"] == post.id
    assert removed["reaction"]["emoji_name"] == "thumbsup"
    assert removed["reaction"]["delete_at"] > 0

    with pytest.raises(FakeAppError) as invalid:
        mattermost.add_reaction(post, ":not valid:")
    assert invalid.value.status_code == 400
    with pytest.raises(FakeAppError) as missing:
        mattermost.add_reaction("x" * 26, "smile")
    assert missing.value.status_code == 404
    assert len(events(mattermost, "reaction_added")) == 1


def test_background_hooks_with_wait_false(mattermost: LocalMattermost) -> None:
    post = mattermost.create_post(None, "later")
    mattermost.add_reaction(post, "eyes", wait=False)
    mattermost.update_post(post.id, "later, edited", wait=False)
    mattermost.delete_post(post.id, wait=False)
    mattermost.wait_for_hooks()
    assert sorted(e["hook"] for e in recorded(mattermost, "events")) == [
        "deleted",
        "reaction_added",
        "updated",
    ]


# --- preferences -------------------------------------------------------------------------


def test_set_preferences_runs_preferences_have_changed(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    saved = mattermost.set_preferences(
        [
            {"category": "display_settings", "name": "use_military_time", "value": "true"},
            Preference(category="theme", name="", value='{"type": "Onyx"}'),
        ],
        user=alice,
    )
    assert [(p.user_id, p.category) for p in saved] == [
        (alice.id, "display_settings"),
        (alice.id, "theme"),
    ]
    assert (
        mattermost.api.get_preference_for_user(
            alice.id, "display_settings", "use_military_time"
        ).value
        == "true"
    )
    assert [p.category for p in mattermost.preferences(alice)] == ["display_settings", "theme"]
    (event,) = events(mattermost, "preferences")
    assert event["preferences"] == [
        {
            "user_id": alice.id,
            "category": "display_settings",
            "name": "use_military_time",
            "value": "true",
        },
        {"user_id": alice.id, "category": "theme", "name": "", "value": '{"type": "Onyx"}'},
    ]

    # Another user's preference is refused, and nothing is saved or announced.
    with pytest.raises(FakeAppError) as refused:
        mattermost.set_preferences(
            [Preference(user_id=mattermost.user.id, category="theme", value="x")], user=alice
        )
    assert refused.value.status_code == 403
    assert mattermost.preferences(mattermost.user) == []
    assert len(events(mattermost, "preferences")) == 1


# --- a plugin without these hooks ----------------------------------------------------------


def test_flows_without_the_hooks_call_none(tmp_path: Path) -> None:
    with local_mattermost(WORKBENCH, hook_timeout=5.0) as mm:
        post = mm.create_post(None, "hello")
        assert mm.update_post(post.id, "shout edited").message == "shout edited"
        mm.add_reaction(post, "smile")
        mm.remove_reaction(post, "smile")
        mm.set_preferences([{"category": "theme", "name": "", "value": "dark"}])
        mm.delete_post(post)
        mm.wait_for_hooks()
        called = {e.message.split(" → ")[0] for e in mm.events if e.kind == "hook"}
        assert called.isdisjoint(
            {
                "MessageWillBeUpdated",
                "MessageHasBeenUpdated",
                "MessageHasBeenDeleted",
                "ReactionHasBeenAdded",
                "ReactionHasBeenRemoved",
                "PreferencesHaveChanged",
            }
        )
        assert "MessageHasBeenPosted" in called
        assert mm.posts() == [] and mm.reactions(post) == []
