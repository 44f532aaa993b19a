"""Typed Plugin API client mixins, sync and async, rendered from ONE method template.

Every PluginAPI RPC becomes a method named by ``naming.snake`` of its Go name, grouped into a
mixin per entity. Parameters are the request fields (identifiers positional; paging, filters
and option messages keyword-only with defaults); the return value is the single result field
as a model, a NamedTuple when there are several, ``None`` when there is none. ``*_json``
bytes travel as parsed JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from codegen import converters
from codegen.ir import FieldIR, Kind, MethodIR, ProtoIR
from codegen.models import wrap
from codegen.naming import snake

PACKAGE = "mattermost_plugin._generated.client"

# Owned by the hand-written layer (mattermost_plugin.client), which gives them the friendlier
# forms the user guide promises; generating them too would mean two incompatible signatures.
HAND_WRITTEN = {"CreatePost", "KVSet", "KVGet"}

# Retried (with backoff) on UNAVAILABLE: reads only, where a retry cannot repeat a side effect.
READ_PREFIXES = ("Get", "List", "Search", "Has", "Is", "Count", "Read")
READ_EXTRA = {"KVGet", "KVList"}

# Entity groups, first match wins. Each becomes ``<Group>Mixin`` / ``Async<Group>Mixin``.
GROUPS: list[tuple[str, str]] = [
    ("KVStore", r"^KV"),
    ("Audit", r"^LogAuditRec"),
    ("Logs", r"^Log(Debug|Info|Warn|Error)$"),
    ("Bots", r"Bot"),
    ("OAuth", r"OAuth"),
    ("Channels", r"GroupChannel|DirectChannel"),
    ("SharedChannels", r"SharedChannel|ShareChannel|RemoteToChannel|RemoteFromChannel"),
    ("Groups", r"Group"),
    ("Properties", r"Property"),
    ("Preferences", r"Preference"),
    ("Commands", r"Command"),
    ("Files", r"File|Upload"),
    ("Emoji", r"Emoji"),
    ("Posts", r"Post|Reaction|Ephemeral"),
    ("Channels", r"Channel|Sidebar"),
    ("Teams", r"Team"),
    ("Users", r"User|Session|ProfileImage|Permission|LDAP"),
    ("Config", r"Config"),
    ("Plugins", r"Plugin|Bundle"),
    ("Server", r"License|EnterpriseReady|ServerVersion|InstallDate|DiagnosticId|TelemetryId|Cloud"),
    ("Misc", r""),
]

KEYWORD_ONLY = {
    "page",
    "per_page",
    "limit",
    "sort",
    "sort_by",
    "include_deleted",
    "allow_inactive",
    "inactive",
    "without_team",
    "group_constrained",
    "updated_after",
    "options",
    "opts",
    "view_restrictions",
}
KEYWORD_PREFIXES = ("in_", "not_in_")


def group_of(method: str) -> str:
    return next(name for name, pattern in GROUPS if re.search(pattern, method))


def is_read(method: str) -> bool:
    return method in READ_EXTRA or method.startswith(READ_PREFIXES)


def is_json_blob(f: FieldIR) -> bool:
    return f.kind is Kind.SCALAR and f.py_type == "bytes" and f.name.endswith("_json")


@dataclass
class _Module:
    """Imports of one client module: models for annotations, everything else on first use.

    Models appear only in annotations (``TYPE_CHECKING``); wire stubs and converters load when
    a method first needs them, so a client costs little until it is used, and then only
    for the groups of calls a plugin makes.
    """

    ir: ProtoIR
    imports: set[str] = field(default_factory=set)
    typing_imports: set[str] = field(default_factory=set)
    lazy: dict[str, str] = field(default_factory=dict)  # global name → module

    def pb(self, full_name: str) -> str:
        msg = self.ir.messages[full_name]
        alias = converters.pb_alias(msg.pb_module)
        self.lazy[alias] = msg.pb_module
        return f"{alias}.{msg.pb_path}"

    def model(self, full_name: str) -> str:
        msg = self.ir.messages[full_name]
        self.typing_imports.add(
            f"from mattermost_plugin.models import {msg.module} as m_{msg.module}"
        )
        return f"m_{msg.module}.{msg.class_name}"

    def converter(self, full_name: str, direction: str) -> str:
        msg = self.ir.messages[full_name]
        name = converters.from_name(msg) if direction == "from" else converters.to_name(msg)
        self.lazy[f"c_{msg.module}"] = f"{converters.PACKAGE}.{msg.module}"
        return f"c_{msg.module}.{name}"

    def py_type(self, f: FieldIR, *, item: bool = False) -> str:
        if f.repeated and not item:
            return f"list[{self.py_type(f, item=True)}]"
        if f.kind is Kind.MESSAGE:
            return self.model(f.ref)
        if f.kind is Kind.ENUM:
            self.lazy["m_enums"] = "mattermost_plugin.models.enums"
            return f"m_enums.{self.ir.enums[f.ref].class_name}"
        if f.kind is Kind.STRUCT:
            return "dict[str, JsonValue]"
        if f.kind is Kind.VALUE:
            return "JsonValue"
        if f.kind is Kind.MAP:
            assert f.map_key and f.map_value
            return f"dict[{self.py_type(f.map_key)}, {self.py_type(f.map_value)}]"
        if is_json_blob(f):
            return "JsonValue"
        return f.py_type

    # model/Python value → protobuf constructor argument
    def to_wire(self, f: FieldIR, expr: str) -> str:
        if f.kind is Kind.MESSAGE:
            conv = self.converter(f.ref, "to")
            if f.repeated:
                return f"[{conv}(v) for v in {expr}]"
            return f"{conv}({expr})"
        if f.kind is Kind.STRUCT:
            return f"_convert.dict_to_struct({expr})"
        if f.kind is Kind.VALUE:
            return f"_convert.python_to_value({expr})"
        if f.kind is Kind.MAP and f.map_value and f.map_value.kind is Kind.MESSAGE:
            return f"{{k: {self.converter(f.map_value.ref, 'to')}(v) for k, v in {expr}.items()}}"
        if is_json_blob(f):
            return f"_json.dumps({expr}).encode()"
        return expr

    # protobuf response field → returned value
    def from_wire(self, f: FieldIR, expr: str) -> str:
        if f.kind is Kind.MESSAGE:
            conv = self.converter(f.ref, "from")
            if f.repeated:
                return f"[{conv}(v) for v in {expr}]"
            return f"{conv}({expr})"
        if f.kind is Kind.ENUM:
            enum = self.py_type(f, item=True)
            return f"[{enum}(v) for v in {expr}]" if f.repeated else f"{enum}({expr})"
        if f.kind is Kind.STRUCT:
            return f"_convert.struct_to_dict({expr})"
        if f.kind is Kind.VALUE:
            return f"_convert.value_to_python({expr})"
        if f.kind is Kind.MAP:
            assert f.map_value
            if f.map_value.kind is Kind.MESSAGE:
                conv = self.converter(f.map_value.ref, "from")
                return f"{{k: {conv}(v) for k, v in {expr}.items()}}"
            return f"dict({expr})"
        if is_json_blob(f):
            return f"_json.loads({expr}) if {expr} else None"
        if f.repeated:
            return f"list({expr})"
        return expr


def _param_name(f: FieldIR) -> str:
    return f.name.removesuffix("_json") if is_json_blob(f) else f.name


def _is_keyword(f: FieldIR, ir: ProtoIR) -> bool:
    """Paging, filters, option messages and proto3-optional scalars are keyword-only."""
    scalar_optional = f.optional and f.kind is not Kind.MESSAGE
    named = f.name in KEYWORD_ONLY or f.name.startswith(KEYWORD_PREFIXES)
    return named or scalar_optional or _is_options(f, ir)


def _is_options(f: FieldIR, ir: ProtoIR) -> bool:
    return f.kind is Kind.MESSAGE and ir.messages[f.ref].class_name.endswith(
        ("Options", "Opts", "Restrictions")
    )


ZERO = {"str": '""', "bytes": 'b""', "bool": "False", "int": "0", "float": "0.0"}
# Defaults that differ from the zero value: an empty page is never what a caller wants.
DEFAULTS = {"per_page": "60"}


@dataclass
class RenderedMethod:
    group: str
    name: str
    lines_sync: list[str]
    lines_async: list[str]
    result_types: list[str]


def render_method(module: _Module, method: MethodIR) -> RenderedMethod:
    """Render one RPC as a sync and an async method from the same template."""
    ir = module.ir
    request = ir.messages[method.input]
    response = ir.messages[method.output]
    positional: list[str] = []
    keyword: list[str] = []
    ctor_args: list[str] = []
    for f in request.fields:
        name = _param_name(f)
        annotation = module.py_type(f)
        if not _is_keyword(f, ir):
            positional.append(f"{name}: {annotation}")
            ctor_args.append(f"{f.name}={module.to_wire(f, name)},")
        elif f.repeated:
            keyword.append(f"{name}: {annotation} | None = None")
            ctor_args.append(f"{f.name}={module.to_wire(f, f'({name} or [])')},")
        elif f.kind is Kind.MESSAGE or f.optional:
            keyword.append(f"{name}: {annotation} | None = None")
            value = module.to_wire(f, name)
            ctor_args.append(f"{f.name}=None if {name} is None else {value},")
        else:
            default = DEFAULTS.get(f.name, ZERO[f.py_type])
            keyword.append(f"{name}: {annotation} = {default}")
            ctor_args.append(f"{f.name}={module.to_wire(f, name)},")
    keyword.append("timeout: float | None = None")
    results = [f for f in response.fields if f.name != "error"]
    result_types: list[str] = []
    if not results:
        returns, body_return = "None", None
    elif len(results) == 1:
        returns = module.py_type(results[0])
        body_return = module.from_wire(results[0], f"response.{results[0].name}")
    else:
        returns = f"{method.name}Result"
        result_types = [f"    {f.name}: {module.py_type(f)}" for f in results]
        values = ", ".join(module.from_wire(f, f"response.{f.name}") for f in results)
        body_return = f"{returns}({values})"
    params = ", ".join(["self", *positional, "*", *keyword])
    doc = method.comment or f"Calls ``PluginAPI.{method.name}``."
    doc_lines = doc.splitlines()
    doc_lines[-1] += f"\n\nGo: ``plugin.API.{method.name}``."

    def lines(is_async: bool) -> list[str]:
        prefix, wait = ("async ", "await ") if is_async else ("", "")
        out = [f"    {prefix}def {snake(method.name)}({params}) -> {returns}:"]
        out += _docstring(doc_lines)
        out.append(f"        request = {module.pb(method.input)}(")
        out += [f"            {arg}" for arg in ctor_args]
        out.append("        )")
        call = (
            f'{wait}self._unary("{method.name}", request, {module.pb(method.output)}, '
            "timeout=timeout)"
        )
        if body_return is None:
            out.append(f"        {call}")
        else:
            out.append(f"        response = {call}")
            out.append(f"        return {body_return}")
        return out

    return RenderedMethod(
        group_of(method.name), snake(method.name), lines(False), lines(True), result_types
    )


def _docstring(lines: list[str]) -> list[str]:
    raw = "\n".join(lines).replace('"""', "'''").replace("\\", "\\\\")
    text = wrap(raw, 84).splitlines()
    out = [f'        """{text[0]}']
    out += [f"        {line}" if line else "" for line in text[1:]]
    out.append('        """')
    return out


