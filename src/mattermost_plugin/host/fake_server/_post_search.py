"""Reading posts around a post, and searching them: the server's ``GetPostsAfter``,
``GetPostsBefore`` and its (database) search, by words."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2, post_pb2
from mattermost_plugin.host.fake_server._posts import PostsAPI
from mattermost_plugin.host.fake_server._rpc import Ctx, embedded, not_found
from mattermost_plugin.host.fake_server._state import paged

_WORD_RE = re.compile(r"[\w@.-]+")


def _matches(post: post_pb2.Post, terms: list[str], any_term: bool) -> list[str]:
    """The terms the post's message has (a term ending in ``*`` is a prefix); empty when
    it does not match (all terms, or any with ``any_term``)."""
    words = {w.lower() for w in _WORD_RE.findall(post.message)}
    found = []
    for term in terms:
        prefix = term.endswith("*")
        bare = term.rstrip("*").lower()
        if any(w.startswith(bare) if prefix else w == bare for w in words):
            found.append(term)
    return found if found and (any_term or len(found) == len(terms)) else []


class PostSearchAPI(PostsAPI):
    def _around(self, channel_id: str, post_id: str) -> tuple[post_pb2.Post, list[post_pb2.Post]]:
        self._channel(channel_id)
        anchor = self._post(post_id)
        if anchor.channel_id != channel_id:
            raise not_found("app.post.get.app_error", "post in the channel", post_id)
        posts = [p for p in self.posts.values() if p.channel_id == channel_id and not p.delete_at]
        return anchor, posts

    @embedded
    def GetPostsAfter(
        self, request: api_channel_post_pb2.GetPostsAfterRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPostsAfterResponse:
        """The channel's posts after a post, the oldest page first (404 for an unknown
        channel or post)."""
        anchor, posts = self._around(request.channel_id, request.post_id)
        after = sorted(
            (p for p in posts if p.create_at > anchor.create_at), key=lambda p: p.create_at
        )
        page = paged(after, request.page, request.per_page)
        return api_channel_post_pb2.GetPostsAfterResponse(post_list=self._post_list(page))

    @embedded
    def GetPostsBefore(
        self, request: api_channel_post_pb2.GetPostsBeforeRequest, context: Ctx
    ) -> api_channel_post_pb2.GetPostsBeforeResponse:
        """The channel's posts before a post, the newest page first (404 for an unknown
        channel or post)."""
        anchor, posts = self._around(request.channel_id, request.post_id)
        before = sorted(
            (p for p in posts if p.create_at < anchor.create_at),
            key=lambda p: p.create_at,
            reverse=True,
        )
        page = paged(before, request.page, request.per_page)
        return api_channel_post_pb2.GetPostsBeforeResponse(post_list=self._post_list(page))

    def _search(
        self, channels: Iterable[str], terms: str, any_term: bool
    ) -> list[tuple[post_pb2.Post, list[str]]]:
        wanted = set(channels)
        words = terms.split()
        found = []
        for post in self.posts.values():
            if post.channel_id in wanted and not post.delete_at and words:
                matched = _matches(post, words, any_term)
                if matched:
                    found.append((post, matched))
        found.sort(key=lambda pm: pm[0].create_at, reverse=True)
        return found

    def _team_channels(self, team_id: str, include_deleted: bool) -> list[str]:
        return [
            c.id
            for c in self.channels.values()
            if c.team_id in (team_id, "") and (include_deleted or not c.delete_at)
        ]

    @embedded(never_fails=True)
    def SearchPostsInTeam(
        self, request: api_channel_post_pb2.SearchPostsInTeamRequest, context: Ctx
    ) -> api_channel_post_pb2.SearchPostsInTeamResponse:
        """Posts of the team's channels with all the words of each search (or any, for an
        ``is_or_search``; ``word*`` is a prefix), narrowed by ``in_channels`` and
        ``from_users`` (names), newest first."""
        results: dict[str, post_pb2.Post] = {}
        for params in request.params_list:
            channels = self._team_channels(request.team_id, params.include_deleted_channels)
            if params.in_channels:
                names = set(params.in_channels)
                channels = [c for c in channels if self.channels[c].name in names]
            users = {u.id for u in self.users.values() if u.username in set(params.from_users)}
            for post, _ in self._search(channels, params.terms, params.is_or_search):
                if not params.from_users or post.user_id in users:
                    results[post.id] = post
        ordered = sorted(results.values(), key=lambda p: p.create_at, reverse=True)
        return api_channel_post_pb2.SearchPostsInTeamResponse(posts=ordered)

    @embedded
    def SearchPostsInTeamForUser(
        self, request: api_channel_post_pb2.SearchPostsInTeamForUserRequest, context: Ctx
    ) -> api_channel_post_pb2.SearchPostsInTeamForUserResponse:
        """As SearchPostsInTeam, in the channels the user is a member of, a page at a
        time, with the matched words of each post (404 for an unknown user)."""
        self._user(request.user_id)
        params = request.search_params
        channels = [
            c
            for c in self._team_channels(request.team_id, params.include_deleted_channels)
            if request.user_id in self._members(c)
        ]
        found = self._search(channels, params.terms, params.is_or_search)
        per_page = params.per_page if params.per_page > 0 else 20
        page = paged(found, params.page, per_page)
        results = api_channel_post_pb2.PostSearchResults(order=[p.id for p, _ in page])
        for post, matched in page:
            results.posts[post.id].CopyFrom(post)
            results.matches[post.id].values.extend(matched)
        return api_channel_post_pb2.SearchPostsInTeamForUserResponse(results=results)
