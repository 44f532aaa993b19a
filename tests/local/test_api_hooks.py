"""API calls run the plugin's hooks as the server runs them (tests/local/plugins/api_hooks
records what each hook got). The calls come from the test's own Plugin API client: to the
fake, they are the plugin's calls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mattermost_plugin import NotFoundError, PermissionDeniedError, PluginAPIError, ValidationError
from mattermost_plugin.host.fake_server import FakeAppError
from mattermost_plugin.models import (
    Channel,
    ChannelType,
    GetFileInfosOptions,
    Preference,
    Reaction,
    Team,
    TeamType,
    UploadSession,
    User,
)
from mattermost_plugin.testing import LocalMattermost, LoginRejectedError, local_mattermost

PLUGIN = Path(__file__).parent / "plugins" / "api_hooks"
pytestmark = pytest.mark.mattermost_plugin("plugins/api_hooks", hook_timeout=10.0)


def events(mm: LocalMattermost, hook: str | None = None) -> list[dict[str, Any]]:
    raw = mm.kv_get("events")
    entries: list[dict[str, Any]] = json.loads(raw) if raw else []
    return [e for e in entries if hook is None or e["hook"] == hook]


def wait_for(
    mm: LocalMattermost, hook: str, count: int = 1, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The events of ``hook``, once there are ``count`` of them (hooks run in the
    background, and some fire others)."""
    deadline = time.monotonic() + timeout
    while len(found := events(mm, hook)) < count:
        assert time.monotonic() < deadline, f"{hook}: {found} (all: {events(mm)})"
        time.sleep(0.02)
    mm.wait_for_hooks()
    return events(mm, hook)


def new_user(mm: LocalMattermost, name: str) -> User:
    return mm.api.create_user(User(username=name, email=f"{name}@example.com", password="pw-12345"))


# --- posts -------------------------------------------------------------------------------


def test_api_posts_run_the_message_hooks(mattermost: LocalMattermost) -> None:
    api, channel, user = mattermost.api, mattermost.channel, mattermost.user

    post = api.create_post(channel_id=channel.id, user_id=user.id, message="shout hello")
    assert post.message == "HELLO"  # MessageWillBePosted's change is what was stored
    assert wait_for(mattermost, "posted") == [{"hook": "posted", "message": "HELLO", "own": False}]

    with pytest.raises(ValidationError) as rejected:
        api.create_post(channel_id=channel.id, user_id=user.id, message="reject")
    assert rejected.value.status_code == 400
    assert rejected.value.error_id == "Post rejected by plugin. no rejects"
    assert [p.message for p in mattermost.posts()] == ["HELLO"]

    post.message = "edited"
    assert api.update_post(post).message == "edited"
    assert wait_for(mattermost, "updated") == [{"hook": "updated", "new": "edited", "old": "HELLO"}]
    post.message = "reject"
    with pytest.raises(ValidationError, match="no rejected edits"):
        api.update_post(post)
    assert mattermost.get_post(post.id).message == "edited"

    api.delete_post(post.id)
    assert wait_for(mattermost, "deleted") == [{"hook": "deleted", "message": "edited"}]


def test_the_plugins_own_posts_run_its_hooks(mattermost: LocalMattermost) -> None:
    bot = mattermost.api.get_user_by_username("recorder")
    mattermost.api.create_post(channel_id=mattermost.channel.id, user_id=bot.id, message="mine")
    assert wait_for(mattermost, "posted") == [{"hook": "posted", "message": "mine", "own": True}]


def test_api_reactions_run_the_reaction_hooks(mattermost: LocalMattermost) -> None:
    api, user = mattermost.api, mattermost.user
    post = mattermost.create_post(None, "react")
    api.add_reaction(Reaction(post_id=post.id, user_id=user.id, emoji_name="smile"))
    api.remove_reaction(Reaction(post_id=post.id, user_id=user.id, emoji_name="smile"))
    (added,) = wait_for(mattermost, "reaction_added")
    (removed,) = wait_for(mattermost, "reaction_removed")
    assert added["emoji"] == removed["emoji"] == "smile"
    assert added["user_id"] == removed["user_id"] == user.id

    archived = mattermost.create_channel("archived")
    old = mattermost.create_post(archived, "old")
    api.delete_channel(archived.id)
    with pytest.raises(PermissionDeniedError):
        api.add_reaction(Reaction(post_id=old.id, user_id=user.id, emoji_name="smile"))


# --- users, teams, channels --------------------------------------------------------------


def test_users_created_and_deactivated(mattermost: LocalMattermost) -> None:
    alice = new_user(mattermost, "alice")
    bob = new_user(mattermost, "bob")
    assert [e["username"] for e in wait_for(mattermost, "user_created", 2)] == ["alice", "bob"]

    mattermost.api.update_user_active(alice.id, False)
    mattermost.api.delete_user(bob.id)  # the plugin API's DeleteUser deactivates
    mattermost.api.update_user_active(alice.id, True)  # no hook for an activation
    deactivated = wait_for(mattermost, "user_deactivated", 2)
    assert sorted(e["username"] for e in deactivated) == ["alice", "bob"]
    assert all(e["delete_at"] > 0 for e in deactivated)


