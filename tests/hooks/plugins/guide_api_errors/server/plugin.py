# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's API Reference, "Error Handling", as written, in a plugin class.
from mattermost_plugin import Plugin, hook, HookName
from mattermost_plugin import (
    PluginAPIError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,  # noqa: F401 (imported by the guide's snippet)
)


class MyPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        try:
            user = self.api.get_user("invalid-id")  # noqa: F841
        except NotFoundError:
            self.logger.warning("User not found")
        except PermissionDeniedError:
            self.logger.error("Permission denied")
        except PluginAPIError as e:
            self.logger.error(f"API error: {e.error_id} - {e.message}")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
