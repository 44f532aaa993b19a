"""Help, usage lines and autocomplete hints, generated from signatures and docstrings.

Usage syntax: ``<name>`` a required word, ``[name]`` an optional one, ``<name...>`` the
rest of the line, ``--name <value>`` an option (``[--name]`` a yes/no flag).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from mattermost_plugin.commands._signature import CommandSignature, Param

__all__ = ["arguments_usage", "describe", "parameter_docs", "parameter_lines"]

_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params)\s*:\s*$")
_ENTRY = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def describe(func: Callable[..., Any], description: str | None) -> str:
    """The command's one-paragraph description: given, else the docstring's first one."""
    if description is not None:
        return " ".join(description.split())
    doc = inspect.getdoc(func) or ""
    first = doc.split("\n\n", 1)[0]
    return " ".join(first.split())


def parameter_docs(func: Callable[..., Any]) -> dict[str, str]:
    """Parameter descriptions from a Google-style ``Args:`` section of the docstring."""
    doc = inspect.getdoc(func) or ""
    found: dict[str, str] = {}
    in_section = False
    current: str | None = None
    section_indent = entry_indent = 0
    for line in doc.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if _SECTION.match(stripped):
            in_section, current, section_indent = True, None, indent
            continue
        if not in_section:
            continue
        if not stripped:
            current = None
            continue
        if indent <= section_indent:  # the next section starts
            in_section = False
            continue
        entry = _ENTRY.match(stripped)
        if entry is not None and (current is None or indent <= entry_indent):
            current, entry_indent = entry.group(1), indent
            found[current] = entry.group(2).strip()
        elif current is not None:
            found[current] = f"{found[current]} {stripped}".strip()
    return found


def _word(param: Param) -> str:
    if param.kind == "greedy":
        return f"<{param.name}...>" if param.required else f"[{param.name}...]"
    if param.kind == "option":
        if param.flag:  # a yes/no option: --name alone
            return f"[--{param.name}]"
        shown = f"--{param.name} <{param.name}>"
        return shown if param.required else f"[{shown}]"
    return f"<{param.name}>" if param.required else f"[{param.name}]"


def arguments_usage(signature: CommandSignature) -> str:
    """``<title...> [--priority <priority>]``: what follows the command's name."""
    words = [_word(p) for p in signature.params if p.kind in ("positional", "option")]
    words += [_word(p) for p in signature.params if p.kind == "greedy"]
    return " ".join(words)


def parameter_lines(signature: CommandSignature) -> list[str]:
    """One Markdown list item per argument: its type, default and description."""
    lines = []
    for param in signature.params:
        if param.kind == "inject":
            continue
        what = param.converter.description
        if param.kind == "greedy":
            what += ", the rest of the line"
        flag_option = param.flag and param.kind == "option"  # its usage says it all
        if not param.required and not flag_option and param.default is not None:
            default = getattr(param.default, "value", param.default)
            if isinstance(param.default, bool):
                default = "yes" if param.default else "no"
            what += f"; default {default}"
        name = f"--{param.name}" if param.kind == "option" else param.name
        text = f"{param.doc} ({what})" if param.doc else what
        lines.append(f"- `{name}`: {text}")
    return lines
