"""Reactions on posts."""

from __future__ import annotations

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
    EMOJI_NAME_RE,
    FakeState,
)


class ReactionsAPI(FakeState):
    # ----------------------------------------------------------------------- reactions (embedded)

    @embedded
    def AddReaction(
        self, request: api_channel_post_pb2.AddReactionRequest, context: Ctx
    ) -> api_channel_post_pb2.AddReactionResponse:
        reaction = post_pb2.Reaction()
        reaction.CopyFrom(request.reaction)
        if not EMOJI_NAME_RE.match(reaction.emoji_name):
            raise bad_request("model.reaction.is_valid.emoji_name.app_error", "invalid emoji")
        self._user(reaction.user_id)
        post = self._post(reaction.post_id)
        reactions = self.reactions.setdefault(post.id, [])
        for existing in reactions:  # the same user and emoji twice is one reaction
            if (existing.user_id, existing.emoji_name) == (reaction.user_id, reaction.emoji_name):
                return api_channel_post_pb2.AddReactionResponse(reaction=existing)
        reaction.create_at = reaction.update_at = self.now_ms()
        reaction.channel_id = post.channel_id
        reactions.append(reaction)
        post.has_reactions = True
        return api_channel_post_pb2.AddReactionResponse(reaction=reaction)

    @embedded
    def GetReactions(
        self, request: api_channel_post_pb2.GetReactionsRequest, context: Ctx
    ) -> api_channel_post_pb2.GetReactionsResponse:
        reactions = self.reactions.get(request.post_id, [])
        return api_channel_post_pb2.GetReactionsResponse(reactions=reactions)

    @embedded
    def RemoveReaction(
        self, request: api_channel_post_pb2.RemoveReactionRequest, context: Ctx
    ) -> api_channel_post_pb2.RemoveReactionResponse:
        target = request.reaction
        post = self._post(target.post_id)
        reactions = self.reactions.get(post.id, [])
        reactions[:] = [
            r for r in reactions if (r.user_id, r.emoji_name) != (target.user_id, target.emoji_name)
        ]
        post.has_reactions = bool(reactions)
        return api_channel_post_pb2.RemoveReactionResponse()
