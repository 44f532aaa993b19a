"""``/api/v4/channels``: open and private channels, direct and group messages, members,
and a channel's posts. Private channels, direct and group messages are for their members
(and system admins), as on the server (:meth:`FakeMattermost.can_read_channel`)."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2, channel_pb2
from mattermost_plugin.host._rest import (
    Call,
    fake_errors,
    forbidden,
    invalid_body,
    query_int,
    route,
)
from mattermost_plugin.host._rest_json import channel_json, channel_member_json, post_list_json
from mattermost_plugin.host.fake_server._state import (
    CHANNEL_TYPE_LETTERS,
    OPEN,
    PRIVATE,
    paged,
)

_CHANNEL_TYPES = {letter: kind for kind, letter in CHANNEL_TYPE_LETTERS.items()}


def _channel(call: Call, channel_id: str) -> channel_pb2.Channel:
    with call.fake.transaction(), fake_errors():
        found = channel_pb2.Channel()
        found.CopyFrom(call.fake._channel(channel_id))
        return found


def _kind(channel: channel_pb2.Channel) -> str:
    """``public`` or ``private``, as in the permission names."""
    return "public" if channel.type == OPEN else "private"


@route("POST", "/api/v4/channels")
def create_channel(call: Call) -> None:
    """``{"team_id", "name", "display_name", "type": "O" | "P", "purpose"?, "header"?}``: a
    channel (``ChannelHasBeenCreated``); its creator joins it as a channel admin
    (``create_public_channel`` / ``create_private_channel`` in the team)."""
    body = call.body("channel")
    kind = _CHANNEL_TYPES.get(body.string("type") or "O")
    if kind not in (OPEN, PRIVATE):
        raise invalid_body("type", "type: expected 'O' or 'P'")
    template = channel_pb2.Channel(
        team_id=body.string("team_id", required=True),
        name=body.string("name", required=True),
        display_name=body.string("display_name", required=True),
        purpose=body.string("purpose"),
        header=body.string("header"),
        type=kind,
        creator_id=call.user_id,
    )
    permission = "create_public_channel" if kind == OPEN else "create_private_channel"
    call.require_team(template.team_id, permission)
    request = api_channel_post_pb2.CreateChannelRequest(channel=template)
    channel = call.invoke("CreateChannel", request).channel
    with call.fake.transaction(), fake_errors():  # as the server's CreateChannelWithUser
        member = call.fake.join_channel(channel.id, call.user_id)
        member.roles = "channel_user channel_admin"
        member.scheme_admin = True
        call.fake.channel_members.touch(channel.id)
    call.dev.emit("server", f"created channel {channel.name} ({channel.id})")
    call.respond(201, channel_json(channel))


@route("POST", "/api/v4/channels/direct")
def create_direct_channel(call: Call) -> None:
    """``["user id", "user id"]``: the direct message of two users (one of them the acting
    user, unless a system admin asks), created on first use."""
    ids = call.json()
    if not isinstance(ids, list) or len(ids) != 2 or not all(isinstance(i, str) for i in ids):
        raise invalid_body("user_ids", "expected a list of two user ids")
    if call.user_id not in ids and not call.is_admin():
        raise forbidden("manage_system", call.user_id)
    call.require("create_direct_channel")
    channel = call.invoke(
        "GetDirectChannel",
        api_channel_post_pb2.GetDirectChannelRequest(user_id_1=ids[0], user_id_2=ids[1]),
    ).channel
    call.respond(201, channel_json(channel))


@route("POST", "/api/v4/channels/group")
def create_group_channel(call: Call) -> None:
    """``["user id", ...]``: the group message of 3 to 8 users (the acting user included),
    created on first use."""
    ids = call.json()
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid_body("user_ids", "expected a list of user ids")
    call.require("create_group_channel")
    members = sorted({*ids, call.user_id})
    request = api_channel_post_pb2.GetGroupChannelRequest(user_ids=members)
    channel = call.invoke("GetGroupChannel", request).channel
    call.respond(201, channel_json(channel))


@route("GET", "/api/v4/channels/{channel_id}")
def get_channel(call: Call) -> None:
    channel_id = call.channel_ref(call.params["channel_id"])
    call.require_read_channel(channel_id)
    call.respond(200, channel_json(_channel(call, channel_id)))


@route("PUT", "/api/v4/channels/{channel_id}/patch")
def patch_channel(call: Call) -> None:
    """Changes ``display_name``, ``name``, ``header`` and ``purpose`` when the body sets
    them (``manage_public_channel_properties`` / ``..._private_...``)."""
    channel_id = call.channel_ref(call.params["channel_id"])
    body = call.body("channel")
    changes = {
        name: body.string(name)
        for name in ("display_name", "name", "header", "purpose")
        if body.has(name)
    }
    channel = _channel(call, channel_id)
    call.require_channel(channel_id, f"manage_{_kind(channel)}_channel_properties")
    for name, value in changes.items():
        setattr(channel, name, value)
    request = api_channel_post_pb2.UpdateChannelRequest(channel=channel)
    updated = call.invoke("UpdateChannel", request).channel
    call.respond(200, channel_json(updated))


@route("DELETE", "/api/v4/channels/{channel_id}")
def delete_channel(call: Call) -> None:
    """Archives a channel (``delete_public_channel`` / ``delete_private_channel``)."""
    channel_id = call.channel_ref(call.params["channel_id"])
    channel = _channel(call, channel_id)
    call.require_channel(channel_id, f"delete_{_kind(channel)}_channel")
    call.invoke("DeleteChannel", api_channel_post_pb2.DeleteChannelRequest(channel_id=channel_id))
    call.ok()


@route("POST", "/api/v4/channels/{channel_id}/members")
def add_channel_member(call: Call) -> None:
    """``{"user_id"}``: a team member joins an open or private channel
    (``UserHasJoinedChannel``, with the acting user as the actor when they add someone
    else). Joining an open channel oneself needs ``join_public_channels`` in its team;
    adding someone ``manage_public_channel_members`` (private: a member with
    ``manage_private_channel_members``)."""
    channel_id = call.channel_ref(call.params["channel_id"])
    user_id = call.body("channel_member").string("user_id", required=True)
    channel = _channel(call, channel_id)
    if user_id == call.user_id and channel.type == OPEN:
        call.require_team(channel.team_id, "join_public_channels")
    else:
        call.require_channel(channel_id, f"manage_{_kind(channel)}_channel_members")
    actor = "" if user_id == call.user_id else call.user_id
    member = call.invoke(
        "AddUserToChannel",
        api_channel_post_pb2.AddUserToChannelRequest(
            channel_id=channel_id, user_id=user_id, as_user_id=actor
        ),
    ).channel_member
    call.respond(201, channel_member_json(member))


@route("GET", "/api/v4/channels/{channel_id}/members")
def get_channel_members(call: Call) -> None:
    channel_id = call.channel_ref(call.params["channel_id"])
    call.require_read_channel(channel_id)
    page, per_page = query_int(call, "page", 0), query_int(call, "per_page", 60, maximum=200)
    with call.fake.transaction():
        members = sorted(call.fake._members(channel_id).values(), key=lambda m: m.user_id)
        shown = [channel_member_json(m) for m in paged(members, page, per_page)]
    call.respond(200, shown)


@route("GET", "/api/v4/channels/{channel_id}/members/{user_id}")
def get_channel_member(call: Call) -> None:
    channel_id = call.channel_ref(call.params["channel_id"])
    call.require_read_channel(channel_id)
    with call.fake.transaction(), fake_errors():
        shown = channel_member_json(call.fake._member(channel_id, call.param_user()))
    call.respond(200, shown)


@route("DELETE", "/api/v4/channels/{channel_id}/members/{user_id}")
def remove_channel_member(call: Call) -> None:
    """A user leaves the channel (``UserHasLeftChannel``): themself, or removed by someone
    with ``manage_public_channel_members`` / ``..._private_...`` (then the actor). The
    server's rules hold: not ``town-square``, not a direct or group message, not the last
    member of a private channel."""
    channel_id = call.channel_ref(call.params["channel_id"])
    user_id = call.param_user()
    channel = _channel(call, channel_id)
    if user_id != call.user_id:
        call.require_channel(channel_id, f"manage_{_kind(channel)}_channel_members")
    with call.fake.transaction(), fake_errors():
        call.fake.leave_channel(channel_id, user_id, actor_id=call.user_id)
    call.ok()


@route("GET", "/api/v4/channels/{channel_id}/posts")
def get_posts_for_channel(call: Call) -> None:
    """The channel's posts, newest first (``page``, ``per_page``)."""
    channel_id = call.channel_ref(call.params["channel_id"])
    call.require_read_channel(channel_id)
    page, per_page = query_int(call, "page", 0), query_int(call, "per_page", 60, maximum=200)
    fake = call.fake
    with fake.transaction():
        posts = sorted(
            (p for p in fake.posts.values() if p.channel_id == channel_id and not p.delete_at),
            key=lambda p: p.create_at,
            reverse=True,
        )
        shown = post_list_json(paged(posts, page, per_page), fake)
    call.respond(200, shown)


ROUTES = [
    create_channel,
    create_direct_channel,
    create_group_channel,
    get_channel,
    patch_channel,
    delete_channel,
    add_channel_member,
    get_channel_members,
    get_channel_member,
    remove_channel_member,
    get_posts_for_channel,
]
