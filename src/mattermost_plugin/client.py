"""``PluginAPIClient`` and ``AsyncPluginAPIClient``: the typed clients of the Plugin API.

Both are the generated methods (``mattermost_plugin._generated.client``, all 236 RPCs but
the few listed in ``codegen.clients.HAND_WRITTEN``) on top of a transport, plus the friendlier
forms the user guide promises, written here once for both:

* ``create_post(post)`` or ``create_post(channel_id=…, user_id=…, message=…)``;
* ``kv_set(key, value, expires_in=…)`` for bytes, str, JSON-able values and Pydantic models;
* ``kv_get(key)`` → bytes, or ``None`` for a missing key, and ``kv_get_as(key, type)``;
* ``get_plugin_id()``, answered from the environment or the manifest (the server does not).

They check their arguments as the generated methods do (see ``mattermost_plugin._arguments``).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn, TypeVar

from pydantic import JsonValue

from mattermost_plugin._arguments import CONVERSION_ERRORS, empty, invalid, wrong_type
from mattermost_plugin._generated.client import GeneratedAsyncAPI, GeneratedSyncAPI
from mattermost_plugin._lazy import lazy_module
from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2, api_kv_config_pb2, post_pb2
from mattermost_plugin._plugin_id import find_plugin_id
from mattermost_plugin.errors import PluginAPIError
from mattermost_plugin.logging import redact_setting_values

if TYPE_CHECKING:
    from mattermost_plugin._generated.converters import post as c_post
    from mattermost_plugin.models import post as m_post
    from mattermost_plugin.models.post import Post
else:  # the post models load with the first create_post
    c_post = lazy_module(__name__, "c_post", "mattermost_plugin._generated.converters.post")
    m_post = lazy_module(__name__, "m_post", "mattermost_plugin.models.post")

__all__ = ["AsyncPluginAPIClient", "PluginAPIClient"]

T = TypeVar("T")
Expiry = int | float | timedelta


def _post_request(
    post: Post | None,
    channel_id: str | None,
    user_id: str | None,
    message: str | None,
    root_id: str,
    timeout: float | None,
) -> api_channel_post_pb2.CreatePostRequest:
    if not (
        (timeout is None or isinstance(timeout, (int, float)))
        and (user_id is None or isinstance(user_id, str))
        and (message is None or isinstance(message, str))
        and isinstance(root_id, str)
    ):
        _reject_create_post(timeout=timeout, user_id=user_id, message=message, root_id=root_id)
    if post is None:
        if not (isinstance(channel_id, str) and channel_id):
            if channel_id is None:
                raise TypeError("create_post() needs a Post, or channel_id= and message=")
            _reject_create_post(channel_id=channel_id)
        # The same message c_post.post_to_pb(Post(...)) gives, without building and validating
        # a Post model first (the most common call; the model costs ~30 µs per post).
        try:
            fields = post_pb2.Post(
                channel_id=channel_id,
                user_id=user_id or "",
                message=message or "",
                root_id=root_id,
            )
        except CONVERSION_ERRORS as error:
            raise invalid(
                "create_post", "CreatePost", f"a field is not valid text: {error}"
            ) from error
        return api_channel_post_pb2.CreatePostRequest(post=fields)
    if not isinstance(post, m_post.Post):
        raise wrong_type("create_post", "post", "Post or None", post)
    if channel_id or user_id or message or root_id:
        raise TypeError("create_post(): pass a Post or keyword fields, not both")
    if not post.channel_id:
        raise empty("create_post", "CreatePost", "post.channel_id")
    try:
        return api_channel_post_pb2.CreatePostRequest(post=c_post.post_to_pb(post))
    except CONVERSION_ERRORS as error:
        raise invalid(
            "create_post", "CreatePost", f"post does not fit the request: {error}"
        ) from error


def _reject_create_post(**values: object) -> NoReturn:
    expected = {"timeout": ("float or None", (int, float, type(None)))}
    for name, value in values.items():
        if name == "channel_id" and value == "":
            raise empty("create_post", "CreatePost", "channel_id")
        description, types = expected.get(name, ("str or None", (str, type(None))))
        if not isinstance(value, types):
            raise wrong_type("create_post", name, description, value)
    raise AssertionError("create_post(): no bad argument found")


def _check_key(method: str, go_method: str, key: object) -> None:
    """A KV key is a non-empty str (the server refuses an empty one)."""
    if not isinstance(key, str):
        raise wrong_type(method, "key", "str", key)
    if not key:
        raise empty(method, go_method, "key")


def _check_timeout(method: str, timeout: object) -> None:
    if not (timeout is None or isinstance(timeout, (int, float))):
        raise wrong_type(method, "timeout", "float or None", timeout)


def local_plugin_id() -> str:
    """``get_plugin_id()``: the id from MATTERMOST_PLUGIN_ID or the plugin's manifest."""
    found, where = find_plugin_id(os.environ)
    if found is None:
        raise PluginAPIError(
            f"no plugin id in {where}: the server does not answer GetPluginID, so set "
            "MATTERMOST_PLUGIN_ID or run the plugin in its folder (next to plugin.json)",
            method="GetPluginID",
        )
    return found


