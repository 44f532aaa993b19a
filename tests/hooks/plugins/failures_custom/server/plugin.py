"""A plugin that changes the failure policy (tests/hooks/test_failures.py).

Messages and files fail closed with its own reason; logins fail open; handlers get 0.3 s.
"""

from __future__ import annotations

import time
from typing import ClassVar

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import FileInfo, PluginContext, Post, User

REASON = "Blocked: the compliance filter is unavailable"


class StrictPlugin(Plugin):
    hook_timeout: ClassVar[float | None] = 0.3
    fail_closed_hooks: ClassVar[frozenset[str]] = frozenset(
        {"MessageWillBePosted", "FileWillBeUploaded"}
    )
    failure_rejection_reason: ClassVar[str] = REASON

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> object:
        if post.message == "sleep":
            time.sleep(0.6)
        if post.message in ("raise", "sleep"):
            raise ValueError("compliance service down")
        return post, ""

    @hook(HookName.FileWillBeUploaded)
    def file_will_be_uploaded(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes
    ) -> object:
        raise OSError("scanner down")

    @hook(HookName.UserWillLogIn)
    def user_will_log_in(self, context: PluginContext, user: User) -> str:
        raise ConnectionError("directory unreachable")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(StrictPlugin)
