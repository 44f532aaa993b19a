"""Users, sessions and statuses of the fake, through the SDK's client over real gRPC."""

from __future__ import annotations

import json

import pytest
from tests.fake.conftest import make_user
from tests.support.api_client import Clock
from tests.support.coverage import fails, ok

from mattermost_plugin import (
    AlreadyExistsError,
    NotFoundError,
    PluginAPIClient,
    PluginAPIError,
    ValidationError,
)
from mattermost_plugin.host.fake_server import FakeMattermost, default_config
from mattermost_plugin.models import (
    CustomStatus,
    Session,
    Team,
    User,
    UserAccessToken,
    UserAuth,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@ok(
    "CreateUser",
    "GetUser",
    "GetUserByUsername",
    "GetUserByEmail",
    "GetUsersByIds",
    "GetUsersByUsernames",
    "UpdateUser",
    "UpdateUserActive",
    "DeleteUser",
)
def test_user_lifecycle(api: PluginAPIClient, clock: Clock) -> None:
    alice = make_user(api, "Alice", first_name="Alice")
    assert alice.username == "alice" and alice.password == "" and alice.roles == "system_user"
    assert api.get_user(alice.id) == alice
    assert api.get_user_by_username("alice").id == alice.id
    assert api.get_user_by_email("ALICE@example.com").id == alice.id
    bob = make_user(api, "bob")
    assert [u.id for u in api.get_users_by_ids([bob.id, "x" * 26, alice.id])] == [bob.id, alice.id]
    assert [u.username for u in api.get_users_by_usernames(["BOB", "alice", "nobody"])] == [
        "alice",
        "bob",
    ]
    clock.advance(5)
    alice.nickname = "Al"
    updated = api.update_user(alice)
    assert updated.nickname == "Al" and updated.update_at == alice.update_at + 5000
    api.update_user_active(alice.id, False)
    assert api.get_user(alice.id).delete_at > 0
    api.update_user_active(alice.id, True)
    assert api.get_user(alice.id).delete_at == 0
    api.delete_user(bob.id)  # deactivates
    assert api.get_user(bob.id).delete_at > 0


@fails(
    "CreateUser",
    "GetUser",
    "GetUserByUsername",
    "GetUserByEmail",
    "GetUsersByIds",
    "GetUsersByUsernames",
    "UpdateUser",
    "UpdateUserActive",
    "DeleteUser",
)
def test_user_errors(api: PluginAPIClient) -> None:
    alice = make_user(api, "alice")
    with pytest.raises(AlreadyExistsError):
        make_user(api, "ALICE")
    with pytest.raises(ValidationError):
        api.create_user(User(username="x", email="x@example.com", password="short"))
    with pytest.raises(NotFoundError):
        api.get_user("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_user_by_username("nobody")
    with pytest.raises(NotFoundError):
        api.get_user_by_email("nobody@example.com")
    assert api.get_users_by_ids(["x" * 26]) == []
    assert api.get_users_by_usernames(["nobody"]) == []
    bob = make_user(api, "bob")
    bob.username = "alice"
    with pytest.raises(AlreadyExistsError):
        api.update_user(bob)
    with pytest.raises(NotFoundError):
        api.update_user_active("x" * 26, False)
    with pytest.raises(NotFoundError):
        api.delete_user("x" * 26)
    assert api.get_user(alice.id).delete_at == 0


@ok("GetUsers", "GetUsersInTeam", "GetUsersInChannel", "SearchUsers")
def test_listing_and_searching_users(api: PluginAPIClient, team: Team, alice: User) -> None:
    carol = make_user(api, "carol", first_name="Zed", nickname="cee")
    api.update_user_active(carol.id, False)
    assert [u.username for u in api.get_users(in_team_id=team.id)] == ["alice"]
    assert [u.username for u in api.get_users(inactive=True)] == ["carol"]
    assert [u.username for u in api.get_users(page=0, per_page=1)] == ["alice"]
    assert [u.username for u in api.get_users_in_team(team.id)] == ["alice"]
    town_square = api.get_channel_by_name(team.id, "town-square")
    assert [u.username for u in api.get_users_in_channel(town_square.id)] == ["alice"]
    assert [u.username for u in api.search_users("AL")] == ["alice"]
    assert [u.username for u in api.search_users("zed", allow_inactive=True)] == ["carol"]
    assert api.search_users("zed") == []  # inactive users only when asked
    assert [u.username for u in api.search_users("", team_id=team.id)] == ["alice"]
    assert [u.username for u in api.search_users("c", allow_inactive=True, limit=1)] == ["carol"]


@fails("GetUsers", "GetUsersInTeam", "GetUsersInChannel", "SearchUsers")
def test_listing_users_of_unknown_places(api: PluginAPIClient) -> None:
    assert api.get_users(in_team_id="x" * 26) == []
    with pytest.raises(NotFoundError):
        api.get_users_in_team("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_users_in_channel("x" * 26)
    assert api.search_users("nobody") == []


@ok("GetProfileImage", "SetProfileImage", "UpdateUserAuth")
def test_profile_images_and_auth(api: PluginAPIClient, alice: User) -> None:
    default = api.get_profile_image(alice.id)
    assert default.startswith(b"\x89PNG") and default == api.get_profile_image(alice.id)
    api.set_profile_image(alice.id, PNG)
    assert api.get_profile_image(alice.id) == PNG
    assert api.get_user(alice.id).last_picture_update > 0
    auth = api.update_user_auth(alice.id, UserAuth(auth_service="gitlab", auth_data="42"))
    assert auth.auth_service == "gitlab"
    assert (api.get_user(alice.id).auth_service, api.get_user(alice.id).auth_data) == (
        "gitlab",
        "42",
    )


@fails("GetProfileImage", "SetProfileImage", "UpdateUserAuth")
def test_profile_image_and_auth_errors(api: PluginAPIClient, alice: User, bob: User) -> None:
    with pytest.raises(NotFoundError):
        api.get_profile_image("x" * 26)
    with pytest.raises(ValidationError):
        api.set_profile_image(alice.id, b"not an image")
    api.update_user_auth(alice.id, UserAuth(auth_service="gitlab", auth_data="42"))
    with pytest.raises(AlreadyExistsError):
        api.update_user_auth(bob.id, UserAuth(auth_service="gitlab", auth_data="42"))


# --- sessions and tokens ----------------------------------------------------------------


@ok(
    "CreateSession",
    "GetSession",
    "ExtendSessionExpiry",
    "RevokeSession",
    "CreateUserAccessToken",
    "RevokeUserAccessToken",
)
def test_sessions_and_tokens(api: PluginAPIClient, fake: FakeMattermost, alice: User) -> None:
    session = api.create_session(Session(user_id=alice.id))
    assert len(session.token) == 26 and session.expires_at > session.create_at
    assert api.get_session(session.id).user_id == alice.id
    api.extend_session_expiry(session.id, session.expires_at + 1000)
    assert api.get_session(session.id).expires_at == session.expires_at + 1000
    api.revoke_session(session.id)
    with pytest.raises(NotFoundError):
        api.get_session(session.id)

    fake.config["ServiceSettings"]["EnableUserAccessTokens"] = True
    token = api.create_user_access_token(UserAccessToken(user_id=alice.id, description="ci"))
    assert token.is_active and token.description == "ci"
    assert any(s.token == token.token for s in fake.sessions.values())
    api.revoke_user_access_token(token.id)
    assert not any(s.token == token.token for s in fake.sessions.values())


@fails(
    "CreateSession",
    "GetSession",
    "ExtendSessionExpiry",
    "RevokeSession",
    "CreateUserAccessToken",
    "RevokeUserAccessToken",
)
def test_session_and_token_errors(
    api: PluginAPIClient, fake: FakeMattermost, alice: User, clock: Clock
) -> None:
    with pytest.raises(NotFoundError):
        api.create_session(Session(user_id="x" * 26))
    session = api.create_session(Session(user_id=alice.id, expires_at=int(clock.now * 1000) + 10))
    clock.advance(1)
    with pytest.raises(NotFoundError):  # expired
        api.get_session(session.id)
    with pytest.raises(NotFoundError):
        api.extend_session_expiry("x" * 26, 1)
    with pytest.raises(NotFoundError):
        api.revoke_session("x" * 26)
    assert "EnableUserAccessTokens" not in default_config()["ServiceSettings"]
    with pytest.raises(PluginAPIError) as disabled:  # the server's default: off
        api.create_user_access_token(UserAccessToken(user_id=alice.id))
    assert disabled.value.status_code == 501
    with pytest.raises(NotFoundError):
        api.revoke_user_access_token("x" * 26)


# --- statuses -----------------------------------------------------------------------------


@ok(
    "GetUserStatus",
    "GetUserStatusesByIds",
    "UpdateUserStatus",
    "SetUserStatusTimedDND",
    "UpdateUserCustomStatus",
    "RemoveUserCustomStatus",
    "PublishUserTyping",
)
def test_statuses(api: PluginAPIClient, fake: FakeMattermost, alice: User, clock: Clock) -> None:
    assert api.update_user_status(alice.id, "away").status == "away"
    assert api.get_user_status(alice.id).manual
    until = int(clock.now) + 60
    dnd = api.set_user_status_timed_dnd(alice.id, until)
    assert (dnd.status, dnd.dnd_end_time) == ("dnd", until)
    clock.advance(61)
    assert api.get_user_status(alice.id).status == "online"  # the timed DND ended
    statuses = api.get_user_statuses_by_ids([alice.id, "x" * 26])
    assert [(s.user_id, s.status) for s in statuses] == [
        (alice.id, "online"),
        ("x" * 26, "offline"),
    ]

    api.update_user_custom_status(alice.id, CustomStatus(emoji="calendar", text="In a meeting"))
    custom = json.loads(api.get_user(alice.id).props["customStatus"])
    assert (custom["emoji"], custom["text"]) == ("calendar", "In a meeting")
    api.remove_user_custom_status(alice.id)
    assert "customStatus" not in api.get_user(alice.id).props
    api.publish_user_typing(alice.id, "c" * 26, "")
    assert fake.websocket_events[-1][0] == "typing"


@fails(
    "GetUserStatus",
    "GetUserStatusesByIds",
    "UpdateUserStatus",
    "SetUserStatusTimedDND",
    "UpdateUserCustomStatus",
    "RemoveUserCustomStatus",
    "PublishUserTyping",
)
def test_status_errors(api: PluginAPIClient, alice: User, clock: Clock) -> None:
    with pytest.raises(NotFoundError):  # never online: no status yet, as on the server
        api.get_user_status(alice.id)
    assert [s.status for s in api.get_user_statuses_by_ids([alice.id])] == ["offline"]
    with pytest.raises(ValidationError):
        api.update_user_status(alice.id, "busy")
    with pytest.raises(ValidationError):
        api.set_user_status_timed_dnd(alice.id, int(clock.now) - 1)
    with pytest.raises(ValidationError):
        api.update_user_custom_status(alice.id, CustomStatus(emoji="no spaces allowed"))
    with pytest.raises(NotFoundError):
        api.remove_user_custom_status("x" * 26)
    api.publish_user_typing("x" * 26, "c" * 26, "")  # the server checks nothing