def encode_kv_value(value: object) -> bytes:
    """bytes as they are, str as UTF-8, models and other values as JSON."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump_json().encode()
    return json.dumps(value, separators=(",", ":")).encode()


def _kv_value(value: object) -> bytes:
    try:
        return encode_kv_value(value)
    except TypeError:
        raise wrong_type("kv_set", "value", "bytes, str, a model or a JSON value", value) from None
    except ValueError as error:  # a circular reference, text that is not UTF-8
        raise invalid("kv_set", "KVSet", f"value cannot be stored: {error}") from None


def decode_kv_value(raw: bytes | None, type_: type[T]) -> T | None:
    """The inverse of ``encode_kv_value`` for one expected type."""
    if raw is None:
        return None
    if type_ is bytes:
        return raw  # type: ignore[return-value]
    if type_ is str:
        return raw.decode()  # type: ignore[return-value]
    from pydantic import TypeAdapter

    return TypeAdapter(type_).validate_json(raw)


def expiry_seconds(expires_in: Expiry, method: str = "kv_set") -> int:
    """Whole seconds for the server (at least 1) from seconds or a ``timedelta``."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float | timedelta):
        raise wrong_type(method, "expires_in", "int, float, timedelta or None", expires_in)
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    if seconds <= 0:
        raise ValueError(f"{method}(): expires_in must be positive, got {expires_in!r}")
    return max(1, round(seconds))


def _kv_set_request(
    key: str, value: object, expires_in: Expiry | None, timeout: float | None
) -> api_kv_config_pb2.KVSetRequest | api_kv_config_pb2.KVSetWithExpiryRequest:
    if not (isinstance(key, str) and key):
        _check_key("kv_set", "KVSet", key)
    _check_timeout("kv_set", timeout)
    data = _kv_value(value)
    if expires_in is None:
        return api_kv_config_pb2.KVSetRequest(key=key, value=data)
    return api_kv_config_pb2.KVSetWithExpiryRequest(
        key=key, value=data, expire_in_seconds=expiry_seconds(expires_in)
    )


