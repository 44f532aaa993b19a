"""The plugin's id and manifest, known without asking the server: from the environment or
the manifest in the plugin folder.

The server sets no variable for the id (PROTOCOL.md §2) and does not answer ``GetPluginID``
(§6): a plugin knows its id from ``MATTERMOST_PLUGIN_ID`` (documented, sometimes set) or the
manifest in its folder (``MATTERMOST_PLUGIN_PATH``, else the working directory, which the
server sets to the plugin folder).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST_FILE_NAMES = ("plugin.json", "plugin.yaml", "plugin.yml")


def plugin_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The plugin's folder: ``MATTERMOST_PLUGIN_PATH``, else the working directory."""
    env = os.environ if environ is None else environ
    return Path(env.get("MATTERMOST_PLUGIN_PATH") or os.getcwd())


def find_manifest(environ: Mapping[str, str]) -> tuple[dict[str, Any], Path | None]:
    """The plugin folder's manifest as read (``{}`` when unreadable) and its path (``None``
    when the folder has none)."""
    folder = plugin_folder(environ)
    for name in MANIFEST_FILE_NAMES:
        manifest = folder / name
        if manifest.is_file():
            return _read(manifest), manifest
    return {}, None


def find_plugin_id(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The plugin id and where it came from; ``None`` and where it was looked for if absent."""
    if environ.get("MATTERMOST_PLUGIN_ID"):
        return environ["MATTERMOST_PLUGIN_ID"], "MATTERMOST_PLUGIN_ID"
    data, manifest = find_manifest(environ)
    if manifest is None:
        return None, f"MATTERMOST_PLUGIN_ID, or a manifest in {plugin_folder(environ)}"
    found = data.get("id")
    return (found if isinstance(found, str) and found else None), str(manifest)


def _read(manifest: Path) -> dict[str, Any]:
    try:
        text = manifest.read_text()
        if manifest.suffix == ".json":
            data = json.loads(text)
        else:  # YAML manifests are rare: load the parser only for them
            import yaml

            data = yaml.safe_load(text)
    except Exception:  # unreadable or broken: `mattermost-plugin validate` says why
        return {}
    return data if isinstance(data, dict) else {}
