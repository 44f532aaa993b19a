"""Handlers named after their hooks (the typed way, see tests/typed_hooks for mypy's side).

A ``Plugin`` method named ``message_will_be_posted`` handles MessageWillBePosted as if it
were marked ``@hook``; the class refuses, when it is defined, a second handler for the same
hook, a name that disagrees with its ``@hook`` mark, and ``@override`` on a name that
overrides nothing. ``plugins/typed`` runs such a plugin as a real process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.plugins import HOOK_PLUGINS, RunningPlugin, running_plugin
from typing_extensions import override

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin._generated.hook_methods import HOOK_METHODS
from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
    hooks_common_pb2,
    post_pb2,
    user_pb2,
)
from mattermost_plugin._pb.pluginapi.v1 import hooks_command_pb2 as command_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_user_channel_pb2 as user_channel_pb

CONTEXT = hooks_common_pb2.PluginContext(session_id="s", request_id="r")


@pytest.fixture(scope="module")
def typed() -> Iterator[RunningPlugin]:
    with running_plugin(HOOK_PLUGINS / "typed") as running:
        yield running


def test_methods_named_after_hooks_are_served(typed: RunningPlugin) -> None:
    assert typed.supervisor.implemented == [
        "OnActivate",
        "MessageWillBePosted",
        "MessageWillBeUpdated",
        "UserWillLogIn",
        "ExecuteCommand",
    ]
    # OnActivate ran, and answered get_plugin_id() from the manifest, without the server.
    line = typed.wait_log("typed activated")
    assert line.fields["plugin_id"] == "com.example.typed"

    def post(message: str) -> message_pb.MessageWillBePostedResponse:
        request = message_pb.MessageWillBePostedRequest(
            plugin_context=CONTEXT, post=post_pb2.Post(id="p", message=message)
        )
        return typed.call(request, message_pb.MessageWillBePostedResponse)

    assert post("hello").modified_post.message == "HELLO"  # async def, typed
    assert post("spam!").rejection_reason == "no spam"

    login = user_channel_pb.UserWillLogInRequest(
        plugin_context=CONTEXT, user=user_pb2.User(username="locked")
    )
    answer = typed.call(login, user_channel_pb.UserWillLogInResponse)
    assert answer.rejection_reason == "locked"

    command = command_pb.ExecuteCommandRequest(
        plugin_context=CONTEXT, args=api_remaining_pb2.CommandArgs(command="/typed")
    )
    response = typed.call(command, command_pb.ExecuteCommandResponse).response
    assert (response.response_type, response.text) == ("ephemeral", "ran /typed")


def test_every_hook_has_a_method_name() -> None:
    assert sorted(HOOK_METHODS.values()) == sorted(HOOKS)
    assert HOOK_METHODS["serve_http"] == "ServeHTTP"
    assert HOOK_METHODS["on_websocket_connect"] == "OnWebSocketConnect"
    assert HOOK_METHODS["on_saml_login"] == "OnSAMLLogin"


def test_only_overridden_hooks_are_implemented() -> None:
    class Quiet(Plugin):
        pass

    class Some(Plugin):
        def on_activate(self) -> None:
            pass

        async def message_has_been_posted(self, context: Any, post: Any) -> None:
            pass

        def helper(self) -> None:
            pass

    assert Quiet.implemented_hooks() == []
    assert not hasattr(Quiet(), "on_activate")  # the declarations exist for type checkers only
    assert Some.implemented_hooks() == ["OnActivate", "MessageHasBeenPosted"]
    assert Some.__hook_handlers__ == {
        "OnActivate": "on_activate",
        "MessageHasBeenPosted": "message_has_been_posted",
    }


def test_inherited_named_handler_and_a_subclass_replacing_it() -> None:
    class Base(Plugin):
        def on_activate(self) -> None:
            pass

    class Child(Base):
        pass

    class Replacing(Base):
        @hook(HookName.OnActivate)
        def start(self) -> None:
            pass

    assert Child.__hook_handlers__ == {"OnActivate": "on_activate"}
    assert Replacing.__hook_handlers__ == {"OnActivate": "start"}


def test_a_hook_decorated_method_named_after_its_hook_is_one_handler() -> None:
    class Guide(Plugin):
        @hook(HookName.OnActivate)
        def on_activate(self) -> None:
            pass

    assert Guide.__hook_handlers__ == {"OnActivate": "on_activate"}


def test_named_method_and_a_hook_method_for_the_same_hook_conflict() -> None:
    with pytest.raises(TypeError, match=r"has two handlers for OnActivate: on_activate and start"):

        class Twice(Plugin):
            def on_activate(self) -> None:
                pass

            @hook(HookName.OnActivate)
            def start(self) -> None:
                pass


def test_name_and_mark_must_agree() -> None:
    with pytest.raises(
        TypeError,
        match=r"Mixed.on_activate is named after the OnActivate hook but marked "
        r"@hook\(OnDeactivate\); rename it, or mark it @hook\(OnActivate\)",
    ):

        class Mixed(Plugin):
            @hook(HookName.OnDeactivate)
            def on_activate(self) -> None:
                pass


def test_override_of_nothing_is_refused_with_a_suggestion() -> None:
    with pytest.raises(
        TypeError,
        match=r"Typo\.message_will_be_post is marked @override but overrides nothing; "
        r"did you mean message_will_be_posted",
    ):

        class Typo(Plugin):
            @override
            def message_will_be_post(self, context: Any, post: Any) -> None:
                pass

    class Fine(Plugin):  # @override on a hook method, or on a real base method, is fine
        @override
        def on_activate(self) -> None:
            pass

        @classmethod
        @override
        def implemented_hooks(cls) -> list[str]:
            return ["OnActivate"]

    assert Fine.__hook_handlers__ == {"OnActivate": "on_activate"}


def test_a_named_handler_with_the_wrong_arity_is_refused() -> None:
    with pytest.raises(TypeError, match=r"define it as \(self, context, post\)"):

        class Short(Plugin):
            def message_will_be_posted(self, post: Any) -> None:
                pass


def test_hook_names_are_reserved_for_handlers() -> None:
    with pytest.raises(TypeError, match=r"Odd\.on_activate is named after the OnActivate hook "):

        class Odd(Plugin):
            on_activate = "not a method"
