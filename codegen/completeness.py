"""The reference is complete: every parameter and result of the protocol has a proto comment.

The comments are the documentation, written once: they become the ``Args:`` and ``Returns:``
of the client methods, the arguments of the hook reference and the field descriptions of the
models. A field without one would leave a hole in the reference, so generation stops and
names it instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from codegen.hooks import hook_rpcs
from codegen.ir import FieldIR, MessageIR, MethodIR, ProtoIR

# Fields no caller or handler sees as such: a response's AppError (the client raises it; a
# hook's error is what its handler raises, documented per hook kind) and the RequestContext
# a hook request starts with (the server sends it empty).
ERROR = {"error"}
REQUEST_CONTEXT = {"context"}


def _fields(ir: ProtoIR) -> Iterator[tuple[str, MethodIR, MessageIR, FieldIR]]:
    """(role, method, message, field) for every parameter and result of the protocol."""
    for method in ir.service("PluginAPI").methods:
        yield from _of("parameter", method, ir.messages[method.input], set())
        yield from _of("result", method, ir.messages[method.output], ERROR)
    for method, request, response in hook_rpcs(ir):
        yield from _of("hook argument", method, request, REQUEST_CONTEXT)
        yield from _of("hook result", method, response, ERROR)


def _of(
    role: str, method: MethodIR, msg: MessageIR, skip: set[str]
) -> Iterator[tuple[str, MethodIR, MessageIR, FieldIR]]:
    for f in msg.fields:
        if f.name not in skip:
            yield role, method, msg, f


def undocumented(ir: ProtoIR) -> list[str]:
    """One line per RPC or field that has no comment, naming it and its proto file."""
    out = []
    for service in ("PluginAPI", "PluginHooks"):
        for method in ir.service(service).methods:
            if not method.comment:
                out.append(f"rpc {service}.{method.name}")
    for role, method, msg, f in _fields(ir):
        if not f.comment:
            where = msg.proto_file.rsplit("/", 1)[-1]
            out.append(f"{msg.pb_path}.{f.name} ({where}: {role} of {method.name})")
    return out


def check(ir: ProtoIR) -> None:
    """Stop generation, naming every missing comment, unless the protos document everything."""
    missing = undocumented(ir)
    if missing:
        listing = "\n".join(f"  {line}" for line in missing)
        raise SystemExit(
            f"codegen: {len(missing)} proto element(s) have no comment, and the reference"
            f" documents every parameter and result from them:\n{listing}\n"
            "Write a leading // comment above each in proto/ (what the value is, and what the"
            " server does with it that a caller must know: units, what empty means, limits)."
        )