HEADER = '''"""{what}. Generated by codegen: do not edit."""

from __future__ import annotations
'''


def generate(ir: ProtoIR, out: Path) -> None:
    package = out / "mattermost_plugin" / "_generated" / "client"
    package.mkdir(parents=True, exist_ok=True)
    service = ir.service("PluginAPI")
    modules: dict[str, tuple[_Module, list[RenderedMethod]]] = {}
    for method in service.methods:
        if method.name in HAND_WRITTEN:
            continue
        group = group_of(method.name)
        module, methods = modules.setdefault(group, (_Module(ir), []))
        methods.append(render_method(module, method))
    for group, (module, methods) in sorted(modules.items()):
        (package / f"{snake(group)}.py").write_text(_render_group(group, module, methods))
    (package / "__init__.py").write_text(_render_package(sorted(modules), service.methods))


def _render_group(group: str, module: _Module, methods: list[RenderedMethod]) -> str:
    methods = sorted(methods, key=lambda m: m.name)
    uses = "\n".join(line for m in methods for line in m.lines_sync)
    imports = set(module.imports)
    if "_convert." in uses:
        imports.add("from mattermost_plugin import _convert")
    if "_json." in uses:
        imports.add("import json as _json")
    imports.add("from mattermost_plugin._transport import AsyncTransport, SyncTransport")
    if "JsonValue" in uses:
        imports.add("from pydantic import JsonValue")
    if any(m.result_types for m in methods):
        imports.add("from typing import NamedTuple")
    typing_imports = sorted(module.typing_imports)
    if module.lazy:
        imports.add("from mattermost_plugin._lazy import lazy_module")
        typing_imports += sorted(
            f"from {target.rsplit('.', 1)[0]} import {target.rsplit('.', 1)[1]} as {name}"
            for name, target in module.lazy.items()
        )
    if typing_imports:
        imports.add("from typing import TYPE_CHECKING")
    out = [HEADER.format(what=f"{group} methods of the Plugin API client"), *sorted(imports)]
    if typing_imports:
        out += ["", "if TYPE_CHECKING:", *[f"    {line}" for line in sorted(typing_imports)]]
    if module.lazy:
        out.append("else:")
        out += [
            f'    {name} = lazy_module(__name__, "{name}", "{target}")'
            for name, target in sorted(module.lazy.items())
        ]
    for m in methods:
        if m.result_types:
            result = m.lines_sync[0].split("-> ")[1].rstrip(":")
            out += ["", "", f"class {result}(NamedTuple):", *m.result_types]
    for cls, base, attr in (
        (f"{group}Mixin", "SyncTransport", "lines_sync"),
        (f"Async{group}Mixin", "AsyncTransport", "lines_async"),
    ):
        out += ["", "", f"class {cls}({base}):", f'    """{group} methods of the Plugin API."""']
        for m in methods:
            out += ["", *getattr(m, attr)]
    return "\n".join(out) + "\n"


def _render_package(groups: list[str], methods: list[MethodIR]) -> str:
    reads = sorted(m.name for m in methods if is_read(m.name))
    out = [HEADER.format(what="The Plugin API client mixins, composed")]
    for group in groups:
        out.append(f"from {PACKAGE}.{snake(group)} import Async{group}Mixin, {group}Mixin")
    out += [
        "",
        "# Methods retried on UNAVAILABLE: reads, which a retry cannot repeat the effect of.",
        "READ_METHODS = frozenset(",
        "    {",
        *[f'        "{name}",' for name in reads],
        "    }",
        ")",
        "",
        "",
        f"class GeneratedSyncAPI({', '.join(f'{g}Mixin' for g in groups)}):",
        '    """Every generated Plugin API method, blocking (grpcio)."""',
        "",
        "",
        f"class GeneratedAsyncAPI({', '.join(f'Async{g}Mixin' for g in groups)}):",
        '    """Every generated Plugin API method, as coroutines (grpc.aio)."""',
    ]
    return "\n".join(out) + "\n"
