"""``/api/v4/posts``: posts (through the plugin's message hooks), threads, reactions, and
slash commands."""

from __future__ import annotations

from typing import Any

from mattermost_plugin._pb.pluginapi.v1 import post_pb2
from mattermost_plugin.host._http_front import HTTPError
from mattermost_plugin.host._rest import (
    Body,
    Call,
    fake_errors,
    forbidden,
    invalid_body,
    route,
)
from mattermost_plugin.host._rest_json import post_json, post_list_json, reaction_json
from mattermost_plugin.host.local import DISMISS_POST, CommandError, PostRejectedError


def _post(call: Call, post_id: str) -> post_pb2.Post:
    with call.fake.transaction(), fake_errors():
        found = post_pb2.Post()
        found.CopyFrom(call.fake._post(post_id))
        return found


def _shown(call: Call, post_id: str) -> dict[str, Any]:
    with call.fake.transaction():
        return post_json(call.fake.posts[post_id], call.fake)


def _rejected(exc: PostRejectedError) -> HTTPError:
    error_id = DISMISS_POST if exc.reason == DISMISS_POST else str(exc)
    return HTTPError(400, error_id, str(exc))


def _require_own_or_others(call: Call, post: post_pb2.Post, own: str, others: str) -> None:
    permission = own if post.user_id == call.user_id else others
    call.require_channel(post.channel_id, permission)


def _props(body: Body) -> dict[str, Any] | None:
    return body.obj("props")


@route("POST", "/api/v4/posts")
def create_post(call: Call) -> None:
    """``{"channel_id", "message", "root_id"?, "props"?, "file_ids"?}``: a post by the
    acting user (``create_post`` in the channel): ``MessageWillBePosted`` (a rejection is
    a 400 with the plugin's reason), the store, then ``MessageHasBeenPosted``."""
    body = call.body("post")
    channel_ref = body.string("channel_id", required=True)
    message = body.string("message")
    root_id = body.string("root_id")
    props = _props(body)
    file_ids = body.strings("file_ids") or []
    channel_id = call.channel_ref(channel_ref)
    with call.fake.transaction(), fake_errors():
        call.fake._channel(channel_id)
        allowed = call.fake.can_post(call.user_id, channel_id)
    if not allowed:
        raise forbidden("create_post", call.user_id)
    try:
        with fake_errors():
            post = call.local.create_post(
                channel_id,
                message,
                user=call.user_id,
                root_id=root_id,
                props=props,
                file_ids=file_ids,
                wait=False,
            )
    except PostRejectedError as exc:
        raise _rejected(exc) from None
    call.respond(201, _shown(call, post.id))


@route("GET", "/api/v4/posts/{post_id}")
def get_post(call: Call) -> None:
    post = _post(call, call.params["post_id"])
    call.require_read_channel(post.channel_id)
    call.respond(200, _shown(call, post.id))


def _edit(call: Call, post: post_pb2.Post, **changes: Any) -> None:
    _require_own_or_others(call, post, "edit_post", "edit_others_posts")
    try:
        with fake_errors():
            call.local.update_post(post.id, wait=False, **changes)
    except PostRejectedError as exc:
        raise _rejected(exc) from None
    call.respond(200, _shown(call, post.id))


@route("PUT", "/api/v4/posts/{post_id}/patch")
def patch_post(call: Call) -> None:
    """Changes what the body sets of ``message``, ``is_pinned``, ``file_ids`` and
    ``props`` (``edit_post`` for one's own post, ``edit_others_posts``):
    ``MessageWillBeUpdated``, the store, ``MessageHasBeenUpdated``."""
    body = call.body("post")
    changes: dict[str, Any] = {}
    if body.has("message"):
        changes["message"] = body.string("message")
    if body.has("is_pinned"):
        changes["is_pinned"] = body.boolean("is_pinned")
    if body.has("file_ids"):
        changes["file_ids"] = body.strings("file_ids")
    if body.has("props"):
        changes["props"] = _props(body)
    _edit(call, _post(call, call.params["post_id"]), **changes)


@route("PUT", "/api/v4/posts/{post_id}")
def update_post(call: Call) -> None:
    """The whole editable post (``id`` must be the path's): its ``message``, ``props``,
    ``file_ids`` and ``is_pinned`` replace the stored ones."""
    post_id = call.params["post_id"]
    body = call.body("post")
    if body.string("id") != post_id:
        raise invalid_body("id", "id must be the post id of the path")
    changes = {
        "message": body.string("message"),
        "props": _props(body) or {},
        "file_ids": body.strings("file_ids") or [],
        "is_pinned": body.boolean("is_pinned"),
    }
    _edit(call, _post(call, post_id), **changes)


