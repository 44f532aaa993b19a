"""OnConfigurationChange runs once before OnActivate (tests/hooks/test_listeners.py).

The settings key ``mode`` picks: ``both`` (handlers for both hooks), ``fail`` (the
configuration handler raises; activation must go on), ``only-config`` (the class below
without an OnActivate handler, chosen by the PLUGIN_CLASS environment variable).
"""

from __future__ import annotations

import os

from mattermost_plugin import HookName, Plugin, hook


class ConfigFirst(Plugin):
    calls: list[str] = []  # noqa: RUF012 - one plugin object per process

    @hook(HookName.OnConfigurationChange)
    def on_configuration_change(self) -> None:
        mode = self.api.get_plugin_config().get("mode")
        self.calls.append("OnConfigurationChange")
        self.logger.info("calls: " + " ".join(self.calls))
        if mode == "fail":
            raise RuntimeError("the settings are broken")


class WithActivate(ConfigFirst):
    @hook(HookName.OnActivate)
    async def on_activate(self) -> None:
        self.calls.append("OnActivate")
        self.logger.info("calls: " + " ".join(self.calls))


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(ConfigFirst if os.environ.get("PLUGIN_CLASS") == "only-config" else WithActivate)
