"""A small intermediate representation of the protos: what every generator reads.

Built once from the compiled descriptors (with comments), so naming rules, module placement
and field kinds are decided in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from google.protobuf import descriptor_pb2

FD = descriptor_pb2.FieldDescriptorProto

# The package plugin authors work with: its messages keep their plain names. Messages of any
# other package get the package's alias as a prefix (``plugin.Empty`` → ``GoPluginEmpty``),
# so the flat ``mattermost_plugin.models`` namespace never holds two classes of one name.
MAIN_PACKAGE = "mattermost.pluginapi.v1"
PACKAGE_ALIASES = {MAIN_PACKAGE: "", "plugin": "GoPlugin"}
PACKAGE_MODULES = {"plugin": "go_plugin"}

WRAPPERS = {
    ".google.protobuf.Int32Value": "int",
    ".google.protobuf.Int64Value": "int",
    ".google.protobuf.UInt32Value": "int",
    ".google.protobuf.UInt64Value": "int",
    ".google.protobuf.BoolValue": "bool",
    ".google.protobuf.StringValue": "str",
    ".google.protobuf.BytesValue": "bytes",
    ".google.protobuf.DoubleValue": "float",
    ".google.protobuf.FloatValue": "float",
}
SCALARS = {
    FD.TYPE_STRING: "str",
    FD.TYPE_BYTES: "bytes",
    FD.TYPE_BOOL: "bool",
    FD.TYPE_DOUBLE: "float",
    FD.TYPE_FLOAT: "float",
    **dict.fromkeys(
        (
            FD.TYPE_INT32,
            FD.TYPE_INT64,
            FD.TYPE_UINT32,
            FD.TYPE_UINT64,
            FD.TYPE_SINT32,
            FD.TYPE_SINT64,
            FD.TYPE_FIXED32,
            FD.TYPE_FIXED64,
            FD.TYPE_SFIXED32,
            FD.TYPE_SFIXED64,
        ),
        "int",
    ),
}
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


class Kind(str, Enum):
    SCALAR = "scalar"  # str, bytes, bool, int, float
    ENUM = "enum"
    MESSAGE = "message"
    MAP = "map"  # map<scalar, scalar|message>
    STRUCT = "struct"  # google.protobuf.Struct → dict[str, Any]
    VALUE = "value"  # google.protobuf.Value → any JSON value
    WRAPPER = "wrapper"  # google.protobuf.*Value → scalar | None


@dataclass
class FieldIR:
    name: str
    number: int
    kind: Kind
    proto_type: int
    repeated: bool = False
    optional: bool = False  # has presence: proto3 optional, message, wrapper, Value
    py_type: str = ""  # scalar Python type for SCALAR / WRAPPER / MAP keys
    ref: str = ""  # full name of the referenced message or enum
    map_key: FieldIR | None = None
    map_value: FieldIR | None = None
    comment: str = ""
    wrapper_name: str = ""  # Int32Value … for WRAPPER fields


@dataclass
class MessageIR:
    full_name: str  # .mattermost.pluginapi.v1.User
    package: str
    proto_file: str
    pb_module: str  # mattermost_plugin._pb.pluginapi.v1.user_pb2
    pb_path: str  # User, or ConnInfo.Knock for nested messages
    class_name: str  # User, GoPluginConnInfoKnock
    module: str  # models submodule: user, rpc_api_user_team, go_plugin
    fields: list[FieldIR] = field(default_factory=list)
    comment: str = ""


@dataclass
class EnumIR:
    full_name: str
    class_name: str
    pb_module: str
    pb_path: str
    values: list[tuple[str, int, str]] = field(default_factory=list)  # member, number, comment
    comment: str = ""


@dataclass
class MethodIR:
    name: str
    input: str
    output: str
    client_streaming: bool
    server_streaming: bool
    comment: str = ""


@dataclass
class ServiceIR:
    full_name: str
    name: str
    pb_module: str
    methods: list[MethodIR] = field(default_factory=list)
    comment: str = ""


@dataclass
class ProtoIR:
    messages: dict[str, MessageIR] = field(default_factory=dict)
    enums: dict[str, EnumIR] = field(default_factory=dict)
    services: dict[str, ServiceIR] = field(default_factory=dict)

    def service(self, name: str) -> ServiceIR:
        return next(s for s in self.services.values() if s.name == name)


def _comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    out = {}
    for loc in file.source_code_info.location:
        text = loc.leading_comments or loc.trailing_comments
        if text:
            lines = [line.strip() for line in text.strip("\n").splitlines()]
            out[tuple(loc.path)] = "\n".join(lines).strip()
    return out


def _enum_member(enum_name: str, value_name: str, all_values: list[str]) -> str:
    """CHANNEL_TYPE_OPEN → OPEN: drop the enum's own name when every value carries it."""
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum_name).upper() + "_"
    if all(v.startswith(prefix) for v in all_values):
        return value_name[len(prefix) :]
    return value_name


def module_of(file: descriptor_pb2.FileDescriptorProto, message_name: str, rpc_io: set[str]) -> str:
    """Where a model lives: entities by proto file, RPC requests/responses apart from them.

    Keeping request/response models out of the entity modules means a plugin that uses a
    few entities and hooks never builds the hundreds of API parameter classes.
    """
    if file.package in PACKAGE_MODULES:
        return PACKAGE_MODULES[file.package]
    stem = file.name.rsplit("/", 1)[-1].removesuffix(".proto")
    return f"rpc_{stem}" if message_name in rpc_io else stem


