"""The plugin's id, known without asking the server: from the environment or the manifest.

The server sets no variable for it (PROTOCOL.md §2) and does not answer ``GetPluginID``
(§6): a plugin knows its id from ``MATTERMOST_PLUGIN_ID`` (documented, sometimes set) or the
manifest in its folder (``MATTERMOST_PLUGIN_PATH``, else the working directory, which the
server sets to the plugin folder).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

MANIFEST_FILE_NAMES = ("plugin.json", "plugin.yaml", "plugin.yml")


def plugin_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The plugin's folder: ``MATTERMOST_PLUGIN_PATH``, else the working directory."""
    env = os.environ if environ is None else environ
    return Path(env.get("MATTERMOST_PLUGIN_PATH") or os.getcwd())


def find_plugin_id(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The plugin id and where it came from; ``None`` and where it was looked for if absent."""
    if environ.get("MATTERMOST_PLUGIN_ID"):
        return environ["MATTERMOST_PLUGIN_ID"], "MATTERMOST_PLUGIN_ID"
    folder = plugin_folder(environ)
    for name in MANIFEST_FILE_NAMES:
        manifest = folder / name
        if manifest.is_file():
            found = _manifest_id(manifest)
            return (found, str(manifest)) if found else (None, str(manifest))
    return None, f"MATTERMOST_PLUGIN_ID, or a manifest in {folder}"


def _manifest_id(manifest: Path) -> str | None:
    try:
        text = manifest.read_text()
        if manifest.suffix == ".json":
            data = json.loads(text)
        else:  # YAML manifests are rare: load the parser only for them
            import yaml

            data = yaml.safe_load(text)
    except Exception:  # unreadable or broken: `mattermost-plugin validate` says why
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None
