"""The shape of the generated hook table (``_generated/hook_table.py``).

Hand-written so the runtime can type what the generator emits: for each hook, its request
and response messages, the fields handed to the handler, and how its answer is read.
Message classes are named as ``"module:Class"`` and imported on first use, so a plugin
loads the wire code of the hooks it implements, not of all 41.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

if TYPE_CHECKING:  # models (and pydantic) load with the first hook that carries one
    from mattermost_plugin._model_base import ProtoModel

CONVERTERS = "mattermost_plugin._generated.converters"
MODELS = "mattermost_plugin.models"


class ResponseKind(str, Enum):
    """How a hook answers the server (PROTOCOL.md §3)."""

    VOID = "void"  # empty response; failures are only logged
    ERROR = "error"  # AppError error = 1; set means failure
    WILL_BE = "will_be"  # modified_* and rejection_reason: allow, modify or reject
    VALUE = "value"  # a result of its own (UserWillLogIn, ExecuteCommand, …)
    STREAM = "stream"  # ServeHTTP


class FieldKind(str, Enum):
    SCALAR = "scalar"  # str, int, bool, bytes, list of those
    MESSAGE = "message"  # one model (None when unset)
    MESSAGES = "messages"  # list of models
    JSON = "json"  # a message wrapping one JSON document in bytes: a dict for handlers


@dataclass(frozen=True)
class WireField:
    """One field of a hook request or response, and how it maps to Python."""

    name: str
    kind: FieldKind
    module: str = ""  # models/converters module of the message type
    model: str = ""  # model class name
    converter: str = ""  # converter base name: <converter>_from_pb / <converter>_to_pb
    json_field: str = ""  # for JSON: the bytes field inside the wrapper message
    wrapper: str = ""  # for JSON: the wrapper message, "module:Class"

    @cached_property
    def _converters(self) -> Any:
        return importlib.import_module(f"{CONVERTERS}.{self.module}")

    @cached_property
    def model_class(self) -> type[ProtoModel]:
        cls: type[ProtoModel] = getattr(
            importlib.import_module(f"{MODELS}.{self.module}"), self.model
        )
        return cls

    def read(self, message: Message) -> Any:
        """This field of ``message`` as the handler receives it."""
        value = getattr(message, self.name)
        if self.kind is FieldKind.MESSAGE:
            if not message.HasField(self.name):
                return None
            return getattr(self._converters, f"{self.converter}_from_pb")(value)
        if self.kind is FieldKind.MESSAGES:
            from_pb = getattr(self._converters, f"{self.converter}_from_pb")
            return [from_pb(item) for item in value]
        if self.kind is FieldKind.JSON:
            raw = getattr(value, self.json_field)
            return json.loads(raw) if raw else {}
        if isinstance(value, bytes | str | int | float | bool):
            return value
        return list(value)

    def to_wire(self, value: Any) -> Any:
        """A handler's value for this field as a protobuf constructor argument.

        Dicts are accepted where a model is expected (validated into the model first).
        Raises TypeError or pydantic.ValidationError when the value does not fit.
        """
        if self.kind is FieldKind.MESSAGE:
            return getattr(self._converters, f"{self.converter}_to_pb")(self.coerce(value))
        if self.kind is FieldKind.MESSAGES:
            if not isinstance(value, list | tuple):
                raise TypeError(f"{self.name}: expected a list, got {type(value).__name__}")
            to_pb = getattr(self._converters, f"{self.converter}_to_pb")
            return [to_pb(self.coerce(item)) for item in value]
        if self.kind is FieldKind.JSON:
            wrapper = message_class(self.wrapper)
            return wrapper(**{self.json_field: json.dumps(value).encode()})
        return value

    def coerce(self, value: Any) -> ProtoModel:
        cls = self.model_class
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            return cls.model_validate(value)
        raise TypeError(f"{self.name}: expected {cls.__name__} or dict, got {type(value).__name__}")


def message_class(reference: str) -> type[Message]:
    """``"package.module:Class"`` → the class (importing the module)."""
    module, _, name = reference.partition(":")
    cls: type[Message] = getattr(importlib.import_module(module), name)
    return cls


@dataclass(frozen=True)
class HookSpec:
    """One row of the hook table."""

    name: str
    request_class: str  # "module:Class"
    response_class: str
    kind: ResponseKind
    args: tuple[WireField, ...] = ()
    outputs: tuple[WireField, ...] = ()
    has_plugin_context: bool = False

    @cached_property
    def request(self) -> type[Message]:
        return message_class(self.request_class)

    @cached_property
    def response(self) -> type[Message]:
        return message_class(self.response_class)

    @property
    def path(self) -> str:
        return f"/mattermost.pluginapi.v1.PluginHooks/{self.name}"
