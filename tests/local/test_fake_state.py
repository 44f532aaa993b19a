"""The fake's newer areas (preferences, upload sessions, plugin commands, 501s) and its SQLite
state file, through the SDK's own client over real gRPC."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mattermost_plugin import NotFoundError, PermissionDeniedError, PluginAPIClient, PluginAPIError
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.host.store import StoreLockedError
from mattermost_plugin.models import (
    Channel,
    ChannelType,
    Command,
    Preference,
    Team,
    TeamType,
    UploadSession,
    User,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Served:
    """A fake on a real port with a client; ``close()`` stops both and closes the file."""

    def __init__(self, db: Path, clock: Clock) -> None:
        self.fake = FakeMattermost(store=db, clock=clock)
        self.server, address = serve(self.fake)
        self.api = PluginAPIClient(target=address, retries=0)

    def close(self) -> None:
        self.api.close()
        self.server.stop(None)
        self.fake.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def api(db: Path, clock: Clock) -> Iterator[PluginAPIClient]:
    served = Served(db, clock)
    yield served.api
    served.close()


def make_user(api: PluginAPIClient, name: str) -> User:
    return api.create_user(User(username=name, email=f"{name}@example.com", password="password1"))


def test_preferences(api: PluginAPIClient) -> None:
    alice, bob = make_user(api, "alice"), make_user(api, "bob")
    theme = Preference(user_id=alice.id, category="display_settings", name="theme", value="dark")
    api.update_preferences_for_user(alice.id, [theme])
    assert api.get_preference_for_user(alice.id, "display_settings", "theme").value == "dark"
    assert api.get_preferences_for_user(alice.id) == [theme]
    with pytest.raises(PermissionDeniedError):
        api.update_preferences_for_user(bob.id, [theme])  # not bob's preference
    api.delete_preferences_for_user(alice.id, [theme])
    with pytest.raises(NotFoundError):
        api.get_preference_for_user(alice.id, "display_settings", "theme")


def test_upload_sessions(api: PluginAPIClient) -> None:
    alice = make_user(api, "alice")
    team = api.create_team(Team(name="team", display_name="Team", type=TeamType.OPEN))
    channel = api.create_channel(
        Channel(team_id=team.id, name="up", display_name="Up", type=ChannelType.OPEN)
    )
    session = api.create_upload_session(
        UploadSession(user_id=alice.id, channel_id=channel.id, filename="a.txt", file_size=6)
    )
    assert session.file_offset == 0 and len(session.id) == 26
    assert api.upload_data(session, b"abc").id == ""  # not complete yet
    assert api.get_upload_session(session.id).file_offset == 3
    with pytest.raises(PluginAPIError) as too_much:
        api.upload_data(session, b"defg")
    assert too_much.value.status_code == 400
    info = api.upload_data(session, b"def")
    assert (info.name, info.size, info.creator_id) == ("a.txt", 6, alice.id)
    assert api.get_file(info.id) == b"abcdef"
    with pytest.raises(NotFoundError):
        api.get_upload_session(session.id)  # done: the session is gone


def test_plugin_commands_and_not_implemented(api: PluginAPIClient) -> None:
    api.register_command(Command(trigger="/Weather", team_id=""))
    commands = api.list_plugin_commands("any-team")
    assert [(c.trigger, c.plugin_id) for c in commands] == [("weather", "com.example.plugin")]
    with pytest.raises(PluginAPIError) as missing:
        api.request_trial_license("u" * 26, 10, True, False)
    assert missing.value.status_code == 501
    assert "RequestTrialLicense" in str(missing.value)


def test_everything_survives_a_restart(db: Path, clock: Clock) -> None:
    served = Served(db, clock)
    api = served.api
    alice = make_user(api, "alice")
    api.kv_set("short", b"1", expires_in=10)
    api.kv_set("long", b"2")
    api.update_preferences_for_user(
        alice.id, [Preference(user_id=alice.id, category="c", name="n", value="v")]
    )
    api.save_plugin_config({"answer": 42})
    served.close()

    clock.now += 11
    served = Served(db, clock)
    api = served.api
    try:
        assert api.get_user(alice.id).username == "alice"
        assert api.kv_get("long") == b"2"
        assert api.kv_get("short") is None  # expired while the server was down
        assert api.kv_list(page=0, per_page=10) == ["long"]
        assert api.get_preference_for_user(alice.id, "c", "n").value == "v"
        assert api.get_plugin_config() == {"answer": 42}
    finally:
        served.close()


def test_compare_and_set_is_atomic_in_the_file(db: Path, clock: Clock) -> None:
    served = Served(db, clock)
    api = served.api
    wins: list[bool] = []

    def contend() -> None:
        wins.append(api.kv_compare_and_set("lock", b"", b"mine"))

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1
    served.close()
    served = Served(db, clock)
    assert served.api.kv_get("lock") == b"mine"
    assert not served.api.kv_compare_and_set("lock", b"", b"other")
    served.close()


def test_a_state_file_has_one_owner(db: Path) -> None:
    fake = FakeMattermost(store=db)
    with pytest.raises(StoreLockedError, match="in use by another process"):
        FakeMattermost(store=db)
    fake.close()
    FakeMattermost(store=db).close()
