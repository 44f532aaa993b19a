"""Posts, threads, ephemeral posts, searches and reactions of the fake, through the SDK's
client over real gRPC."""

from __future__ import annotations

import pytest
from tests.support.api_client import Clock
from tests.support.coverage import fails, ok

from mattermost_plugin import NotFoundError, PluginAPIClient, ValidationError
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.models import (
    Channel,
    Post,
    Reaction,
    SearchParameter,
    SearchParams,
    Team,
    User,
)


@pytest.fixture
def channel(api: PluginAPIClient, team: Team) -> Channel:
    return api.get_channel_by_name(team.id, "town-square")


def post(api: PluginAPIClient, channel: Channel, user: User, message: str, root: str = "") -> Post:
    return api.create_post(channel_id=channel.id, user_id=user.id, message=message, root_id=root)


@ok(
    "CreatePost",
    "GetPost",
    "UpdatePost",
    "DeletePost",
    "GetPostThread",
    "GetPostsForChannel",
    "GetPostsSince",
    "GetPostsAfter",
    "GetPostsBefore",
)
def test_posts_and_threads(
    api: PluginAPIClient, channel: Channel, alice: User, clock: Clock
) -> None:
    root = post(api, channel, alice, "root")
    clock.advance(1)
    reply = post(api, channel, alice, "reply", root.id)
    clock.advance(1)
    last = post(api, channel, alice, "last")
    assert api.get_post(root.id).reply_count == 1
    thread = api.get_post_thread(reply.id)
    assert thread.order == [reply.id, root.id]
    assert api.get_posts_for_channel(channel.id, per_page=2).order == [last.id, reply.id]
    assert api.get_posts_since(channel.id, reply.create_at).order == [last.id]
    assert api.get_posts_after(channel.id, root.id).order == [last.id, reply.id]
    assert api.get_posts_after(channel.id, root.id, per_page=1).order == [reply.id]
    assert api.get_posts_before(channel.id, last.id, per_page=1).order == [reply.id]
    clock.advance(1)
    root.message = "root, edited"
    edited = api.update_post(root)
    assert edited.edit_at == edited.update_at > root.update_at
    api.delete_post(root.id)  # with its thread
    with pytest.raises(NotFoundError):
        api.get_post(reply.id)


