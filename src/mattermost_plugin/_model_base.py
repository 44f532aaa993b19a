"""Base classes of the generated models (``mattermost_plugin.models``).

Hand-written on purpose: the generator emits subclasses of these, so behaviour shared by
every model or enum lives here once.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__


class ProtoModel(BaseModel):
    """Base of every generated model: a Pydantic v2 model mirroring one protobuf message.

    Scalars default to their protobuf zero value, repeated fields to ``[]``, maps and
    ``Struct`` fields to ``{}``; message fields and proto3 ``optional`` fields are ``None``
    when unset.
    """

    model_config = ConfigDict(
        # Defaults come from the JSON Schema, where bytes zero values are written as "";
        # validating them turns them into b"" and gives each instance its own list/dict.
        validate_default=True,
        # A typo in a field name is an error, not a silently ignored keyword.
        extra="forbid",
        # Build validators on first use: a plugin touches a few dozen of ~650 models.
        defer_build=True,
    )


class ProtoEnum(IntEnum):
    """Base of generated enums: an unknown number from a newer server is kept, not rejected.

    ``ChannelType(9)`` gives a member named ``UNKNOWN_9`` whose value is 9, so a model holding
    it converts back to the same number on the wire.
    """

    @classmethod
    def _missing_(cls, value: object) -> ProtoEnum | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member


def construct(cls: type[M], values: dict[str, Any]) -> M:
    """``cls.model_construct(**values)`` without its pass over defaults.

    For the generated proto → model converters, which give every field a value that protobuf
    already typed; this halves the cost of reading a response (see bench/).
    """
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def describe_errors(error: ValidationError, limit: int = 3) -> str:
    """``field.path: message`` for the first few errors of a validation, for messages that
    name the field (the whole list is ``error.errors()``)."""
    found = error.errors(include_url=False)
    parts = []
    for item in found[:limit]:
        where = ".".join(str(part) for part in item["loc"])
        parts.append(f"{where}: {item['msg']}" if where else item["msg"])
    if len(found) > limit:
        parts.append(f"and {len(found) - limit} more")
    return "; ".join(parts)