@route("DELETE", "/api/v4/posts/{post_id}")
def delete_post(call: Call) -> None:
    """Deletes a post (a root with its replies; ``delete_post`` for one's own,
    ``delete_others_posts``), then ``MessageHasBeenDeleted`` runs."""
    post = _post(call, call.params["post_id"])
    _require_own_or_others(call, post, "delete_post", "delete_others_posts")
    with fake_errors():
        call.local.delete_post(post.id, wait=False)
    call.ok()


@route("GET", "/api/v4/posts/{post_id}/thread")
def get_thread(call: Call) -> None:
    """The post's thread: its root and the replies, newest first."""
    post = _post(call, call.params["post_id"])
    call.require_read_channel(post.channel_id)
    root_id = post.root_id or post.id
    fake = call.fake
    with fake.transaction():
        thread = [
            p
            for p in fake.posts.values()
            if not p.delete_at and (p.id == root_id or p.root_id == root_id)
        ]
        shown = post_list_json(thread, fake)
    call.respond(200, shown)


@route("POST", "/api/v4/reactions")
def add_reaction(call: Call) -> None:
    """``{"user_id", "post_id", "emoji_name"}``: the acting user reacts (``add_reaction``
    in the channel); ``ReactionHasBeenAdded`` runs."""
    body = call.body("reaction")
    user_id = body.string("user_id", required=True)
    post_id = body.string("post_id", required=True)
    emoji_name = body.string("emoji_name", required=True)
    if user_id != call.user_id:
        raise HTTPError(
            403,
            "api.reaction.save_reaction.user_id.app_error",
            "You cannot save reaction for the other user.",
        )
    post = _post(call, post_id)
    call.require_channel(post.channel_id, "add_reaction")
    with fake_errors():
        reaction = call.local.add_reaction(post.id, emoji_name, user=user_id, wait=False)
    call.respond(201, reaction.model_dump(mode="json", exclude_none=True))


@route("DELETE", "/api/v4/users/{user_id}/posts/{post_id}/reactions/{emoji_name}")
def remove_reaction(call: Call) -> None:
    """Removes a user's reaction (one's own: ``remove_reaction``; another's:
    ``remove_others_reactions``); ``ReactionHasBeenRemoved`` runs."""
    user_id = call.param_user()
    post = _post(call, call.params["post_id"])
    own = user_id == call.user_id
    call.require_channel(post.channel_id, "remove_reaction" if own else "remove_others_reactions")
    with fake_errors():
        call.local.remove_reaction(post.id, call.params["emoji_name"], user=user_id, wait=False)
    call.ok()


@route("GET", "/api/v4/posts/{post_id}/reactions")
def get_reactions(call: Call) -> None:
    post = _post(call, call.params["post_id"])
    call.require_read_channel(post.channel_id)
    with call.fake.transaction():
        shown = [reaction_json(r) for r in call.fake.reactions.get(post.id, [])]
    call.respond(200, shown)


@route("POST", "/api/v4/commands/execute")
def execute_command(call: Call) -> None:
    """``{"channel_id", "command", "root_id"?, "team_id"?}``: runs a slash command as the
    acting user (``use_slash_commands`` in the channel); the answer is the plugin's
    ``CommandResponse`` (an ``in_channel`` answer is posted too)."""
    body = call.body("command")
    command = body.string("command")
    if not command.strip():
        raise invalid_body("command")
    channel_id = call.channel_ref(body.string("channel_id", required=True))
    root_id = body.string("root_id")
    team_id = body.string("team_id")
    call.require_read_channel(channel_id)
    call.require_channel(channel_id, "use_slash_commands")
    try:
        with fake_errors():
            response = call.local.execute_command(
                command,
                channel=channel_id,
                user=call.user_id,
                root_id=root_id,
                team=team_id or None,
            )
    except CommandError as exc:
        raise HTTPError(exc.status_code, exc.error_id, exc.message) from None
    call.respond(200, response.model_dump(mode="json"))


ROUTES = [
    create_post,
    get_post,
    patch_post,
    update_post,
    delete_post,
    get_thread,
    add_reaction,
    remove_reaction,
    get_reactions,
    execute_command,
]
