"""``python -m mattermost_plugin.cli``: the same as the ``mattermost-plugin`` command."""

from mattermost_plugin.cli import main

main()
