"""``/api/v4/plugins``: uploading a bundle (``force`` to replace), enabling and disabling,
the installed plugins and their statuses (:mod:`._dev_plugins` does the work)."""

from __future__ import annotations

from typing import Any

from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2
from mattermost_plugin.host._dev_plugins import MAX_BUNDLE
from mattermost_plugin.host._http_front import HTTPError
from mattermost_plugin.host._rest import Call, fake_errors, route

_UPLOAD_DISABLED = "app.plugin.upload_disabled.app_error"


def _max_bundle(call: Call) -> int:
    size = call.fake.config.get("PluginSettings", {}).get("MaxFileSize")
    return size if isinstance(size, int) and size > 0 else MAX_BUNDLE


@route("POST", "/api/v4/plugins")
def upload_plugin(call: Call) -> None:
    """A ``multipart/form-data`` body with the bundle in the ``plugin`` part and ``force``
    (``"true"`` replaces an installed plugin of the same id); needs
    ``sysconsole_write_plugins`` and ``PluginSettings.Enable`` and ``EnableUploads`` (the
    dev server turns uploads on) without ``RequirePluginSignature``. Answers 201 with the
    manifest; the plugin, when enabled, is started in place of the running version."""
    settings = call.fake.config.get("PluginSettings", {})
    if (
        settings.get("Enable") is False
        or settings.get("EnableUploads") is not True
        or settings.get("RequirePluginSignature") is True
    ):
        raise HTTPError(501, _UPLOAD_DISABLED, "Plugins and/or plugin uploads have been disabled.")
    call.require("sysconsole_write_plugins")
    form = call.form(_max_bundle(call) + 1024 * 1024)
    bundles = [f for f in form.files if f.field == "plugin"]
    if not bundles:
        raise HTTPError(
            400, "api.plugin.upload.no_file.app_error", "Missing file in multipart/form request."
        )
    bundle = bundles[0]
    if len(bundle.data) > _max_bundle(call):
        raise HTTPError(
            413,
            "api.plugin.upload.file_too_large.app_error",
            f"The plugin is larger than PluginSettings.MaxFileSize ({_max_bundle(call)} bytes).",
        )
    force = form.value("force") == "true"
    manifest = call.dev.plugins.install(bundle.data, force=force)
    call.respond(201, manifest)


def _other_plugin(call: Call, plugin_id: str) -> None:
    """A plugin the plugin installed through the API: 404 when there is none."""
    with call.fake.transaction(), fake_errors():
        call.fake._installed(plugin_id)


@route("POST", "/api/v4/plugins/{plugin_id}/enable")
def enable_plugin(call: Call) -> None:
    """Enables and starts the plugin (a start that fails shows in its status, as on the
    server); ``sysconsole_write_plugins``."""
    call.require("sysconsole_write_plugins")
    plugin_id = call.params["plugin_id"]
    if plugin_id == call.dev.plugins.plugin_id:
        call.dev.plugins.enable()
    else:
        _other_plugin(call, plugin_id)
        call.invoke("EnablePlugin", api_kv_config_pb2.EnablePluginRequest(id=plugin_id))
    call.ok()


@route("POST", "/api/v4/plugins/{plugin_id}/disable")
def disable_plugin(call: Call) -> None:
    """Disables and stops the plugin (``OnDeactivate``); ``sysconsole_write_plugins``."""
    call.require("sysconsole_write_plugins")
    plugin_id = call.params["plugin_id"]
    if plugin_id == call.dev.plugins.plugin_id:
        call.dev.plugins.disable()
    else:
        _other_plugin(call, plugin_id)
        call.invoke("DisablePlugin", api_kv_config_pb2.DisablePluginRequest(id=plugin_id))
    call.ok()


@route("GET", "/api/v4/plugins/statuses")
def get_statuses(call: Call) -> None:
    """Every installed plugin's ``PluginStatus`` (``state``: the server's numbers,
    ``error`` why it is not running); ``sysconsole_read_plugins``."""
    call.require("sysconsole_read_plugins")
    call.respond(200, call.dev.plugins.statuses())


@route("GET", "/api/v4/plugins")
def get_plugins(call: Call) -> None:
    """``{"active": [manifest], "inactive": [manifest]}``; ``sysconsole_read_plugins``."""
    call.require("sysconsole_read_plugins")
    plugins = call.dev.plugins
    active: list[dict[str, Any]] = []
    inactive: list[dict[str, Any]] = []
    (active if call.local.running else inactive).append(plugins.manifest_json())
    with call.fake.transaction():
        for plugin_id, manifest in sorted(call.fake.plugin_manifests.items()):
            if plugin_id != plugins.plugin_id:
                inactive.append(
                    {"id": manifest.id, "name": manifest.name, "version": manifest.version}
                )
    call.respond(200, {"active": active, "inactive": inactive})


ROUTES = [upload_plugin, enable_plugin, disable_plugin, get_statuses, get_plugins]
