"""The exception layer: every failure code, in both server styles, sync and async.

A tiny real PluginAPI server fails on demand (PROTOCOL.md §5):

* ``GetUser(user_id=<gRPC code name>)`` aborts with that status code and the message
  ``"some.error.id: some message"`` (the status style);
* ``KVGet(key=<HTTP status>)`` answers OK with an embedded ``AppError`` of that status
  (the embedded style).

Retries are off (``retries=0``), so UNAVAILABLE reaches the caller after one attempt.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from tests.support.api_client import ServeServicer, ServicerBase, run

from mattermost_plugin import (
    AlreadyExistsError,
    AsyncPluginAPIClient,
    NotFoundError,
    PermissionDeniedError,
    PluginAPIClient,
    PluginAPIError,
    UnavailableError,
    ValidationError,
)
from mattermost_plugin._pb.pluginapi.v1 import api_kv_config_pb2, common_pb2
from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2 as ut
from mattermost_plugin.errors import WireAppError

ERROR_ID = "some.error.id"
MESSAGE = "some message"
C = grpc.StatusCode


class FailingServicer(ServicerBase):
    """Fails every call, in the style and with the code the request names."""

    def GetUser(
        self, request: ut.GetUserRequest, context: grpc.ServicerContext
    ) -> ut.GetUserResponse:
        context.abort(grpc.StatusCode[request.user_id], f"{ERROR_ID}: {MESSAGE}")

    def KVGet(
        self, request: api_kv_config_pb2.KVGetRequest, context: grpc.ServicerContext
    ) -> api_kv_config_pb2.KVGetResponse:
        error = common_pb2.AppError(
            id=ERROR_ID,
            message=MESSAGE,
            detailed_error="some detail",
            request_id="req-1",
            status_code=int(request.key),
            where="KVGet",
        )
        return api_kv_config_pb2.KVGetResponse(error=error)


# HTTP status → class, for errors embedded in a response.
EMBEDDED: dict[int, type[PluginAPIError]] = {
    400: ValidationError,
    401: PermissionDeniedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: AlreadyExistsError,
    413: ValidationError,
    429: UnavailableError,
    503: UnavailableError,
    500: PluginAPIError,
    418: PluginAPIError,
}

# gRPC code → (class, HTTP status the SDK derives), for status errors.
STATUS: dict[grpc.StatusCode, tuple[type[PluginAPIError], int]] = {
    C.INVALID_ARGUMENT: (ValidationError, 400),
    C.UNAUTHENTICATED: (PermissionDeniedError, 401),
    C.PERMISSION_DENIED: (PermissionDeniedError, 403),
    C.NOT_FOUND: (NotFoundError, 404),
    C.ALREADY_EXISTS: (AlreadyExistsError, 409),
    C.RESOURCE_EXHAUSTED: (UnavailableError, 429),
    C.UNAVAILABLE: (UnavailableError, 503),
    C.DEADLINE_EXCEEDED: (UnavailableError, 504),
    C.INTERNAL: (PluginAPIError, 500),
    C.UNIMPLEMENTED: (PluginAPIError, 501),
}

# The same HTTP status reported both ways (the server derives the code from the status).
SAME_MEANING = [
    (400, C.INVALID_ARGUMENT),
    (401, C.UNAUTHENTICATED),
    (403, C.PERMISSION_DENIED),
    (404, C.NOT_FOUND),
    (409, C.ALREADY_EXISTS),
    (429, C.RESOURCE_EXHAUSTED),
    (503, C.UNAVAILABLE),
    (500, C.INTERNAL),
]

Failure = Callable[[], PluginAPIError]


@pytest.fixture
def target(serve_servicer: ServeServicer) -> str:
    return serve_servicer(FailingServicer())


@pytest.fixture(params=["sync", "async"])
def fail_get_user(request: pytest.FixtureRequest, target: str) -> Callable[[str], PluginAPIError]:
    """Call GetUser(code name) with the sync or the async client; return what it raised."""

    def sync(code: str) -> PluginAPIError:
        with PluginAPIClient(target=target, retries=0) as client:
            try:
                client.get_user(code)
            except PluginAPIError as error:
                return error
        raise AssertionError("GetUser did not fail")

    async def call_async(code: str) -> PluginAPIError:
        async with AsyncPluginAPIClient(target=target, retries=0) as client:
            try:
                await client.get_user(code)
            except PluginAPIError as error:
                return error
        raise AssertionError("GetUser did not fail")

    return sync if request.param == "sync" else lambda code: run(call_async(code))


@pytest.fixture(params=["sync", "async"])
def fail_kv_get(request: pytest.FixtureRequest, target: str) -> Callable[[int], PluginAPIError]:
    """Call KVGet(str(status)) with the sync or the async client; return what it raised."""

    def sync(status: int) -> PluginAPIError:
        with PluginAPIClient(target=target, retries=0) as client:
            try:
                client.kv_get(str(status))
            except PluginAPIError as error:
                return error
        raise AssertionError("KVGet did not fail")

    async def call_async(status: int) -> PluginAPIError:
        async with AsyncPluginAPIClient(target=target, retries=0) as client:
            try:
                await client.kv_get(str(status))
            except PluginAPIError as error:
                return error
        raise AssertionError("KVGet did not fail")

    return sync if request.param == "sync" else lambda status: run(call_async(status))


@pytest.mark.parametrize("status", list(EMBEDDED), ids=str)
def test_embedded_app_error(fail_kv_get: Callable[[int], PluginAPIError], status: int) -> None:
    error = fail_kv_get(status)
    assert type(error) is EMBEDDED[status]
    assert error.status_code == status
    assert error.error_id == ERROR_ID
    assert error.message == MESSAGE
    assert error.detailed_error == "some detail"
    assert error.request_id == "req-1"
    assert error.where == "KVGet"
    assert error.grpc_code is C.OK
    assert error.method == "KVGet"
    assert isinstance(error.__cause__, WireAppError)
    assert ERROR_ID in str(error.__cause__)
    assert str(error) == f"KVGet: {ERROR_ID}: {MESSAGE} (HTTP {status}) — some detail"


@pytest.mark.parametrize("code", list(STATUS), ids=lambda code: code.name)
def test_status_error(
    fail_get_user: Callable[[str], PluginAPIError], code: grpc.StatusCode
) -> None:
    cls, status = STATUS[code]
    error = fail_get_user(code.name)
    assert type(error) is cls
    assert error.status_code == status
    assert error.error_id == ERROR_ID
    assert error.message == MESSAGE
    assert error.grpc_code is code
    assert error.method == "GetUser"
    assert isinstance(error.__cause__, grpc.RpcError)
    assert error.__cause__.code() is code
    assert str(error).startswith(f"GetUser: {ERROR_ID}: {MESSAGE}")


@pytest.mark.parametrize(("status", "code"), SAME_MEANING, ids=lambda v: str(getattr(v, "name", v)))
def test_both_styles_agree(
    fail_kv_get: Callable[[int], PluginAPIError],
    fail_get_user: Callable[[str], PluginAPIError],
    status: int,
    code: grpc.StatusCode,
) -> None:
    embedded, by_status = fail_kv_get(status), fail_get_user(code.name)
    assert type(embedded) is type(by_status)
    assert embedded.status_code == by_status.status_code == status


def test_every_class_is_a_plugin_api_error() -> None:
    for cls in (*EMBEDDED.values(), *(c for c, _ in STATUS.values())):
        assert issubclass(cls, PluginAPIError)
        assert issubclass(cls, Exception)


def test_status_message_without_error_id(serve_servicer: ServeServicer) -> None:
    """A status whose message has no ``id: `` prefix keeps the whole message."""

    class Plain(ServicerBase):
        def GetUser(
            self, request: ut.GetUserRequest, context: grpc.ServicerContext
        ) -> ut.GetUserResponse:
            context.abort(C.NOT_FOUND, "no such user: u1")

    with (
        PluginAPIClient(target=serve_servicer(Plain()), retries=0) as client,
        pytest.raises(NotFoundError) as info,
    ):
        client.get_user("u1")
    assert info.value.error_id == ""
    assert info.value.message == "no such user: u1"
