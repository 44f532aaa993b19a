"""The listener chain (``mattermost_plugin.listeners``) and the runtime's own listener:
OnConfigurationChange once before OnActivate (PROTOCOL.md §6). Real plugin subprocesses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.plugins import HOOK_PLUGINS, RunningPlugin, running_plugin

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2, hooks_common_pb2, post_pb2
from mattermost_plugin._pb.pluginapi.v1 import hooks_command_pb2 as command_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2 as lifecycle_pb
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin.host.http_bridge import send_request
from mattermost_plugin.listeners import CallNext, HookCall, Listener, Order

CONTEXT = hooks_common_pb2.PluginContext(request_id="req-1")


@pytest.fixture(scope="module")
def plugin() -> Iterator[RunningPlugin]:
    with running_plugin(HOOK_PLUGINS / "listeners") as running:
        yield running


def command(plugin: RunningPlugin, text: str) -> command_pb.ExecuteCommandResponse:
    args = api_remaining_pb2.CommandArgs(user_id="u1", channel_id="c1", command=text)
    request = command_pb.ExecuteCommandRequest(plugin_context=CONTEXT, args=args)
    return plugin.call(request, command_pb.ExecuteCommandResponse)


def test_implemented_lists_hooks_of_handlers_and_listeners(plugin: RunningPlugin) -> None:
    hooks = plugin.supervisor.hooks.Implemented(lifecycle_pb.ImplementedRequest(), timeout=5)
    # OnActivate has no handler of the plugin's: only its features' listeners need it.
    assert list(hooks.hooks) == [
        "OnActivate",
        "MessageWillBePosted",
        "ExecuteCommand",
        "ServeHTTP",
    ]


def test_listeners_ran_on_activation_in_order(plugin: RunningPlugin) -> None:
    trace = command(plugin, "/trace").response.text.split()
    # Outermost (lowest order) first; the class defines "inner" before "outer".
    assert trace[:4] == [
        "outer:before:OnActivate",
        "inner:before:OnActivate",
        "inner:after:OnActivate",
        "outer:after:OnActivate",
    ]


def test_a_listener_claims_a_call_or_passes_it_on(plugin: RunningPlugin) -> None:
    claimed = command(plugin, "/claimed now")
    assert claimed.response.text == "claimed by the feature: /claimed now"
    passed = command(plugin, "/other")
    assert passed.response.text == "handler: /other"


def test_a_failing_listener_is_a_failing_hook(plugin: RunningPlugin) -> None:
    mark = plugin.mark()
    response = command(plugin, "/broken")
    assert response.response.text.startswith("/broken failed: an error occurred")
    line = plugin.wait_log(lambda line: line.level == "error", since=mark)
    assert line.message.endswith("failed: the listener broke")
    assert command(plugin, "/other").response.text == "handler: /other"


def test_serve_http_listener_takes_its_prefix(plugin: RunningPlugin) -> None:
    channel = plugin.supervisor.channel
    with send_request(channel, "GET", "/_feature/ping") as response:
        assert response.read() == b"feature outer: /_feature/ping"
    with send_request(channel, "GET", "/mine") as response:
        assert response.read() == b"handler: /mine"


def test_message_hooks_run_listeners_around_the_handler(plugin: RunningPlugin) -> None:
    request = message_pb.MessageWillBePostedRequest(
        plugin_context=CONTEXT, post=post_pb2.Post(message="hello")
    )
    plugin.call(request, message_pb.MessageWillBePostedResponse)
    trace = command(plugin, "/trace").response.text.split()
    assert trace[-2:] == ["outer:before:MessageWillBePosted", "outer:after:MessageWillBePosted"]


def test_values_are_pinned_for_one_call(plugin: RunningPlugin) -> None:
    # The handler reads a value, the value is swapped, the handler reads it again.
    first, second, latest = map(int, command(plugin, "/pinned-async").response.text.split())
    assert first == second and latest > first
    again = command(plugin, "/pinned-async").response.text.split()
    assert int(again[0]) == latest  # the next call sees the new value

    request = message_pb.MessageWillBePostedRequest(
        plugin_context=CONTEXT, post=post_pb2.Post(message="pinned")
    )
    changed = plugin.call(request, message_pb.MessageWillBePostedResponse).modified_post
    first, second, latest = map(int, changed.message.split())
    assert first == second and latest > first  # also in a def handler, in a pool thread


# --- OnConfigurationChange before OnActivate ------------------------------------------------


def test_configuration_change_runs_once_before_activation() -> None:
    with running_plugin(HOOK_PLUGINS / "config_first", plugin_config={"mode": "ok"}) as running:
        running.wait_log("calls: OnConfigurationChange OnActivate")
        assert running.find_logs("calls: OnConfigurationChange") != []
        assert running.find_logs(lambda line: line.level == "error") == []


def test_a_failing_configuration_change_does_not_stop_activation() -> None:
    with running_plugin(HOOK_PLUGINS / "config_first", plugin_config={"mode": "fail"}) as running:
        line = running.wait_log(lambda line: line.level == "error")
        assert line.message == (
            "OnConfigurationChange before OnActivate failed; activating anyway: "
            "the settings are broken"
        )
        running.wait_log("calls: OnConfigurationChange OnActivate")
        assert running.supervisor.state == "running"


def test_a_plugin_with_only_a_configuration_handler_is_activated() -> None:
    env = {"PLUGIN_CLASS": "only-config"}
    with running_plugin(HOOK_PLUGINS / "config_first", env=env, plugin_config={}) as running:
        hooks = running.supervisor.hooks.Implemented(lifecycle_pb.ImplementedRequest(), timeout=5)
        assert list(hooks.hooks) == ["OnActivate", "OnConfigurationChange"]
        running.wait_log("calls: OnConfigurationChange")


# --- class-level rules ------------------------------------------------------------------------


async def _noop(call: HookCall, call_next: CallNext) -> object:
    return await call_next()


class _Provides:
    def __init__(self, *listeners: Listener) -> None:
        self.listeners = listeners

    def __mattermost_listeners__(self, owner: type[Plugin]) -> tuple[Listener, ...]:
        return self.listeners


def test_listeners_are_sorted_inherited_and_replaced() -> None:
    late = Listener("OnDeactivate", _noop, Order.JOBS, "jobs")
    early = Listener("OnDeactivate", _noop, Order.SETTINGS, "settings")

    class Base(Plugin):
        feature = _Provides(late)
        other = _Provides(early)

    class Child(Base):
        feature = None  # an attribute redefined without listeners drops its listeners

    assert [item.name for item in Base.listeners()] == ["settings", "jobs"]
    assert Base.implemented_hooks() == ["OnDeactivate"]
    assert [item.name for item in Child.listeners()] == ["settings"]


def test_configuration_handler_implies_activation() -> None:
    class OnlyConfig(Plugin):
        @hook(HookName.OnConfigurationChange)
        def changed(self) -> None: ...

    assert OnlyConfig.implemented_hooks() == ["OnActivate", "OnConfigurationChange"]


def test_a_listener_several_attributes_bring_is_listed_once() -> None:
    shared = Listener("ExecuteCommand", _noop, Order.COMMANDS, "commands")
    own = Listener("ExecuteCommand", _noop, Order.COMMANDS, "other")

    class Many(Plugin):
        first = _Provides(shared)
        second = _Provides(shared, own)

    assert [item.name for item in Many.listeners()] == ["commands", "other"]
