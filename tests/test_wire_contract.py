"""The protos we ship are the Mattermost server's wire contract, element by element.

Every message, field, enum, service and method of ``shared/protocol/wire-contract.json`` is
compared with the descriptors compiled into ``mattermost_plugin._pb``. File names and
comments are ours; everything that reaches the wire must be identical.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, json_format

import mattermost_plugin._pb

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "protocol" / "wire-contract.json"

# Field attributes that define the wire format and the generated API (json_name is derived).
FIELD_ATTRS = ("number", "label", "type", "type_name", "oneof_index", "proto3_optional")
METHOD_ATTRS = ("input_type", "output_type", "client_streaming", "server_streaming")

Element = tuple[str, dict[str, object]]


def _contract_files() -> list[descriptor_pb2.FileDescriptorProto]:
    if not CONTRACT.exists():
        pytest.fail(f"wire contract not found at {CONTRACT}: check out shared/ beside the repo")
    data = json.loads(CONTRACT.read_text())
    return [json_format.ParseDict(f, descriptor_pb2.FileDescriptorProto()) for f in data["files"]]


def _our_files() -> list[descriptor_pb2.FileDescriptorProto]:
    files = []
    for info in pkgutil.walk_packages(mattermost_plugin._pb.__path__, "mattermost_plugin._pb."):
        if info.name.endswith("_pb2"):
            proto = descriptor_pb2.FileDescriptorProto()
            importlib.import_module(info.name).DESCRIPTOR.CopyToProto(proto)
            files.append(proto)
    return files


def _attrs(msg: object, names: tuple[str, ...]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in names:
        has = msg.HasField(name)  # type: ignore[attr-defined]
        out[name] = getattr(msg, name) if has else None
    return out


def _message_elements(m: descriptor_pb2.DescriptorProto, scope: str) -> Iterator[Element]:
    name = f"{scope}.{m.name}"
    yield (
        name,
        {
            "kind": "message",
            "map_entry": m.options.map_entry,
            "oneofs": [o.name for o in m.oneof_decl],
            "fields": [f.name for f in m.field],
            "nested": sorted(n.name for n in m.nested_type),
            "enums": sorted(e.name for e in m.enum_type),
        },
    )
    for f in m.field:
        yield f"{name}.{f.name}", {"kind": "field", **_attrs(f, FIELD_ATTRS)}
    for n in m.nested_type:
        yield from _message_elements(n, name)
    for e in m.enum_type:
        yield from _enum_elements(e, name)


def _enum_elements(e: descriptor_pb2.EnumDescriptorProto, scope: str) -> Iterator[Element]:
    yield f"{scope}.{e.name}", {"kind": "enum", "values": [(v.name, v.number) for v in e.value]}


def elements(files: list[descriptor_pb2.FileDescriptorProto]) -> dict[str, dict[str, object]]:
    """Every named element of a set of files, keyed by full name (package-qualified)."""
    out: dict[str, dict[str, object]] = {}
    for file in files:
        scope = "." + file.package
        items: list[Element] = []
        for m in file.message_type:
            items.extend(_message_elements(m, scope))
        for e in file.enum_type:
            items.extend(_enum_elements(e, scope))
        for s in file.service:
            service = f"{scope}.{s.name}"
            items.append((service, {"kind": "service", "methods": [m.name for m in s.method]}))
            for m in s.method:
                items.append((f"{service}.{m.name}", {"kind": "method", **_attrs(m, METHOD_ATTRS)}))
        for name, attrs in items:
            assert name not in out, f"duplicate element {name}"
            out[name] = attrs
    return out


def diff(expected: dict[str, dict[str, object]], actual: dict[str, dict[str, object]]) -> list[str]:
    problems = [f"{name}: missing from our protos" for name in expected if name not in actual]
    problems += [f"{name}: not in the contract" for name in actual if name not in expected]
    for name in expected.keys() & actual.keys():
        for key, want in expected[name].items():
            got = actual[name].get(key)
            if got != want:
                problems.append(f"{name}: {key} is {got!r} in our protos, {want!r} in the contract")
    return sorted(problems)


def test_protos_match_the_wire_contract() -> None:
    problems = diff(elements(_contract_files()), elements(_our_files()))
    assert not problems, "wire contract mismatch:\n" + "\n".join(problems)


def test_service_sizes() -> None:
    ours = elements(_our_files())
    assert len(ours[".mattermost.pluginapi.v1.PluginHooks"]["methods"]) == 42  # type: ignore[arg-type]
    assert len(ours[".mattermost.pluginapi.v1.PluginAPI"]["methods"]) == 236  # type: ignore[arg-type]
    for service in ("GRPCController", "GRPCStdio", "GRPCBroker"):
        assert f".plugin.{service}" in ours


def test_a_mismatch_is_reported_with_name_and_both_values() -> None:
    contract = _contract_files()
    ours = [descriptor_pb2.FileDescriptorProto() for _ in contract]
    for src, dst in zip(contract, ours, strict=True):
        dst.CopyFrom(src)
    user = next(m for f in ours for m in f.message_type if m.name == "User")
    user.field[0].number = 99
    second, was = user.field[1], user.field[1].type
    second.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
    problems = diff(elements(contract), elements(ours))
    assert problems == sorted(
        [
            ".mattermost.pluginapi.v1.User.id: number is 99 in our protos, 1 in the contract",
            f".mattermost.pluginapi.v1.User.{second.name}: "
            f"type is 12 in our protos, {was} in the contract",
        ]
    )
