"""Posts, threads and ephemeral posts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    hooks_common_pb2,
    hooks_message_pb2,
    post_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    HookRejection,
    bad_request,
    embedded,
)
from mattermost_plugin.host.fake_server._state import (
    CHANNEL_TYPE_LETTERS,
    POST_MESSAGE_MAX_RUNES,
    EphemeralPost,
    FakeState,
    new_id,
    paged,
)


def for_plugin(post: post_pb2.Post) -> post_pb2.Post:
    """A copy of ``post`` as the server's Python host sends it to a "will be" hook:
    without ``props`` and ``metadata`` (PROTOCOL §3)."""
    copy = post_pb2.Post()
    copy.CopyFrom(post)
    copy.ClearField("props")
    copy.ClearField("metadata")
    return copy


def mark_edited(new: post_pb2.Post, old: post_pb2.Post, now: int) -> None:
    """Set ``new.edit_at`` as the server does when an edit changes the message, the files
    or the attachments (and ``edit_at`` was not set for this edit already)."""
    if new.edit_at != old.edit_at:
        return
    attachments = new.props.fields.get("attachments") != old.props.fields.get("attachments")
    if new.message != old.message or list(new.file_ids) != list(old.file_ids) or attachments:
        new.edit_at = now


DISMISS_POST = "plugin.message_will_be_posted.dismiss_post"
"""The rejection reason that dismisses a post silently."""


class PostsAPI(FakeState):
    def _post_list(self, posts: Iterable[post_pb2.Post]) -> post_pb2.PostList:
        ordered = sorted(posts, key=lambda p: p.create_at, reverse=True)  # newest first
        return post_pb2.PostList(order=[p.id for p in ordered], posts={p.id: p for p in ordered})

    # ----------------------------------------------------------------------- posts (embedded)

    def _check_new_post(self, post: post_pb2.Post) -> None:
        """Raise what the server raises for a post it will not create (before any hook)."""
        if post.id:
            raise bad_request("store.sql_post.save.existing.app_error", "the post has an id")
        if len(post.message) > POST_MESSAGE_MAX_RUNES:
            raise bad_request("model.post.is_valid.message_length.app_error", "message too long")
        self._user(post.user_id)
        channel = self._channel(post.channel_id)
        if channel.delete_at:
            raise bad_request(
                "api.post.create_post.can_not_post_to_deleted.error",
                "cannot post to a deleted channel",
            )
        if post.root_id:
            root = self.posts.get(post.root_id)
            if root is None or root.delete_at or root.root_id:
                raise bad_request("api.post.create_post.root_id.app_error", "invalid root_id")
            if root.channel_id != post.channel_id:
                raise bad_request(
                    "api.post.create_post.channel_root_id.app_error",
                    "the root post is in another channel",
                )

    @embedded(hooks=("MessageWillBePosted", "MessageHasBeenPosted"), locked=False)
    def CreatePost(
        self, request: api_channel_post_pb2.CreatePostRequest, context: Ctx
    ) -> api_channel_post_pb2.CreatePostResponse:
        """Stores a post (a reply updates its thread) between the plugin's
        MessageWillBePosted and MessageHasBeenPosted, as the server does for the plugin's
        own posts too."""
        return api_channel_post_pb2.CreatePostResponse(post=self.create_post(request.post))

    def create_post(
        self, post: post_pb2.Post, *, context: hooks_common_pb2.PluginContext | None = None
    ) -> post_pb2.Post:
        """The server's ``CreatePost``: check the post, run ``MessageWillBePosted`` (a
        rejection raises :class:`HookRejection`, 400, and stores nothing; a modified post
        is what gets stored; a failed call lets the post through), store it, then fire
        ``MessageHasBeenPosted`` with the stored post. Returns the stored post."""
        context = context or self.plugin_context()
        post_in = post_pb2.Post()
        post_in.CopyFrom(post)
        with self.transaction():
            self._check_new_post(post_in)
        post_in.create_at = post_in.create_at or self.now_ms()
        answer = self.run_hook(
            "MessageWillBePosted",
            hooks_message_pb2.MessageWillBePostedRequest(
                plugin_context=context, post=for_plugin(post_in)
            ),
        )
        if answer is not None:
            reason = cast(hooks_message_pb2.MessageWillBePostedResponse, answer).rejection_reason
            if reason:
                # The server's error id is the text itself (so it shows as such).
                error_id = (
                    reason if reason == DISMISS_POST else f"Post rejected by plugin. {reason}"
                )
                raise HookRejection("MessageWillBePosted", reason, post_in, error_id, 400)
            if answer.HasField("modified_post"):
                post_in = cast(hooks_message_pb2.MessageWillBePostedResponse, answer).modified_post
                post_in.id = ""
        with self.transaction():
            self._check_new_post(post_in)  # the modified post, and the world may have moved
            stored = self._store_post(post_in)
            self.fire(
                "MessageHasBeenPosted",
                lambda: hooks_message_pb2.MessageHasBeenPostedRequest(
                    plugin_context=context, post=stored
                ),
            )
            result = post_pb2.Post()
            result.CopyFrom(stored)
        return result

    def _store_post(self, post: post_pb2.Post) -> post_pb2.Post:
        channel = self._channel(post.channel_id)
        now = self.now_ms()
        if post.root_id:
            root = self.posts[post.root_id]
            root.reply_count += 1
            root.last_reply_at = now
            post.reply_count = root.reply_count
        else:
            channel.last_root_post_at = now
            channel.total_msg_count_root += 1
        post.id = new_id()
        post.create_at = post.update_at = now
        channel.last_post_at = now
        channel.total_msg_count += 1
        self.posts[post.id] = post
        for file_id in post.file_ids:  # the post's files are attached to it
            stored = self.files.get(file_id)
            if stored is not None and not stored.info.post_id:
                stored.info.post_id = post.id
        sender = self.users.get(post.user_id)
        self.publish(
            "posted",
            {
                "post": post,
                "channel_type": CHANNEL_TYPE_LETTERS.get(channel.type, ""),
                "channel_name": channel.name,
                "channel_display_name": channel.display_name,
                "sender_name": f"@{sender.username}" if sender is not None else "",
                "team_id": channel.team_id,
            },
            channel_id=channel.id,
        )
        return post

    @embedded
    def GetPost(
        self, request: api_channel_post_pb2.GetPostRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPostResponse:
        """A post by id; deleted posts are not found."""
        return api_channel_post_pb2.GetPostResponse(post=self._post(request.post_id))

    def edited_post(self, old: post_pb2.Post, received: post_pb2.Post) -> post_pb2.Post:
        """The post ``app.UpdatePost`` makes of an edit: ``old`` with the editable fields of
        ``received`` (message, pinned, file ids, props), ``edit_at`` set when the message,
        the files or the attachments changed. Raises the server's 400 for a system message
        or a too long message. Stores nothing."""
        if old.type.startswith("system_"):
            raise bad_request(
                "api.post.update_post.system_message.app_error", "system messages cannot be edited"
            )
        if len(received.message) > POST_MESSAGE_MAX_RUNES:
            raise bad_request("model.post.is_valid.message_length.app_error", "message too long")
        new = post_pb2.Post()
        new.CopyFrom(old)
        new.message = received.message
        new.is_pinned = received.is_pinned
        new.file_ids[:] = received.file_ids
        new.props.CopyFrom(received.props)
        mark_edited(new, old, self.now_ms())
        return new

    @embedded(hooks=("MessageWillBeUpdated", "MessageHasBeenUpdated"), locked=False)
    def UpdatePost(
        self, request: api_channel_post_pb2.UpdatePostRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdatePostResponse:
        """Edits a post's message, props, file ids and pinned flag between the plugin's
        MessageWillBeUpdated and MessageHasBeenUpdated."""
        return api_channel_post_pb2.UpdatePostResponse(post=self.update_post(request.post))

    def update_post(
        self, received: post_pb2.Post, *, context: hooks_common_pb2.PluginContext | None = None
    ) -> post_pb2.Post:
        """The server's ``UpdatePost``: the new post is the stored one with the editable
        fields of ``received`` (:meth:`edited_post`); ``MessageWillBeUpdated`` gets the new
        and the old post (a rejection raises :class:`HookRejection`, 400; a modified post
        is what gets stored; a failed call lets the edit through); the store; then
        ``MessageHasBeenUpdated`` with the stored and the old post."""
        context = context or self.plugin_context()
        old = post_pb2.Post()
        with self.transaction():
            old.CopyFrom(self._post(received.id))
            new = self.edited_post(old, received)
        answer = self.run_hook(
            "MessageWillBeUpdated",
            hooks_message_pb2.MessageWillBeUpdatedRequest(
                plugin_context=context, new_post=for_plugin(new), old_post=for_plugin(old)
            ),
        )
        if answer is not None:
            response = cast(hooks_message_pb2.MessageWillBeUpdatedResponse, answer)
            if response.rejection_reason:
                reason = response.rejection_reason
                error_id = f"Post rejected by plugin. {reason}"
                raise HookRejection("MessageWillBeUpdated", reason, new, error_id, 400)
            if response.HasField("modified_post"):
                new = response.modified_post
                new.id = old.id
                # The server restores the metadata the hook could not see.
                new.ClearField("metadata")
                if old.HasField("metadata"):
                    new.metadata.CopyFrom(old.metadata)
                mark_edited(new, old, self.now_ms())
        with self.transaction():
            current = self._post(old.id)  # 404 if it was deleted meanwhile
            # What the store keeps up to date on its own is taken from the current row.
            new.reply_count = current.reply_count
            new.last_reply_at = current.last_reply_at
            new.has_reactions = current.has_reactions
            new.update_at = max(self.now_ms(), new.edit_at)
            stored = post_pb2.Post()
            stored.CopyFrom(new)
            self.posts[old.id] = stored
            self.publish("post_edited", {"post": stored}, channel_id=stored.channel_id)
            self.fire(
                "MessageHasBeenUpdated",
                lambda: hooks_message_pb2.MessageHasBeenUpdatedRequest(
                    plugin_context=context, new_post=stored, old_post=old
                ),
            )
        return new

    @embedded(hooks=("MessageHasBeenDeleted",))
    def DeletePost(
        self, request: api_channel_post_pb2.DeletePostRequest, context: Ctx
    ) -> api_channel_post_pb2.DeletePostResponse:
        """Marks a post deleted (a root with its replies), then MessageHasBeenDeleted runs
        with the deleted post."""
        post = self._post(request.post_id)
        now = self.now_ms()
        post.delete_at = post.update_at = now
        if post.root_id:
            root = self.posts[post.root_id]
            root.reply_count = max(root.reply_count - 1, 0)
        else:  # deleting a root deletes its thread
            for reply in self.posts.values():
                if reply.root_id == post.id and not reply.delete_at:
                    reply.delete_at = reply.update_at = now
                    self.posts.touch(reply.id)
        # Only the post itself is announced (the server's app.DeletePost); its replies are
        # deleted by the store without a hook each.
        self.publish("post_deleted", {"post": post}, channel_id=post.channel_id)
        self.fire(
            "MessageHasBeenDeleted",
            lambda: hooks_message_pb2.MessageHasBeenDeletedRequest(
                plugin_context=self.plugin_context(), post=post
            ),
        )
        return api_channel_post_pb2.DeletePostResponse()

    @embedded
    def GetPostThread(
        self, request: api_channel_post_pb2.GetPostThreadRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPostThreadResponse:
        """A post's thread: its root and replies, newest first."""
        post = self._post(request.post_id)
        root_id = post.root_id or post.id
        thread = [
            p
            for p in self.posts.values()
            if not p.delete_at and (p.id == root_id or p.root_id == root_id)
        ]
        return api_channel_post_pb2.GetPostThreadResponse(post_list=self._post_list(thread))

    @embedded
    def GetPostsForChannel(
        self, request: api_channel_post_pb2.GetPostsForChannelRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPostsForChannelResponse:
        """A channel's posts, newest first, a page at a time."""
        self._channel(request.channel_id)
        posts = sorted(
            (
                p
                for p in self.posts.values()
                if p.channel_id == request.channel_id and not p.delete_at
            ),
            key=lambda p: p.create_at,
            reverse=True,
        )
        page = paged(posts, request.page, request.per_page)
        return api_channel_post_pb2.GetPostsForChannelResponse(post_list=self._post_list(page))

    @embedded
    def GetPostsSince(
        self, request: api_channel_post_pb2.GetPostsSinceRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPostsSinceResponse:
        """A channel's posts changed after a time (deleted ones too)."""
        self._channel(request.channel_id)
        posts = [
            p
            for p in self.posts.values()
            if p.channel_id == request.channel_id and p.update_at > request.time
        ]
        return api_channel_post_pb2.GetPostsSinceResponse(post_list=self._post_list(posts))

    @embedded(never_fails=True)
    def SendEphemeralPost(
        self, request: api_channel_post_pb2.SendEphemeralPostRequest, context: Ctx
    ) -> api_channel_post_pb2.SendEphemeralPostResponse:
        """Shows a post to one user only (recorded, not stored in the channel)."""
        post = post_pb2.Post()
        post.CopyFrom(request.post)
        post.id = post.id or new_id()
        post.type = "ephemeral"
        post.create_at = post.create_at or self.now_ms()
        post.user_id = post.user_id or request.user_id
        self.ephemeral_posts[post.id] = EphemeralPost(request.user_id, post)
        self.publish(
            "ephemeral_message", {"post": post}, channel_id=post.channel_id, user_id=request.user_id
        )
        return api_channel_post_pb2.SendEphemeralPostResponse(post=post)

    @embedded(never_fails=True)
    def UpdateEphemeralPost(
        self, request: api_channel_post_pb2.UpdateEphemeralPostRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdateEphemeralPostResponse:
        """Changes an ephemeral post a user sees; the server checks nothing."""
        # The server only pushes the post to the user's clients; it checks no prior existence.
        post = post_pb2.Post()
        post.CopyFrom(request.post)
        post.type = "ephemeral"
        post.update_at = self.now_ms()
        self.ephemeral_posts[post.id] = EphemeralPost(request.user_id, post)
        self.publish(
            "post_edited", {"post": post}, channel_id=post.channel_id, user_id=request.user_id
        )
        return api_channel_post_pb2.UpdateEphemeralPostResponse(post=post)

    @embedded(never_fails=True)
    def DeleteEphemeralPost(
        self, request: api_channel_post_pb2.DeleteEphemeralPostRequest, context: Ctx
    ) -> api_channel_post_pb2.DeleteEphemeralPostResponse:
        """Takes back an ephemeral post; the server checks nothing."""
        taken = self.ephemeral_posts.pop(request.post_id, None)
        post = taken.post if taken is not None else post_pb2.Post(id=request.post_id)
        post.delete_at = self.now_ms()
        self.publish(
            "post_deleted", {"post": post}, channel_id=post.channel_id, user_id=request.user_id
        )
        return api_channel_post_pb2.DeleteEphemeralPostResponse()
