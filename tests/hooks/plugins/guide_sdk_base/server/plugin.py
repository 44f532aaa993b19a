# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# The guide's SDK Reference, "Plugin Base Class", as written (plus the entry point).
from mattermost_plugin import Plugin


class MyPlugin(Plugin):
    pass


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
