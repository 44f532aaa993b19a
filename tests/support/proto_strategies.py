"""Hypothesis strategies for protobuf messages, derived from their descriptors.

Wide on purpose: unicode text, empty strings, integer extremes, unknown enum numbers,
nested and repeated messages to a bounded depth, maps, Struct/Value JSON, and optional
fields either unset or set (including to their zero value).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf import descriptor as d
from google.protobuf import message as pb_message
from google.protobuf import symbol_database
from hypothesis import strategies as st

FD = d.FieldDescriptor
MAX_DEPTH = 3
# Struct/Value numbers are doubles; stay where they are exact (see mattermost_plugin._convert).
JSON_INT = st.integers(min_value=-(2**53), max_value=2**53)

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}


def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    # Extremes and zero show up far more often than uniform sampling would give them.
    return st.one_of(st.sampled_from([lo, hi, 0, -1 if lo < 0 else 1]), st.integers(lo, hi))


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | JSON_INT | TEXT | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(TEXT, json_values, min_size=1, max_size=4)


def _scalar(field: d.FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t in INT_RANGES:
        return _ints(*INT_RANGES[t])
    if t == FD.TYPE_STRING:
        return TEXT
    if t == FD.TYPE_BYTES:
        return st.binary(max_size=16)
    if t == FD.TYPE_BOOL:
        return st.booleans()
    if t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if t == FD.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(0, 2**31 - 1))
    raise AssertionError(f"unhandled type {t} of {field.full_name}")


def _is_map(field: d.FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _value_for(field: d.FieldDescriptor, depth: int) -> st.SearchStrategy[Any] | None:
    """Strategy for one (non-repeated) value of the field; None when too deep."""
    if field.type != FD.TYPE_MESSAGE:
        return _scalar(field)
    name = field.message_type.full_name
    if name == "google.protobuf.Struct":
        return json_objects
    if name == "google.protobuf.Value":
        return json_values.filter(lambda v: v is not None)
    if name.startswith("google.protobuf.") and name.endswith("Value"):
        return _scalar(field.message_type.fields_by_name["value"])
    if depth >= MAX_DEPTH:
        return None
    return messages(field.message_type, depth + 1)


@cache
def messages(desc: d.Descriptor, depth: int = 0) -> st.SearchStrategy[pb_message.Message]:
    cls = symbol_database.Default().GetSymbol(desc.full_name)
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in desc.fields:
        if _is_map(field):
            key = _scalar(field.message_type.fields_by_name["key"])
            value = _value_for(field.message_type.fields_by_name["value"], depth)
            if value is not None:
                parts[field.name] = st.dictionaries(key, value, max_size=3)
            continue
        value = _value_for(field, depth)
        if value is None:
            continue
        if field.is_repeated:
            parts[field.name] = st.lists(value, max_size=3)
        else:
            parts[field.name] = value
    optional = {name: st.one_of(st.none(), s) for name, s in parts.items()}

    @st.composite
    def build(draw: st.DrawFn) -> pb_message.Message:
        msg = cls()
        for name, strategy in optional.items():
            value = draw(strategy)
            if value is not None:
                _assign(msg, desc.fields_by_name[name], value)
        return msg

    return build()


def _assign(msg: pb_message.Message, field: d.FieldDescriptor, value: Any) -> None:
    target = getattr(msg, field.name)
    if _is_map(field):
        for k, v in value.items():
            if isinstance(v, pb_message.Message):
                target[k].CopyFrom(v)
            else:
                target[k] = v
    elif field.is_repeated:
        for v in value:
            if isinstance(v, pb_message.Message):
                target.add().CopyFrom(v)
            elif field.type == FD.TYPE_MESSAGE:
                _set_wkt(target.add(), v)
            else:
                target.append(v)
    elif isinstance(value, pb_message.Message):
        target.CopyFrom(value)
    elif field.type == FD.TYPE_MESSAGE:
        _set_wkt(target, value)
    else:
        setattr(msg, field.name, value)


def _set_wkt(target: Any, value: Any) -> None:
    """Fill a Struct, Value or wrapper message from a Python value."""
    name = target.DESCRIPTOR.full_name
    if name == "google.protobuf.Struct":
        target.update(value)
    elif name == "google.protobuf.Value":
        from mattermost_plugin._convert import python_to_value

        converted = python_to_value(value)
        assert converted is not None
        target.CopyFrom(converted)
    else:
        target.value = value
