# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's SDK Reference, "Hook Decorator", as written (plus the entry point).
from mattermost_plugin import Plugin, hook, HookName


class MyPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        pass

    # Also valid: using string names
    @hook("OnDeactivate")
    def handle_deactivate(self) -> None:
        pass


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
