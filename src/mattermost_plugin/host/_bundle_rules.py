"""What the server refuses in a plugin bundle, with its error ids.

The server takes a gzipped tar archive (``app.plugin.extract.app_error`` otherwise) that
unpacks to files and folders inside it, finds the manifest at its root or in its one top
folder (``app.plugin.manifest.app_error``) and checks the plugin id
(``app.plugin.invalid_id.app_error``). The dev server's upload route and ``mattermost-plugin
deploy`` (before it uploads) both ask :func:`unpack_bundle`; the manifest is then read with
the SDK's own model, which also checks what a Python plugin needs.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from mattermost_plugin.manifest import MANIFEST_FILE_NAMES, Manifest, ManifestError, load_manifest

__all__ = ["MAX_UNPACKED", "BundleRefused", "read_manifest", "unpack_bundle"]

MAX_UNPACKED = 1024 * 1024 * 1024
"""The most an archive may unpack to (a guard against archive bombs)."""
_PLUGIN_ID = re.compile(r"^[a-zA-Z0-9\-_.]{3,190}$")


class BundleRefused(Exception):
    """The server would refuse the bundle: its ``error_id``, ``message`` and ``detail``."""

    def __init__(self, error_id: str, message: str, detail: str) -> None:
        super().__init__(f"{message} ({error_id}): {detail}")
        self.error_id = error_id
        self.message = message
        self.detail = detail


def _extract_error(detail: str) -> BundleRefused:
    return BundleRefused(
        "app.plugin.extract.app_error", "Encountered error extracting plugin.", detail
    )


def unpack_bundle(data: bytes, target: Path) -> Path:
    """Unpack a plugin archive into ``target`` and return the folder holding its manifest,
    whose id is valid; raise :class:`BundleRefused` for what the server would refuse."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = archive.getmembers()
            _check_members(members)
            # The checks are what the "data" filter adds; Pythons before 3.10.12 lack it.
            options: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(target, members=members, **options)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _extract_error(f"not a readable gzipped tar archive: {exc}") from None
    folder = _manifest_folder(target)
    _check_id(folder)
    return folder


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
    raise BundleRefused(
        "app.plugin.manifest.app_error",
        "Unable to find manifest for extracted plugin.",
        "no plugin.json or plugin.yaml at the archive's root or in its one top folder",
    )


def _check_id(folder: Path) -> None:
    """The manifest's ``id`` as written, checked as the server checks it."""
    path = folder / "plugin.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (ValueError, OSError):
        return  # the manifest's own check says what is wrong
    plugin_id = data.get("id") if isinstance(data, dict) else None
    if plugin_id is not None and (
        not isinstance(plugin_id, str) or not _PLUGIN_ID.match(plugin_id)
    ):
        raise BundleRefused(
            "app.plugin.invalid_id.app_error",
            "Plugin Id must be at least 3 characters, at most 190 characters and match "
            "^[a-zA-Z0-9-_\\.]+$.",
            f"id {plugin_id!r}",
        )


def read_manifest(folder: Path) -> Manifest:
    """The unpacked bundle's manifest; :class:`BundleRefused` when it is not valid."""
    try:
        return load_manifest(folder)
    except ManifestError as exc:
        raise BundleRefused(
            "app.plugin.manifest.app_error", "Unable to load the plugin's manifest.", str(exc)
        ) from None
