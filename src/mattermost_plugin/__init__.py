"""mattermost-plugin-sdk: write Mattermost server plugins in Python.

The public names live here; everything else is reached through them::

    from mattermost_plugin import Plugin, hook, HookName
"""

from __future__ import annotations

from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin.errors import (
    AlreadyExistsError,
    NotFoundError,
    PermissionDeniedError,
    PluginAPIError,
    UnavailableError,
    ValidationError,
)
from mattermost_plugin.hooks import HookName, hook
from mattermost_plugin.plugin import Plugin

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "AsyncPluginAPIClient",
    "HookName",
    "NotFoundError",
    "PermissionDeniedError",
    "Plugin",
    "PluginAPIClient",
    "PluginAPIError",
    "UnavailableError",
    "ValidationError",
    "__version__",
    "hook",
]
