"""Plugin management on the dev server, as the server does it for ``/api/v4/plugins``.

An uploaded bundle (the ``.tar.gz`` that ``mattermost-plugin bundle`` writes, or any plugin
archive) is checked the way the server checks one, with its error ids (:mod:`._bundle_rules`),
and refused when a plugin of that id is installed, unless ``force``
(``app.plugin.install_id.app_error``). It is unpacked into the state folder
(``<state>/plugins/<id>/<n>``) and, when the plugin is enabled, started in place of the
running version: the old one keeps serving until the new one has activated (a failing
start answers the server's 500 ``app.plugin.restart.app_error`` and the status says
``FailedToStart``). The dev server runs one plugin: a bundle of another id is refused.

Statuses use the server's ``PluginStatus`` JSON and state numbers (:data:`STATE_NAMES`).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mattermost_plugin.host._bundle_rules import BundleRefused, read_manifest, unpack_bundle
from mattermost_plugin.host._http_front import HTTPError
from mattermost_plugin.host.supervisor import PluginStartError

if TYPE_CHECKING:
    from mattermost_plugin.host.dev_server import DevServer

__all__ = ["MAX_BUNDLE", "STATE_NAMES", "DevPlugins"]

NOT_RUNNING, STARTING, RUNNING, FAILED_TO_START, FAILED_TO_STAY_RUNNING, STOPPING = range(6)
STATE_NAMES = {
    NOT_RUNNING: "NotRunning",
    STARTING: "Starting",
    RUNNING: "Running",
    FAILED_TO_START: "FailedToStart",
    FAILED_TO_STAY_RUNNING: "FailedToStayRunning",
    STOPPING: "Stopping",
}
"""The server's ``model.PluginState*`` numbers and names."""
MAX_BUNDLE = 50 * 1024 * 1024
"""``PluginSettings.MaxFileSize``'s default: the largest bundle the server takes."""


