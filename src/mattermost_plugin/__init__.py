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
    from mattermost_plugin.cluster import on_cluster_event
    from mattermost_plugin.commands import Greedy, Text, UsageError, command
    from mattermost_plugin.http import HTTPRequest, HTTPResponse, mount_asgi, mount_wsgi
    from mattermost_plugin.interactive import (
        ActionRequest,
        ActionResponse,
        DialogResponse,
        DialogSubmission,
        action,
        dialog,
    )
    from mattermost_plugin.jobs import JobRun, job, once_job

__version__ = "0.1.0"

__all__ = [
    "ActionRequest",
    "ActionResponse",
    "AlreadyExistsError",
    "AsyncPluginAPIClient",
    "DialogResponse",
    "DialogSubmission",
    "Greedy",
    "HTTPRequest",
    "HTTPResponse",
    "HookName",
    "JobRun",
    "NotFoundError",
    "PermissionDeniedError",
    "Plugin",
    "PluginAPIClient",
    "PluginAPIError",
    "Text",
    "UnavailableError",
    "UsageError",
    "ValidationError",
    "__version__",
    "action",
    "command",
    "dialog",
    "hook",
    "job",
    "mount_asgi",
    "mount_wsgi",
    "on_cluster_event",
    "once_job",
]


# Loaded on first use, not with every import: the clients (233 generated methods each), the
# HTTP layer, the commands, cluster events and the interactive messages are not needed
# by every plugin.
_LAZY = {
    "PluginAPIClient": "client",
    "AsyncPluginAPIClient": "client",
    "command": "commands",
    "Greedy": "commands",
    "Text": "commands",
    "UsageError": "commands",
    "HTTPRequest": "http",
    "HTTPResponse": "http",
    "mount_asgi": "http",
    "mount_wsgi": "http",
    "on_cluster_event": "cluster",
    "action": "interactive",
    "dialog": "interactive",
    "ActionRequest": "interactive",
    "ActionResponse": "interactive",
    "DialogResponse": "interactive",
    "DialogSubmission": "interactive",
    "job": "jobs",
    "once_job": "jobs",
    "JobRun": "jobs",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
