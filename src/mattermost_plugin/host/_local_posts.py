"""Posts, reactions and preferences of the local Mattermost, the way the server's flows
run the plugin's hooks around them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

from mattermost_plugin._generated.converters import api_remaining as c_remaining
from mattermost_plugin._generated.converters import post as c_post
from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_remaining_pb2,
    post_pb2,
)
from mattermost_plugin.host._local_core import LocalCore
from mattermost_plugin.host._local_types import (
    DISMISS_POST,
    ChannelRef,
    PostDismissedError,
    PostRef,
    PostRejectedError,
    PreferenceLike,
    UserRef,
    _id,
)
from mattermost_plugin.host.fake_server import HookRejection
from mattermost_plugin.models import (
    Post,
    Preference,
    Reaction,
)


@contextlib.contextmanager
def _rejections() -> Iterator[None]:
    """The fake's rejection of a post, as :class:`PostRejectedError` (or
    :class:`PostDismissedError`) with the plugin's reason."""
    try:
        yield
    except HookRejection as exc:
        error = PostDismissedError if exc.reason == DISMISS_POST else PostRejectedError
        post = cast(post_pb2.Post, exc.rejected)
        raise error(exc.reason, c_post.post_from_pb(post)) from None


class LocalPosts(LocalCore):
    """Posts, reactions and preferences, with the server's flows around them."""

    def create_post(
        self,
        channel: ChannelRef | None,
        message: str,
        *,
        user: UserRef | None = None,
        root_id: str = "",
        props: Mapping[str, Any] | None = None,
        file_ids: Iterable[str] = (),
        wait: bool = True,
    ) -> Post:
        """Post ``message`` as ``user`` (default: the default user) in ``channel`` (default:
        ``town-square``), the way the server does (see the module doc). Returns the stored
        post; raises :class:`PostRejectedError` when the plugin rejects it and
        :class:`~mattermost_plugin.host.fake_server.FakeAppError` for an invalid post.
        ``wait=False`` returns before ``MessageHasBeenPosted`` has run."""
        post = post_pb2.Post(
            user_id=self._default(user, self._user, "user"),
            channel_id=self._default(channel, self._channel, "channel"),
            root_id=root_id,
            message=message,
            file_ids=list(file_ids),
        )
        if props:
            post.props.update(dict(props))
        with self._hooks_fired(wait=wait), _rejections():
            stored = self.server.create_post(post, context=self._context())
        self._emit(
            "post",
            f"created post {stored.id} in {stored.channel_id}",
            fields={"message": stored.message},
        )
        return c_post.post_from_pb(stored)

    def update_post(
        self,
        post: PostRef,
        message: str | None = None,
        *,
        props: Mapping[str, Any] | None = None,
        file_ids: Iterable[str] | None = None,
        is_pinned: bool | None = None,
        wait: bool = True,
    ) -> Post:
        """Edit a post the way the server's ``UpdatePost`` does (see the module doc).

        ``post`` is a post id, or a post (a :class:`~mattermost_plugin.models.Post` or its
        protobuf) whose editable fields are the edit, as a client sends it; ``message``,
        ``props``, ``file_ids`` and ``is_pinned`` override them. Only those fields are taken:
        the new post is the stored one with them changed (``edit_at`` set when the message,
        the files or the attachments change). ``MessageWillBeUpdated`` gets the new and the
        old post: a rejection raises :class:`PostRejectedError` and stores nothing, a
        modified post is what gets stored, a failure or timeout lets the edit through
        (fail open). Then ``MessageHasBeenUpdated`` runs with the stored and the old post
        (``wait=False`` returns before it has run). Returns the stored post; raises
        :class:`~mattermost_plugin.host.fake_server.FakeAppError` (404) for a missing or
        deleted post, (400) for a system message or a too long message."""
        fake = self.server
        post_id = _id(post)
        old = post_pb2.Post()
        with fake.transaction():
            old.CopyFrom(fake._post(post_id))
        if isinstance(post, Post):
            received = c_post.post_to_pb(post)
        elif isinstance(post, post_pb2.Post):
            received = post_pb2.Post()
            received.CopyFrom(post)
        else:
            received = post_pb2.Post()
            received.CopyFrom(old)
        if message is not None:
            received.message = message
        if props is not None:
            received.ClearField("props")
            received.props.update(dict(props))
        if file_ids is not None:
            received.file_ids[:] = list(file_ids)
        if is_pinned is not None:
            received.is_pinned = is_pinned
        with self._hooks_fired(wait=wait), _rejections():
            new = fake.update_post(received, context=self._context())
        self._emit(
            "post",
            f"updated post {post_id} in {new.channel_id}",
            fields={"message": new.message},
        )
        return c_post.post_from_pb(new)

    def delete_post(self, post: PostRef, *, wait: bool = True) -> Post:
        """Delete a post the way the server does: it is marked deleted (``delete_at``; a
        root's replies with it) as the API's ``DeletePost`` does, then
        ``MessageHasBeenDeleted`` runs with the deleted post (``wait=False`` returns before
        it has run). Returns the deleted post; raises
        :class:`~mattermost_plugin.host.fake_server.FakeAppError` (404) for a missing or
        already deleted post."""
        fake = self.server
        post_id = _id(post)
        deleted = post_pb2.Post()
        with self._hooks_fired(wait=wait):
            self._invoke("DeletePost", api_channel_post_pb2.DeletePostRequest(post_id=post_id))
        with fake.transaction():
            deleted.CopyFrom(fake.posts[post_id])
        self._emit("post", f"deleted post {post_id} in {deleted.channel_id}")
        return c_post.post_from_pb(deleted)

    def posts(
        self, channel: ChannelRef | None = None, *, include_deleted: bool = False
    ) -> list[Post]:
        """The posts of a channel (default: all channels), oldest first."""
        fake = self.server
        channel_id = _id(channel) if channel is not None else None
        with fake.transaction():
            found = [
                p
                for p in fake.posts.values()
                if (channel_id is None or p.channel_id == channel_id)
                and (include_deleted or not p.delete_at)
            ]
            found.sort(key=lambda p: p.create_at)
            return [c_post.post_from_pb(p) for p in found]

    def get_post(self, post_id: str) -> Post:
        with self.server.transaction():
            return c_post.post_from_pb(self.server._post(post_id))

    def ephemeral_posts(self, user: UserRef | None = None) -> list[Post]:
        """Ephemeral posts (``SendEphemeralPost``, ephemeral command answers) sent to
        ``user`` (default: to anyone), oldest first."""
        fake = self.server
        user_id = _id(user) if user is not None else None
        with fake.transaction():
            found = [
                e.post
                for e in fake.ephemeral_posts.values()
                if user_id is None or e.user_id == user_id
            ]
            found.sort(key=lambda p: p.create_at)
            return [c_post.post_from_pb(p) for p in found]

    def _reaction(self, post: PostRef, emoji_name: str, user: UserRef | None) -> post_pb2.Reaction:
        return post_pb2.Reaction(
            user_id=self._default(user, self._user, "user"),
            post_id=_id(post),
            emoji_name=emoji_name,
        )

    def add_reaction(
        self, post: PostRef, emoji_name: str, *, user: UserRef | None = None, wait: bool = True
    ) -> Reaction:
        """React to ``post`` with ``emoji_name`` (no colons) as ``user`` (default: the
        default user), then ``ReactionHasBeenAdded`` runs (``wait=False`` returns before it
        has run). Returns the stored reaction; raises
        :class:`~mattermost_plugin.host.fake_server.FakeAppError` for a missing post, a post
        in an archived channel or an invalid emoji name."""
        reaction = self._reaction(post, emoji_name, user)
        with self._hooks_fired(wait=wait):
            stored = self._invoke(
                "AddReaction", api_channel_post_pb2.AddReactionRequest(reaction=reaction)
            ).reaction
        self._emit(
            "post",
            f"{reaction.user_id} reacted :{emoji_name}: to {reaction.post_id}",
            level="debug",
        )
        return c_post.reaction_from_pb(stored)

    def remove_reaction(
        self, post: PostRef, emoji_name: str, *, user: UserRef | None = None, wait: bool = True
    ) -> None:
        """Remove ``user``'s (default: the default user's) ``emoji_name`` reaction from
        ``post``, then ``ReactionHasBeenRemoved`` runs with it (``wait=False`` returns before
        it has run). As on the server, removing a reaction that is not there is no error."""
        reaction = self._reaction(post, emoji_name, user)
        with self._hooks_fired(wait=wait):
            self._invoke(
                "RemoveReaction", api_channel_post_pb2.RemoveReactionRequest(reaction=reaction)
            )
        self._emit(
            "post",
            f"{reaction.user_id} removed :{emoji_name}: from {reaction.post_id}",
            level="debug",
        )

    def reactions(self, post: PostRef) -> list[Reaction]:
        """The reactions on ``post``, oldest first."""
        with self.server.transaction():
            found = list(self.server.reactions.get(_id(post), []))
            return [c_post.reaction_from_pb(r) for r in found]

    def set_preferences(
        self,
        preferences: Iterable[PreferenceLike],
        *,
        user: UserRef | None = None,
        wait: bool = True,
    ) -> list[Preference]:
        """Save preferences of ``user`` (default: the default user) as the server's
        ``UpdatePreferences`` does, then ``PreferencesHaveChanged`` runs with them
        (``wait=False`` returns before it has run). Each preference is a
        :class:`~mattermost_plugin.models.Preference`, its protobuf, or a mapping with
        ``category``, ``name`` and ``value``; an empty ``user_id`` is ``user``'s. Returns the
        saved preferences; raises :class:`~mattermost_plugin.host.fake_server.FakeAppError`
        (403) for another user's preference, (400) for an invalid one, and saves none then."""
        user_id = self._default(user, self._user, "user")
        saved: list[api_remaining_pb2.Preference] = []
        for item in preferences:
            if isinstance(item, api_remaining_pb2.Preference):
                preference = api_remaining_pb2.Preference()
                preference.CopyFrom(item)
            elif isinstance(item, Preference):
                preference = c_remaining.preference_to_pb(item)
            else:
                preference = api_remaining_pb2.Preference(
                    user_id=str(item.get("user_id", "")),
                    category=str(item.get("category", "")),
                    name=str(item.get("name", "")),
                    value=str(item.get("value", "")),
                )
            preference.user_id = preference.user_id or user_id
            saved.append(preference)
        with self._hooks_fired(wait=wait):
            self._invoke(
                "UpdatePreferencesForUser",
                api_remaining_pb2.UpdatePreferencesForUserRequest(
                    user_id=user_id, preferences=saved
                ),
            )
        self._emit("server", f"saved {len(saved)} preference(s) of {user_id}", level="debug")
        return [c_remaining.preference_from_pb(p) for p in saved]

    def preferences(self, user: UserRef | None = None) -> list[Preference]:
        """The saved preferences of ``user`` (default: the default user), by category and
        name."""
        user_id = self._default(user, self._user, "user")
        fake = self.server
        with fake.transaction():
            found = sorted(
                (p for (owner, _, _), p in fake.preferences.items() if owner == user_id),
                key=lambda p: (p.category, p.name),
            )
            return [c_remaining.preference_from_pb(p) for p in found]