class PluginAPIClient(GeneratedSyncAPI):
    """The Plugin API, blocking. A plugin gets one as ``self.api``.

    ``PluginAPIClient()`` connects to ``MATTERMOST_PLUGIN_API_TARGET`` (or
    ``MATTERMOST_API_TARGET``); pass ``target="host:port"`` to choose. ``timeout`` is the
    default deadline of each call in seconds (each method also takes ``timeout=``);
    ``retries`` is how often a read is retried when the server is unavailable.
    Use it as a context manager, or call ``close()``.
    """

    def get_plugin_config(self, *, timeout: float | None = None) -> dict[str, JsonValue]:
        """The plugin's settings as the server stores them, keys as the System Console saved
        them (see :mod:`mattermost_plugin.settings` for a typed model of them).

        The values of the settings the manifest marks ``secret`` are hidden in the SDK's logs
        from now on.

        Args:
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Returns:
            The settings, a JSON object (empty when none were saved).

        Raises:
            TypeError: an argument has the wrong type (checked before the call).
            ValidationError: a value the server would refuse (checked before the call), or
                the server refused a value.
            PluginAPIError: any other error the server answered, as the subclass for its
                status (``NotFoundError``, ``PermissionDeniedError``, ``UnavailableError`` …).

        Go: ``plugin.API.GetPluginConfig``.
        """
        config = super().get_plugin_config(timeout=timeout)
        redact_setting_values(config)
        return config

    def create_post(
        self,
        post: Post | None = None,
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
        message: str | None = None,
        root_id: str = "",
        timeout: float | None = None,
    ) -> Post:
        """Create a post, from a ``Post`` or from its main fields; returns the stored post.

        Args:
            post: The post to create (its ``id`` must be empty); or leave it out and give
                ``channel_id`` and ``message``.
            channel_id: Channel to post in, when no ``post`` is given.
            user_id: Author of the post; empty posts as no user (a plugin usually posts as
                its bot).
            message: Text of the post, Markdown, when no ``post`` is given.
            root_id: Id of the thread's root post, to reply in a thread; empty for a new
                post.
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Returns:
            The stored post, with the id and timestamps the server assigned.

        Raises:
            TypeError: an argument has the wrong type (checked before the call).
            ValidationError: a value the server would refuse (checked before the call), or
                the server refused a value.
            PluginAPIError: any other error the server answered, as the subclass for its
                status (``NotFoundError``, ``PermissionDeniedError``, ``UnavailableError`` …).

        Go: ``plugin.API.CreatePost``.
        """
        request = _post_request(post, channel_id, user_id, message, root_id, timeout)
        response = self._unary(
            "CreatePost", request, api_channel_post_pb2.CreatePostResponse, timeout=timeout
        )
        return c_post.post_from_pb(response.post)

    def kv_set(
        self,
        key: str,
        value: object,
        *,
        expires_in: Expiry | None = None,
        timeout: float | None = None,
    ) -> None:
        """Store ``value`` under ``key``: bytes as is, str as UTF-8, anything else as JSON.

        Args:
            key: The key, at most 150 characters.
            value: What to store: ``bytes`` as is, ``str`` as UTF-8, anything else (models,
                dicts, lists, numbers) as JSON. Empty bytes delete the key.
            expires_in: Seconds or a ``timedelta`` after which the key disappears; ``None``
                keeps it.
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Raises:
            TypeError: an argument has the wrong type (checked before the call).
            ValidationError: a value the server would refuse (checked before the call), or
                the server refused a value.
            PluginAPIError: any other error the server answered, as the subclass for its
                status (``NotFoundError``, ``PermissionDeniedError``, ``UnavailableError`` …).

        Go: ``plugin.API.KVSet`` / ``KVSetWithExpiry``.
        """
        request = _kv_set_request(key, value, expires_in, timeout)
        if isinstance(request, api_kv_config_pb2.KVSetRequest):
            self._unary("KVSet", request, api_kv_config_pb2.KVSetResponse, timeout=timeout)
        else:
            response_type = api_kv_config_pb2.KVSetWithExpiryResponse
            self._unary("KVSetWithExpiry", request, response_type, timeout=timeout)

    def kv_get(self, key: str, *, timeout: float | None = None) -> bytes | None:
        """The bytes stored under ``key``, or ``None`` when there are none.

        Args:
            key: The key, at most 150 characters.
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Returns:
            The stored bytes; ``None`` when the key is missing. The server answers a missing
            key with empty bytes, so an empty value reads as ``None`` too.

        Raises:
            TypeError: an argument has the wrong type (checked before the call).
            ValidationError: a value the server would refuse (checked before the call), or
                the server refused a value.
            PluginAPIError: any other error the server answered, as the subclass for its
                status (``NotFoundError``, ``PermissionDeniedError``, ``UnavailableError`` …).

        Go: ``plugin.API.KVGet``.
        """
        if not (isinstance(key, str) and key):
            _check_key("kv_get", "KVGet", key)
        _check_timeout("kv_get", timeout)
        request = api_kv_config_pb2.KVGetRequest(key=key)
        response = self._unary("KVGet", request, api_kv_config_pb2.KVGetResponse, timeout=timeout)
        return response.value or None

    def kv_get_as(self, key: str, type_: type[T], *, timeout: float | None = None) -> T | None:
        """The value under ``key`` decoded as ``type_`` (a model, ``dict``, ``list[int]`` …).

        Args:
            key: The key, at most 150 characters.
            type_: What to read the value as: ``str`` and ``bytes`` give the stored text or
                bytes; any other type (a model, ``dict``, ``list[int]`` …) is read as JSON and
                validated by Pydantic.
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Returns:
            The value as ``type_``; ``None`` when the key is missing.

        Raises:
            pydantic.ValidationError: the stored value is not a valid ``type_``.
            PluginAPIError: as for :meth:`kv_get`.
        """
        return decode_kv_value(self.kv_get(key, timeout=timeout), type_)

    def get_plugin_id(self, *, timeout: float | None = None) -> str:
        """This plugin's id, from ``MATTERMOST_PLUGIN_ID`` or the plugin folder's manifest.

        Answered without a call: the server does not serve ``GetPluginID`` (a plugin knows
        its id).

        Args:
            timeout: Accepted for symmetry with the other methods; no call is made.

        Returns:
            The plugin's id.

        Raises:
            PluginAPIError: neither ``MATTERMOST_PLUGIN_ID`` nor a manifest is there.

        Go: ``plugin.API.GetPluginID``.
        """
        return local_plugin_id()