class DevPlugins:
    """The dev server's installed plugin: its versions on disk, enabled or not, its status."""

    def __init__(self, dev: DevServer, state_dir: Path | None) -> None:
        self.dev = dev
        self._temporary = state_dir is None
        root = Path(tempfile.mkdtemp(prefix="mattermost-dev-")) if state_dir is None else state_dir
        self.folder = root / "plugins"
        self.enabled = True
        self.installed_dir: Path = dev.plugin_dir
        """The version to start: the source folder, or the latest uploaded bundle."""
        self._lock = threading.Lock()

    @property
    def plugin_id(self) -> str:
        return self.dev.local.plugin_id

    # --- installing ------------------------------------------------------------------------

    def install(self, data: bytes, *, force: bool) -> dict[str, Any]:
        """Install a bundle (see the module doc); returns its manifest as JSON."""
        with self._lock:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix="upload-", dir=self.folder))
            try:
                folder = unpack_bundle(data, staging)
                manifest = self._check(folder, force=force)
            except BundleRefused as exc:
                shutil.rmtree(staging, ignore_errors=True)
                raise HTTPError(400, exc.error_id, exc.message, exc.detail) from None
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self.installed_dir = folder
            self.dev.emit("plugin", f"installed {manifest['id']} {manifest.get('version', '')}")
            try:
                if self.enabled:
                    self._start(failure_status=500)
            finally:
                self._clean()
            return manifest

    def _check(self, folder: Path, *, force: bool) -> dict[str, Any]:
        manifest = read_manifest(folder)
        if manifest.id != self.plugin_id:
            raise HTTPError(
                400,
                "app.plugin.install.app_error",
                "Unable to install plugin.",
                f"this dev server runs {self.plugin_id}; the bundle holds {manifest.id} (a dev "
                "server runs one plugin: start one for the other plugin)",
            )
        if not force:
            raise HTTPError(
                400,
                "app.plugin.install_id.app_error",
                "Unable to install plugin. A plugin with the same ID is already installed.",
            )
        shown: dict[str, Any] = manifest.model_dump(mode="json", exclude_none=True)
        return shown

    def _clean(self) -> None:
        """Remove unpacked versions that neither run nor are the installed one."""
        keep = {self.dev.local.plugin_dir, self.installed_dir}
        if not self.folder.is_dir():
            return
        for staging in self.folder.iterdir():
            if not any(k == staging or staging in k.parents for k in keep):
                shutil.rmtree(staging, ignore_errors=True)

    # --- enabling ---------------------------------------------------------------------------

    def _start(self, *, failure_status: int | None) -> None:
        """Start the installed version in place of the running one; a failure is a
        ``failure_status`` answer (``None``: only the status says so, as for enable)."""
        try:
            started = self.dev.local.reload(self.installed_dir)
        except PluginStartError as exc:
            self.dev.local.last_error = str(exc)
            started = False
        self.dev.plugin_status_changed()
        if not started and failure_status is not None:
            raise HTTPError(
                failure_status,
                "app.plugin.restart.app_error",
                "Unable to restart plugin on upgrade.",
                self.dev.local.last_error or "",
            )

    def enable(self) -> None:
        """Start the plugin (a failure shows in its status, as on the server)."""
        with self._lock:
            self.set_enabled(True)
            if not self.dev.local.running:
                self._start(failure_status=None)

    def disable(self) -> None:
        """Stop the plugin; it stays stopped across file changes until enabled."""
        with self._lock:
            self.set_enabled(False)
            self.dev.local.deactivate()
            self.dev.local.last_error = None
            self.dev.plugin_status_changed()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        fake = self.dev.local.server
        with fake.transaction():
            states = fake.config.setdefault("PluginSettings", {}).setdefault("PluginStates", {})
            states[self.plugin_id] = {"Enable": enabled}

    def source_changed(self) -> None:
        """The plugin's folder changed: start it (it replaces an uploaded version)."""
        with self._lock:
            self.installed_dir = self.dev.plugin_dir
            if self.enabled:
                self._start(failure_status=None)
            else:
                self.dev.emit("plugin", "the plugin is disabled: not restarting it", "warn")

    # --- statuses ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The plugin's ``PluginStatus`` as the server reports it."""
        local = self.dev.local
        supervisor = local._supervisor
        error = ""
        if not self.enabled:
            state = NOT_RUNNING
        elif local.last_error:
            state, error = FAILED_TO_START, local.last_error
        elif supervisor is None:
            state = NOT_RUNNING
        elif supervisor.state == "running":
            state = RUNNING
        elif supervisor.state == "disabled":
            state, error = FAILED_TO_STAY_RUNNING, supervisor.disabled_reason or ""
        elif supervisor.state in ("starting", "restarting"):
            state = STARTING
        else:
            state = NOT_RUNNING
        manifest = local.manifest
        return {
            "plugin_id": manifest.id,
            "cluster_id": "",
            "plugin_path": str(local.plugin_dir),
            "state": state,
            "error": error,
            "name": manifest.name or "",
            "description": manifest.description or "",
            "version": str(manifest.version or ""),
        }

    def statuses(self) -> list[dict[str, Any]]:
        """Every installed plugin's status: this one's, and those the plugin installed
        through the API (never started here)."""
        found = [self.status()]
        fake = self.dev.local.server
        with fake.transaction():
            for plugin_id in sorted(fake.plugins):
                if plugin_id == self.plugin_id:
                    continue
                other = fake.plugins[plugin_id]
                found.append(
                    {
                        "plugin_id": other.plugin_id,
                        "cluster_id": "",
                        "plugin_path": "",
                        "state": NOT_RUNNING,
                        "error": "",
                        "name": other.name,
                        "description": other.description,
                        "version": other.version,
                    }
                )
        return found

    def manifest_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = self.dev.local.manifest.model_dump(mode="json", exclude_none=True)
        return shown

    def close(self) -> None:
        if self._temporary:
            shutil.rmtree(self.folder.parent, ignore_errors=True)
