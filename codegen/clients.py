"""Typed Plugin API client mixins, sync and async, rendered from ONE method template.

Every PluginAPI RPC becomes a method named by ``naming.snake`` of its Go name, grouped into a
mixin per entity. Parameters are the request fields, placed by the rule of
``codegen.signatures`` (what the call acts on positional, in Go's order; paging, filters and
options keyword-only with defaults) and checked before the request is built (one
``isinstance`` per argument; a thorough diagnosis only when something is wrong). The return
value is the single result field as a model, a NamedTuple when there are several, ``None``
when there is none. ``*_json`` bytes travel as parsed JSON. Methods the server does not serve
(``signatures.UNSERVED``) raise without a call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from codegen import converters
from codegen.ir import FieldIR, Kind, MethodIR, ProtoIR
from codegen.models import section_entry, wrap
from codegen.naming import snake
from codegen.signatures import DEFAULTS, UNSERVED, Param, Role, is_json_blob, params_of

PACKAGE = "mattermost_plugin._generated.client"

# Owned by the hand-written layer (mattermost_plugin.client), which gives them the friendlier
# forms the user guide promises (and answers GetPluginID locally); generating them too would
# mean two incompatible signatures.
HAND_WRITTEN = {"CreatePost", "KVSet", "KVGet", "GetPluginID"}

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


def group_of(method: str) -> str:
    return next(name for name, pattern in GROUPS if re.search(pattern, method))


def is_read(method: str) -> bool:
    return method in READ_EXTRA or method.startswith(READ_PREFIXES)


@dataclass
class _Module:
    """Imports of one client module, all of them on first use.

    Models, wire stubs and converters load when a method first needs them (to check an
    argument, build a request or read a response), so a client costs little until it is
    used, and then only for the groups of calls a plugin makes.
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
        self.lazy[f"m_{msg.module}"] = f"mattermost_plugin.models.{msg.module}"
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


ZERO = {"str": '""', "bytes": 'b""', "bool": "False", "int": "0", "float": "0.0"}
# Python types of the protobuf scalars, as a fast isinstance check takes them (an int is a
# float to a type checker; a bool is an int, which protobuf refuses and the slow path names).
CHECKED_SCALARS = {"str": "str", "bytes": "bytes", "bool": "bool", "int": "int"}


@dataclass
class RenderedMethod:
    group: str
    name: str
    lines_sync: list[str]
    lines_async: list[str]
    result_types: list[str]
    signature: str  # for the listing in the docs: parameters and return type


def _fast_check(module: _Module, p: Param) -> str | None:
    """One cheap test that the argument has its annotated type (None: no cheap test)."""
    f, name = p.field, p.name
    if p.role is Role.VARIADIC or f.kind in (Kind.VALUE, Kind.ENUM) or is_json_blob(f):
        return None  # any JSON value: checked while the request is built
    if f.repeated:
        test = f"isinstance({name}, list)"
    elif f.kind in (Kind.MAP, Kind.STRUCT):
        test = f"isinstance({name}, dict)"
    elif f.kind is Kind.MESSAGE:
        test = f"isinstance({name}, {module.model(f.ref)})"
    elif f.py_type == "float":
        test = f"isinstance({name}, (int, float))"
    else:
        test = f"isinstance({name}, {CHECKED_SCALARS[f.py_type]})"
    if p.required:
        return f"{test} and {name}"
    if p.role is Role.KEYWORD and _defaults_to_none(f):
        return f"({name} is None or {test})"
    return test


def _defaults_to_none(f: FieldIR) -> bool:
    return f.repeated or f.optional or f.kind in (Kind.MESSAGE, Kind.MAP, Kind.STRUCT)


def _wire_arg(module: _Module, p: Param) -> str:
    """The request constructor's keyword argument for one parameter."""
    f, name = p.field, p.name
    if p.role is Role.VARIADIC:
        pair = module.pb(f.ref)
        return (
            f"{f.name}=[{pair}(key=k, value=_convert.python_to_value(v)) "
            f"for k, v in {name}.items()],"
        )
    if p.role is Role.KEYWORD and _defaults_to_none(f):
        if f.repeated or f.kind is Kind.MAP:
            empty = "{}" if f.kind is Kind.MAP else "[]"
            return f"{f.name}={module.to_wire(f, f'({name} or {empty})')},"
        return f"{f.name}=None if {name} is None else {module.to_wire(f, name)},"
    return f"{f.name}={module.to_wire(f, name)},"


def _declaration(module: _Module, p: Param) -> str:
    f, name = p.field, p.name
    annotation = module.py_type(f)
    if p.role is Role.VARIADIC:
        return f"**{name}: JsonValue"
    if p.role is Role.POSITIONAL:
        return f"{name}: {annotation}"
    if _defaults_to_none(f):
        return f"{name}: {annotation} | None = None"
    return f"{name}: {annotation} = {DEFAULTS.get(f.name, ZERO[f.py_type])}"


