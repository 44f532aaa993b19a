"""The SDK side of the hook benchmark: the guide's message filter, reading its
word from typed settings (a settings read must cost nothing measurable)."""

from pydantic import BaseModel

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import PluginContext, Post


class FilterSettings(BaseModel):
    blocked_word: str = "badword"


class FilterPlugin(Plugin[FilterSettings]):
    @hook(HookName.MessageWillBePosted)
    def filter_message(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if self.settings.blocked_word in post.message.lower():
            return None, "Message blocked"
        return post, ""


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(FilterPlugin)
