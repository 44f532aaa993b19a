"""The server's configuration patch, as ``PUT /api/v4/config/patch`` does it: merge a partial
config into the current one, and show a config with its secrets hidden.

The server decodes the patch into its ``Config`` struct (JSON keys match field names in any
case), merges every value the patch sets over the current config (objects field by field,
other values replaced; ``null`` sets nothing), and answers the saved config sanitized: each
secret replaced by ``FAKE_SETTING``. A patch that sends ``FAKE_SETTING`` back keeps the
current secret, so a config read from the API can be patched and sent again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from mattermost_plugin.logging import is_secret_key

__all__ = ["FAKE_SETTING", "merge_config", "plugin_settings_patch", "sanitized_config"]

FAKE_SETTING = "********************************"
"""What the server shows instead of a secret (Go's ``model.FakeSetting``)."""


def _matching_key(target: Mapping[str, Any], key: str) -> str:
    """The key of ``target`` that ``key`` sets: itself, else one equal to it in any case."""
    if key in target:
        return key
    lowered = key.lower()
    return next((k for k in target if k.lower() == lowered), key)


def merge_config(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``patch`` merged over it (a new object; neither input changes).
    Raises ``ValueError`` naming the key where the patch has no object for an object (the
    server cannot decode such a patch into its config)."""
    merged = copy.deepcopy(dict(current))
    _merge_into(merged, patch, "")
    return merged


def _merge_into(target: dict[str, Any], patch: Mapping[str, Any], path: str) -> None:
    for key, value in patch.items():
        if value is None or value == FAKE_SETTING:
            continue  # unset in the patch, or a sanitized secret sent back: keep it
        existing_key = _matching_key(target, key)
        existing = target.get(existing_key)
        if isinstance(existing, dict):
            if not isinstance(value, Mapping):
                raise ValueError(f"{path}{existing_key}: expected an object")
            _merge_into(existing, value, f"{path}{existing_key}.")
            continue
        target[existing_key] = copy.deepcopy(value)


def plugin_settings_patch(plugin_id: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The patch that sets ``settings`` of one plugin (``PluginSettings.Plugins.<id>``)."""
    return {"PluginSettings": {"Plugins": {plugin_id: dict(settings)}}}


def sanitized_config(
    config: Mapping[str, Any], plugin_id: str, secret_settings: Iterable[str]
) -> dict[str, Any]:
    """``config`` as the server shows it: the plugin's settings the manifest marks secret,
    and every other non-empty value under a secret-looking name, replaced by
    :data:`FAKE_SETTING` (a new object)."""
    shown = copy.deepcopy(dict(config))
    _hide_secret_names(shown)
    plugins = shown.get("PluginSettings", {}).get("Plugins", {})
    settings = plugins.get(plugin_id) if isinstance(plugins, dict) else None
    secret = {name.lower() for name in secret_settings}
    if isinstance(settings, dict):
        for key, value in settings.items():
            if key.lower() in secret and value not in ("", None):
                settings[key] = FAKE_SETTING
    return shown


def _hide_secret_names(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_key(key) and isinstance(item, str) and item:
                value[key] = FAKE_SETTING
            else:
                _hide_secret_names(item)
    elif isinstance(value, list):
        for item in value:
            _hide_secret_names(item)
