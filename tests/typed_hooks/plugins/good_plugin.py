"""A plugin as the guide writes it with typed hook methods: mypy --strict accepts it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from flask import Flask
from typing_extensions import override

from mattermost_plugin import (
    HookName,
    HTTPRequest,
    HTTPResponse,
    Plugin,
    hook,
    mount_asgi,
    mount_wsgi,
)
from mattermost_plugin.models import CommandArgs, CommandResponse, PluginContext, Post, User


class MyPlugin(Plugin):
    @override
    def on_activate(self) -> None:
        self.logger.info(f"Server version: {self.api.get_server_version()}")

    @override
    async def message_will_be_posted(
        self, context: PluginContext, post: Post
    ) -> tuple[Post | None, str]:
        if "spam" in post.message.lower():
            return None, "Message rejected: spam detected"
        return post, ""

    @override
    def user_has_joined_channel(
        self, context: PluginContext, channel_member: Any, actor: User | None
    ) -> None:
        pass

    # The names are free: the declarations' parameters are positional-only.
    @override
    def execute_command(self, ctx: PluginContext, command: CommandArgs) -> CommandResponse:
        return CommandResponse(text=command.command)

    # @hook still works, on a method named after its hook or not.
    @hook(HookName.OnDeactivate)
    def on_deactivate(self) -> None:
        pass

    @hook(HookName.MessageHasBeenPosted)
    def log_post(self, context: PluginContext, post: Post) -> None:
        pass

    @override
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        return HTTPResponse.json({"path": request.path})


class AsgiPlugin(Plugin):
    serve_http = mount_asgi(FastAPI())


class WsgiPlugin(Plugin):
    serve_http = mount_wsgi(Flask(__name__))
