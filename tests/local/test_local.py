"""LocalMattermost: the server's flows around a real plugin subprocess (tests/local/plugins)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mattermost_plugin import NotFoundError
from mattermost_plugin.host.fake_server import FakeAppError
from mattermost_plugin.models import CommandArgs, Post
from mattermost_plugin.testing import (
    CommandError,
    LocalMattermost,
    PostRejectedError,
    local_mattermost,
)

WORKBENCH = Path(__file__).parent / "plugins" / "workbench"
pytestmark = pytest.mark.mattermost_plugin("plugins/workbench", hook_timeout=5.0)


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_posts_run_the_message_hooks(mattermost: LocalMattermost) -> None:
    post = mattermost.create_post(None, "hello")
    assert post.user_id == mattermost.user.id and post.channel_id == mattermost.channel.id
    assert mattermost.kv_get("posts") == b"1"  # MessageHasBeenPosted ran before returning

    assert mattermost.create_post(None, "shout quiet please").message == "QUIET PLEASE"
    with pytest.raises(PostRejectedError, match="spam is not welcome") as rejected:
        mattermost.create_post(None, "SPAM!")
    assert rejected.value.reason == "spam is not welcome"
    warning = mattermost.wait_for_log("rejected spam", level="warn")
    assert warning.fields["user_id"] == mattermost.user.id
    assert [p.message for p in mattermost.posts()] == ["hello", "QUIET PLEASE"]

    # An invalid post fails like on the server, before any hook.
    with pytest.raises(FakeAppError) as invalid:
        mattermost.create_post("no-such-channel", "x")
    assert invalid.value.status_code == 404


def test_threads_and_posts_the_plugin_creates(mattermost: LocalMattermost) -> None:
    root = mattermost.create_post(None, "ping")
    thread = mattermost.api.get_post_thread(root.id)
    replies = [thread.posts[i] for i in thread.order if i != root.id]
    assert [(r.message, r.root_id) for r in replies] == [("pong", root.id)]
    # The bot's post ran the plugin's own message hooks, as on the server; the plugin tells
    # it apart by its bot's id and does not count it.
    reply = replies[0]
    assert mattermost.wait_for_log("own post").fields["post_id"] == reply.id
    mattermost.wait_for_hooks()
    assert mattermost.kv_get("posts") == b"1"
    assert mattermost.get_post(root.id).reply_count == 1


def test_slash_commands(mattermost: LocalMattermost) -> None:
    mattermost.create_post(None, "one")
    answer = mattermost.execute_command("/count")
    assert answer.text == "1 posts"
    args = answer.props
    assert args["team_id"] == mattermost.team.id and args["channel_id"] == mattermost.channel.id
    assert args["user_id"] == mattermost.user.id
    assert args["site_url"] == "http://localhost:8065" and len(args["trigger_id"]) == 26
    assert [p.message for p in mattermost.ephemeral_posts(mattermost.user)] == ["1 posts"]

    # An in_channel answer becomes a post, through the message hooks.
    mattermost.execute_command("/echo shout loud")
    assert mattermost.posts()[-1].message == "LOUD"

    with pytest.raises(CommandError) as missing:
        mattermost.execute_command("/nope")
    assert missing.value.status_code == 404

    # ExecuteSlashCommand from the API reaches the plugin's ExecuteCommand too.
    response = mattermost.api.execute_slash_command(
        CommandArgs(command="/count", channel_id=mattermost.channel.id, user_id=mattermost.user.id)
    )
    assert response.text.endswith("posts")


def test_users_channels_and_their_hooks(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    channel = mattermost.create_channel("dev", members=[alice])
    log = mattermost.wait_for_log("joined")
    assert log.fields["user_id"] == alice.id
    assert mattermost.api.get_channel_member(channel.id, alice.id).user_id == alice.id
    post = mattermost.create_post(channel, "from alice", user=alice)
    assert post.user_id == alice.id
    with pytest.raises(NotFoundError):
        mattermost.api.get_user("x" * 26)


def test_http_and_settings(mattermost: LocalMattermost) -> None:
    status = mattermost.get("/status", user=mattermost.user)
    assert status.status_code == 200
    assert status.json() == {"version": "v1", "posts": 0, "user": mattermost.user.id}
    assert mattermost.post("/echo", body=b"abc").body == b"abc"
    assert mattermost.get(f"/plugins/{mattermost.plugin_id}/status").status_code == 200
    with mattermost.stream("GET", "/stream") as response:
        assert list(response) == [b"tick 0\n", b"tick 1\n", b"tick 2\n"]

    mark = mattermost.logs.total
    mattermost.set_plugin_config({"mode": "strict"})
    assert mattermost.wait_for_log("configuration", since=mark).fields["config"] == {
        "mode": "strict"
    }
    # A failure reads as the server shows it (where, error id, detailed error), then the
    # plugin's traceback, its own frame first.
    with pytest.raises(RuntimeError) as failed:
        mattermost.set_plugin_config({"mode": "invalid"})
    first, origin, *traceback = str(failed.value).splitlines()
    assert first == (
        f"OnConfigurationChange failed: plugin {mattermost.plugin_id}: "
        "Workbench.on_configuration_change: plugin.hook.error, mode 'invalid' is not a mode"
    )
    assert re.search(
        r"workbench/server/plugin\.py:\d+ in on_configuration_change: "
        r"ValueError: mode 'invalid' is not a mode$",
        origin,
    ), origin
    assert traceback[-1] == "ValueError: mode 'invalid' is not a mode"


def test_crash_fails_open_and_the_plugin_comes_back(mattermost: LocalMattermost) -> None:
    first_pid = mattermost.supervisor.pid
    post = mattermost.create_post(None, "crash")  # the server keeps the post
    assert post.message == "crash"
    assert any("crashed (exit code 3)" in e.message for e in mattermost.events)
    wait_until(lambda: mattermost.running and mattermost.supervisor.pid != first_pid)
    with pytest.raises(PostRejectedError):
        mattermost.create_post(None, "spam")


def test_reload_keeps_the_old_version_on_a_broken_edit(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(WORKBENCH, tmp_path / "workbench"))
    source = folder / "server" / "plugin.py"
    with local_mattermost(folder, hook_timeout=5.0) as mm:
        mm.create_post(None, "before")
        source.write_text(
            source.read_text().replace("def on_activate(self)", "def on_activate(self")
        )
        assert not mm.reload()
        assert "SyntaxError" in (mm.last_error or "")
        assert mm.get("/status").json()["version"] == "v1"
        source.write_text(
            source.read_text()
            .replace('VERSION = "v1"', 'VERSION = "v2"')
            .replace("def on_activate(self", "def on_activate(self)")
        )
        assert mm.reload() and mm.generation == 2
        assert mm.get("/status").json() == {"version": "v2", "posts": 1, "user": mm.user.id}


def test_state_file_survives_restarts(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with local_mattermost(WORKBENCH, db=db) as mm:
        post = mm.create_post(None, "persist me")
        alice = mm.create_user("alice")
        mm.api.kv_set("expiring", b"soon", expires_in=1)
        mm.api.kv_set("kept", b"forever")
        user_id = mm.user.id
    time.sleep(1.1)
    with local_mattermost(WORKBENCH, db=db) as mm:
        assert mm.user.id == user_id  # the defaults were found, not created again
        assert mm.get_post(post.id).message == "persist me"
        assert mm.api.get_user_by_username("alice").id == alice.id
        assert mm.kv_get("posts") == b"1"
        assert mm.kv_get("kept") == b"forever"
        assert mm.kv_get("expiring") is None  # expiry is kept as a point in time
        assert ("", "count") in mm.server.commands


def test_compare_and_set_under_concurrency_with_a_state_file(tmp_path: Path) -> None:
    with local_mattermost(WORKBENCH, db=tmp_path / "state.db") as mm:
        threads = [threading.Thread(target=mm.create_post, args=(None, f"m{i}")) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        mm.wait_for_hooks()
        assert mm.kv_get("posts") == b"20"  # 20 concurrent CAS loops, no lost update
    with local_mattermost(WORKBENCH, db=tmp_path / "state.db", defaults=True) as mm:
        assert mm.kv_get("posts") == b"20"


@pytest.fixture
def alice(mattermost: LocalMattermost) -> Iterator[Post]:
    yield mattermost.create_post(None, "fixture post")


def test_fixtures_compose(mattermost: LocalMattermost, alice: Post) -> None:
    assert mattermost.get_post(alice.id).message == "fixture post"
