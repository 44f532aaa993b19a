"""The connection under both API clients: channel, deadlines, retries, and error mapping.

``SyncTransport`` (grpcio) and ``AsyncTransport`` (grpc.aio) have the same constructor and
one method, ``_unary``, which every generated client method calls. Everything else about a
call — the default deadline, which methods are retried, how failures become exceptions —
is decided here once.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from mattermost_plugin import errors

R = TypeVar("R", bound=Message)

SERVICE = "/mattermost.pluginapi.v1.PluginAPI/"
TARGET_VARIABLES = ("MATTERMOST_PLUGIN_API_TARGET", "MATTERMOST_API_TARGET")
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
RETRY_BACKOFF = 0.05  # seconds before the first retry, doubled each time
# The server's gRPC receive limit may be the 4 MiB default; what it sends is not limited.
MAX_SEND_BYTES = 4 * 1024 * 1024
MAX_RECEIVE_BYTES = 1024 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_SEND_BYTES),
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
]


class APITargetError(errors.PluginAPIError):
    """No Plugin API address was given and none is in the environment."""


def resolve_target(target: str | None) -> tuple[str, str]:
    """The API address and where it came from (for error messages)."""
    if target:
        return target, "target="
    for variable in TARGET_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return value, variable
    raise APITargetError(
        "no Plugin API address: pass target='host:port' or set "
        f"{TARGET_VARIABLES[0]} (the Mattermost server sets it for plugins it starts)"
    )


def _read_methods() -> frozenset[str]:
    from mattermost_plugin._generated.client import READ_METHODS

    return READ_METHODS


class _Transport:
    """What the sync and async transports share: settings and the error decision."""

    def __init__(
        self,
        target: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.target, self._target_source = resolve_target(target)
        self.timeout = timeout
        self.retries = retries
        self._read = _read_methods()
        self._closed = False
        self._calls: dict[str, Callable[..., Any]] = {}  # method → multi-callable
        self._open()

    def _open(self) -> None:
        """Set up what the subclass needs once its settings are known."""

    def _attempts(self, method: str) -> int:
        return self.retries + 1 if method in self._read else 1

    def _should_retry(self, error: grpc.RpcError, attempt: int, attempts: int) -> bool:
        code = error.code()
        return bool(code is grpc.StatusCode.UNAVAILABLE and attempt + 1 < attempts)

    def _failure(self, method: str, error: grpc.RpcError) -> errors.PluginAPIError:
        where = f"{self.target} (from {self._target_source})"
        return errors.from_rpc_error(method, error, target=where)

    def _check_closed(self) -> None:
        if self._closed:
            raise errors.PluginAPIError(
                "the API client is closed", grpc_code=grpc.StatusCode.CANCELLED
            )


def _serializer(message: Message) -> bytes:
    return message.SerializeToString()


class SyncTransport(_Transport):
    """Blocking calls over a grpcio channel; safe to share between threads."""

    def _open(self) -> None:
        self._channel = grpc.insecure_channel(self.target, options=CHANNEL_OPTIONS)
        self._lock = threading.Lock()

    def _unary(
        self, method: str, request: Message, response_type: type[R], *, timeout: float | None
    ) -> R:
        call = self._calls.get(method)
        if call is None:
            self._check_closed()
            call = self._channel.unary_unary(
                SERVICE + method,
                request_serializer=_serializer,
                response_deserializer=response_type.FromString,
            )
            self._calls[method] = call
        deadline = self.timeout if timeout is None else timeout
        attempts = self._attempts(method)
        for attempt in range(attempts):
            try:
                response: R = call(request, timeout=deadline)
                break
            except grpc.RpcError as error:
                if self._should_retry(error, attempt, attempts):
                    time.sleep(RETRY_BACKOFF * 2**attempt)
                    continue
                raise self._failure(method, error) from error
        if response.HasField("error"):
            app_error = errors.from_app_error(method, response.error)  # type: ignore[attr-defined]
            raise app_error from app_error.__cause__
        return response

    def close(self) -> None:
        """Close the channel. Safe to call more than once."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._calls.clear()
                self._channel.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_S = TypeVar("_S", bound=SyncTransport)
_A = TypeVar("_A", bound="AsyncTransport")


class AsyncTransport(_Transport):
    """Coroutine calls over a grpc.aio channel, created on first use in the running loop."""

    def _open(self) -> None:
        self._channel: grpc.aio.Channel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _unary(
        self, method: str, request: Message, response_type: type[R], *, timeout: float | None
    ) -> R:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A grpc.aio channel belongs to one event loop; a client reused from another loop
            # (asyncio.run twice, say) gets a fresh channel rather than a dead one.
            self._check_closed()
            self._channel = grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)
            self._loop = loop
            self._calls.clear()
        call = self._calls.get(method)
        if call is None:
            self._check_closed()
            assert self._channel is not None
            call = self._channel.unary_unary(
                SERVICE + method,
                request_serializer=_serializer,
                response_deserializer=response_type.FromString,
            )
            self._calls[method] = call
        deadline = self.timeout if timeout is None else timeout
        attempts = self._attempts(method)
        for attempt in range(attempts):
            try:
                response: R = await call(request, timeout=deadline)
                break
            except grpc.RpcError as error:
                if self._should_retry(error, attempt, attempts):
                    await asyncio.sleep(RETRY_BACKOFF * 2**attempt)
                    continue
                raise self._failure(method, error) from error
        if response.HasField("error"):
            app_error = errors.from_app_error(method, response.error)  # type: ignore[attr-defined]
            raise app_error from app_error.__cause__
        return response

    async def close(self) -> None:
        """Close the channel. Safe to call more than once."""
        if not self._closed:
            self._closed = True
            self._calls.clear()
            if self._channel is not None:
                await self._channel.close()

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
