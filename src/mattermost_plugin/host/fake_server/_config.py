"""The server and plugin configuration, the server version and the plugin's logs."""

from __future__ import annotations

import contextlib
import json
from typing import Any, cast

from google.protobuf import json_format, struct_pb2

from mattermost_plugin._pb.pluginapi.v1 import (
    api_kv_config_pb2,
    api_remaining_pb2,
)
from mattermost_plugin.host._logring import MAX_LOG_LINE, cut_text
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    bad_request,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    FakeState,
    LogEntry,
)


class ConfigAPI(FakeState):
    def _log(self, level: str, request: Any) -> None:
        fields = {kv.key: json_format.MessageToDict(kv.value) for kv in request.key_value_pairs}
        entry = LogEntry(level, cut_text(request.msg, MAX_LOG_LINE), fields)
        self.logs.append(entry)
        if self.on_log is not None:
            with contextlib.suppress(Exception):  # a broken printer must not fail the call
                self.on_log(entry)

    def _plugin_settings(self) -> dict[str, Any]:
        plugins = self.config.setdefault("PluginSettings", {}).setdefault("Plugins", {})
        return cast(dict[str, Any], plugins.setdefault(self.plugin_id, {}))

    # ----------------------------------------------------------------------- config, plugin, server

    @status(never_fails=True)
    def GetConfig(
        self, request: api_kv_config_pb2.GetConfigRequest, context: Ctx
    ) -> api_kv_config_pb2.GetConfigResponse:
        """The server configuration."""
        return api_kv_config_pb2.GetConfigResponse(config_json=json.dumps(self.config).encode())

    @status(never_fails=True)
    def GetUnsanitizedConfig(
        self, request: api_kv_config_pb2.GetUnsanitizedConfigRequest, context: Ctx
    ) -> api_kv_config_pb2.GetUnsanitizedConfigResponse:
        """The server configuration, secrets included."""
        config_json = json.dumps(self.config).encode()
        return api_kv_config_pb2.GetUnsanitizedConfigResponse(config_json=config_json)

    @status
    def SaveConfig(
        self, request: api_kv_config_pb2.SaveConfigRequest, context: Ctx
    ) -> api_kv_config_pb2.SaveConfigResponse:
        """Replaces the server configuration (a JSON object, else 400); the host then runs
        OnConfigurationChange."""
        try:
            config = json.loads(request.config_json)
        except ValueError as exc:
            raise bad_request("api.config.update_config.invalid_json", str(exc)) from exc
        if not isinstance(config, dict):
            raise bad_request("api.config.update_config.invalid_json", "not a JSON object")
        self.config = config
        self._config_saved()
        return api_kv_config_pb2.SaveConfigResponse()

    def _config_saved(self) -> None:
        if self.on_config_saved is not None:
            self.on_config_saved()

    @status(never_fails=True)
    def GetPluginConfig(
        self, request: api_kv_config_pb2.GetPluginConfigRequest, context: Ctx
    ) -> api_kv_config_pb2.GetPluginConfigResponse:
        """The plugin's settings (``PluginSettings.Plugins[<id>]``)."""
        config = struct_pb2.Struct()
        config.update(self._plugin_settings())
        return api_kv_config_pb2.GetPluginConfigResponse(config=config)

    @status(never_fails=True)
    def SavePluginConfig(
        self, request: api_kv_config_pb2.SavePluginConfigRequest, context: Ctx
    ) -> api_kv_config_pb2.SavePluginConfigResponse:
        """Replaces the plugin's settings; the host then runs OnConfigurationChange."""
        settings = self._plugin_settings()
        settings.clear()
        settings.update(json_format.MessageToDict(request.config))
        self._config_saved()
        return api_kv_config_pb2.SavePluginConfigResponse()

    @status(never_fails=True)
    def LoadPluginConfiguration(
        self, request: api_kv_config_pb2.LoadPluginConfigurationRequest, context: Ctx
    ) -> api_kv_config_pb2.LoadPluginConfigurationResponse:
        """The plugin's settings as JSON."""
        config_json = json.dumps(self._plugin_settings()).encode()
        return api_kv_config_pb2.LoadPluginConfigurationResponse(config_json=config_json)

    @status(never_fails=True)
    def GetServerVersion(
        self, request: api_remaining_pb2.GetServerVersionRequest, context: Ctx
    ) -> api_remaining_pb2.GetServerVersionResponse:
        """The server's version (``server_version``, 10.5.0 by default)."""
        return api_remaining_pb2.GetServerVersionResponse(version=self.server_version)

    # ----------------------------------------------------------------------- logs (status)

    @status(never_fails=True)
    def LogDebug(
        self, request: api_kv_config_pb2.LogDebugRequest, context: Ctx
    ) -> api_kv_config_pb2.LogDebugResponse:
        """Logs a line of the plugin at debug level (the host shows it)."""
        self._log("debug", request)
        return api_kv_config_pb2.LogDebugResponse()

    @status(never_fails=True)
    def LogInfo(
        self, request: api_kv_config_pb2.LogInfoRequest, context: Ctx
    ) -> api_kv_config_pb2.LogInfoResponse:
        """Logs a line of the plugin at info level."""
        self._log("info", request)
        return api_kv_config_pb2.LogInfoResponse()

    @status(never_fails=True)
    def LogWarn(
        self, request: api_kv_config_pb2.LogWarnRequest, context: Ctx
    ) -> api_kv_config_pb2.LogWarnResponse:
        """Logs a line of the plugin at warn level."""
        self._log("warn", request)
        return api_kv_config_pb2.LogWarnResponse()

    @status(never_fails=True)
    def LogError(
        self, request: api_kv_config_pb2.LogErrorRequest, context: Ctx
    ) -> api_kv_config_pb2.LogErrorResponse:
        """Logs a line of the plugin at error level."""
        self._log("error", request)
        return api_kv_config_pb2.LogErrorResponse()
