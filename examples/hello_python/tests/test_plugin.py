"""Tests for Hello Python: the filter on its own, then the plugin as the server runs it."""

from __future__ import annotations

import pytest
from mattermost_plugin.models import PluginContext, Post
from mattermost_plugin.testing import CommandError, LocalMattermost, PostRejectedError

# server/ is on sys.path (see pyproject.toml): the tests import the plugin module as `plugin`.
from plugin import HelloPythonPlugin


def test_the_filter_blocks_a_word_in_any_case() -> None:
    plugin = HelloPythonPlugin()  # no server needed to call a handler
    post = Post(message="hello")
    assert plugin.filter_message(PluginContext(), post) == (post, "")
    assert plugin.filter_message(PluginContext(), Post(message="a BadWord")) == (
        None,
        "Message blocked",
    )


def test_activation_logs_and_registers_hello(mattermost: LocalMattermost) -> None:
    assert mattermost.wait_for_log("Hello Python plugin activated!").level == "info"
    assert mattermost.wait_for_log("Server version: 10.5.0").level == "info"
    assert ("", "hello") in mattermost.server.commands


def test_hello_greets_the_name_and_the_user(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    answer = mattermost.execute_command("/hello Ada Lovelace", user=alice)
    assert answer.text == "Hello, Ada Lovelace! (from Python, asked by @alice)"
    assert mattermost.execute_command("/hello").text.startswith("Hello, world!")
    with pytest.raises(CommandError) as unknown:
        mattermost.execute_command("/goodbye")
    assert unknown.value.status_code == 404  # nobody registered /goodbye


def test_blocked_messages_never_reach_the_channel(mattermost: LocalMattermost) -> None:
    with pytest.raises(PostRejectedError) as rejected:
        mattermost.create_post(None, "this is a badword")
    assert rejected.value.reason == "Message blocked"
    mattermost.create_post(None, "this is fine")
    assert [post.message for post in mattermost.posts()] == ["this is fine"]
    assert mattermost.wait_for_log("Blocked a message").fields["user_id"] == mattermost.user.id
