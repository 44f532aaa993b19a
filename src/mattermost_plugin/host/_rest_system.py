"""``/api/v4/system``, ``/api/v4/config`` and ``/api/v4/logs``: liveness, the
configuration (sanitized; a patch runs the plugin's configuration hooks) and the server
log, whose lines are JSON objects as in the server's ``mattermost.log``."""

from __future__ import annotations

from typing import Any

from mattermost_plugin.host._rest import Call, fake_errors, query_int, route


@route("GET", "/api/v4/system/ping", session=False)
def ping(call: Call) -> None:
    """``{"status": "OK"}`` (and the plugin's state, ``plugin``)."""
    call.respond(200, {"status": "OK", "plugin": call.dev.status()["state"]})


@route("GET", "/api/v4/config")
def get_config(call: Call) -> None:
    """The configuration, secrets hidden (``manage_system``)."""
    call.require("manage_system")
    call.respond(200, call.local.get_config())


@route("PUT", "/api/v4/config/patch")
def patch_config(call: Call) -> None:
    """A partial configuration merged over the current one: ``ConfigurationWillBeSaved``
    (may refuse: 400, or change it), the save, ``OnConfigurationChange``; answers the
    whole configuration, sanitized (``manage_system``)."""
    patch = call.body("config").data
    call.require("manage_system")
    with fake_errors():
        config = call.local.patch_config(patch)
    call.dev.emit("server", f"configuration patched: {_patched_keys(patch)}")
    call.respond(200, config)


@route("GET", "/api/v4/logs")
def get_logs(call: Call) -> None:
    """The server log's latest lines, oldest first, each a JSON object as a string
    (``page`` counts back from the end, ``logs_per_page`` lines a page, at most 10000;
    ``get_logs``). The plugin's lines carry its id in ``plugin_id``."""
    call.require("get_logs")
    page = query_int(call, "page", 0)
    per_page = query_int(call, "logs_per_page", 10000, maximum=10000)
    call.respond(200, call.dev.server_log.page(page, per_page))


def _patched_keys(patch: dict[str, Any], prefix: str = "") -> str:
    """The paths a patch sets, for the console (values left out: they may be secrets)."""
    paths = []
    for key, value in patch.items():
        if isinstance(value, dict) and value:
            paths.append(_patched_keys(value, f"{prefix}{key}."))
        else:
            paths.append(f"{prefix}{key}")
    return ", ".join(paths)


ROUTES = [ping, get_config, patch_config, get_logs]
