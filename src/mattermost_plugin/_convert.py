"""Runtime helpers of the generated proto ⇄ model converters (``_generated/converters``).

Only the JSON-shaped well-known types need help: ``Struct``/``Value`` hold JSON, and their
numbers are doubles, so integers beyond 2**53 lose precision; an unset ``Value`` and a JSON
null both read as ``None``, and an empty ``Struct`` is the same as an unset one.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import struct_pb2


def value_to_python(v: struct_pb2.Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        return v.string_value
    if kind == "number_value":
        number = v.number_value
        # JSON has one number type; give back ints where the double is integral (but -0.0,
        # which an int cannot hold).
        negative_zero = number == 0 and math.copysign(1, number) < 0
        exact = number.is_integer() and abs(number) < 2**53 and not negative_zero
        return int(number) if exact else number
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return struct_to_dict(v.struct_value)
    if kind == "list_value":
        return [value_to_python(item) for item in v.list_value.values]
    return None


def struct_to_dict(s: struct_pb2.Struct) -> dict[str, Any]:
    return {key: value_to_python(value) for key, value in s.fields.items()}


def optional_value_to_python(v: struct_pb2.Value, present: bool) -> Any:
    return value_to_python(v) if present else None


def python_to_value(obj: Any) -> struct_pb2.Value | None:
    """A JSON-able Python value as a ``Value``; ``None`` stays unset."""
    if obj is None:
        return None
    value = struct_pb2.Value()
    _fill_value(value, obj)
    return value


def dict_to_struct(obj: dict[str, Any]) -> struct_pb2.Struct | None:
    """A dict as a ``Struct``; an empty dict stays unset."""
    if not obj:
        return None
    struct = struct_pb2.Struct()
    struct.update(obj)
    return struct


def _fill_value(target: struct_pb2.Value, obj: Any) -> None:
    if obj is None:
        target.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        target.bool_value = obj
    elif isinstance(obj, int | float):
        target.number_value = obj
    elif isinstance(obj, str):
        target.string_value = obj
    elif isinstance(obj, dict):
        target.struct_value.SetInParent()  # so that {} is still a struct, not "no value"
        target.struct_value.update(obj)
    elif isinstance(obj, list | tuple):
        target.list_value.SetInParent()
        target.list_value.extend(obj)
    else:
        raise TypeError(f"not a JSON value: {type(obj).__name__}")