def test_team_and_channel_membership_with_their_actors(mattermost: LocalMattermost) -> None:
    api, admin = mattermost.api, mattermost.user
    alice, bob = new_user(mattermost, "alice"), new_user(mattermost, "bob")

    team = api.create_team(Team(name="core", display_name="Core", type=TeamType.OPEN))
    # The server's CreateTeam makes the default channels, each announced.
    created = [e["name"] for e in wait_for(mattermost, "channel_created", 2)]
    assert sorted(created) == ["off-topic", "town-square"]

    api.create_team_member(team.id, alice.id)  # joined on her own: no actor
    api.create_team_members(team.id, [bob.id], admin.id)  # added by the admin
    joined = {e["user_id"]: e["actor"] for e in wait_for(mattermost, "joined_team", 2)}
    assert joined == {alice.id: None, bob.id: admin.id}
    # New members are in the default channels, without a hook per channel.
    town_square = api.get_channel_by_name(team.id, "town-square")
    assert {m.user_id for m in api.get_channel_members(town_square.id)} == {alice.id, bob.id}
    assert events(mattermost, "joined_channel") == []

    channel = api.create_channel(
        Channel(team_id=team.id, name="dev", display_name="Dev", type=ChannelType.PRIVATE)
    )
    assert wait_for(mattermost, "channel_created", 3)[-1]["name"] == "dev"
    api.add_channel_member(channel.id, alice.id)
    api.add_user_to_channel(channel.id, bob.id, admin.id)
    api.add_channel_member(channel.id, alice.id)  # a member already: nothing happens
    joined = {e["user_id"]: e["actor"] for e in wait_for(mattermost, "joined_channel", 2)}
    assert joined == {alice.id: None, bob.id: admin.id}

    api.delete_channel_member(channel.id, bob.id)  # DeleteChannelMember is LeaveChannel
    (left,) = wait_for(mattermost, "left_channel")
    assert (left["user_id"], left["actor"]) == (bob.id, bob.id)

    api.delete_team_member(team.id, alice.id, admin.id)
    (left_team,) = wait_for(mattermost, "left_team")
    assert (left_team["user_id"], left_team["actor"]) == (alice.id, admin.id)
    with pytest.raises(NotFoundError):  # leaving a team leaves its channels
        api.get_channel_member(channel.id, alice.id)
    assert len(events(mattermost, "joined_channel")) == 2


def test_membership_rules_of_direct_messages_and_default_channels(
    mattermost: LocalMattermost,
) -> None:
    api = mattermost.api
    alice, bob = mattermost.create_user("alice"), mattermost.create_user("bob")
    carol = mattermost.create_user("carol")
    dm = api.get_direct_channel(alice.id, bob.id)
    assert api.get_direct_channel(bob.id, alice.id).id == dm.id  # one DM per pair
    assert [e["type"] for e in wait_for(mattermost, "channel_created")] == ["DIRECT"]
    assert {m.user_id for m in api.get_channel_members(dm.id)} == {alice.id, bob.id}
    with pytest.raises(ValidationError):  # a DM has exactly its two members
        api.add_channel_member(dm.id, carol.id)
    with pytest.raises(ValidationError):
        api.delete_channel_member(dm.id, alice.id)

    group = api.get_group_channel([alice.id, bob.id, carol.id])
    assert group.type is ChannelType.GROUP and group.display_name == "alice, bob, carol"
    assert api.get_group_channel([carol.id, alice.id, bob.id]).id == group.id
    with pytest.raises(ValidationError):  # 3 to 8 users
        api.get_group_channel([alice.id, bob.id])
    with pytest.raises(ValidationError):
        api.add_user_to_channel(group.id, mattermost.user.id, alice.id)

    # Nobody leaves town-square but guests; the last member keeps a private channel.
    with pytest.raises(ValidationError):
        api.delete_channel_member(mattermost.channel.id, alice.id)
    private = mattermost.create_channel("secret", private=True, members=[alice])
    with pytest.raises(ValidationError):
        api.delete_channel_member(private.id, alice.id)
    outsider = new_user(mattermost, "outsider")  # in no team
    with pytest.raises(PermissionDeniedError):
        api.add_channel_member(private.id, outsider.id)


# --- files ---------------------------------------------------------------------------------


