"""Signed tokens for what buttons and dialogs carry, and the key that signs them.

Whatever a button or a dialog carries comes back to the plugin through the user's client
and the server: a user can copy a button into a post of their own, or post a submission
with any ``state`` to the plugin's URL. So the SDK puts each button's context and each
dialog's state in a token, ``base64url(payload) "." base64url(HMAC-SHA256(key, payload))``,
where the payload (JSON) names what the token is for (the plugin, the action or dialog, the
post or its author and channel, ...). A token whose signature does not match, or that
names something else than the request it came with, is refused.

The key is 32 random bytes in the plugin's KV store under :data:`KEY_NAME`, the same for
every node of a cluster: the first node to activate creates it with compare-and-set and the
others read the one that won.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient

__all__ = ["KEY_NAME", "KEY_SIZE", "InvalidToken", "load_key", "load_key_async", "sign", "verify"]

KEY_NAME = "_sdk.interactive.signing_key"
"""The KV key of the signing key (deleting it, or ``kv_delete_all()``, retires every
button and open dialog made before: they are then answered 403)."""
KEY_SIZE = 32


class InvalidToken(Exception):
    """A token that is malformed or whose signature does not match the key."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) % 4 == 1:
        raise InvalidToken("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not base64url") from None


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def sign(key: bytes, payload: dict[str, Any]) -> str:
    """The token of ``payload`` (JSON-serializable) under ``key``."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return f"{_b64(data)}.{_b64(_mac(key, data))}"


def verify(key: bytes, token: object) -> dict[str, Any]:
    """The payload of a token ``sign`` made with ``key``; raises :class:`InvalidToken`."""
    if not isinstance(token, str):
        raise InvalidToken("missing")
    body, dot, signature = token.partition(".")
    if not dot:
        raise InvalidToken("malformed")
    data = _unb64(body)
    if not hmac.compare_digest(_mac(key, data), _unb64(signature)):
        raise InvalidToken("bad signature")
    try:
        payload = json.loads(data)
    except ValueError:  # signed by us, so never; kept for a key that leaked
        raise InvalidToken("malformed payload") from None
    if not isinstance(payload, dict):
        raise InvalidToken("malformed payload")
    return payload


def _check(value: bytes | None) -> bytes | None:
    if value is None:
        return None
    if len(value) != KEY_SIZE:
        raise RuntimeError(
            f"the KV value {KEY_NAME!r} is not a signing key ({len(value)} bytes, expected "
            f"{KEY_SIZE}); delete it and the SDK makes a new one"
        )
    return value


def load_key(api: PluginAPIClient) -> bytes:
    """The plugin's signing key, created if there is none (compare-and-set: when several
    nodes start at once, they all end up with the one that was stored first)."""
    found = _check(api.kv_get(KEY_NAME))
    if found is not None:
        return found
    api.kv_compare_and_set(KEY_NAME, b"", os.urandom(KEY_SIZE))
    stored = _check(api.kv_get(KEY_NAME))
    if stored is None:
        raise RuntimeError(f"the signing key {KEY_NAME!r} could not be stored in the KV store")
    return stored


async def load_key_async(api: AsyncPluginAPIClient, timeout: float | None = None) -> bytes:
    """:func:`load_key` with the async client."""
    found = _check(await api.kv_get(KEY_NAME, timeout=timeout))
    if found is not None:
        return found
    await api.kv_compare_and_set(KEY_NAME, b"", os.urandom(KEY_SIZE), timeout=timeout)
    stored = _check(await api.kv_get(KEY_NAME, timeout=timeout))
    if stored is None:
        raise RuntimeError(f"the signing key {KEY_NAME!r} could not be stored in the KV store")
    return stored
