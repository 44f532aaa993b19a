"""What a hook call answers: the handler's return value adapted to the hook's response
message, or, when the handler failed, the answer the hook's failure policy gives.

Handlers return the natural Python value (``None``, a model, a rejection reason, a
``(post, reason)`` tuple, a ``str`` for a command …); the functions here turn each into the
exact response the server reads (PROTOCOL.md §6 says what it does with every field).
"""

from __future__ import annotations

import logging
from typing import Any

from google.protobuf.message import Message

from mattermost_plugin._hookspec import FieldKind, HookSpec, ResponseKind, WireField
from mattermost_plugin._pb.pluginapi.v1 import common_pb2
from mattermost_plugin.plugin import Plugin

__all__ = ["adapt_result", "error_value", "failure_response"]


def _expected_scalar(spec: HookSpec, name: str) -> tuple[type, ...]:
    field = spec.response.DESCRIPTOR.fields_by_name[name]
    t = field.type
    if t == field.TYPE_STRING:
        return (str,)
    if t == field.TYPE_BYTES:
        return (bytes,)
    if t == field.TYPE_BOOL:
        return (bool,)
    return (int,)


def _scalar(spec: HookSpec, out: WireField, value: Any) -> Any:
    expected = _expected_scalar(spec, out.name)
    bad_bool = isinstance(value, bool) and bool not in expected
    if not isinstance(value, expected) or bad_bool:
        names = " or ".join(t.__name__ for t in expected)
        raise TypeError(f"{out.name}: expected {names}, got {type(value).__name__}")
    return value


def _wire(spec: HookSpec, out: WireField, value: Any) -> Any:
    return _scalar(spec, out, value) if out.kind is FieldKind.SCALAR else out.to_wire(value)


def _original_for(spec: HookSpec, out: WireField) -> WireField | None:
    """The request field a ``modified_*`` output replaces (same model, or same suffix)."""
    for arg in spec.args:
        if out.kind is FieldKind.MESSAGE and arg.kind is FieldKind.MESSAGE:
            if arg.model == out.model:
                return arg
        elif out.kind is arg.kind and arg.name.endswith(out.name.removeprefix("modified_")):
            return arg
    return None


def _error(message: str, where: str) -> common_pb2.AppError:
    # The server rebuilds the error from where, id, detailed_error and status_code and
    # ignores message (PROTOCOL.md §6): the readable text must be in detailed_error.
    return common_pb2.AppError(
        id="plugin.hook.error",
        message=message,
        detailed_error=message,
        status_code=500,
        where=where,
    )


def error_value(spec: HookSpec, result: Any) -> str | None:
    """A returned Exception, or a str where the hook expects no text, means failure."""
    if isinstance(result, BaseException):
        return str(result) or type(result).__name__
    text_output = any(
        o.kind is FieldKind.SCALAR and _expected_scalar(spec, o.name) == (str,)
        for o in spec.outputs
    )
    if isinstance(result, str) and not text_output:
        return result or None
    return None


def adapt_result(
    spec: HookSpec, request: Message, args: list[Any], result: Any, where: str = "python plugin"
) -> Message:
    """Turn a handler's return value into the hook's response message; ``where`` names the
    plugin and the handler in an error it reports."""
    response = spec.response()
    has_error_field = "error" in spec.response.DESCRIPTOR.fields_by_name
    if spec.kind is ResponseKind.VOID:
        return response
    if spec.name == "ExecuteCommand":
        return _adapt_command(spec, result)
    if spec.kind is ResponseKind.ERROR or (has_error_field and result is not None):
        message = error_value(spec, result)
        if message is not None:
            if not has_error_field:
                raise TypeError(f"returned {result!r}, but {spec.name} cannot report an error")
            return spec.response(error=_error(message, where))
        if spec.kind is ResponseKind.ERROR:
            if result is not None and result != "":
                raise TypeError(f"returned {type(result).__name__}; return None, or an error")
            return response
    if spec.kind is ResponseKind.WILL_BE:
        return _adapt_will_be(spec, request, args, result)
    return _adapt_value(spec, request, args, result)


