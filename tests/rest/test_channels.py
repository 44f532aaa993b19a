"""Teams, channels and their members on the dev server's REST API, with the server's
membership rules for private channels, direct and group messages."""

from __future__ import annotations

import time

from tests.rest.conftest import Dev, assert_app_error


def _wait_for_log(dev: Dev, text: str, timeout: float = 5.0) -> None:
    dev.server.local.wait_for_log(text, timeout=timeout)


def test_teams_and_team_members(dev: Dev) -> None:
    made = dev.admin.post(
        "/api/v4/teams", json={"name": "research", "display_name": "Research", "type": "I"}
    )
    assert made.status_code == 201
    team = made.json()
    assert team["type"] == "I" and team["name"] == "research"
    assert dev.admin.get(f"/api/v4/teams/{team['id']}").json()["id"] == team["id"]
    assert dev.admin.get("/api/v4/teams/name/research").json()["id"] == team["id"]
    members = dev.admin.get(f"/api/v4/teams/{team['id']}/members").json()
    assert [m["roles"] for m in members] == ["team_user team_admin"]  # the creator

    ann = dev.user("ann", team=False)
    assert_app_error(ann.http.get(f"/api/v4/teams/{team['id']}"), 403)  # invite only
    assert_app_error(
        ann.http.post(
            f"/api/v4/teams/{team['id']}/members", json={"team_id": team["id"], "user_id": ann.id}
        ),
        403,
    )
    mismatch = dev.admin.post(
        f"/api/v4/teams/{team['id']}/members", json={"team_id": dev.team_id, "user_id": ann.id}
    )
    assert_app_error(mismatch, 400, "api.context.invalid_body_param.app_error")
    added = dev.admin.post(
        f"/api/v4/teams/{team['id']}/members", json={"team_id": team["id"], "user_id": ann.id}
    )
    assert added.status_code == 201 and added.json()["user_id"] == ann.id
    assert ann.http.get(f"/api/v4/teams/{team['id']}").status_code == 200
    # Joining a team joins its default channels.
    channels = ann.http.get(f"/api/v4/users/me/teams/{team['id']}/channels").json()
    assert {c["name"] for c in channels} == {"town-square", "off-topic"}
    assert ann.http.delete(f"/api/v4/teams/{team['id']}/members/me").json() == {"status": "OK"}
    assert_app_error(ann.http.get(f"/api/v4/teams/{team['id']}"), 403)


def test_channels_members_and_the_plugins_join_hook(dev: Dev) -> None:
    bob = dev.user("bob")
    made = bob.http.post(
        "/api/v4/channels",
        json={"team_id": dev.team_id, "name": "lab", "display_name": "Lab", "type": "O"},
    )
    assert made.status_code == 201
    channel = made.json()
    assert channel["type"] == "O" and channel["creator_id"] == bob.id
    creator = bob.http.get(f"/api/v4/channels/{channel['id']}/members/me").json()
    assert "channel_admin" in creator["roles"]

    cid = dev.user("cid")
    joined = cid.http.post(f"/api/v4/channels/{channel['id']}/members", json={"user_id": cid.id})
    assert joined.status_code == 201 and joined.json()["user_id"] == cid.id
    _wait_for_log(dev, "joined")
    members = {
        m["user_id"] for m in bob.http.get(f"/api/v4/channels/{channel['id']}/members").json()
    }
    assert members == {bob.id, cid.id}
    # The plugin published a WebSocket event for the join.
    deadline = time.monotonic() + 5
    while not any(e[0] == "custom_com.example.reactor_joined" for e in dev.fake.websocket_events):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    assert cid.http.delete(f"/api/v4/channels/{channel['id']}/members/me").json()["status"] == "OK"
    left = cid.http.delete(f"/api/v4/channels/{dev.town_square}/members/me")
    assert_app_error(left, 400, "api.channel.remove.default.app_error")
    assert_app_error(cid.http.delete(f"/api/v4/channels/{channel['id']}/members/{bob.id}"), 403)
    patched = bob.http.put(f"/api/v4/channels/{channel['id']}/patch", json={"purpose": "science"})
    assert patched.status_code == 200 and patched.json()["purpose"] == "science"
    assert_app_error(cid.http.delete(f"/api/v4/channels/{channel['id']}"), 403)
    assert bob.http.delete(f"/api/v4/channels/{channel['id']}").json() == {"status": "OK"}
    assert dev.admin.get(f"/api/v4/channels/{channel['id']}").json()["delete_at"] > 0


def test_private_channels_direct_and_group_messages_are_for_their_members(dev: Dev) -> None:
    dee, eve, fay = dev.user("dee"), dev.user("eve"), dev.user("fay")
    private = dee.http.post(
        "/api/v4/channels",
        json={"team_id": dev.team_id, "name": "secret", "display_name": "Secret", "type": "P"},
    ).json()
    assert private["type"] == "P"
    assert_app_error(eve.http.get(f"/api/v4/channels/{private['id']}"), 403)
    assert_app_error(eve.http.get(f"/api/v4/channels/{private['id']}/posts"), 403)
    post = {"channel_id": private["id"], "message": "let me in"}
    assert_app_error(eve.http.post("/api/v4/posts", json=post), 403)
    assert_app_error(
        eve.http.post(f"/api/v4/channels/{private['id']}/members", json={"user_id": eve.id}), 403
    )
    assert (
        dee.http.post(
            f"/api/v4/channels/{private['id']}/members", json={"user_id": eve.id}
        ).status_code
        == 201
    )
    assert eve.http.post("/api/v4/posts", json=post).status_code == 201
    # The last member of a private channel cannot leave it.
    assert dee.http.delete(f"/api/v4/channels/{private['id']}/members/me").status_code == 200
    last = eve.http.delete(f"/api/v4/channels/{private['id']}/members/me")
    assert_app_error(last, 400, "api.channel.leave.last_member.app_error")

    direct = dee.http.post("/api/v4/channels/direct", json=[dee.id, eve.id])
    assert direct.status_code == 201 and direct.json()["type"] == "D"
    dm = direct.json()["id"]
    assert (
        dee.http.post("/api/v4/posts", json={"channel_id": dm, "message": "hi"}).status_code == 201
    )
    assert_app_error(fay.http.get(f"/api/v4/channels/{dm}/posts"), 403)
    assert_app_error(fay.http.post("/api/v4/posts", json={"channel_id": dm, "message": "x"}), 403)
    assert_app_error(fay.http.post("/api/v4/channels/direct", json=[dee.id, eve.id]), 403)
    assert_app_error(
        dee.http.post(f"/api/v4/channels/{dm}/members", json={"user_id": fay.id}),
        400,
        "api.channel.add_user_to_channel.type.app_error",
    )
    group = dee.http.post("/api/v4/channels/group", json=[eve.id, fay.id])
    assert group.status_code == 201 and group.json()["type"] == "G"
    assert_app_error(dee.http.post("/api/v4/channels/group", json=[eve.id]), 400)


def test_channel_names_of_the_default_team_stand_for_ids(dev: Dev) -> None:
    by_name = dev.admin.get("/api/v4/channels/town-square")
    assert by_name.status_code == 200 and by_name.json()["id"] == dev.town_square
    assert dev.admin.get(f"/api/v4/teams/{dev.team_id}/channels/name/off-topic").status_code == 200
    public = {c["name"] for c in dev.admin.get(f"/api/v4/teams/{dev.team_id}/channels").json()}
    assert {"town-square", "off-topic"} <= public
    assert_app_error(
        dev.admin.get("/api/v4/channels/no-such-channel"),
        400,
        "api.context.invalid_url_param.app_error",
    )
