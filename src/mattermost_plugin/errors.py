"""The exceptions of the Plugin API, and the one function that maps server failures to them.

The server reports a failure in one of two ways (see PROTOCOL.md §5): an ``AppError`` inside
an otherwise successful response (KV, post, reaction and most file methods), or a gRPC
status whose code was derived from the HTTP status (user, config, plugin, command, bot …).
Both land in the same class for the same HTTP status, so callers catch by meaning::

    try:
        user = api.get_user(user_id)
    except NotFoundError:
        ...
"""

from __future__ import annotations

import grpc

from mattermost_plugin._pb.pluginapi.v1 import common_pb2

__all__ = [
    "AlreadyExistsError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginAPIError",
    "UnavailableError",
    "ValidationError",
]


class PluginAPIError(Exception):
    """A Plugin API call failed.

    Attributes:
        error_id: Mattermost's error id (``app.user.get.app_error``), or "" when unknown.
        message: the human-readable message.
        detailed_error: the server's detail, when it sent one.
        status_code: the HTTP status (404 …); derived from the gRPC code for status errors.
        where: the server function that failed, when known.
        request_id: the server's request id, when known.
        grpc_code: the gRPC status code (``OK`` for errors embedded in a response).
        method: the Go name of the API method, e.g. ``GetUser``.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        error_id: str = "",
        detailed_error: str = "",
        status_code: int = 0,
        where: str = "",
        request_id: str = "",
        grpc_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN,
    ) -> None:
        self.message = message
        self.method = method
        self.error_id = error_id
        self.detailed_error = detailed_error
        self.status_code = status_code
        self.where = where
        self.request_id = request_id
        self.grpc_code = grpc_code
        super().__init__(message)

    def __str__(self) -> str:
        parts = [f"{self.method}: " if self.method else ""]
        parts.append(f"{self.error_id}: " if self.error_id else "")
        parts.append(self.message)
        if self.status_code:
            parts.append(f" (HTTP {self.status_code})")
        if self.detailed_error:
            parts.append(f" — {self.detailed_error}")
        return "".join(parts)


class NotFoundError(PluginAPIError):
    """The entity does not exist (HTTP 404, gRPC NOT_FOUND)."""


class PermissionDeniedError(PluginAPIError):
    """Not allowed (HTTP 403 or 401, gRPC PERMISSION_DENIED or UNAUTHENTICATED)."""


class ValidationError(PluginAPIError):
    """The request was invalid or too large (HTTP 400 or 413, gRPC INVALID_ARGUMENT)."""


class AlreadyExistsError(PluginAPIError):
    """The entity already exists (HTTP 409, gRPC ALREADY_EXISTS)."""


class UnavailableError(PluginAPIError):
    """The server could not answer now; retrying later may work.

    HTTP 503 or 429; gRPC UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED.
    """


class WireAppError(Exception):
    """The raw failure as the server sent it; the ``__cause__`` of every PluginAPIError."""


_BY_HTTP: dict[int, type[PluginAPIError]] = {
    400: ValidationError,
    401: PermissionDeniedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: AlreadyExistsError,
    413: ValidationError,
    429: UnavailableError,
    503: UnavailableError,
}
_C = grpc.StatusCode
_BY_GRPC: dict[grpc.StatusCode, type[PluginAPIError]] = {
    _C.INVALID_ARGUMENT: ValidationError,
    _C.UNAUTHENTICATED: PermissionDeniedError,
    _C.PERMISSION_DENIED: PermissionDeniedError,
    _C.NOT_FOUND: NotFoundError,
    _C.ALREADY_EXISTS: AlreadyExistsError,
    _C.UNAVAILABLE: UnavailableError,
    _C.DEADLINE_EXCEEDED: UnavailableError,
    _C.RESOURCE_EXHAUSTED: UnavailableError,
}
# The HTTP status behind a gRPC code, as the server derives one from the other.
_HTTP_OF_GRPC: dict[grpc.StatusCode, int] = {
    _C.INVALID_ARGUMENT: 400,
    _C.UNAUTHENTICATED: 401,
    _C.PERMISSION_DENIED: 403,
    _C.NOT_FOUND: 404,
    _C.ALREADY_EXISTS: 409,
    _C.RESOURCE_EXHAUSTED: 429,
    _C.UNIMPLEMENTED: 501,
    _C.UNAVAILABLE: 503,
    _C.DEADLINE_EXCEEDED: 504,
    _C.INTERNAL: 500,
    _C.UNKNOWN: 500,
}


def error_class(status_code: int, grpc_code: grpc.StatusCode) -> type[PluginAPIError]:
    """The class for a failure: by HTTP status when known, else by gRPC code."""
    return _BY_HTTP.get(status_code) or _BY_GRPC.get(grpc_code) or PluginAPIError


def from_app_error(method: str, app_error: common_pb2.AppError) -> PluginAPIError:
    """The exception for an AppError embedded in a response (gRPC status OK)."""
    cls = error_class(app_error.status_code, grpc.StatusCode.OK)
    exc = cls(
        app_error.message or app_error.id or "unknown error",
        method=method,
        error_id=app_error.id,
        detailed_error=app_error.detailed_error,
        status_code=app_error.status_code,
        where=app_error.where,
        request_id=app_error.request_id,
        grpc_code=grpc.StatusCode.OK,
    )
    exc.__cause__ = WireAppError(str(app_error).strip().replace("\n", "; "))
    return exc


def from_rpc_error(method: str, error: grpc.RpcError, *, target: str = "") -> PluginAPIError:
    """The exception for a failed gRPC call; the RpcError becomes its ``__cause__``."""
    code: grpc.StatusCode = error.code()
    details: str = error.details() or ""
    error_id, message = _split_details(details)
    status_code = _HTTP_OF_GRPC.get(code, 500)
    if code is _C.RESOURCE_EXHAUSTED and "Sent message larger than max" in details:
        # Raised by our own channel: the request is over the server's receive limit.
        status_code = 413
        message += " (the server accepts 4 MiB per message; upload big files in chunks)"
    if code is _C.UNAVAILABLE and target and not error_id:  # not an answer of the server
        message = f"cannot reach the Plugin API at {target}: {message}"
    cls = error_class(status_code, code)
    exc = cls(
        message or code.name,
        method=method,
        error_id=error_id,
        status_code=status_code,
        grpc_code=code,
    )
    exc.__cause__ = error
    return exc


def not_served(method: str) -> PluginAPIError:
    """The error of a method this Mattermost server does not answer (PROTOCOL.md §6).

    The server's Plugin API has no handler for it and would answer UNIMPLEMENTED; the client
    raises this instead of making the call (``_generated/unserved.py`` lists the methods).
    """
    return PluginAPIError(
        f"this Mattermost server does not serve {method} to plugins (its Plugin API answers "
        "UNIMPLEMENTED)",
        method=method,
        status_code=501,
        grpc_code=grpc.StatusCode.UNIMPLEMENTED,
    )


def _split_details(details: str) -> tuple[str, str]:
    """Status messages read ``"<error id>: <message>"``; ids are dotted words, no spaces."""
    head, sep, tail = details.partition(": ")
    if sep and head and " " not in head and "." in head:
        return head, tail
    return "", details
