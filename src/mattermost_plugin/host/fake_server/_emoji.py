"""Custom emojis (the host adds them: the plugin API has no way to create one)."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2
from mattermost_plugin.host.fake_server._rpc import Ctx, bad_request, not_found, status
from mattermost_plugin.host.fake_server._state import (
    EMOJI_NAME_RE,
    FakeState,
    is_image,
    new_id,
    paged,
)

_IMAGE_TYPES = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
)


def _content_type(image: bytes) -> str:
    return next((kind for magic, kind in _IMAGE_TYPES if image.startswith(magic)), "image/webp")


class EmojiAPI(FakeState):
    def add_emoji(self, name: str, image: bytes, creator_id: str) -> api_channel_post_pb2.Emoji:
        """Add a custom emoji as a user does in the web app (a free name, an image)."""
        if not EMOJI_NAME_RE.match(name) or any(e.name == name for e in self.emojis.values()):
            raise bad_request("api.emoji.create.duplicate.app_error", f"invalid or taken: {name!r}")
        if not is_image(image):
            raise bad_request("api.emoji.upload.image.app_error", "not an image")
        now = self.now_ms()
        emoji = api_channel_post_pb2.Emoji(
            id=new_id(), name=name, creator_id=creator_id, create_at=now, update_at=now
        )
        self.emojis[emoji.id] = emoji
        self.emoji_images[emoji.id] = image
        return emoji

    def _emoji(self, emoji_id: str) -> api_channel_post_pb2.Emoji:
        emoji = self.emojis.get(emoji_id)
        if emoji is None or emoji.delete_at:
            raise not_found("app.emoji.get.no_result", "emoji", emoji_id)
        return emoji

    @status(never_fails=True)
    def GetEmojiList(
        self, request: api_channel_post_pb2.GetEmojiListRequest, context: Ctx
    ) -> api_channel_post_pb2.GetEmojiListResponse:
        """The custom emojis, by creation or (``sort_by="name"``) by name, a page at a
        time."""
        emojis = [e for e in self.emojis.values() if not e.delete_at]
        emojis.sort(
            key=(lambda e: e.name) if request.sort_by == "name" else (lambda e: e.create_at)
        )
        page = paged(emojis, request.page, request.per_page)
        return api_channel_post_pb2.GetEmojiListResponse(emojis=page)

    @status
    def GetEmoji(
        self, request: api_channel_post_pb2.GetEmojiRequest, context: Ctx
    ) -> api_channel_post_pb2.GetEmojiResponse:
        """A custom emoji by id."""
        return api_channel_post_pb2.GetEmojiResponse(emoji=self._emoji(request.emoji_id))

    @status
    def GetEmojiByName(
        self, request: api_channel_post_pb2.GetEmojiByNameRequest, context: Ctx
    ) -> api_channel_post_pb2.GetEmojiByNameResponse:
        """A custom emoji by name."""
        for emoji in self.emojis.values():
            if emoji.name == request.name and not emoji.delete_at:
                return api_channel_post_pb2.GetEmojiByNameResponse(emoji=emoji)
        raise not_found("app.emoji.get_by_name.no_result", "emoji", request.name)

    @status
    def GetEmojiImage(
        self, request: api_channel_post_pb2.GetEmojiImageRequest, context: Ctx
    ) -> api_channel_post_pb2.GetEmojiImageResponse:
        """A custom emoji's image and its content type."""
        emoji = self._emoji(request.emoji_id)
        image = self.emoji_images[emoji.id]
        return api_channel_post_pb2.GetEmojiImageResponse(
            image=image, content_type=_content_type(image)
        )
