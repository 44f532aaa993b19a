"""Tests for Moderation: the filter on its own, then the whole plugin as the server runs it
(posts, settings from the System Console, the counters and the commands)."""

from __future__ import annotations

import pytest
from mattermost_plugin.testing import FakeAppError, LocalMattermost, PostRejectedError

from plugin import Counts, Settings, moderate  # server/ is on sys.path: see pyproject.toml

WORDS = "darn\nfree money\n"
pytestmark = pytest.mark.mattermost_plugin(config={"blocked_words": WORDS, "max_links": 2})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("hello", ("hello", "")),
        ("Darn it", (None, "Your post contains a word that is not allowed here.")),
        ("darnation is fine", ("darnation is fine", "")),  # whole words only
        ("FREE  money", ("FREE  money", "")),  # a phrase matches as written, one space
        ("get Free Money!", (None, "Your post contains a word that is not allowed here.")),
        ("a http://a b https://b", ("a http://a b https://b", "")),
        ("http://a http://b HTTP://c", (None, "A post may contain at most 2 links.")),
    ],
)
def test_reject_mode(message: str, expected: tuple[str | None, str]) -> None:
    assert moderate(message, Settings(blocked_words=WORDS, max_links=2)) == expected


def test_mask_mode_keeps_the_rest_of_the_message() -> None:
    settings = Settings(blocked_words=WORDS, action="mask")
    assert moderate("Darn, free money, darn!", settings) == ("****, **********, ****!", "")


def test_without_words_or_a_link_limit_everything_passes() -> None:
    settings = Settings(max_links=0)
    assert settings.blocked is None
    assert moderate("http://a " * 50, settings) == ("http://a " * 50, "")


def test_counts_describe_themselves() -> None:
    assert Counts().record("rejected").record("masked").record("masked").describe() == (
        "1 rejected, 2 masked"
    )


def test_posts_are_rejected_masked_and_counted(mattermost: LocalMattermost) -> None:
    bob = mattermost.create_user("bob")
    with pytest.raises(PostRejectedError) as rejected:
        mattermost.create_post(None, "darn", user=bob)
    assert rejected.value.reason == "Your post contains a word that is not allowed here."
    with pytest.raises(PostRejectedError):
        mattermost.create_post(None, "http://a http://b http://c", user=bob)
    assert mattermost.create_post(None, "hello", user=bob).message == "hello"
    assert [post.message for post in mattermost.posts()] == ["hello"]

    mattermost.set_plugin_config({"blocked_words": WORDS, "action": "mask"})
    masked = mattermost.create_post(None, "oh darn", user=bob)
    assert mattermost.get_post(masked.id).message == "oh ****"

    answer = mattermost.execute_command("/moderation stats")
    assert answer.text == (
        "Posts moderated: 2 rejected, 1 masked.\nMost moderated: @bob (2 rejected, 1 masked)."
    )
    assert mattermost.execute_command("/moderation stats @bob").text == (
        "@bob: 2 rejected, 1 masked."
    )
    assert mattermost.find_logs("rejected a post", level="info")


def test_edits_are_moderated_too(mattermost: LocalMattermost) -> None:
    post = mattermost.create_post(None, "all good")
    with pytest.raises(PostRejectedError):
        mattermost.update_post(post.id, "all darn good")
    assert mattermost.get_post(post.id).message == "all good"
    mattermost.set_plugin_config({"blocked_words": WORDS, "action": "mask"})
    mattermost.update_post(post.id, "all darn good")
    assert mattermost.get_post(post.id).message == "all **** good"


def test_only_admins_see_and_reset_the_counters(mattermost: LocalMattermost) -> None:
    bob = mattermost.create_user("bob")
    with pytest.raises(PostRejectedError):
        mattermost.create_post(None, "free money", user=bob)
    refused = "Only system admins can see or reset moderation counters."
    assert mattermost.execute_command("/moderation stats", user=bob).text == refused
    assert mattermost.execute_command("/moderation reset bob", user=bob).text == refused

    assert mattermost.execute_command("/moderation reset bob").text == (
        "Cleared the counters of @bob."
    )
    assert mattermost.execute_command("/moderation stats").text == "Nothing was moderated yet."


def test_the_system_console_refuses_invalid_settings(mattermost: LocalMattermost) -> None:
    plugin_settings = {"PluginSettings": {"Plugins": {mattermost.plugin_id: {"max_links": "a"}}}}
    with pytest.raises(FakeAppError, match="max_links"):
        mattermost.patch_config(plugin_settings)
    with pytest.raises(PostRejectedError):  # the settings in force are still the good ones
        mattermost.create_post(None, "darn")
