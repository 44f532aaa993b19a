"""mattermost-plugin-sdk: write Mattermost server plugins in Python.

The public names live here; everything else is reached through them::

    from mattermost_plugin import Plugin, hook, HookName
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient

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


def __getattr__(name: str) -> Any:
    # The clients (233 generated methods each) load on first use, not with every import.
    if name in ("PluginAPIClient", "AsyncPluginAPIClient"):
        from mattermost_plugin import client

        value = getattr(client, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
