"""``run_plugin``: start a plugin under the go-plugin process contract.

The entry point of every plugin's ``server/plugin.py``::

    if __name__ == "__main__":
        from mattermost_plugin.server import run_plugin
        run_plugin(MyPlugin)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import NoReturn

from mattermost_plugin._dispatch import HookDispatcher
from mattermost_plugin._plugin_id import find_manifest, find_plugin_id
from mattermost_plugin._process import PluginProcess
from mattermost_plugin._transport import TARGET_VARIABLES
from mattermost_plugin.logging import configure_logging, get_plugin_logger, secret_setting_keys
from mattermost_plugin.plugin import Plugin

__all__ = ["run_plugin"]


def plugin_id(environ: Mapping[str, str]) -> str:
    """MATTERMOST_PLUGIN_ID, else the id in the plugin folder's manifest, else "plugin"."""
    return find_plugin_id(environ)[0] or "plugin"


def run_plugin(plugin_class: type[Plugin], *, environ: Mapping[str, str] | None = None) -> NoReturn:
    """Serve ``plugin_class`` to the Mattermost server, until it stops the plugin.

    Connects ``self.api`` and ``self.async_api`` (when the server gave an API address),
    sets ``self.logger``, prints the go-plugin handshake, dispatches hooks, and exits with
    status 0 when the server shuts the plugin down.
    """
    env = os.environ if environ is None else environ
    # Fields named like the settings marked secret are redacted in the plugin's logs.
    manifest, _ = find_manifest(env)
    configure_logging(secret_names=secret_setting_keys(manifest.get("settings_schema")))
    plugin = plugin_class()
    identifier = plugin_id(env)
    plugin.logger = get_plugin_logger(identifier)
    # The clients are built on first use of self.api / self.async_api (gRPC channels connect
    # lazily anyway), so a plugin that never calls the API does not load their code.
    target = next((env[v] for v in TARGET_VARIABLES if env.get(v)), None)
    if target is not None:
        plugin.__dict__["_api_target"] = target
    dispatcher = HookDispatcher(plugin, plugin_id=identifier)

    async def on_stop(budget: float) -> None:
        if "ServeHTTP" in dispatcher.implemented:
            from mattermost_plugin.http import asgi_mounts

            for mount in asgi_mounts(plugin):  # lifespan shutdown (safe if already done)
                await mount.shutdown()
        await dispatcher.drain(budget)
        dispatcher.close()
        api, async_api = plugin.__dict__.get("api"), plugin.__dict__.get("async_api")
        if api is not None:
            api.close()
        if async_api is not None:
            await async_api.close()

    code = PluginProcess(
        dispatcher.register,
        on_stop=on_stop,
        environ=env,
        max_message_bytes=plugin_class.max_message_bytes,
    ).run()
    sys.stdout.flush()
    sys.exit(code)
