"""Handlers that fail in every way (tests/hooks/test_failures.py).

The request picks the failure: ``raise``, ``sleep`` (longer than the hook timeout the test
sets with MATTERMOST_PLUGIN_HOOK_TIMEOUT), ``wrong`` (a value the hook cannot send), ``exit``
(``sys.exit``), ``interrupt`` (KeyboardInterrupt), or ``stuck`` (a void hook that holds its
thread). Two hook threads only (``max_workers``), so a test can occupy all of them.
ExecuteCommand and NotificationWillBePushed are ``async def``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, ClassVar

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import (
    CommandArgs,
    CommandResponse,
    FileInfo,
    PluginContext,
    Post,
    PushNotification,
    RemoteCluster,
    User,
)

SLEEP = 1.0  # seconds; longer than the test's hook timeout
STUCK = 1.5


class FailuresPlugin(Plugin):
    max_workers: ClassVar[int | None] = 2

    def __init__(self) -> None:  # a plugin's own __init__, without super().__init__()
        self.activations = 0

    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.activations += 1
        self.logger.info("failures plugin activated", extra={"activations": self.activations})

    # -- content hooks fail open ----------------------------------------------------------
    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> object:
        if post.message == "raise":
            raise ValueError("the filter exploded")
        if post.message == "sleep":
            time.sleep(SLEEP)
            return None, "too late to reject"
        if post.message == "wrong":
            return 42
        if post.message == "wrong-reason":
            return post, 42
        if post.message == "exit":
            sys.exit(3)  # what argparse does on --help: must not end the process
        if post.message == "interrupt":
            raise KeyboardInterrupt
        return post.model_copy(update={"message": post.message + "!"}), ""

    @hook(HookName.FileWillBeUploaded)
    def file_will_be_uploaded(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes
    ) -> object:
        raise OSError("virus scanner unreachable")

    @hook(HookName.MessagesWillBeConsumed)
    def messages_will_be_consumed(self, posts: list[Post]) -> object:
        raise RuntimeError("cannot read posts")

    @hook(HookName.ConfigurationWillBeSaved)
    def configuration_will_be_saved(self, config: dict[str, Any]) -> object:
        return ["not", "a", "dict"]

    # -- UserWillLogIn fails closed by default --------------------------------------------
    @hook(HookName.UserWillLogIn)
    def user_will_log_in(self, context: PluginContext, user: User) -> object:
        if user.username == "raise":
            raise ConnectionError("directory unreachable")
        if user.username == "sleep":
            time.sleep(SLEEP)
            return ""
        if user.username == "wrong":
            return 42
        return ""

    # -- value hooks: an error where the response has one ---------------------------------
    @hook(HookName.RunDataRetention)
    def run_data_retention(self, now_time: int, batch_size: int) -> object:
        return [1, 2, 3]

    @hook(HookName.OnSharedChannelsPing)
    def on_shared_channels_ping(self, remote: RemoteCluster) -> bool:
        raise TimeoutError("remote did not answer")

    @hook(HookName.GenerateSupportData)
    def generate_support_data(self, context: PluginContext) -> object:
        raise PermissionError("cannot read the log folder")

    # -- a void hook that can hold its thread ---------------------------------------------
    @hook(HookName.MessageHasBeenPosted)
    def message_has_been_posted(self, context: PluginContext, post: Post) -> None:
        if post.message == "stuck":
            time.sleep(STUCK)
        elif post.message == "raise":
            raise KeyError(post.id)
        self.logger.info("post seen", extra={"post_id": post.id})

    # -- async handlers -------------------------------------------------------------------
    @hook(HookName.ExecuteCommand)
    async def execute_command(self, context: PluginContext, args: CommandArgs) -> object:
        if args.command == "/async-raise":
            raise LookupError("no such subcommand")
        if args.command == "/async-timeout-error":
            raise TimeoutError("upstream timed out")  # not the hook timeout
        if args.command == "/async-sleep":
            await asyncio.sleep(SLEEP * 2)
        if args.command == "/async-wrong":
            return 3.14
        if args.command == "/async-exit":
            sys.exit(0)
        user = await self.async_api.get_user(args.user_id)
        return CommandResponse(response_type="ephemeral", text=f"you are @{user.username}")

    @hook(HookName.NotificationWillBePushed)
    async def notification_will_be_pushed(
        self, notification: PushNotification, user_id: str
    ) -> object:
        if notification.message == "sleep":
            await asyncio.sleep(SLEEP * 2)
        raise RuntimeError("push filter exploded")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(FailuresPlugin)
