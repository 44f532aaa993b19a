"""Reactions on posts."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    hooks_message_pb2,
    post_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    bad_request,
    embedded,
    forbidden,
)
from mattermost_plugin.host.fake_server._state import (
    EMOJI_NAME_RE,
    FakeState,
)


class ReactionsAPI(FakeState):
    def _reaction_post(self, reaction: post_pb2.Reaction, verb: str) -> post_pb2.Post:
        """The post a reaction is on; raise what the server raises for a missing post or a
        post in an archived channel."""
        post = self._post(reaction.post_id)
        if self._channel(post.channel_id).delete_at:
            raise forbidden(
                f"api.reaction.{verb}.archived_channel.app_error",
                "you cannot react to a post in an archived channel",
            )
        return post

    @embedded(hooks=("ReactionHasBeenAdded",))
    def AddReaction(
        self, request: api_channel_post_pb2.AddReactionRequest, context: Ctx
    ) -> api_channel_post_pb2.AddReactionResponse:
        """Adds a user's emoji reaction to a post (the same one twice is one reaction);
        ReactionHasBeenAdded runs."""
        reaction = post_pb2.Reaction()
        reaction.CopyFrom(request.reaction)
        if not EMOJI_NAME_RE.match(reaction.emoji_name):
            raise bad_request("model.reaction.is_valid.emoji_name.app_error", "invalid emoji")
        self._user(reaction.user_id)
        post = self._reaction_post(reaction, "save")
        reactions = self.reactions.setdefault(post.id, [])
        existing = next(
            (
                r
                for r in reactions
                if (r.user_id, r.emoji_name) == (reaction.user_id, reaction.emoji_name)
            ),
            None,
        )
        if existing is None:
            reaction.create_at = reaction.update_at = self.now_ms()
            reaction.channel_id = post.channel_id
            reactions.append(reaction)
            post.has_reactions = True
        else:
            reaction = existing
        # The server saves (upserts) and announces the reaction every time.
        self.publish("reaction_added", {"reaction": reaction}, channel_id=post.channel_id)
        self.fire(
            "ReactionHasBeenAdded",
            lambda: hooks_message_pb2.ReactionHasBeenAddedRequest(
                plugin_context=self.plugin_context(), reaction=reaction
            ),
        )
        return api_channel_post_pb2.AddReactionResponse(reaction=reaction)

    @embedded(never_fails=True)
    def GetReactions(
        self, request: api_channel_post_pb2.GetReactionsRequest, context: Ctx
    ) -> api_channel_post_pb2.GetReactionsResponse:
        """The reactions on a post, oldest first (none for an unknown post)."""
        reactions = self.reactions.get(request.post_id, [])
        return api_channel_post_pb2.GetReactionsResponse(reactions=reactions)

    @embedded(hooks=("ReactionHasBeenRemoved",))
    def RemoveReaction(
        self, request: api_channel_post_pb2.RemoveReactionRequest, context: Ctx
    ) -> api_channel_post_pb2.RemoveReactionResponse:
        """Removes a user's reaction (none there is no error); ReactionHasBeenRemoved runs
        with it."""
        target = post_pb2.Reaction()
        target.CopyFrom(request.reaction)
        post = self._reaction_post(target, "delete")
        reactions = self.reactions.get(post.id, [])
        kept = []
        for r in reactions:
            if (r.user_id, r.emoji_name) == (target.user_id, target.emoji_name):
                target.CopyFrom(r)
                target.delete_at = target.update_at = self.now_ms()
            else:
                kept.append(r)
        reactions[:] = kept
        self.reactions.touch(post.id)
        post.has_reactions = bool(reactions)
        self.publish("reaction_removed", {"reaction": target}, channel_id=post.channel_id)
        self.fire(
            "ReactionHasBeenRemoved",
            lambda: hooks_message_pb2.ReactionHasBeenRemovedRequest(
                plugin_context=self.plugin_context(), reaction=target
            ),
        )
        return api_channel_post_pb2.RemoveReactionResponse()