def render_method(module: _Module, method: MethodIR) -> RenderedMethod:
    """Render one RPC as a sync and an async method from the same template."""
    ir = module.ir
    request = ir.messages[method.input]
    response = ir.messages[method.output]
    params = params_of(method.name, request.fields, ir)
    positional = [p for p in params if p.role is Role.POSITIONAL]
    keyword = [p for p in params if p.role is Role.KEYWORD]
    variadic = [p for p in params if p.role is Role.VARIADIC]
    declared = [_declaration(module, p) for p in positional]
    declared += ["*", *[_declaration(module, p) for p in keyword]]
    declared += ["timeout: float | None = None", *[_declaration(module, p) for p in variadic]]
    checks = [c for p in params if (c := _fast_check(module, p)) is not None]
    checks.append("(timeout is None or isinstance(timeout, (int, float)))")
    ctor_args = [_wire_arg(module, p) for p in params]
    required = tuple(p.name for p in params if p.required)
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
    signature = ", ".join(["self", *declared])
    name = snake(method.name)
    served = method.name not in UNSERVED
    doc = method.comment or f"Calls ``PluginAPI.{method.name}``."
    if not served:
        doc += (
            f"\n\nNot served: this Mattermost server answers ``{method.name}`` with"
            " UNIMPLEMENTED, so the method raises ``PluginAPIError`` (status 501) without a call."
        )
    doc_lines = [*wrap(doc, DOC_WIDTH).splitlines(), ""]
    shown_results = [re.sub(r"\bm_\w+\.", "", module.py_type(f)) for f in results]
    doc_lines += [*_doc_sections(params, results, shown_results, required, served), ""]
    doc_lines.append(f"Go: ``plugin.API.{method.name}``.")
    reject = f'reject("{method.name}", self.{name}, locals(), {required!r}'

    def lines(is_async: bool) -> list[str]:
        prefix, wait = ("async ", "await ") if is_async else ("", "")
        out = [f"    {prefix}def {name}({signature}) -> {returns}:"]
        out += _docstring(doc_lines)
        if not served:
            module.imports.add("from mattermost_plugin.errors import not_served")
            out.append(f'        raise not_served("{method.name}")')
            return out
        out.append(f"        if not ({' and '.join(checks)}):")
        out.append(f"            {reject})")
        out.append("        try:")
        out.append(f"            request = {module.pb(method.input)}(")
        out += [f"                {arg}" for arg in ctor_args]
        out.append("            )")
        out.append("        except CONVERSION_ERRORS as error:")
        out.append(f"            {reject}, error)")
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

    shown = [_declaration(module, p) for p in positional]
    shown += ["*", *[_declaration(module, p) for p in keyword]] if keyword else []
    shown += [_declaration(module, p) for p in variadic]
    listed = re.sub(r"\bm_\w+\.", "", ", ".join(shown))
    shown_returns = re.sub(r"\bm_\w+\.", "", returns)
    return RenderedMethod(
        group_of(method.name),
        name,
        lines(False),
        lines(True),
        result_types,
        f"{name}({listed}) -> {shown_returns}",
    )


DOC_WIDTH = 84  # docstrings sit 8 spaces deep
ARGUMENT_ERRORS = "an argument has the wrong type (checked before the call)."
SERVER_ERRORS = (
    "any other error the server answered, as the subclass for its status (``NotFoundError``,"
    " ``PermissionDeniedError``, ``AlreadyExistsError``, ``UnavailableError`` …)."
)
TIMEOUT_DOC = (
    "Seconds to wait for the answer; ``None`` takes the client's (30 s unless it was made"
    " with another). Past it the call raises ``UnavailableError``."
)


def _doc_entry(text: str, name: str | None = None) -> list[str]:
    return section_entry(text, name, DOC_WIDTH)