@fails(
    "CreatePost",
    "GetPost",
    "UpdatePost",
    "DeletePost",
    "GetPostThread",
    "GetPostsForChannel",
    "GetPostsSince",
    "GetPostsAfter",
    "GetPostsBefore",
)
def test_post_errors(
    api: PluginAPIClient, fake: FakeMattermost, channel: Channel, alice: User
) -> None:
    with pytest.raises(ValidationError):
        post(api, channel, alice, "orphan", "z" * 26)
    with pytest.raises(NotFoundError):
        api.get_post("x" * 26)
    with pytest.raises(NotFoundError):
        api.update_post(Post(id="x" * 26, message="x"))
    with pytest.raises(NotFoundError):
        api.delete_post("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_post_thread("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_posts_for_channel("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_posts_since("x" * 26, 0)
    with pytest.raises(NotFoundError):
        api.get_posts_after(channel.id, "x" * 26)
    with pytest.raises(NotFoundError):
        api.get_posts_before("x" * 26, "x" * 26)
    system = post(api, channel, alice, "joined")
    with fake.transaction():
        fake.posts[system.id].type = "system_join_channel"
    system.message = "edited"
    with pytest.raises(ValidationError):  # system messages cannot be edited
        api.update_post(system)


@ok("SendEphemeralPost", "UpdateEphemeralPost", "DeleteEphemeralPost")
def test_ephemeral_posts(
    api: PluginAPIClient, fake: FakeMattermost, channel: Channel, alice: User
) -> None:
    sent = api.send_ephemeral_post(alice.id, Post(channel_id=channel.id, message="only you"))
    assert len(sent.id) == 26 and sent.type == "ephemeral"
    assert fake.ephemeral_posts[sent.id].user_id == alice.id
    sent.message = "changed"
    api.update_ephemeral_post(alice.id, sent)
    assert fake.ephemeral_posts[sent.id].post.message == "changed"
    api.delete_ephemeral_post(alice.id, sent.id)
    assert sent.id not in fake.ephemeral_posts


@fails("SendEphemeralPost", "UpdateEphemeralPost", "DeleteEphemeralPost")
def test_ephemeral_posts_never_fail(
    api: PluginAPIClient, fake: FakeMattermost, channel: Channel
) -> None:
    # The server only pushes them to the user's clients: nothing is checked or stored.
    api.send_ephemeral_post("x" * 26, Post(channel_id=channel.id, message="to nobody"))
    api.update_ephemeral_post("x" * 26, Post(id="p" * 26, message="never sent"))
    api.delete_ephemeral_post("x" * 26, "p" * 26)
    assert "p" * 26 not in fake.ephemeral_posts


@ok("SearchPostsInTeam", "SearchPostsInTeamForUser")
def test_search(
    api: PluginAPIClient, team: Team, channel: Channel, alice: User, bob: User, clock: Clock
) -> None:
    for user, message in ((alice, "deploy the release"), (bob, "release notes"), (alice, "lunch?")):
        post(api, channel, user, message)
        clock.advance(1)
    found = api.search_posts_in_team(team.id, [SearchParams(terms="release")])
    assert [p.message for p in found] == ["release notes", "deploy the release"]
    by_alice = api.search_posts_in_team(team.id, [SearchParams(terms="rel*", from_users=["alice"])])
    assert [p.message for p in by_alice] == ["deploy the release"]
    either = api.search_posts_in_team(
        team.id, [SearchParams(terms="lunch notes", is_or_search=True)]
    )
    assert len(either) == 2
    results = api.search_posts_in_team_for_user(team.id, alice.id, SearchParameter(terms="release"))
    assert len(results.order) == 2
    assert results.matches[results.order[0]].values == ["release"]


@fails("SearchPostsInTeam", "SearchPostsInTeamForUser")
def test_search_errors(api: PluginAPIClient, team: Team, channel: Channel, alice: User) -> None:
    post(api, channel, alice, "hello")
    assert api.search_posts_in_team(team.id, [SearchParams(terms="goodbye")]) == []
    with pytest.raises(NotFoundError):
        api.search_posts_in_team_for_user(team.id, "x" * 26, SearchParameter(terms="hello"))


@ok("AddReaction", "GetReactions", "RemoveReaction")
def test_reactions(api: PluginAPIClient, channel: Channel, alice: User, bob: User) -> None:
    root = post(api, channel, alice, "react")
    for user in (alice, bob, alice):  # the same one twice is one reaction
        api.add_reaction(Reaction(post_id=root.id, user_id=user.id, emoji_name="smile"))
    assert [r.user_id for r in api.get_reactions(root.id)] == [alice.id, bob.id]
    assert api.get_post(root.id).has_reactions
    api.remove_reaction(Reaction(post_id=root.id, user_id=alice.id, emoji_name="smile"))
    api.remove_reaction(Reaction(post_id=root.id, user_id=bob.id, emoji_name="smile"))
    assert api.get_reactions(root.id) == [] and not api.get_post(root.id).has_reactions


@fails("AddReaction", "GetReactions", "RemoveReaction")
def test_reaction_errors(api: PluginAPIClient, channel: Channel, alice: User) -> None:
    root = post(api, channel, alice, "react")
    with pytest.raises(ValidationError):
        api.add_reaction(Reaction(post_id=root.id, user_id=alice.id, emoji_name="not valid"))
    assert api.get_reactions("x" * 26) == []
    with pytest.raises(NotFoundError):
        api.remove_reaction(Reaction(post_id="x" * 26, user_id=alice.id, emoji_name="smile"))
