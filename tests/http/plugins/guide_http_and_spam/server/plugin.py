"""The guide's `def` ServeHTTP handler (it reads the body) and its spam filter, in one plugin
(tests/http/test_slow_clients.py): slow HTTP clients must never delay the filter."""

from __future__ import annotations

import json
from typing import Any

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.http import HTTPRequest
from mattermost_plugin.models import PluginContext, Post


class HttpAndSpamPlugin(Plugin):
    @hook(HookName.MessageWillBePosted)
    def filter_message(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if "spam" in post.message.lower():
            return None, "Message rejected: spam detected"
        return post, ""

    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> dict[str, Any]:
        if request.path == "/api/data":
            body = request.body  # blocks until the whole body has arrived
            return {"status_code": 200, "body": json.dumps({"size": len(body)})}
        return {"status_code": 404, "body": "Not found"}


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(HttpAndSpamPlugin)
