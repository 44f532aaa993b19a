"""Plugin management: the installed plugins (the local host's own one, and bundles the
plugin installs), their states, and the plugin's bundle path.

Enabling or disabling a plugin changes its state here and in ``PluginSettings.PluginStates``;
the local host does not start or stop a process for it (it runs one plugin)."""

from __future__ import annotations

import io
import json
import tarfile

from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2
from mattermost_plugin.host.fake_server._rpc import Ctx, bad_request, not_found, status
from mattermost_plugin.host.fake_server._state import FakeState

NOT_RUNNING, RUNNING = 0, 2  # model.PluginState*
_MAX_BUNDLE = 50 * 1024 * 1024  # PluginSettings.MaxFileSize's default


def manifest_of_bundle(data: bytes) -> api_kv_config_pb2.Manifest:
    """The manifest of a plugin bundle (a .tar.gz with ``plugin.json`` at its root or in
    one folder); raise the server's 400 for anything else."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as bundle:
            for member in bundle.getmembers():
                parts = member.name.strip("./").split("/")
                if member.isfile() and parts[-1] == "plugin.json" and len(parts) <= 2:
                    raw = bundle.extractfile(member)
                    found = json.loads(raw.read()) if raw is not None else None
                    break
            else:
                found = None
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise bad_request("app.plugin.extract.app_error", f"not a plugin bundle: {exc}") from None
    if not isinstance(found, dict) or not isinstance(found.get("id"), str) or not found["id"]:
        raise bad_request("app.plugin.manifest.missing", "the bundle has no plugin.json with an id")
    fields = {f.name for f in api_kv_config_pb2.Manifest.DESCRIPTOR.fields}
    return api_kv_config_pb2.Manifest(
        **{k: str(v) for k, v in found.items() if k in fields and isinstance(v, (str, int))}
    )


class PluginsAPI(FakeState):
    def install_manifest(self, manifest: api_kv_config_pb2.Manifest, *, running: bool) -> None:
        """Record an installed plugin (the host records the one it runs)."""
        self.plugins[manifest.id] = api_kv_config_pb2.PluginStatus(
            plugin_id=manifest.id,
            name=manifest.name,
            description=manifest.description,
            version=manifest.version,
            state=RUNNING if running else NOT_RUNNING,
        )
        self.plugin_manifests[manifest.id] = manifest

    def _installed(self, plugin_id: str) -> api_kv_config_pb2.PluginStatus:
        found = self.plugins.get(plugin_id)
        if found is None:
            raise not_found("app.plugin.not_installed.app_error", "plugin", plugin_id)
        return found

    def _set_enabled(self, plugin_id: str, enabled: bool) -> None:
        status_ = self._installed(plugin_id)
        status_.state = RUNNING if enabled else NOT_RUNNING
        states = self.config.setdefault("PluginSettings", {}).setdefault("PluginStates", {})
        states[plugin_id] = {"Enable": enabled}

    @status(never_fails=True)
    def GetBundlePath(
        self, request: api_kv_config_pb2.GetBundlePathRequest, context: Ctx
    ) -> api_kv_config_pb2.GetBundlePathResponse:
        """Where the plugin's files are (``bundle_path``: the local host's plugin folder)."""
        return api_kv_config_pb2.GetBundlePathResponse(path=self.bundle_path)

    @status(never_fails=True)
    def GetPlugins(
        self, request: api_kv_config_pb2.GetPluginsRequest, context: Ctx
    ) -> api_kv_config_pb2.GetPluginsResponse:
        """The manifests of the installed plugins, by id."""
        manifests = [self.plugin_manifests[i] for i in sorted(self.plugin_manifests)]
        return api_kv_config_pb2.GetPluginsResponse(manifests=manifests)

    @status
    def GetPluginStatus(
        self, request: api_kv_config_pb2.GetPluginStatusRequest, context: Ctx
    ) -> api_kv_config_pb2.GetPluginStatusResponse:
        """An installed plugin's status (404 for one that is not installed)."""
        return api_kv_config_pb2.GetPluginStatusResponse(status=self._installed(request.id))

    @status
    def EnablePlugin(
        self, request: api_kv_config_pb2.EnablePluginRequest, context: Ctx
    ) -> api_kv_config_pb2.EnablePluginResponse:
        """Marks an installed plugin enabled and running."""
        self._set_enabled(request.id, True)
        return api_kv_config_pb2.EnablePluginResponse()

    @status
    def DisablePlugin(
        self, request: api_kv_config_pb2.DisablePluginRequest, context: Ctx
    ) -> api_kv_config_pb2.DisablePluginResponse:
        """Marks an installed plugin disabled and not running."""
        self._set_enabled(request.id, False)
        return api_kv_config_pb2.DisablePluginResponse()

    @status
    def RemovePlugin(
        self, request: api_kv_config_pb2.RemovePluginRequest, context: Ctx
    ) -> api_kv_config_pb2.RemovePluginResponse:
        """Uninstalls a plugin."""
        self._installed(request.id)
        del self.plugins[request.id]
        del self.plugin_manifests[request.id]
        return api_kv_config_pb2.RemovePluginResponse()

    @status
    def InstallPlugin(
        self, request: api_kv_config_pb2.InstallPluginRequest, context: Ctx
    ) -> api_kv_config_pb2.InstallPluginResponse:
        """Installs a plugin bundle (a .tar.gz with its manifest), not enabled; an installed
        id needs ``replace`` (400), as does anything that is not a bundle."""
        if len(request.file_data) > _MAX_BUNDLE:
            raise bad_request("app.plugin.install.app_error", "the bundle is too large")
        manifest = manifest_of_bundle(request.file_data)
        if manifest.id in self.plugins and not request.replace:
            raise bad_request(
                "app.plugin.install_id.app_error", f"a plugin with id {manifest.id!r} is installed"
            )
        self.install_manifest(manifest, running=False)
        return api_kv_config_pb2.InstallPluginResponse(manifest=manifest)
