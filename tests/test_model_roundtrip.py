"""Property tests: every generated model converts to and from its protobuf message losslessly."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import message as pb_message
from hypothesis import given
from hypothesis import strategies as st
from tests.support.proto_strategies import messages

import mattermost_plugin._generated.converters as converters_pkg
from mattermost_plugin import models

Converter = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _all_converters() -> dict[str, Converter]:
    """Map each protobuf full name to its (from_pb, to_pb) pair, found by name."""
    found: dict[str, Converter] = {}
    for info in pkgutil.iter_modules(converters_pkg.__path__):
        module = importlib.import_module(f"{converters_pkg.__name__}.{info.name}")
        for name in dir(module):
            if name.endswith("_from_pb") and getattr(module, name).__module__ == module.__name__:
                from_pb = getattr(module, name)
                to_pb = getattr(module, name.removesuffix("_from_pb") + "_to_pb")
                pb_class = from_pb.__annotations__["m" if "m" in from_pb.__annotations__ else "_m"]
                found[_pb_name(module, pb_class)] = (from_pb, to_pb)
    return found


def _pb_name(module: Any, annotation: str) -> str:
    alias, _, path = annotation.partition(".")
    pb_module = getattr(module, alias)
    cls = pb_module
    for part in path.split("."):
        cls = getattr(cls, part)
    return str(cls.DESCRIPTOR.full_name)


CONVERTERS = _all_converters()


def test_every_message_has_a_model_and_converters() -> None:
    assert len(CONVERTERS) == 652
    assert len(models.__all__) == 652 + 3  # messages and enums


@pytest.mark.parametrize("full_name", sorted(CONVERTERS))
@given(data=st.data())
def test_proto_model_proto_is_identity(full_name: str, data: st.DataObject) -> None:
    from_pb, to_pb = CONVERTERS[full_name]
    descriptor = _descriptor(full_name)
    original = data.draw(messages(descriptor))
    model = from_pb(original)
    back = to_pb(model)
    assert back == original, f"{full_name}: {original} != {back}"
    # … and model → proto → model gives the same model again.
    assert from_pb(back) == model


def _descriptor(full_name: str) -> Any:
    from google.protobuf import symbol_database

    cls: type[pb_message.Message] = symbol_database.Default().GetSymbol(full_name)
    return cls.DESCRIPTOR