def _doc_sections(
    params: list[Param],
    results: list[FieldIR],
    result_annotations: list[str],
    required: tuple[str, ...],
    served: bool,
) -> list[str]:
    """Args (what the protos say about each parameter, and ``timeout``), Returns (what they
    say about the result) and Raises: the method's reference in the docs. Every parameter and
    result has a comment (``codegen.completeness`` stops generation otherwise)."""
    out = ["Args:"]
    for p in params:
        name = f"**{p.name}" if p.role is Role.VARIADIC else p.name
        out += _doc_entry(p.field.comment, name)
    out += _doc_entry(TIMEOUT_DOC, "timeout")
    if len(results) == 1:
        out += ["", "Returns:", *_doc_entry(results[0].comment)]
    elif results:  # a named tuple: one item per field, named and typed as griffe reads them
        out += ["", "Returns:"]
        for f, annotation in zip(results, result_annotations, strict=True):
            out += _doc_entry(f.comment, f"{f.name} ({annotation})")
    out += ["", "Raises:"]
    if not served:
        return [*out, *_doc_entry("always (status 501), without a call.", "PluginAPIError")]
    out += _doc_entry(ARGUMENT_ERRORS, "TypeError")
    checked = "a number is out of range or text is not UTF-8 (checked before the call)"
    if required:
        checked = " or ".join(f"``{name}``" for name in required) + " is empty, " + checked
    out += _doc_entry(f"{checked}; or the server refused a value.", "ValidationError")
    out += _doc_entry(SERVER_ERRORS, "PluginAPIError")
    return out


def _docstring(lines: list[str]) -> list[str]:
    """Lines, wrapped already, as a docstring 8 spaces deep."""
    text = "\n".join(lines).replace('"""', "'''").replace("\\", "\\\\").splitlines()
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
    (package.parent / "unserved.py").write_text(_render_unserved())
    listing = {group: methods for group, (_, methods) in modules.items()}
    (out / LISTING).parent.mkdir(parents=True, exist_ok=True)
    (out / LISTING).write_text(_render_listing(listing))


def _render_unserved() -> str:
    return (
        "\n".join(
            [
                HEADER.format(what="Plugin API methods the Mattermost server does not serve"),
                "# PROTOCOL.md §6: the server's API service answers these with UNIMPLEMENTED.",
                "# The client raises PluginAPIError (501) for them without a call (GetPluginID",
                "# it answers from the manifest); the fake Mattermost answers them UNIMPLEMENTED.",
                "UNSERVED_METHODS = frozenset(",
                "    {",
                *[f'        "{name}",' for name in UNSERVED],
                "    }",
                ")",
            ]
        )
        + "\n"
    )


# Written by codegen next to the package, copied to docs/ (see codegen.__main__).
LISTING = Path("_docs") / "api-signatures.md"
HAND_WRITTEN_LISTING = [
    "create_post(post: Post | None = None, *, channel_id: str | None = None,"
    " user_id: str | None = None, message: str | None = None, root_id: str = '') -> Post",
    "get_plugin_id() -> str  # from MATTERMOST_PLUGIN_ID or the manifest, no call",
    "kv_get(key: str) -> bytes | None",
    "kv_get_as(key: str, type_: type[T]) -> T | None",
    "kv_set(key: str, value: object, *, expires_in: int | float | timedelta | None = None) -> None",
]


def _render_listing(groups: dict[str, list[RenderedMethod]]) -> str:
    """Every method's signature, grouped as the mixins are: the rule's outcome, readable."""
    out = [
        "<!-- snippets: covered by=tests/client/test_signatures.py"
        ' reason="signatures, not statements: python -m codegen --check keeps them equal to'
        " the clients'; test_signatures.py checks that every method is listed\" -->",
        "",
        "# Plugin API signatures",
        "",
        "Generated by `python -m codegen` from the protocol and the rule in",
        "`codegen/signatures.py` (see [the signature rule](plugin-api.md#the-signature-rule)):",
        "do not edit. Positional parameters say what a call acts on or writes, in Go's order;",
        "the rest are keyword-only with defaults. Every method also takes `timeout=` (seconds).",
        "`PluginAPIClient` and `AsyncPluginAPIClient` have the same signatures. Methods marked",
        "*not served* raise `PluginAPIError` (501) without a call: the server does not answer",
        "them.",
        "",
        "## Hand-written",
        "",
        "```python",
        *HAND_WRITTEN_LISTING,
        "```",
    ]
    for group in sorted(groups):
        out += ["", f"## {group}", "", "```python"]
        for m in sorted(groups[group], key=lambda m: m.name):
            line = m.signature
            served = not any("raise not_served(" in text for text in m.lines_sync)
            out.append(line if served else f"{line}  # not served")
        out.append("```")
    return "\n".join(out) + "\n"


def _render_group(group: str, module: _Module, methods: list[RenderedMethod]) -> str:
    methods = sorted(methods, key=lambda m: m.name)
    uses = "\n".join(line for m in methods for line in m.lines_sync)
    imports = set(module.imports)
    if "_convert." in uses:
        imports.add("from mattermost_plugin import _convert")
    if "_json." in uses:
        imports.add("import json as _json")
    imports.add("from mattermost_plugin._transport import AsyncTransport, SyncTransport")
    if "reject(" in uses:
        imports.add("from mattermost_plugin._arguments import CONVERSION_ERRORS, reject")
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
