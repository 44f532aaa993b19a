"""The server's REST JSON for what the fake stores, field by field.

The fake keeps protobuf messages; the SDK's models mirror them. Neither is the server's
REST JSON as is: channel and team types are letters there (``"O"``, ``"P"``, ...), a file's
creator is ``user_id``, a user never carries ``password`` or ``mfa_secret`` (and shows
less to other users), fields the server marks ``omitempty`` are left out when empty, and a
post carries ``metadata`` (its reactions and files). Each function here makes one kind
of object the way the server's model JSON has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from mattermost_plugin._generated.converters import api_channel_post as c_channel_post
from mattermost_plugin._generated.converters import api_user_team as c_user_team
from mattermost_plugin._generated.converters import channel as c_channel
from mattermost_plugin._generated.converters import file as c_file
from mattermost_plugin._generated.converters import post as c_post
from mattermost_plugin._generated.converters import team as c_team
from mattermost_plugin._generated.converters import user as c_user
from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_user_team_pb2,
    channel_pb2,
    file_pb2,
    post_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.host.fake_server._state import CHANNEL_TYPE_LETTERS

__all__ = [
    "TEAM_TYPE_LETTERS",
    "channel_json",
    "channel_member_json",
    "file_info_json",
    "post_json",
    "post_list_json",
    "reaction_json",
    "server_json",
    "team_json",
    "team_member_json",
    "token_json",
    "user_json",
]

TEAM_TYPE_LETTERS = {team_pb2.TEAM_TYPE_OPEN: "O", team_pb2.TEAM_TYPE_INVITE: "I"}

# Fields the server's models leave out when empty (``omitempty``), per kind.
_USER_OMITEMPTY = frozenset(
    {
        "auth_data",
        "email_verified",
        "allow_marketing",
        "props",
        "notify_props",
        "last_password_update",
        "last_picture_update",
        "failed_attempts",
        "mfa_active",
        "remote_id",
        "last_activity_at",
        "is_bot",
        "bot_description",
        "bot_last_icon_update",
        "terms_of_service_id",
        "terms_of_service_create_at",
        "last_login",
    }
)
# What the server's User.Sanitize removes for someone who is neither the user nor an admin.
_USER_PRIVATE = (
    "auth_data",
    "notify_props",
    "last_password_update",
    "failed_attempts",
    "mfa_active",
)
_POST_OMITEMPTY = frozenset(
    {"message_source", "file_ids", "has_reactions", "remote_id", "is_following", "metadata"}
)


def _without_empty(data: dict[str, Any], omitempty: Iterable[str] = ()) -> dict[str, Any]:
    """``None`` values dropped (the server's pointers that are nil), and the ``omitempty``
    fields that are empty."""
    skipped = set(omitempty)
    return {
        key: value
        for key, value in data.items()
        if value is not None and not (key in skipped and value in ("", 0, False, [], {}))
    }


def user_json(user: user_pb2.User, *, full: bool = True, show_email: bool = True) -> dict[str, Any]:
    """A user as the API shows it: never the password or the MFA secret; ``full=False``
    (someone else asking who is not a system admin) also hides what the server's
    ``Sanitize`` hides, and the email unless ``show_email`` (``ShowEmailAddress``)."""
    data = c_user.user_from_pb(user).model_dump(mode="json")
    data.pop("password", None)
    data.pop("mfa_secret", None)
    if not full:
        for name in _USER_PRIVATE:
            data.pop(name, None)
        if not show_email:
            data["email"] = ""
    return _without_empty(data, _USER_OMITEMPTY)


def team_json(team: team_pb2.Team) -> dict[str, Any]:
    data = c_team.team_from_pb(team).model_dump(mode="json")
    data["type"] = TEAM_TYPE_LETTERS.get(team.type, "")
    return _without_empty(data)


def team_member_json(member: team_pb2.TeamMember) -> dict[str, Any]:
    data = c_team.team_member_from_pb(member).model_dump(mode="json")
    data["explicit_roles"] = ""
    return data


def channel_json(channel: channel_pb2.Channel) -> dict[str, Any]:
    data = c_channel.channel_from_pb(channel).model_dump(mode="json")
    data["type"] = CHANNEL_TYPE_LETTERS.get(channel.type, "")
    return _without_empty(data, {"banner_info", "default_category_name", "auto_translation"})


def channel_member_json(member: api_channel_post_pb2.ChannelMember) -> dict[str, Any]:
    data = c_channel_post.channel_member_from_pb(member).model_dump(mode="json")
    data["explicit_roles"] = ""
    return data


def reaction_json(reaction: post_pb2.Reaction) -> dict[str, Any]:
    return _without_empty(c_post.reaction_from_pb(reaction).model_dump(mode="json"), {"remote_id"})


def file_info_json(info: file_pb2.FileInfo) -> dict[str, Any]:
    """A file's info: its creator is ``user_id`` in the server's JSON."""
    data = c_file.file_info_from_pb(info).model_dump(mode="json")
    data["user_id"] = data.pop("creator_id")
    data.pop("mini_preview", None)
    return _without_empty(data, {"remote_id"})


def post_json(post: post_pb2.Post, fake: FakeMattermost | None = None) -> dict[str, Any]:
    """A post, with ``metadata`` (its reactions and the infos of its files) when ``fake``
    is given, as the server adds it to the posts it answers."""
    data = c_post.post_from_pb(post).model_dump(mode="json")
    metadata = data.get("metadata") or {}
    if fake is not None:
        reactions = [reaction_json(r) for r in fake.reactions.get(post.id, [])]
        files = [
            file_info_json(fake.files[i].info)
            for i in post.file_ids
            if i in fake.files and not fake.files[i].info.delete_at
        ]
        if reactions:
            metadata["reactions"] = reactions
        if files:
            metadata["files"] = files
    metadata = _without_empty(metadata, metadata.keys())
    data["metadata"] = metadata or None
    return _without_empty(data, _POST_OMITEMPTY)


def post_list_json(
    posts: Iterable[post_pb2.Post], fake: FakeMattermost | None = None
) -> dict[str, Any]:
    """A ``PostList``: ``order`` newest first, ``posts`` by id."""
    ordered = sorted(posts, key=lambda p: p.create_at, reverse=True)
    return {
        "order": [p.id for p in ordered],
        "posts": {p.id: post_json(p, fake) for p in ordered},
        "next_post_id": "",
        "prev_post_id": "",
        "has_next": False,
    }


def token_json(token: api_user_team_pb2.UserAccessToken, *, with_token: bool) -> dict[str, Any]:
    """A personal access token; the token itself only when it was just created."""
    data = c_user_team.user_access_token_from_pb(token).model_dump(mode="json")
    if not with_token:
        data.pop("token", None)
    return data


def server_json(value: Message) -> Any:
    """The server's JSON for a message of a kind the REST API answers (the objects in
    WebSocket events); other messages as protobuf JSON with the field names."""
    if isinstance(value, post_pb2.Post):
        return post_json(value)
    if isinstance(value, user_pb2.User):
        return user_json(value, full=False)
    if isinstance(value, channel_pb2.Channel):
        return channel_json(value)
    if isinstance(value, post_pb2.Reaction):
        return reaction_json(value)
    if isinstance(value, team_pb2.Team):
        return team_json(value)
    return json_format.MessageToDict(value, preserving_proto_field_name=True)
