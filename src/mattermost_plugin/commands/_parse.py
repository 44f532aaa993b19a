"""The command line: words (quoted or not), ``--name value`` options, the rest of the line.

Words are separated by whitespace. A word that starts with a quote (``"``, ``'``, or the
typographic U+201C and U+2018 that phones and macOS type) runs to its closing quote, spaces
included; inside it a backslash escapes the quote or a backslash. A quote inside a word
(``don't``) is an ordinary character. A greedy parameter takes the rest of the line exactly
as typed. Whatever the line, :func:`parse_arguments` returns values of the declared types or
raises :class:`UsageError` naming the problem; it never raises anything else.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from mattermost_plugin.commands._declare import UsageError
from mattermost_plugin.commands._signature import (
    CommandSignature,
    ConversionError,
    Param,
)

__all__ = ["Scanner", "Token", "parse_arguments"]

_CLOSING = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}
_SPACE = re.compile(r"\s*")
_WORD = re.compile(r"\S*")
_SPACED_WORD = re.compile(r"\s*(\S*)")


class Token(NamedTuple):
    text: str
    quoted: bool


class Scanner:
    """Reads words off a command line, left to right, on demand: text a greedy parameter
    takes is never tokenized (a stray quote there is just a character)."""

    __slots__ = ("line", "position")

    def __init__(self, line: str, position: int = 0) -> None:
        self.line = line
        self.position = position

    def at_end(self) -> bool:
        self.position = _SPACE.match(self.line, self.position).end()  # type: ignore[union-attr]
        return self.position >= len(self.line)

    def rest(self) -> str:
        """The rest of the line as typed, without surrounding whitespace."""
        rest = self.line[self.position :].strip()
        self.position = len(self.line)
        return rest

    def upcoming_option(self) -> bool:
        """Whether the next word starts with ``--`` (after :meth:`at_end`)."""
        return self.line.startswith("--", self.position)

    def peek(self) -> Token | None:
        position = self.position
        try:
            return self.next() if not self.at_end() else None
        finally:
            self.position = position

    def word(self) -> str:
        """The next whitespace-separated word, quotes not interpreted (subcommand names)."""
        match = _SPACED_WORD.match(self.line, self.position)
        self.position = match.end()  # type: ignore[union-attr]
        return match[1]  # type: ignore[index]

    def next(self) -> Token:
        """The next word; raises :class:`UsageError` for an unclosed quote."""
        line = self.line
        start = _SPACE.match(line, self.position).end()  # type: ignore[union-attr]
        closing = _CLOSING.get(line[start]) if start < len(line) else None
        if closing is None:
            end = _WORD.match(line, start).end()  # type: ignore[union-attr]
            self.position = end
            return Token(line[start:end], False)
        parts: list[str] = []
        index = start + 1
        while index < len(line):
            char = line[index]
            if char == "\\" and index + 1 < len(line) and line[index + 1] in (closing, "\\"):
                parts.append(line[index + 1])
                index += 2
                continue
            if char == closing:
                after = index + 1
                if after < len(line) and not line[after].isspace():
                    shown = _quoted(line[start : after + 20])
                    raise UsageError(f"Put a space after the closing quote in {shown}.")
                self.position = after
                return Token("".join(parts), True)
            parts.append(char)
            index += 1
        raise UsageError(
            f"The quote {line[start]} before {_cut(line[start + 1 :], 30)} is never closed."
        )


def _convert(param: Param, raw: str) -> Any:
    try:
        return param.converter(raw)
    except ConversionError as exc:
        raise UsageError(f"Invalid {param.name}: {exc}.", param=param.name) from None


def _is_option(token: Token, options_allowed: bool) -> bool:
    return options_allowed and not token.quoted and token.text.startswith("--")


_SPECIAL = re.compile("--|[" + "".join(_CLOSING) + "]")


def parse_arguments(signature: CommandSignature, scanner: Scanner) -> dict[str, Any]:
    """The values of the parameters the line fills, by name (defaults not included)."""
    values = _parse_plain(signature, scanner)
    return values if values is not None else _parse(signature, scanner)


def _parse_plain(signature: CommandSignature, scanner: Scanner) -> dict[str, Any] | None:
    """The common case, quickly: a line with no quote and no ``--`` is words split at
    whitespace, the greedy parameter taking what the others leave. ``None`` whenever
    :func:`_parse` could answer differently: a quote or ``--`` in the line, a wrong or
    missing argument (its usage message comes from there)."""
    line, position = scanner.line, scanner.position
    if _SPECIAL.search(line, position):
        return None
    positionals = signature.positionals
    if signature.greedy:
        words = line[position:].split(None, len(positionals) - 1)
        if len(words) == len(positionals):
            words[-1] = words[-1].rstrip()
    else:
        words = line[position:].split()
        if len(words) > len(positionals):
            return None
    values: dict[str, Any] = {}
    try:
        for param, word in zip(positionals, words, strict=False):  # words may run out
            values[param.name] = param.converter(word)
    except ConversionError:
        return None
    for param in signature.required:
        if param.name not in values:
            return None
    scanner.position = len(line)
    return values


def _parse(signature: CommandSignature, scanner: Scanner) -> dict[str, Any]:
    """Any line, word by word: quotes, ``--name value`` options, ``--`` and the rest."""
    values: dict[str, Any] = {}
    positionals = signature.positionals
    options = signature.options
    next_positional = 0
    options_allowed = True
    while not scanner.at_end():
        while next_positional < len(positionals) and positionals[next_positional].name in values:
            next_positional += 1  # already given as --name
        pending = positionals[next_positional] if next_positional < len(positionals) else None
        if pending is not None and pending.kind == "greedy":
            upcoming = scanner.peek() if options_allowed and scanner.upcoming_option() else None
            if upcoming is None or not _known_option(upcoming, options):
                values[pending.name] = scanner.rest()
                break
        token = scanner.next()
        if _is_option(token, options_allowed):
            if token.text == "--":
                options_allowed = False
                continue
            _read_option(token.text, scanner, options, values)
            continue
        if pending is None:
            raise UsageError(f"Unexpected argument {_quoted(token.text)}.{_hint(signature)}")
        values[pending.name] = _convert(pending, token.text)
        next_positional += 1
    for param in signature.required:
        if param.name not in values:
            if param.kind == "option":
                raise UsageError(f"Missing --{param.name}.", param=param.name)
            raise UsageError(f"Missing {param.name}.", param=param.name)
    return values


def _known_option(token: Token, options: dict[str, Param]) -> bool:
    if token.quoted or not token.text.startswith("--"):
        return False
    if token.text == "--":
        return True
    name = token.text[2:].partition("=")[0].lower()
    return name in options


def _read_option(
    text: str, scanner: Scanner, options: dict[str, Param], values: dict[str, Any]
) -> None:
    name, has_value, inline = text[2:].partition("=")
    param = options.get(name.lower())
    if param is None:
        known = sorted({f"--{p.name}" for p in options.values()})
        listed = f" Options: {', '.join(known)}." if known else " This command has no options."
        raise UsageError(
            f"Unknown option {_quoted('--' + name)}.{listed} To pass text that starts with "
            "--, quote it or put -- before it."
        )
    if param.name in values:
        raise UsageError(f"{param.name} is given twice.", param=param.name)
    if has_value:
        raw = inline
    elif param.flag:
        values[param.name] = True
        return
    else:
        if scanner.at_end():
            raise UsageError(f"--{name} needs a value.", param=param.name)
        raw = scanner.next().text
    values[param.name] = _convert(param, raw)


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(text: str, limit: int = 40) -> str:
    return f'"{_cut(text, limit)}"'


def _hint(signature: CommandSignature) -> str:
    if any(p.converter.value_type is str for p in signature.positionals):
        return " Quote text that has spaces in it."
    return ""
