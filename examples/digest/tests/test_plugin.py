"""Tests for the digest plugin: the summary on its own, then the daily job in the plugin
process, a day passing in a second by moving the clock."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from mattermost_plugin.models import Post
from mattermost_plugin.testing import LocalMattermost  # the `mattermost` fixture's type

from plugin import DIGEST_TIME, MAX_QUOTED, summarize  # server/ is on sys.path: see pyproject.toml

pytestmark = pytest.mark.mattermost_plugin("..")  # the plugin folder, from this file

DAY = datetime(2031, 5, 1, 8, tzinfo=timezone.utc)


def test_summary_counts_authors_and_quotes_first_lines() -> None:
    posts = [
        Post(user_id="a", message="Release is out\nDetails inside", create_at=2),
        Post(user_id="b", message="🎉", create_at=3),
        Post(user_id="a", message="x" * 100, create_at=1),
    ]
    text = summarize(DAY, posts, {"a": "alice", "b": "bob"})
    assert text.splitlines() == [
        "#### Daily digest for Thursday, May 1, 2031",
        "3 posts by @alice (2), @bob (1).",
        "",
        f"- **@alice**: {'x' * 79}…",
        "- **@alice**: Release is out",
        "- **@bob**: 🎉",
    ]


def test_summary_of_a_quiet_day_and_of_a_busy_one() -> None:
    assert summarize(DAY, [], {}).endswith("\nNo posts that day.")
    busy = [Post(user_id="a", message=f"post {i}", create_at=i) for i in range(MAX_QUOTED + 3)]
    text = summarize(DAY, busy, {"a": "alice"})
    assert text.splitlines()[1] == f"{MAX_QUOTED + 3} posts by @alice ({MAX_QUOTED + 3})."
    assert text.endswith("- … and 3 more")


def digests(mattermost: LocalMattermost, bot_id: str) -> list[Post]:
    return [post for post in mattermost.posts() if post.user_id == bot_id]


def wait_for_digests(mattermost: LocalMattermost, bot_id: str, count: int) -> list[Post]:
    deadline = time.monotonic() + 15
    while len(found := digests(mattermost, bot_id)) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} digests after 15 s"
        time.sleep(0.05)
    return found


def test_a_day_later_the_bot_posts_the_digest_once(mattermost: LocalMattermost) -> None:
    bot_id = mattermost.wait_for_log("digest bot ready").fields["bot_id"]
    ada = mattermost.create_user("ada")
    for text, user in [("Good morning!", ada), ("Standup in 5", ada), ("Shipping today", None)]:
        mattermost.create_post(None, text, user=user)  # None: the default user, admin
        time.sleep(0.01)  # one post per millisecond: the digest lists them in order
    time.sleep(0.5)
    assert digests(mattermost, bot_id) == []  # the first digest is due at the next 08:00

    mattermost.clock.advance(timedelta(days=1))
    (digest,) = wait_for_digests(mattermost, bot_id, 1)
    lines = digest.message.splitlines()
    assert lines[1] == "3 posts by @ada (2), @admin (1)."
    assert lines[3:] == [
        "- **@ada**: Good morning!",
        "- **@ada**: Standup in 5",
        "- **@admin**: Shipping today",
    ]
    state = json.loads(mattermost.kv_get("_jobs:post_digest") or b"{}")
    assert state["runs"] == 1
    assert state["next_run"] % 86400 == DIGEST_TIME.total_seconds()  # 08:00 UTC, daily
    time.sleep(1)
    assert len(digests(mattermost, bot_id)) == 1  # once a day, however often it looks

    mattermost.clock.advance(timedelta(days=1))
    quiet = wait_for_digests(mattermost, bot_id, 2)[1]
    assert quiet.message.endswith("No posts that day.")  # its own digest does not count
