"""SDK-style features built on the listener chain (tests/hooks/test_listeners.py).

``Feature`` stands for what settings, commands or actions do: a class attribute that brings
listeners. The plugin has no OnActivate handler, so the runtime must still report OnActivate and run
the listeners there.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Any

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.listeners import CallNext, HookCall, Listener, pinned
from mattermost_plugin.models import CommandArgs, PluginContext, Post

trace: list[str] = []
versions = itertools.count(1)
current_version = {"value": 0}


def record(step: str) -> None:
    trace.append(step)


class Feature:
    """A class attribute that brings listeners, as the SDK's own features do."""

    def __init__(self, name: str, order: int) -> None:
        self.name, self.order = name, order

    def __mattermost_listeners__(self, owner: type[Plugin]) -> Iterable[Listener]:
        async def around(call: HookCall, call_next: CallNext) -> Any:
            record(f"{self.name}:before:{call.hook}")
            result = await call_next()
            record(f"{self.name}:after:{call.hook}")
            return result

        async def claim_command(call: HookCall, call_next: CallNext) -> Any:
            (_context, args) = call.args
            if args.command.startswith("/claimed"):
                return await call.run(call.plugin.claimed, args)  # type: ignore[attr-defined]
            if args.command.startswith("/broken"):
                raise RuntimeError("the listener broke")
            return await call_next()

        async def serve_prefix(call: HookCall, call_next: CallNext) -> Any:
            (_context, request) = call.args
            if request.path.startswith("/_feature/"):
                return {"status_code": 200, "body": f"feature {self.name}: {request.path}"}
            return await call_next()

        yield Listener("OnActivate", around, self.order, self.name)
        if self.name == "outer":
            yield Listener("ExecuteCommand", claim_command, self.order, self.name)
            yield Listener("ServeHTTP", serve_prefix, self.order, self.name)
            yield Listener("MessageWillBePosted", around, self.order, self.name)


def settings() -> int:
    return pinned("settings", lambda: current_version["value"])


class ListenersPlugin(Plugin):
    inner = Feature("inner", 300)
    outer = Feature("outer", 100)

    def claimed(self, args: CommandArgs) -> str:
        return f"claimed by the feature: {args.command}"

    @hook(HookName.ExecuteCommand)
    async def execute_command(self, context: PluginContext, args: CommandArgs) -> str:
        if args.command.startswith("/trace"):
            return " ".join(trace)
        if args.command.startswith("/pinned-async"):
            first = settings()
            current_version["value"] = next(versions)
            await asyncio.sleep(0)
            return f"{first} {settings()} {current_version['value']}"
        return f"handler: {args.command}"

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> Post | None:
        if post.message != "pinned":
            return None
        first = settings()
        current_version["value"] = next(versions)  # swapped while the handler runs
        return post.model_copy(
            update={"message": f"{first} {settings()} {current_version['value']}"}
        )

    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: Any) -> dict[str, Any]:
        return {"status_code": 200, "body": f"handler: {request.path}"}


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(ListenersPlugin)
