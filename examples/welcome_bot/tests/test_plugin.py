"""Tests for Welcome bot: the messages and the channel choice on their own, then the plugin
as the server runs it, with people joining channels and teams."""

from __future__ import annotations

import pytest
from mattermost_plugin.models import Channel, ChannelType, Post, User
from mattermost_plugin.testing import LocalMattermost

# server/ is on sys.path (see pyproject.toml): the tests import the plugin module as `plugin`.
from plugin import Settings, render


def test_render_fills_in_known_placeholders_only() -> None:
    text = render("Hi @$username in ~$channel of $team, $price", username="ada", channel="dev")
    assert text == "Hi @ada in ~dev of , $price"


def test_public_channels_get_a_welcome_unless_channels_are_named() -> None:
    public = Channel(name="dev", type=ChannelType.OPEN)
    private = Channel(name="Secret", type=ChannelType.PRIVATE)
    assert Settings().welcomes_in(public) and not Settings().welcomes_in(private)
    named = Settings(channels="secret, town-square")
    assert named.welcomes_in(private) and not named.welcomes_in(public)
    assert not Settings(channel_message="").welcomes_in(public)


def bot(mattermost: LocalMattermost) -> User:
    """The plugin's bot, made on activation."""
    found = mattermost.api.get_user_by_username("welcome")
    assert found.is_bot
    return found


def direct_messages(mattermost: LocalMattermost, user: User) -> list[Post]:
    """What the bot sent ``user`` in their direct channel."""
    channel = mattermost.api.get_direct_channel(bot(mattermost).id, user.id)
    return mattermost.posts(channel)


def test_joining_a_channel_gets_one_welcome(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    dev = mattermost.create_channel("dev")
    mattermost.add_to_channel(alice, dev)
    (welcome,) = mattermost.posts(dev)
    assert (welcome.user_id, welcome.message) == (
        bot(mattermost).id,
        "Welcome to ~dev, @alice! :wave:",
    )

    mattermost.remove_from_channel(alice, dev)
    mattermost.add_to_channel(alice, dev)
    assert len(mattermost.posts(dev)) == 1  # once per person and channel


def test_private_channels_only_when_named(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    secret = mattermost.create_channel("secret", private=True)
    mattermost.add_to_channel(alice, secret)
    assert mattermost.posts(secret) == []

    mattermost.set_plugin_config({"channels": "secret", "channel_message": "Psst, $username."})
    bob = mattermost.create_user("bob")
    mattermost.add_to_channel(bob, secret)
    assert [post.message for post in mattermost.posts(secret)] == ["Psst, bob."]


def test_joining_a_team_gets_a_direct_message(mattermost: LocalMattermost) -> None:
    blue = mattermost.create_team("blue", display_name="Blue")
    alice = mattermost.create_user("alice", join_default_team=False)
    mattermost.add_to_team(alice, blue)
    assert [post.message for post in direct_messages(mattermost, alice)] == [
        "Welcome to the Blue team, @alice! Say hello in ~town-square."
    ]
    assert mattermost.wait_for_log("welcomed").fields["team_id"] == blue.id


@pytest.mark.mattermost_plugin(config={"team_message": ""})
def test_an_empty_message_turns_a_welcome_off(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")  # joins the default team
    assert direct_messages(mattermost, alice) == []


def test_preview_shows_the_welcome_of_the_channel(mattermost: LocalMattermost) -> None:
    answer = mattermost.execute_command("/welcome preview")
    assert answer.text == "Welcome to ~town-square, @admin! :wave:"
    secret = mattermost.create_channel("secret", private=True, members=[mattermost.user])
    answer = mattermost.execute_command("/welcome preview", channel=secret)
    assert answer.text == "Nobody is welcomed in this channel."
