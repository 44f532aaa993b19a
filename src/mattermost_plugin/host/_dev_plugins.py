"""Plugin management on the dev server, as the server does it for ``/api/v4/plugins``.

An uploaded bundle (the ``.tar.gz`` that ``mattermost-plugin bundle`` writes, or any plugin
archive) is checked the way the server checks one, with its error ids: a gzipped tar
(``app.plugin.extract.app_error``) holding only files and folders inside it, a manifest at
its root or in its one top folder (``app.plugin.manifest.app_error``), a valid id
(``app.plugin.invalid_id.app_error``), and no installed plugin of that id unless ``force``
(``app.plugin.install_id.app_error``). It is unpacked into the state folder
(``<state>/plugins/<id>/<n>``) and, when the plugin is enabled, started in place of the
running version: the old one keeps serving until the new one has activated (a failing
start answers the server's 500 ``app.plugin.restart.app_error`` and the status says
``FailedToStart``). The dev server runs one plugin: a bundle of another id is refused.

Statuses use the server's ``PluginStatus`` JSON and state numbers (:data:`STATE_NAMES`).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
import tempfile
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mattermost_plugin.host._http_front import HTTPError
from mattermost_plugin.host.supervisor import PluginStartError
from mattermost_plugin.manifest import MANIFEST_FILE_NAMES, ManifestError, load_manifest

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
MAX_UNPACKED = 1024 * 1024 * 1024
_PLUGIN_ID = re.compile(r"^[a-zA-Z0-9\-_.]{3,190}$")


def _extract_error(detail: str) -> HTTPError:
    return HTTPError(
        400, "app.plugin.extract.app_error", "Encountered error extracting plugin.", detail
    )


def unpack_bundle(data: bytes, target: Path) -> Path:
    """Unpack a plugin archive into ``target``; return the folder holding its manifest.
    Raises the server's 400s for what it would refuse."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = archive.getmembers()
            _check_members(members)
            # The checks are what the "data" filter adds; Pythons before 3.10.12 lack it.
            options: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(target, members=members, **options)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _extract_error(f"not a readable gzipped tar archive: {exc}") from None
    return _manifest_folder(target)


def _check_members(members: list[tarfile.TarInfo]) -> None:
    total = 0
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise _extract_error(f"{member.name!r} lies outside the archive's folder")
        if not (member.isfile() or member.isdir()):
            raise _extract_error(f"{member.name!r} is not a file or a folder")
        total += member.size
        if total > MAX_UNPACKED:
            raise _extract_error(f"the archive unpacks to more than {MAX_UNPACKED} bytes")


def _manifest_folder(root: Path) -> Path:
    """The server's ``FindManifest``: the manifest at the root, or in its one top folder."""
    if any((root / name).is_file() for name in MANIFEST_FILE_NAMES):
        return root
    entries = [p for p in root.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        folder = entries[0]
        if any((folder / name).is_file() for name in MANIFEST_FILE_NAMES):
            return folder
    raise HTTPError(
        400,
        "app.plugin.manifest.app_error",
        "Unable to find manifest for extracted plugin.",
        "no plugin.json or plugin.yaml at the archive's root or in its one top folder",
    )


def _raw_id(folder: Path) -> object:
    """The manifest's ``id`` as written (checked before the rest of the manifest)."""
    path = folder / "plugin.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    return data.get("id") if isinstance(data, dict) else None


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
        plugin_id = _raw_id(folder)
        if plugin_id is not None and (
            not isinstance(plugin_id, str) or not _PLUGIN_ID.match(plugin_id)
        ):
            raise HTTPError(
                400,
                "app.plugin.invalid_id.app_error",
                "Plugin Id must be at least 3 characters, at most 190 characters and match "
                "^[a-zA-Z0-9-_\\.]+$.",
                f"id {plugin_id!r}",
            )
        try:
            manifest = load_manifest(folder)
        except ManifestError as exc:
            raise HTTPError(
                400,
                "app.plugin.manifest.app_error",
                "Unable to load the plugin's manifest.",
                str(exc),
            ) from None
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
