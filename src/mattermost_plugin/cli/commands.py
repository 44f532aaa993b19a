"""Imports every command module so that each registers itself on ``cli.main``."""

from __future__ import annotations

from mattermost_plugin.cli import bundle, deploy, logs, manifest, new, validate  # noqa: F401
from mattermost_plugin.cli import dev as _dev  # noqa: F401
