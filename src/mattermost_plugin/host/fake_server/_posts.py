"""Posts, threads and ephemeral posts."""

from __future__ import annotations

from collections.abc import Iterable

from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    post_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    bad_request,
    embedded,
)
from mattermost_plugin.host.fake_server._state import (
    POST_MESSAGE_MAX_RUNES,
    EphemeralPost,
    FakeState,
    new_id,
    paged,
)


def mark_edited(new: post_pb2.Post, old: post_pb2.Post, now: int) -> None:
    """Set ``new.edit_at`` as the server does when an edit changes the message, the files
    or the attachments (and ``edit_at`` was not set for this edit already)."""
    if new.edit_at != old.edit_at:
        return
    attachments = new.props.fields.get("attachments") != old.props.fields.get("attachments")
    if new.message != old.message or list(new.file_ids) != list(old.file_ids) or attachments:
        new.edit_at = now


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

    @embedded
    def CreatePost(
        self, request: api_channel_post_pb2.CreatePostRequest, context: Ctx
    ) -> api_channel_post_pb2.CreatePostResponse:
        post = post_pb2.Post()
        post.CopyFrom(request.post)
        self._check_new_post(post)
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
        return api_channel_post_pb2.CreatePostResponse(post=post)

    @embedded
    def GetPost(
        self, request: api_channel_post_pb2.GetPostRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPostResponse:
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

    @embedded
    def UpdatePost(
        self, request: api_channel_post_pb2.UpdatePostRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdatePostResponse:
        post = self.edited_post(self._post(request.post.id), request.post)
        post.update_at = max(self.now_ms(), post.edit_at)
        self.posts[post.id] = post
        return api_channel_post_pb2.UpdatePostResponse(post=post)

    @embedded
    def DeletePost(
        self, request: api_channel_post_pb2.DeletePostRequest, context: Ctx
    ) -> api_channel_post_pb2.DeletePostResponse:
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
        return api_channel_post_pb2.DeletePostResponse()

    @embedded
    def GetPostThread(
        self, request: api_channel_post_pb2.GetPostThreadRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPostThreadResponse:
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
        self._channel(request.channel_id)
        posts = [
            p
            for p in self.posts.values()
            if p.channel_id == request.channel_id and p.update_at > request.time
        ]
        return api_channel_post_pb2.GetPostsSinceResponse(post_list=self._post_list(posts))

    @embedded
    def SendEphemeralPost(
        self, request: api_channel_post_pb2.SendEphemeralPostRequest, context: Ctx
    ) -> api_channel_post_pb2.SendEphemeralPostResponse:
        post = post_pb2.Post()
        post.CopyFrom(request.post)
        post.id = post.id or new_id()
        post.type = "ephemeral"
        post.create_at = post.create_at or self.now_ms()
        post.user_id = post.user_id or request.user_id
        self.ephemeral_posts[post.id] = EphemeralPost(request.user_id, post)
        return api_channel_post_pb2.SendEphemeralPostResponse(post=post)

    @embedded
    def UpdateEphemeralPost(
        self, request: api_channel_post_pb2.UpdateEphemeralPostRequest, context: Ctx
    ) -> api_channel_post_pb2.UpdateEphemeralPostResponse:
        # The server only pushes the post to the user's clients; it checks no prior existence.
        post = post_pb2.Post()
        post.CopyFrom(request.post)
        post.type = "ephemeral"
        post.update_at = self.now_ms()
        self.ephemeral_posts[post.id] = EphemeralPost(request.user_id, post)
        return api_channel_post_pb2.UpdateEphemeralPostResponse(post=post)

    @embedded
    def DeleteEphemeralPost(
        self, request: api_channel_post_pb2.DeleteEphemeralPostRequest, context: Ctx
    ) -> api_channel_post_pb2.DeleteEphemeralPostResponse:
        self.ephemeral_posts.pop(request.post_id, None)
        return api_channel_post_pb2.DeleteEphemeralPostResponse()