class AsyncPluginAPIClient(GeneratedAsyncAPI):
    """The Plugin API as coroutines (grpc.aio): the same methods as ``PluginAPIClient``.

    ``async with AsyncPluginAPIClient() as api: user = await api.get_user(user_id)``
    """

    async def get_plugin_config(self, *, timeout: float | None = None) -> dict[str, JsonValue]:
        """The plugin's settings as the server stores them: see
        :meth:`PluginAPIClient.get_plugin_config`.

        Args:
            timeout: Seconds to wait for the answer; ``None`` takes the client's.

        Returns:
            The settings, a JSON object (empty when none were saved).

        Raises:
            PluginAPIError: the server answered an error.

        Go: ``plugin.API.GetPluginConfig``.
        """
        config = await super().get_plugin_config(timeout=timeout)
        redact_setting_values(config)
        return config

    async def create_post(
        self,
        post: Post | None = None,
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
        message: str | None = None,
        root_id: str = "",
        timeout: float | None = None,
    ) -> Post:
        """Create a post, from a ``Post`` or from its main fields; returns the stored post.

        Args:
            post: The post to create (its ``id`` must be empty); or leave it out and give
                ``channel_id`` and ``message``.
            channel_id: Channel to post in, when no ``post`` is given.
            user_id: Author of the post; empty posts as no user (a plugin usually posts as
                its bot).
            message: Text of the post, Markdown, when no ``post`` is given.
            root_id: Id of the thread's root post, to reply in a thread; empty for a new
                post.
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Returns:
            The stored post, with the id and timestamps the server assigned.

        Raises:
            TypeError: an argument has the wrong type (checked before the call).
            ValidationError: a value the server would refuse (checked before the call), or
                the server refused a value.
            PluginAPIError: any other error the server answered, as the subclass for its
                status (``NotFoundError``, ``PermissionDeniedError``, ``UnavailableError`` …).

        Go: ``plugin.API.CreatePost``.
        """
        request = _post_request(post, channel_id, user_id, message, root_id, timeout)
        response = await self._unary(
            "CreatePost", request, api_channel_post_pb2.CreatePostResponse, timeout=timeout
        )
        return c_post.post_from_pb(response.post)

    async def kv_set(
        self,
        key: str,
        value: object,
        *,
        expires_in: Expiry | None = None,
        timeout: float | None = None,
    ) -> None:
        """Store ``value`` under ``key``: bytes as is, str as UTF-8, anything else as JSON.

        Args:
            key: The key, at most 150 characters.
            value: What to store: ``bytes`` as is, ``str`` as UTF-8, anything else (models,
                dicts, lists, numbers) as JSON. Empty bytes delete the key.
            expires_in: Seconds or a ``timedelta`` after which the key disappears; ``None``
                keeps it.
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Raises:
            TypeError: an argument has the wrong type (checked before the call).
            ValidationError: a value the server would refuse (checked before the call), or
                the server refused a value.
            PluginAPIError: any other error the server answered, as the subclass for its
                status (``NotFoundError``, ``PermissionDeniedError``, ``UnavailableError`` …).

        Go: ``plugin.API.KVSet`` / ``KVSetWithExpiry``.
        """
        request = _kv_set_request(key, value, expires_in, timeout)
        if isinstance(request, api_kv_config_pb2.KVSetRequest):
            await self._unary("KVSet", request, api_kv_config_pb2.KVSetResponse, timeout=timeout)
        else:
            response_type = api_kv_config_pb2.KVSetWithExpiryResponse
            await self._unary("KVSetWithExpiry", request, response_type, timeout=timeout)

    async def kv_get(self, key: str, *, timeout: float | None = None) -> bytes | None:
        """The bytes stored under ``key``, or ``None`` when there are none.

        Args:
            key: The key, at most 150 characters.
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Returns:
            The stored bytes; ``None`` when the key is missing. The server answers a missing
            key with empty bytes, so an empty value reads as ``None`` too.

        Raises:
            TypeError: an argument has the wrong type (checked before the call).
            ValidationError: a value the server would refuse (checked before the call), or
                the server refused a value.
            PluginAPIError: any other error the server answered, as the subclass for its
                status (``NotFoundError``, ``PermissionDeniedError``, ``UnavailableError`` …).

        Go: ``plugin.API.KVGet``.
        """
        if not (isinstance(key, str) and key):
            _check_key("kv_get", "KVGet", key)
        _check_timeout("kv_get", timeout)
        request = api_kv_config_pb2.KVGetRequest(key=key)
        response = await self._unary(
            "KVGet", request, api_kv_config_pb2.KVGetResponse, timeout=timeout
        )
        return response.value or None

    async def kv_get_as(
        self, key: str, type_: type[T], *, timeout: float | None = None
    ) -> T | None:
        """The value under ``key`` decoded as ``type_`` (a model, ``dict``, ``list[int]`` …).

        Args:
            key: The key, at most 150 characters.
            type_: What to read the value as: ``str`` and ``bytes`` give the stored text or
                bytes; any other type (a model, ``dict``, ``list[int]`` …) is read as JSON and
                validated by Pydantic.
            timeout: Seconds to wait for the answer; ``None`` takes the client's (30 s
                unless it was made with another). Past it the call raises
                ``UnavailableError``.

        Returns:
            The value as ``type_``; ``None`` when the key is missing.

        Raises:
            pydantic.ValidationError: the stored value is not a valid ``type_``.
            PluginAPIError: as for :meth:`kv_get`.
        """
        return decode_kv_value(await self.kv_get(key, timeout=timeout), type_)

    async def get_plugin_id(self, *, timeout: float | None = None) -> str:
        """This plugin's id, from ``MATTERMOST_PLUGIN_ID`` or the plugin folder's manifest.

        Answered without a call: the server does not serve ``GetPluginID`` (a plugin knows
        its id).

        Args:
            timeout: Accepted for symmetry with the other methods; no call is made.

        Returns:
            The plugin's id.

        Raises:
            PluginAPIError: neither ``MATTERMOST_PLUGIN_ID`` nor a manifest is there.

        Go: ``plugin.API.GetPluginID``.
        """
        return local_plugin_id()
