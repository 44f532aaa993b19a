"""How the fake answers an RPC: the real server's two error styles, the registry of the
methods it models, and the answers for the methods it does not.

A handler is a method named after the RPC, decorated with :func:`embedded` (KV, post,
reaction and file methods: failures travel in the response's ``error`` with gRPC OK) or
:func:`status` (the rest: failures abort with a gRPC status derived from the HTTP one,
``"<error id>: <message>"``), PROTOCOL.md §5. Decorating registers the method in
:data:`MODELLED`, from which ``docs/local-host-methods.md`` is generated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

import grpc
from google.protobuf import message_factory
from google.protobuf.message import Message

from mattermost_plugin._generated.unserved import UNSERVED_METHODS
from mattermost_plugin._pb.pluginapi.v1 import api_pb2, api_pb2_grpc, common_pb2

if TYPE_CHECKING:
    from mattermost_plugin.host.fake_server._state import FakeState

NOT_IMPLEMENTED_ID = "app.plugin.fake.not_implemented"
SERVICE = api_pb2.DESCRIPTOR.services_by_name["PluginAPI"]

Ctx = grpc.ServicerContext

# --------------------------------------------------------------------------- errors

_HTTP_TO_GRPC: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ALREADY_EXISTS,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def grpc_code_for_http(status_code: int) -> grpc.StatusCode:
    """The gRPC status code the real server uses for an AppError's HTTP status."""
    return _HTTP_TO_GRPC.get(status_code, grpc.StatusCode.INTERNAL)


def app_error(
    where: str, error_id: str, message: str, status_code: int, detailed_error: str = ""
) -> common_pb2.AppError:
    """Build the wire ``AppError``."""
    return common_pb2.AppError(
        id=error_id,
        message=message,
        detailed_error=detailed_error,
        status_code=status_code,
        where=where,
    )


class FakeAppError(Exception):
    """Raised by handlers; the method's error style decides how it reaches the client."""

    def __init__(self, error_id: str, message: str, status_code: int, detailed: str = "") -> None:
        super().__init__(f"{error_id}: {message}")
        self.error_id = error_id
        self.message = message
        self.status_code = status_code
        self.detailed = detailed

    def to_proto(self, where: str) -> common_pb2.AppError:
        return app_error(where, self.error_id, self.message, self.status_code, self.detailed)


class HookRejection(FakeAppError):
    """A "will be" hook rejected what the call was about to store: ``hook`` is the hook,
    ``reason`` the plugin's reason and ``rejected`` what it rejected (a post, a file
    info, a user)."""

    def __init__(
        self, hook: str, reason: str, rejected: Message, error_id: str, status_code: int
    ) -> None:
        super().__init__(error_id, error_id, status_code)
        self.hook = hook
        self.reason = reason
        self.rejected = rejected


def not_found(error_id: str, what: str, key: str) -> FakeAppError:
    return FakeAppError(error_id, f"{what} not found: {key!r}", 404)


def bad_request(error_id: str, message: str) -> FakeAppError:
    return FakeAppError(error_id, message, 400)


def forbidden(error_id: str, message: str) -> FakeAppError:
    return FakeAppError(error_id, message, 403)


def response_class(method_name: str) -> type[Message]:
    """The generated response class of a PluginAPI method (KeyError on a misspelt name)."""
    return message_factory.GetMessageClass(SERVICE.methods_by_name[method_name].output_type)


def _error_response(response_cls: type[Message], error: common_pb2.AppError) -> Message:
    response = response_cls()
    cast(Any, response).error.CopyFrom(error)
    return response


# --------------------------------------------------------------------------- the registry

ErrorStyle = Literal["embedded", "status"]


@dataclass(frozen=True)
class Modelled:
    """A PluginAPI method the fake answers with real semantics."""

    name: str
    area: str
    """The module that models it (``users``, ``posts``, ...)."""
    style: ErrorStyle
    hooks: tuple[str, ...]
    """The plugin hooks the method runs, as the server does for it."""
    locked: bool
    """Whether the whole call runs under the fake's lock (methods that call the plugin back
    take it themselves, around their reads and their writes only)."""
    never_fails: bool
    """The server answers every call (a yes/no, a search): its "error path" is the
    negative answer (an unknown user has no permission), not an error."""
    summary: str
    """The first paragraph of the handler's docstring."""


MODELLED: dict[str, Modelled] = {}
"""Every method the fake models, by name; filled as the handler modules are imported."""

_Handler = TypeVar("_Handler", bound=Callable[..., Message])


@dataclass(frozen=True)
class _Options:
    hooks: tuple[str, ...] = ()
    locked: bool = True
    never_fails: bool = False