def test_uploads_run_file_will_be_uploaded_before_storing(mattermost: LocalMattermost) -> None:
    api, channel = mattermost.api, mattermost.channel
    plain = api.upload_file(b"as is", channel.id, "plain.txt")
    assert api.get_file(plain.id) == b"as is"

    with pytest.raises(PermissionDeniedError) as rejected:
        api.upload_file(b"nope", channel.id, "bad.txt")
    assert rejected.value.error_id == "api.file.upload_file.rejected_by_plugin.app_error"
    infos = api.get_file_infos(options=GetFileInfosOptions(channel_id=channel.id))
    assert [i.name for i in infos] == ["plain.txt"]

    replaced = api.upload_file(b"shout", channel.id, "upper.txt")
    assert (replaced.name, replaced.size) == ("UPPER.TXT", 5)
    assert api.get_file(replaced.id) == b"SHOUT"

    # An upload session runs the hook once, with the whole file, after the last chunk.
    session = api.create_upload_session(
        UploadSession(
            user_id=mattermost.user.id, channel_id=channel.id, filename="upper.txt", file_size=6
        )
    )
    assert api.upload_data(session, b"abc").id == ""  # not complete yet
    info = api.upload_data(session, b"def")
    assert api.get_file(info.id) == b"ABCDEF"
    seen = [(e["name"], e["size"]) for e in events(mattermost, "file_will_be_uploaded")]
    assert seen == [("plain.txt", 5), ("bad.txt", 4), ("upper.txt", 5), ("upper.txt", 6)]


# --- preferences and logins ---------------------------------------------------------------


def test_preferences_through_the_api(mattermost: LocalMattermost) -> None:
    user = mattermost.user
    preference = Preference(user_id=user.id, category="display_settings", name="theme", value="x")
    mattermost.api.update_preferences_for_user(user.id, [preference])
    mattermost.api.delete_preferences_for_user(user.id, [preference])
    assert [e["names"] for e in wait_for(mattermost, "preferences", 2)] == [["theme"], ["theme"]]


def test_login_runs_user_will_log_in_then_user_has_logged_in(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice", password="alice-pw-1")
    session = mattermost.login("alice", "alice-pw-1")
    assert session.user_id == alice.id and session.expires_at > session.create_at
    assert mattermost.api.get_session(session.id).user_id == alice.id
    assert [e["hook"] for e in events(mattermost) if "log" in e["hook"]] == [
        "will_log_in",
        "logged_in",
    ]
    assert mattermost.login(alice.email, "alice-pw-1").user_id == alice.id  # or by email

    with pytest.raises(FakeAppError) as wrong:
        mattermost.login("alice", "wrong")
    assert wrong.value.status_code == 401
    blocked = mattermost.create_user("blocked", password="blocked-pw")
    with pytest.raises(LoginRejectedError) as rejected:
        mattermost.login(blocked, "blocked-pw")
    assert rejected.value.reason == "not today" and rejected.value.user.id == blocked.id
    mattermost.api.update_user_active(alice.id, False)
    with pytest.raises(FakeAppError) as inactive:
        mattermost.login("alice", "alice-pw-1")
    assert inactive.value.error_id == "api.user.login.inactive.app_error"
    with pytest.raises(NotFoundError):  # deactivating ended the session
        mattermost.api.get_session(session.id)
    assert len(events(mattermost, "logged_in")) == 2


# --- nesting ---------------------------------------------------------------------------------


@pytest.fixture(params=["def", "async def"])
def nesting(request: pytest.FixtureRequest) -> Iterator[LocalMattermost]:
    env = {"NEST_ASYNC": "1"} if request.param == "async def" else {}
    with local_mattermost(PLUGIN, env=env, hook_timeout=10.0) as mm:
        yield mm


def test_hooks_that_call_the_api_that_runs_hooks_do_not_deadlock(
    nesting: LocalMattermost,
) -> None:
    mm = nesting
    # nest 3 → MessageWillBePosted posts nest 2 through the API → its MessageWillBePosted
    # posts nest 1 → ... → nest 0 reads a user: four hooks deep, each calling the API, while
    # the fake's lock is never held across a hook.
    started = time.monotonic()
    mm.api.create_post(channel_id=mm.channel.id, user_id=mm.user.id, message="nest 3")
    assert time.monotonic() - started < 8.0  # well inside the hook deadline
    assert sorted(p.message for p in mm.posts()) == ["nest 0", "nest 1", "nest 2", "nest 3"]

    # Several such chains at once (each holds four of the plugin's hook threads at its
    # deepest, so four chains fit the default sixteen), through the API and the user flow.
    errors: list[BaseException] = []

    def chain(post: Callable[[], object]) -> None:
        try:
            post()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(
            target=chain,
            args=(
                lambda: mm.api.create_post(
                    channel_id=mm.channel.id, user_id=mm.user.id, message="nest 2"
                ),
            ),
        ),
        threading.Thread(target=chain, args=(lambda: mm.create_post(None, "nest 2"),)),
        threading.Thread(target=chain, args=(lambda: mm.create_post(None, "nest 1"),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(mm.posts()) == 4 + 3 + 3 + 2
    assert len(wait_for(mm, "posted", 12)) == 12
    with pytest.raises(PluginAPIError):  # the API still answers errors as usual
        mm.api.create_post(channel_id=mm.channel.id, user_id=mm.user.id, message="reject")
