"""Argument checks of the Plugin API clients: a clear error before any call.

The generated methods test each argument with one ``isinstance`` (and a required id for
being non-empty) before building the request, and catch what protobuf refuses while building
it (a number out of range, a list item of the wrong type, a value that is not JSON). Only
then, on the slow path, :func:`reject` looks at every argument against the method's
annotations and raises for the first that does not fit:

* ``TypeError`` naming the method, the parameter and the type given
  (``get_user(): user_id must be str, not int``);
* ``ValidationError`` (``mattermost_plugin.ValidationError``) for a value of the right type
  that no server would accept: an empty required id, a number out of range, text that is
  not UTF-8.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, Union, get_args, get_origin

import grpc
from pydantic import JsonValue

from mattermost_plugin.errors import ValidationError

__all__ = ["CONVERSION_ERRORS", "empty", "invalid", "reject", "wrong_type"]

# What building a request (protobuf, the converters, JSON encoding) raises for bad input.
CONVERSION_ERRORS = (TypeError, ValueError, AttributeError, OverflowError)

_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}


def wrong_type(method: str, param: str, expected: str, value: object) -> TypeError:
    """``TypeError: get_user(): user_id must be str, not int``."""
    return TypeError(f"{method}(): {param} must be {expected}, not {_given(value)}")


def empty(method: str, go_method: str, param: str) -> ValidationError:
    """``ValidationError: get_user(): user_id must not be empty``, raised before any call."""
    return invalid(method, go_method, f"{param} must not be empty")


def invalid(method: str, go_method: str, problem: str) -> ValidationError:
    """A value of the right type that the server would refuse; ``method`` is the Python name."""
    return ValidationError(
        f"{method}(): {problem}",
        method=go_method,
        status_code=400,
        grpc_code=grpc.StatusCode.INVALID_ARGUMENT,
    )


def reject(
    go_method: str,
    method: Callable[..., Any],
    values: Mapping[str, Any],
    required: tuple[str, ...] = (),
    cause: BaseException | None = None,
) -> NoReturn:
    """Raise the error for the first argument of ``method`` that does not fit.

    ``values`` are the method's locals (its arguments); ``required`` the parameters that must
    not be empty; ``cause`` what building the request raised, if it got that far.
    """
    func = getattr(method, "__func__", method)
    name = func.__name__
    for param in list(inspect.signature(func).parameters.values())[1:]:
        hint = eval(param.annotation, func.__globals__)  # the generated annotation
        value = values[param.name]
        items = value.items() if param.kind is param.VAR_KEYWORD else [(param.name, value)]
        for label, item in items:
            problem = _mismatch(item, hint)
            if problem is not None:
                expected = "a JSON value" if param.kind is param.VAR_KEYWORD else _describe(hint)
                raise TypeError(f"{name}(): {label} must be {expected}, not {problem}") from cause
            if label in required and item == "":
                raise empty(name, go_method, label) from cause
            trouble = _bad_value(go_method, param.name, item)
            if trouble is not None:
                raise invalid(name, go_method, f"{label} {trouble}") from cause
    if cause is None:  # every argument fits: a check of the generated code is wrong
        raise AssertionError(f"{name}(): reject() found no bad argument")
    # Something inside a model does not fit (a model built without validation, say).
    problem = f"the arguments do not fit the request: {cause}"
    if isinstance(cause, ValueError):
        raise invalid(name, go_method, problem) from cause
    raise TypeError(f"{name}(): {problem}") from cause


def _given(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _describe(hint: Any) -> str:
    if hint is JsonValue:
        return "a JSON value"
    args = get_args(hint)
    if _is_union(hint):
        return " or ".join(_describe(a) for a in args)
    origin = get_origin(hint)
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_describe(a) for a in args)}]"
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))


def _is_union(hint: Any) -> bool:
    import types

    return get_origin(hint) in (Union, types.UnionType)


def _mismatch(value: object, hint: Any) -> str | None:
    """What is wrong with ``value`` as a ``hint`` (a description of what was given), or None."""
    if hint is JsonValue:
        return _not_json(value)
    if _is_union(hint):
        problems = [_mismatch(value, option) for option in get_args(hint)]
        if all(p is not None for p in problems):
            # Say what is inside when the container itself fits one of the options.
            return next((p for p in problems if p and " " in p), _given(value))
        return None
    origin = get_origin(hint)
    if origin is list:
        if not isinstance(value, list):
            return _given(value)
        (item_hint,) = get_args(hint)
        for index, item in enumerate(value):
            if _mismatch(item, item_hint) is not None:
                return f"a list with {_given(item)} at index {index}"
        return None
    if origin is dict:
        if not isinstance(value, dict):
            return _given(value)
        key_hint, value_hint = get_args(hint)
        for key, item in value.items():
            if _mismatch(key, key_hint) is not None:
                return f"a dict with a {_given(key)} key"
            if _mismatch(item, value_hint) is not None:
                return f"a dict with {_given(item)} at {key!r}"
        return None
    if hint is type(None):
        return None if value is None else _given(value)
    if hint is float:  # an int (a bool too) is a float to Python's types
        return None if isinstance(value, int | float) else _given(value)
    if hint is int and isinstance(value, bool):
        return "bool"  # an int to Python's types, refused by protobuf's int fields
    return None if isinstance(value, hint) else _given(value)


def _not_json(value: object) -> str | None:
    if value is None or isinstance(value, str | bool | int | float):
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if _not_json(item) is not None:
                return f"a list with {_given(item)} at index {index}"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"a dict with a {_given(key)} key"
            inner = _not_json(item)
            if inner is not None:
                return f"a dict with {inner} at {key!r}"
        return None
    return _given(value)


def _bad_value(go_method: str, param: str, value: object) -> str | None:
    """Why a value of the right type cannot travel: out of range, or not UTF-8 text."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError as error:
            return f"is not valid text: {error.reason} at position {error.start}"
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        kind = _int_kind(go_method, param)
        if kind is not None:
            low, high = _INT_RANGES[kind]
            if not low <= value <= high:
                return f"must fit in {kind} ({low}..{high}), got {value}"
    return None


def _int_kind(go_method: str, param: str) -> str | None:
    from google.protobuf.descriptor import FieldDescriptor

    from mattermost_plugin._pb.pluginapi.v1 import api_pb2

    service = api_pb2.DESCRIPTOR.services_by_name["PluginAPI"]
    field = service.methods_by_name[go_method].input_type.fields_by_name.get(param)
    if field is None:
        return None
    kinds = {
        FieldDescriptor.TYPE_INT32: "int32",
        FieldDescriptor.TYPE_SINT32: "int32",
        FieldDescriptor.TYPE_SFIXED32: "int32",
        FieldDescriptor.TYPE_INT64: "int64",
        FieldDescriptor.TYPE_SINT64: "int64",
        FieldDescriptor.TYPE_SFIXED64: "int64",
        FieldDescriptor.TYPE_UINT32: "uint32",
        FieldDescriptor.TYPE_FIXED32: "uint32",
        FieldDescriptor.TYPE_UINT64: "uint64",
        FieldDescriptor.TYPE_FIXED64: "uint64",
    }
    return kinds.get(field.type)
