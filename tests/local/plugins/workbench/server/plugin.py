"""Exercises the local server's flows; misbehaves on demand (crash, slow hooks)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from mattermost_plugin import HookName, HTTPResponse, Plugin, hook
from mattermost_plugin.http import HTTPRequest
from mattermost_plugin.models import (
    Bot,
    ChannelMember,
    Command,
    CommandArgs,
    CommandResponse,
    PluginContext,
    Post,
)

VERSION = "v1"


class Workbench(Plugin):
    bot_id = ""

    def _count(self) -> int:
        raw = self.api.kv_get("posts")
        return int(raw) if raw else 0

    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.bot_id = self.api.ensure_bot_user(Bot(username="workbench", display_name="Bench"))
        self.api.register_command(Command(trigger="echo", auto_complete=True))
        self.api.register_command(Command(trigger="count"))
        self.logger.info("workbench activated", extra={"version": VERSION})

    @hook(HookName.OnConfigurationChange)
    def on_configuration_change(self) -> None:
        config = self.api.get_plugin_config()
        if config.get("mode") == "invalid":
            raise ValueError("mode 'invalid' is not a mode")
        self.logger.info("configuration", extra={"config": config})

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        text = post.message
        if "spam" in text.lower():
            self.logger.warning("rejected spam", extra={"user_id": post.user_id})
            return None, "spam is not welcome"
        if text == "crash":
            os._exit(3)
        if text.startswith("slow"):
            time.sleep(float(text.split()[1]) if " " in text else 3.0)
        if text.startswith("shout "):
            post.message = text.removeprefix("shout ").upper()
        return post, ""

    @hook(HookName.MessageHasBeenPosted)
    def message_has_been_posted(self, context: PluginContext, post: Post) -> None:
        if post.user_id == self.bot_id:  # the plugin's own post runs its hooks too
            self.logger.info("own post", extra={"post_id": post.id})
            return
        while True:  # a compare-and-set loop: correct however many posts arrive at once
            raw = self.api.kv_get("posts") or b""
            if self.api.kv_compare_and_set("posts", raw, str(int(raw or b"0") + 1).encode()):
                break
        self.logger.info("counted a post", extra={"post_id": post.id})
        if post.message == "ping":
            self.api.create_post(
                channel_id=post.channel_id, user_id=self.bot_id, message="pong", root_id=post.id
            )

    @hook(HookName.UserHasJoinedChannel)
    def user_has_joined_channel(
        self, context: PluginContext, member: ChannelMember, actor: object
    ) -> None:
        self.logger.info("joined", extra={"user_id": member.user_id})

    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        trigger, _, rest = args.command.partition(" ")
        if trigger == "/echo":
            return CommandResponse(response_type="in_channel", text=rest)
        return CommandResponse(
            response_type="ephemeral",
            text=f"{self._count()} posts",
            props={
                "team_id": args.team_id,
                "channel_id": args.channel_id,
                "user_id": args.user_id,
                "site_url": args.site_url,
                "trigger_id": args.trigger_id,
            },
        )

    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> object:
        if request.path == "/status":
            return HTTPResponse.json(
                {
                    "version": VERSION,
                    "posts": self._count(),
                    "user": request.headers.get("Mattermost-User-Id", ""),
                }
            )
        if request.path == "/pid":  # which node (process) served the request
            return HTTPResponse.json({"pid": os.getpid()})
        if request.path == "/echo":
            return {"status_code": 200, "body": request.body}
        if request.path == "/request":
            return HTTPResponse.json(
                {
                    "method": request.method,
                    "query": request.query,
                    "user": request.headers.get("Mattermost-User-Id"),
                    "content_type": request.headers.get("Content-Type"),
                    "body": request.body.decode(),
                }
            )
        if request.path == "/stream":

            def ticks() -> Iterator[str]:
                for i in range(3):
                    yield f"tick {i}\n"
                    time.sleep(0.2)

            return HTTPResponse(200, {"Content-Type": "text/plain"}, ticks())
        if request.path == "/crash":
            os._exit(4)
        return {"status_code": 404, "body": "not here"}


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(Workbench)
