"""The plugin's key-value store: expiry, compare-and-set, listing."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import (
    api_kv_config_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    bad_request,
    embedded,
)
from mattermost_plugin.host.fake_server._state import (
    KV_KEY_MAX_RUNES,
    FakeState,
    KVEntry,
    paged,
)


class KVAPI(FakeState):
    def _kv_live(self, key: str) -> KVEntry | None:
        """The entry for key unless missing or expired (expired entries are dropped)."""
        entry = self.kv.get(key)
        if entry is not None and entry.expire_at and entry.expire_at <= self.now_ms():
            del self.kv[key]
            return None
        return entry

    def _kv_set(
        self, key: str, value: bytes, *, atomic: bool, old_value: bytes, expire_in_seconds: int
    ) -> bool:
        """The real server's ``KVSetWithOptions``.

        Proto3 cannot tell nil from empty bytes, so empty ``value`` means delete and empty
        ``old_value`` means "the key must not exist" (Go's nil in both places).
        """
        if not key or len(key) > KV_KEY_MAX_RUNES:
            raise bad_request("model.plugin_key_value.is_valid.key.app_error", "invalid key")
        if expire_in_seconds < 0:
            raise bad_request(
                "model.plugin_kvset_options.is_valid.expire_in_seconds.app_error",
                "expire_in_seconds must not be negative",
            )
        if old_value and not atomic:
            raise bad_request(
                "model.plugin_kvset_options.is_valid.old_value.app_error",
                "old_value is only allowed with atomic",
            )
        if atomic:
            current = self._kv_live(key)
            expected = (
                current is None
                if not old_value
                else (current is not None and current.value == old_value)
            )
            if not expected:
                return False
        if not value:
            self.kv.pop(key, None)
            return True
        expire_at = self.now_ms() + expire_in_seconds * 1000 if expire_in_seconds else 0
        self.kv[key] = KVEntry(value, expire_at)
        return True

    # ----------------------------------------------------------------------- KV store (embedded)

    @embedded
    def KVSet(
        self, request: api_kv_config_pb2.KVSetRequest, context: Ctx
    ) -> api_kv_config_pb2.KVSetResponse:
        """Sets a key (an empty value deletes it)."""
        self._kv_set(request.key, request.value, atomic=False, old_value=b"", expire_in_seconds=0)
        return api_kv_config_pb2.KVSetResponse()

    @embedded
    def KVSetWithExpiry(
        self, request: api_kv_config_pb2.KVSetWithExpiryRequest, context: Ctx
    ) -> api_kv_config_pb2.KVSetWithExpiryResponse:
        """Sets a key that expires after some seconds."""
        self._kv_set(
            request.key,
            request.value,
            atomic=False,
            old_value=b"",
            expire_in_seconds=request.expire_in_seconds,
        )
        return api_kv_config_pb2.KVSetWithExpiryResponse()

    @embedded
    def KVSetWithOptions(
        self, request: api_kv_config_pb2.KVSetWithOptionsRequest, context: Ctx
    ) -> api_kv_config_pb2.KVSetWithOptionsResponse:
        """Sets a key, atomically (compare-and-set) and with an expiry if asked."""
        opts = request.options
        success = self._kv_set(
            request.key,
            request.value,
            atomic=opts.atomic,
            old_value=opts.old_value,
            expire_in_seconds=opts.expire_in_seconds,
        )
        return api_kv_config_pb2.KVSetWithOptionsResponse(success=success)

    @embedded
    def KVCompareAndSet(
        self, request: api_kv_config_pb2.KVCompareAndSetRequest, context: Ctx
    ) -> api_kv_config_pb2.KVCompareAndSetResponse:
        """Sets a key if it holds the given value (empty: if it is not set)."""
        success = self._kv_set(
            request.key,
            request.new_value,
            atomic=True,
            old_value=request.old_value,
            expire_in_seconds=0,
        )
        return api_kv_config_pb2.KVCompareAndSetResponse(success=success)

    @embedded(never_fails=True)
    def KVCompareAndDelete(
        self, request: api_kv_config_pb2.KVCompareAndDeleteRequest, context: Ctx
    ) -> api_kv_config_pb2.KVCompareAndDeleteResponse:
        """Deletes a key if it holds the given value."""
        current = self._kv_live(request.key)
        success = current is not None and current.value == request.old_value
        if success:
            del self.kv[request.key]
        return api_kv_config_pb2.KVCompareAndDeleteResponse(success=success)

    @embedded(never_fails=True)
    def KVGet(
        self, request: api_kv_config_pb2.KVGetRequest, context: Ctx
    ) -> api_kv_config_pb2.KVGetResponse:
        """A key's value (empty for a missing or expired key)."""
        entry = self._kv_live(request.key)  # a missing key is empty bytes, not an error
        return api_kv_config_pb2.KVGetResponse(value=entry.value if entry is not None else b"")

    @embedded(never_fails=True)
    def KVDelete(
        self, request: api_kv_config_pb2.KVDeleteRequest, context: Ctx
    ) -> api_kv_config_pb2.KVDeleteResponse:
        """Deletes a key (a missing one too)."""
        self.kv.pop(request.key, None)
        return api_kv_config_pb2.KVDeleteResponse()

    @embedded(never_fails=True)
    def KVDeleteAll(
        self, request: api_kv_config_pb2.KVDeleteAllRequest, context: Ctx
    ) -> api_kv_config_pb2.KVDeleteAllResponse:
        """Deletes every key of the plugin."""
        self.kv.clear()
        return api_kv_config_pb2.KVDeleteAllResponse()

    @embedded(never_fails=True)
    def KVList(
        self, request: api_kv_config_pb2.KVListRequest, context: Ctx
    ) -> api_kv_config_pb2.KVListResponse:
        """The plugin's keys, sorted, a page at a time."""
        keys = sorted(k for k in list(self.kv) if self._kv_live(k) is not None)
        # The server's store falls back to 10 keys per page when per_page is not positive.
        per_page = request.per_page if request.per_page > 0 else 10
        return api_kv_config_pb2.KVListResponse(keys=paged(keys, request.page, per_page))