class _FileVisitor:
    """Collects the messages, enums and services of one .proto file into the IR."""

    def __init__(
        self,
        ir: ProtoIR,
        file: descriptor_pb2.FileDescriptorProto,
        rpc_io: set[str],
        map_entries: dict[str, descriptor_pb2.DescriptorProto],
    ) -> None:
        self.ir, self.file, self.rpc_io, self.map_entries = ir, file, rpc_io, map_entries
        self.comments = _comments(file)
        self.pb_module = file.name.removesuffix(".proto").replace("/", ".") + "_pb2"
        self.alias = PACKAGE_ALIASES[file.package]

    def run(self) -> None:
        for i, m in enumerate(self.file.message_type):
            self.message(m, [], (4, i))
        for i, e in enumerate(self.file.enum_type):
            self.enum(e, [], (5, i))
        for i, s in enumerate(self.file.service):
            self.service(s, (6, i))

    def _full(self, scope: list[str], name: str) -> str:
        return "." + ".".join([self.file.package, *scope, name])

    def enum(
        self, e: descriptor_pb2.EnumDescriptorProto, scope: list[str], path: tuple[int, ...]
    ) -> None:
        names = [v.name for v in e.value]
        full = self._full(scope, e.name)
        self.ir.enums[full] = EnumIR(
            full_name=full,
            class_name=self.alias + "".join([*scope, e.name]),
            pb_module=self.pb_module,
            pb_path=".".join([*scope, e.name]),
            values=[
                (
                    _enum_member(e.name, v.name, names),
                    v.number,
                    self.comments.get((*path, 2, i), ""),
                )
                for i, v in enumerate(e.value)
            ],
            comment=self.comments.get(path, ""),
        )

    def message(
        self, m: descriptor_pb2.DescriptorProto, scope: list[str], path: tuple[int, ...]
    ) -> None:
        full = self._full(scope, m.name)
        if m.options.map_entry:
            self.map_entries[full] = m
            return
        for i, n in enumerate(m.nested_type):
            self.message(n, [*scope, m.name], (*path, 3, i))
        for i, e in enumerate(m.enum_type):
            self.enum(e, [*scope, m.name], (*path, 4, i))
        msg = MessageIR(
            full_name=full,
            package=self.file.package,
            proto_file=self.file.name,
            pb_module=self.pb_module,
            pb_path=".".join([*scope, m.name]),
            class_name=self.alias + "".join([*scope, m.name]),
            module=module_of(self.file, full, self.rpc_io),
            comment=self.comments.get(path, ""),
            fields=[_field(f, self.comments.get((*path, 2, i), "")) for i, f in enumerate(m.field)],
        )
        msg.fields.sort(key=lambda f: f.number)
        self.ir.messages[full] = msg

    def service(self, s: descriptor_pb2.ServiceDescriptorProto, path: tuple[int, ...]) -> None:
        svc = ServiceIR(
            full_name=self._full([], s.name),
            name=s.name,
            pb_module=self.pb_module,
            comment=self.comments.get(path, ""),
        )
        for j, meth in enumerate(s.method):
            svc.methods.append(
                MethodIR(
                    name=meth.name,
                    input=meth.input_type,
                    output=meth.output_type,
                    client_streaming=meth.client_streaming,
                    server_streaming=meth.server_streaming,
                    comment=self.comments.get((*path, 2, j), ""),
                )
            )
        self.ir.services[svc.full_name] = svc


def build(fds: descriptor_pb2.FileDescriptorSet) -> ProtoIR:
    ir = ProtoIR()
    ours = [f for f in fds.file if not f.name.startswith("google/")]
    rpc_io = {
        t for f in ours for s in f.service for m in s.method for t in (m.input_type, m.output_type)
    }
    map_entries: dict[str, descriptor_pb2.DescriptorProto] = {}
    for file in ours:
        _FileVisitor(ir, file, rpc_io, map_entries).run()
    # Repeated map-entry fields are maps.
    for msg in ir.messages.values():
        for f in msg.fields:
            if f.kind is Kind.MESSAGE and f.ref in map_entries:
                key, value = map_entries[f.ref].field
                f.kind, f.repeated, f.optional = Kind.MAP, False, False
                f.map_key, f.map_value = _field(key, ""), _field(value, "")
                f.map_value.optional = False
    return ir


def _field(f: descriptor_pb2.FieldDescriptorProto, comment: str) -> FieldIR:
    repeated = f.label == FD.LABEL_REPEATED
    out = FieldIR(
        name=f.name, number=f.number, kind=Kind.SCALAR, proto_type=f.type, repeated=repeated
    )
    out.comment = comment
    if f.type == FD.TYPE_ENUM:
        out.kind, out.ref = Kind.ENUM, f.type_name
        out.optional = f.proto3_optional
    elif f.type == FD.TYPE_MESSAGE:
        if f.type_name == ".google.protobuf.Struct":
            out.kind = Kind.STRUCT
        elif f.type_name == ".google.protobuf.Value":
            out.kind, out.optional = Kind.VALUE, not repeated
        elif f.type_name in WRAPPERS:
            out.kind, out.py_type, out.optional = Kind.WRAPPER, WRAPPERS[f.type_name], True
            out.wrapper_name = f.type_name.rsplit(".", 1)[-1]
        else:
            out.kind, out.ref, out.optional = Kind.MESSAGE, f.type_name, not repeated
    else:
        out.py_type = SCALARS[f.type]
        out.optional = f.proto3_optional
    return out
