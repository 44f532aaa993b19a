"""Slash-command routing: an ``@command`` handler vs a hand-written ExecuteCommand handler.

Both sides are SDK plugin processes answering ``/bench add 3 buy milk and eggs`` with the
same text, through a ``def`` handler (the hook thread pool). The typed side adds what
``@command`` does: the listener chain, the trigger lookup, parsing the line into the
declared types (an ``int`` and the rest of the line) and calling the handler with them. The
baseline splits the line and converts the number itself, as plugins do by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench.harness import Benchmark, Context
from bench.hooks import HERE, _stub
from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2, hooks_command_pb2, hooks_pb2_grpc

TARGET_RATIO = 1.05


def suite(ctx: Context) -> list[Benchmark]:
    request = hooks_command_pb2.ExecuteCommandRequest(
        args=api_remaining_pb2.CommandArgs(
            user_id="u" * 26, channel_id="c" * 26, command="/bench add 3 buy milk and eggs"
        )
    )

    def caller(stub: hooks_pb2_grpc.PluginHooksStub) -> Callable[[], object]:
        def call() -> object:
            response = stub.ExecuteCommand(request, timeout=30)
            assert response.response.text == "added 3: buy milk and eggs", response
            return response

        return call

    plugin = [sys.executable, "server/plugin.py"]
    typed = caller(_stub(ctx, plugin, HERE / "plugins" / "command_typed"))
    raw = caller(_stub(ctx, plugin, HERE / "plugins" / "command_raw"))
    return [
        Benchmark(
            "command typed vs raw",
            typed,
            raw,
            target_ratio=TARGET_RATIO,
            description="host → plugin → host ExecuteCommand round trip: an @command def "
            "handler (listener chain, trigger lookup, typed parsing) vs a hand-written "
            "ExecuteCommand def handler splitting and converting the same line",
        ),
    ]