def _adapt_will_be(spec: HookSpec, request: Message, args: list[Any], result: Any) -> Message:
    modified = [o for o in spec.outputs if o.name != "rejection_reason"]
    if result is None:
        values: list[Any] = [None] * len(modified)
        reason: Any = ""
    elif isinstance(result, str):
        values, reason = [None] * len(modified), result
    elif isinstance(result, tuple):
        if len(result) == len(modified) + 1:
            values, reason = list(result[:-1]), result[-1]
        elif len(result) == 2:  # (first value, reason), e.g. FileWillBeUploaded without content
            values, reason = [result[0]] + [None] * (len(modified) - 1), result[1]
        else:
            raise TypeError(
                f"returned a {len(result)}-tuple; expected ({', '.join(o.name for o in modified)}, "
                "rejection_reason)"
            )
    else:
        values, reason = [result] + [None] * (len(modified) - 1), ""
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise TypeError(f"rejection reason: expected str, got {type(reason).__name__}")
    if reason:
        return spec.response(rejection_reason=reason)
    fields: dict[str, Any] = {}
    for out, value in zip(modified, values, strict=True):
        if value is None:
            continue
        wire = _wire(spec, out, value)
        original = _original_for(spec, out)
        # Send a value only when the handler changed it: posts reach hooks without props
        # and metadata, and echoing an unchanged copy back could drop them.
        if original is not None:
            before = args[spec.args.index(original)]
            # Immutable bytes are compared with what the handler got: reading the field
            # again would copy it (a whole upload, for FileWillBeUploaded).
            if not isinstance(before, bytes):
                before = getattr(request, original.name)
            if before == wire:
                continue
        fields[out.name] = wire
    return spec.response(**fields)


def _adapt_command(spec: HookSpec, result: Any) -> Message:
    """ExecuteCommand always answers with a response: the server shows "command not found"
    when a handled command answers none (PROTOCOL.md §6). None is an empty ephemeral
    answer, a str an ephemeral text; a dict or a CommandResponse is sent as it is."""
    if isinstance(result, BaseException):
        raise result
    if result is None:
        result = {"response_type": "ephemeral", "text": ""}
    elif isinstance(result, str):
        result = {"response_type": "ephemeral", "text": result}
    (out,) = spec.outputs
    return spec.response(**{out.name: out.to_wire(result)})


def command_failure_text(args: list[Any]) -> str:
    """What the user sees when a command's handler failed (the error itself is logged)."""
    command = getattr(args[-1], "command", "") if args else ""
    trigger = command.split()[0] if command.split() else "the command"
    return f"{trigger} failed: an error occurred in the plugin. It has been logged."


def _adapt_value(spec: HookSpec, request: Message, args: list[Any], result: Any) -> Message:
    (out,) = spec.outputs  # every value hook has exactly one result field
    if out.kind is FieldKind.MESSAGES and out.name in request.DESCRIPTOR.fields_by_name:
        return _adapt_consumed(spec, request, out, result)
    if result is None:
        if out.kind is FieldKind.SCALAR and _expected_scalar(spec, out.name) == (bool,):
            return spec.response(**{out.name: True})  # "no objection"
        return spec.response()
    if out.kind is FieldKind.JSON:
        # Read the original from the request again: the handler may have changed the dict
        # it got in place and returned it, which must count as a change.
        original = next((f.read(request) for f in spec.args if f.kind is out.kind), None)
        if not isinstance(result, dict):
            raise TypeError(f"{out.name}: expected a dict, got {type(result).__name__}")
        if result == original:
            return spec.response()
    return spec.response(**{out.name: _wire(spec, out, result)})


def _adapt_consumed(spec: HookSpec, request: Message, out: WireField, result: Any) -> Message:
    """MessagesWillBeConsumed: a non-empty answer replaces every post the server hands out,
    and posts reach the plugin without props, metadata and participants (PROTOCOL.md §6).
    So answer nothing (the server keeps its originals) unless the handler changed a post."""
    if result is None:
        return spec.response()
    posts = _wire(spec, out, result)
    if list(posts) == list(getattr(request, out.name)):
        return spec.response()
    if not posts:
        logging.getLogger("mattermost_plugin.hooks").warning(
            "MessagesWillBeConsumed: the handler returned no posts, but the server keeps "
            "all of them when the answer is empty; filter some posts out instead"
        )
    return spec.response(**{out.name: posts})


def failure_response(
    spec: HookSpec,
    request: Message,
    plugin_class: type[Plugin],
    exc: BaseException,
    where: str = "python plugin",
    args: list[Any] | None = None,
) -> Message:
    """The answer when a handler failed, by the hook's policy (see ``Plugin``)."""
    fields = spec.response.DESCRIPTOR.fields_by_name
    if spec.name in plugin_class.fail_closed_hooks and "rejection_reason" in fields:
        return spec.response(rejection_reason=plugin_class.failure_rejection_reason)
    if spec.kind is ResponseKind.WILL_BE:
        return spec.response()  # fail open: the original goes through unchanged
    if spec.name == "MessagesWillBeConsumed":
        return spec.response()  # the server keeps its own posts, unchanged
    if spec.name == "ConfigurationWillBeSaved":
        return spec.response()  # fail open: the configuration is saved as it is
    if spec.name == "ExecuteCommand":
        # An error would reach the user as a bare error id: answer them in words instead.
        text = command_failure_text(args or [])
        return _adapt_command(spec, text)
    if "error" in fields:
        return spec.response(error=_error(str(exc) or type(exc).__name__, where))
    return spec.response()
