"""The SDK side of the hook benchmark, with an ``async def`` handler (run on the event loop),
reading its word from typed settings."""

from pydantic import BaseModel

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import PluginContext, Post


class FilterSettings(BaseModel):
    blocked_word: str = "badword"


class AsyncFilterPlugin(Plugin[FilterSettings]):
    @hook(HookName.MessageWillBePosted)
    async def filter_message(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if self.settings.blocked_word in post.message.lower():
            return None, "Message blocked"
        return post, ""


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(AsyncFilterPlugin)
