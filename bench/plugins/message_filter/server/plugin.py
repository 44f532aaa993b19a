"""The SDK side of the hook benchmark: the guide's message filter."""

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import PluginContext, Post


class FilterPlugin(Plugin):
    @hook(HookName.MessageWillBePosted)
    def filter_message(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if "badword" in post.message.lower():
            return None, "Message blocked"
        return post, ""


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(FilterPlugin)