def _register(method: Callable[..., Message], style: ErrorStyle, options: _Options) -> None:
    name = method.__name__
    response_class(name)  # fail at import on a name that is not an RPC
    if name in UNSERVED_METHODS:
        raise TypeError(f"{name} is not served by the real server; the fake must not model it")
    module = method.__module__.rsplit(".", 1)[-1].lstrip("_")
    summary = (method.__doc__ or "").strip().split("\n\n")[0]
    summary = " ".join(summary.split())
    MODELLED[name] = Modelled(
        name, module, style, options.hooks, options.locked, options.never_fails, summary
    )


def _wrap(method: _Handler, style: ErrorStyle, options: _Options) -> _Handler:
    _register(method, style, options)
    locked = options.locked
    name = method.__name__
    response_cls = response_class(name)

    def call(self: FakeState, request: Message, context: Ctx) -> Message:
        if locked:
            with self.transaction():
                return method(self, request, context)
        return method(self, request, context)

    if style == "embedded":

        @functools.wraps(method)
        def handler(self: FakeState, request: Message, context: Ctx) -> Message:
            try:
                return call(self, request, context)
            except FakeAppError as exc:
                return _error_response(response_cls, exc.to_proto(name))

    else:

        @functools.wraps(method)
        def handler(self: FakeState, request: Message, context: Ctx) -> Message:
            try:
                return call(self, request, context)
            except FakeAppError as exc:
                context.abort(grpc_code_for_http(exc.status_code), f"{exc.error_id}: {exc.message}")

    handler.locked = locked  # type: ignore[attr-defined]
    return cast(_Handler, handler)


@overload
def embedded(method: _Handler, /) -> _Handler: ...
@overload
def embedded(
    *, hooks: tuple[str, ...] = (), locked: bool = True, never_fails: bool = False
) -> Callable[[_Handler], _Handler]: ...
def embedded(
    method: _Handler | None = None,
    /,
    *,
    hooks: tuple[str, ...] = (),
    locked: bool = True,
    never_fails: bool = False,
) -> _Handler | Callable[[_Handler], _Handler]:
    """Error style 1: failures travel in the response's ``error`` field with gRPC OK.

    ``hooks`` names the plugin hooks the method runs; ``locked=False`` for a method that
    calls the plugin back and so takes the lock itself; ``never_fails`` for a method the
    server answers whatever it is asked (see :attr:`Modelled.never_fails`)."""
    options = _Options(hooks, locked, never_fails)
    if method is not None:
        return _wrap(method, "embedded", options)
    return lambda m: _wrap(m, "embedded", options)


@overload
def status(method: _Handler, /) -> _Handler: ...
@overload
def status(
    *, hooks: tuple[str, ...] = (), locked: bool = True, never_fails: bool = False
) -> Callable[[_Handler], _Handler]: ...
def status(
    method: _Handler | None = None,
    /,
    *,
    hooks: tuple[str, ...] = (),
    locked: bool = True,
    never_fails: bool = False,
) -> _Handler | Callable[[_Handler], _Handler]:
    """Error style 2: failures abort the call with a gRPC status derived from the HTTP one.
    Options as for :func:`embedded`."""
    options = _Options(hooks, locked, never_fails)
    if method is not None:
        return _wrap(method, "status", options)
    return lambda m: _wrap(m, "status", options)


# --------------------------------------------------------------------------- the rest


def _not_modelled(name: str) -> Callable[[Any, Message, Ctx], Message]:
    """A method the real server serves but this fake does not model: an AppError, 501."""
    response_cls = response_class(name)
    has_error = "error" in response_cls.DESCRIPTOR.fields_by_name
    message = f"the local host does not model {name}"

    def handler(self: Any, request: Message, context: Ctx) -> Message:
        if not has_error:  # every PluginAPI response has one today; this is for future ones
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{NOT_IMPLEMENTED_ID}: {message}")
        return _error_response(response_cls, app_error(name, NOT_IMPLEMENTED_ID, message, 501))

    handler.__name__ = handler.__qualname__ = name
    return handler


def _unserved(name: str) -> Callable[[Any, Message, Ctx], Message]:
    """A method the real server does not serve: UNIMPLEMENTED, in the words of Go's gRPC."""

    def handler(self: Any, request: Message, context: Ctx) -> Message:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"method {name} not implemented")
        raise AssertionError("abort() raises")

    handler.__name__ = handler.__qualname__ = name
    return handler


def install_not_implemented(cls: type) -> None:
    """Answer what the real server does not serve with UNIMPLEMENTED, and every other RPC the
    class leaves to the generated base (which raises) with a 501 AppError."""
    base = api_pb2_grpc.PluginAPIServicer
    for method in SERVICE.methods:
        if method.name in UNSERVED_METHODS:
            if getattr(cls, method.name) is not getattr(base, method.name):
                raise TypeError(f"{cls.__name__} models {method.name}, which no server serves")
            setattr(cls, method.name, _unserved(method.name))
        elif getattr(cls, method.name) is getattr(base, method.name):
            setattr(cls, method.name, _not_modelled(method.name))
