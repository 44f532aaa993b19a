"""``python -m mattermost_plugin.host.fake_server``: run the fake in the foreground."""

import sys

from mattermost_plugin.host.fake_server import main

sys.exit(main())
