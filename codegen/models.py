"""Pydantic models: descriptors → JSON Schema → datamodel-code-generator.

The JSON Schema names each definition ``<module>.<Class>`` and datamodel-code-generator's
``--treat-dot-as-module`` turns that into one Python module per group, so models load per
module (see ``codegen.ir.module_of``). Two small templates of ours (``codegen/templates``)
put enums on ``ProtoEnum``, which keeps numbers a newer server may send, and write bytes
defaults as ``b""``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from codegen.ir import EnumIR, FieldIR, Kind, MessageIR, ProtoIR

MODELS_PACKAGE = "mattermost_plugin.models"
ENUMS_MODULE = "enums"
TEMPLATES = Path(__file__).parent / "templates"

JSON_LIMITS = (
    "JSON values travel as google.protobuf.Struct/Value: numbers are doubles, so integers "
    "beyond 2**53 lose precision and come back as floats"
)
VALUE_LIMIT = "; an unset value and a JSON null both read as None."

# Every option spelled out: the output is committed and must not drift with tool defaults.
DCG_OPTIONS = [
    "--input-file-type=jsonschema",
    "--output-model-type=pydantic_v2.BaseModel",
    "--base-class=mattermost_plugin._model_base.ProtoModel",
    f"--custom-template-dir={TEMPLATES}",
    # Our Enum template names ProtoEnum; unused copies of this import are removed afterwards.
    "--additional-imports=mattermost_plugin._model_base.ProtoEnum",
    "--use-subclass-enum",
    "--set-default-enum-member",
    "--treat-dot-as-module",
    "--use-annotated",
    "--field-constraints",
    "--strict-nullable",
    "--use-union-operator",
    "--use-standard-collections",
    "--target-python-version=3.10",
    "--use-schema-description",
    "--use-field-description",
    "--use-double-quotes",
    "--keep-model-order",
    "--disable-timestamp",
    # Formatting and import sorting happen afterwards with the project's own ruff config.
    "--formatters",
    "ruff-format",
]


# A placeholder in proto prose (``/plugins/<plugin id>/...``, ``custom_<plugin id>_``):
# Markdown would read ``<plugin id>`` as an HTML tag and drop it, so docs show it as code.
_TEMPLATE = r"[\w/.-]*<[a-z][\w ]*>(?:[\w/-]|\.\.\.|\.(?=\w))*"
PLACEHOLDER = re.compile(rf'"({_TEMPLATE})"|({_TEMPLATE})')  # quotes give way to the code


def prose(text: str) -> str:
    """Proto comment text as it goes into docstrings and pages: placeholders as code."""
    return PLACEHOLDER.sub(lambda m: f"``{m[1] or m[2]}``", text)


def wrap(text: str, width: int = 88) -> str:
    """Wrap each paragraph so docstrings fit the line length (they sit 4 spaces deep)."""
    paragraphs = text.split("\n\n")
    return "\n\n".join(textwrap.fill(prose(" ".join(p.split())), width) for p in paragraphs)


def section_entry(text: str, name: str | None, width: int) -> list[str]:
    """One entry of a Google-style docstring section (``name: text``), wrapped with a
    hanging indent, as the Args and Returns of the clients and hook methods have them."""
    head = f"{name}: " if name is not None else ""
    filled = textwrap.fill(
        head + " ".join(prose(text).split()),
        width,
        initial_indent="    ",
        subsequent_indent="        ",
        break_on_hyphens=False,
        break_long_words=False,
    )
    return filled.splitlines()


def _scalar_schema(py_type: str) -> dict[str, Any]:
    return {
        "str": {"type": "string"},
        "bytes": {"type": "string", "format": "binary"},
        "bool": {"type": "boolean"},
        "int": {"type": "integer"},
        "float": {"type": "number"},
    }[py_type]


ZERO = {"str": "", "bytes": "", "bool": False, "int": 0, "float": 0.0}


def _ref(ir: ProtoIR, full_name: str) -> dict[str, Any]:
    target = ir.messages[full_name]
    return {"$ref": f"#/$defs/{target.module}.{target.class_name}"}


def _enum_type(ir: ProtoIR, full_name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{ENUMS_MODULE}.{ir.enums[full_name].class_name}"}


def enum_schema(enum: EnumIR) -> dict[str, Any]:
    doc = enum.comment or f"The protobuf enum ``{enum.full_name.lstrip('.')}``."
    return {
        "type": "integer",
        "description": wrap(doc),
        "enum": [number for _, number, _ in enum.values],
        "x-enum-varnames": [member for member, _, _ in enum.values],
    }


def _item_schema(ir: ProtoIR, f: FieldIR) -> dict[str, Any]:
    """Schema of one value of the field, ignoring repetition and presence."""
    if f.kind is Kind.SCALAR or f.kind is Kind.WRAPPER:
        return _scalar_schema(f.py_type)
    if f.kind is Kind.ENUM:
        return _enum_type(ir, f.ref)
    if f.kind is Kind.MESSAGE:
        return _ref(ir, f.ref)
    if f.kind is Kind.STRUCT:
        return {"type": "object", "additionalProperties": True}
    if f.kind is Kind.VALUE:
        return {}
    assert f.kind is Kind.MAP and f.map_key and f.map_value
    return {"type": "object", "additionalProperties": _item_schema(ir, f.map_value)}


def field_schema(ir: ProtoIR, f: FieldIR) -> dict[str, Any]:
    item = _item_schema(ir, f)
    if f.repeated:
        schema: dict[str, Any] = {"type": "array", "items": item, "default": []}
    elif f.kind in (Kind.MAP, Kind.STRUCT):
        schema = {**item, "default": {}}
    elif f.kind is Kind.VALUE:
        schema = {"default": None}
    elif f.optional:
        schema = {"anyOf": [item, {"type": "null"}], "default": None}
    elif f.kind is Kind.ENUM:
        schema = {**item, "default": 0}
    else:
        schema = {**item, "default": ZERO[f.py_type]}
    description = f.comment
    if f.kind in (Kind.STRUCT, Kind.VALUE) or (
        f.kind is Kind.MAP and f.map_value and f.map_value.kind is Kind.VALUE
    ):
        limit = JSON_LIMITS + (VALUE_LIMIT if f.kind is Kind.VALUE else ".")
        description = f"{description}\n\n{limit}" if description else limit
    if description:
        schema["description"] = wrap(description)
    return schema


def message_schema(ir: ProtoIR, msg: MessageIR) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: field_schema(ir, f) for f in msg.fields},
    }
    doc = msg.comment or f"The protobuf message ``{msg.full_name.lstrip('.')}``."
    schema["description"] = wrap(doc)
    return schema


def json_schema(ir: ProtoIR) -> dict[str, Any]:
    defs = {
        f"{m.module}.{m.class_name}": message_schema(ir, m)
        for m in sorted(ir.messages.values(), key=lambda m: (m.module, m.full_name))
    }
    for enum in sorted(ir.enums.values(), key=lambda e: e.class_name):
        defs[f"{ENUMS_MODULE}.{enum.class_name}"] = enum_schema(enum)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs}


def run_datamodel_codegen(schema: dict[str, Any], out: Path) -> None:
    """Generate the model modules into ``out`` (a package folder)."""
    with tempfile.TemporaryDirectory(prefix="mm-dcg-") as tmp:
        schema_file = Path(tmp) / "models.schema.json"
        schema_file.write_text(json.dumps(schema, indent=2))  # property order = field order
        generated = Path(tmp) / "models"
        cmd = [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--input",
            str(schema_file),
            "--output",
            str(generated),
            *DCG_OPTIONS,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=tmp)
        if result.returncode != 0:
            raise SystemExit(f"codegen: datamodel-code-generator failed:\n{result.stderr}")
        out.mkdir(parents=True, exist_ok=True)
        # The package __init__ is ours (lazy loading); take only the per-group modules.
        for module in sorted(generated.glob("*.py")):
            if module.name != "__init__.py":
                (out / module.name).write_text(module.read_text())


def package_init(ir: ProtoIR) -> str:
    """``models/__init__.py``: every model by name, imported on first access."""
    where = {m.class_name: m.module for m in ir.messages.values()}
    where.update({e.class_name: ENUMS_MODULE for e in ir.enums.values()})
    names = sorted(where)
    lines = [
        '"""Typed Pydantic v2 models of every Plugin API message.',
        "",
        "Generated by codegen from proto/: do not edit. ``from mattermost_plugin.models import",
        "User`` imports only the module that defines ``User``: the ~650 models are split by",
        "proto file and built on first use, so importing the SDK stays fast.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "if TYPE_CHECKING:  # what type checkers and IDEs see; nothing is imported at run time",
    ]
    by_module: dict[str, list[str]] = {}
    for name in names:
        by_module.setdefault(where[name], []).append(name)
    for module in sorted(by_module):
        imported = ", ".join(f"{n} as {n}" for n in by_module[module])
        lines.append(f"    from {MODELS_PACKAGE}.{module} import {imported}")
    lines += [
        "",
        "_MODULE_OF: dict[str, str] = {",
        *[f'    "{n}": "{where[n]}",' for n in names],
        "}",
        "",
        "__all__ = [",
        *[f'    "{n}",' for n in names],
        "]",
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        "    module = _MODULE_OF.get(name)",
        "    if module is None:",
        '        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        '    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)',
        "    globals()[name] = value  # later lookups skip __getattr__",
        "    return value",
        "",
        "",
        "def __dir__() -> list[str]:",
        "    return __all__",
    ]
    return "\n".join(lines) + "\n"


def generate(ir: ProtoIR, out: Path) -> None:
    """Write ``mattermost_plugin/models`` under ``out``."""
    package = out / "mattermost_plugin" / "models"
    run_datamodel_codegen(json_schema(ir), package)
    (package / "__init__.py").write_text(package_init(ir))
