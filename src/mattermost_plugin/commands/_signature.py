"""A command handler's signature, read once: its parameters, their types and converters.

Each parameter after ``self`` is either filled from the command line (converted by its
type) or injected (``CommandArgs``, ``PluginContext``). Unsupported types are reported when
the plugin class is defined, naming the parameter.
"""

from __future__ import annotations

import enum
import inspect
import math
import typing
from collections.abc import Callable
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from mattermost_plugin.commands._declare import Greedy

__all__ = [
    "CommandSignature",
    "ConversionError",
    "Converter",
    "Mention",
    "Param",
    "analyze",
]


class ConversionError(Exception):
    """A value that does not convert; the message completes "<name>: …"."""


class Converter:
    """Turns one command-line word into a value of the parameter's type."""

    description: str = "text"
    """What the value is, for help: ``"text"``, ``"a whole number"``, …"""
    value_type: type = str

    def __call__(self, raw: str) -> Any:
        return raw


class _Int(Converter):
    description = "a whole number"
    value_type = int

    def __call__(self, raw: str) -> Any:
        try:
            return int(raw)
        except ValueError:
            raise ConversionError(f"expected a whole number, got {_shown(raw)}") from None


class _Float(Converter):
    description = "a number"
    value_type = float

    def __call__(self, raw: str) -> Any:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ConversionError(f"expected a number, got {_shown(raw)}")
        return value


_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


class _Bool(Converter):
    description = "yes or no"
    value_type = bool

    def __call__(self, raw: str) -> Any:
        word = raw.lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ConversionError(f"expected yes or no (true/false, on/off), got {_shown(raw)}")


class _Choice(Converter):
    """``Literal[...]`` or an ``Enum``: one of fixed words, matched case-insensitively."""

    def __init__(self, choices: dict[str, Any], shown: list[str], value_type: type) -> None:
        self.choices = choices  # lowercase word → value
        self.shown = shown
        self.value_type = value_type
        self.description = "one of " + ", ".join(shown)

    def __call__(self, raw: str) -> Any:
        try:
            return self.choices[raw.lower()]
        except KeyError:
            raise ConversionError(
                f"expected one of {', '.join(self.shown)}, got {_shown(raw)}"
            ) from None


class Mention:
    """A user or channel named on the command line, resolved with the API before the
    handler runs: ``@alice``, ``alice`` or a user id; ``~town-square`` or ``town-square``."""

    __slots__ = ("kind", "name")

    def __init__(self, kind: Literal["user", "channel"], name: str) -> None:
        self.kind, self.name = kind, name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mention) and (self.kind, self.name) == (other.kind, other.name)

    def __hash__(self) -> int:
        return hash((self.kind, self.name))

    def __repr__(self) -> str:
        return f"Mention({self.kind!r}, {self.name!r})"


class _Mention(Converter):
    def __init__(self, kind: Literal["user", "channel"]) -> None:
        self.kind = kind
        self.sigil = "@" if kind == "user" else "~"
        self.description = f"a {kind} (@name)" if kind == "user" else "a channel (~name)"
        self.value_type = Mention

    def __call__(self, raw: str) -> Any:
        name = raw.removeprefix(self.sigil).strip()
        if not name:
            raise ConversionError(f"expected a {self.kind} name after {self.sigil}")
        return Mention(self.kind, name.lower())


def _shown(raw: str, limit: int = 40) -> str:
    """User input quoted for a message, cut short."""
    text = raw if len(raw) <= limit else raw[: limit - 1] + "…"
    return f'"{text}"'


ParamKind = Literal["positional", "greedy", "option", "inject"]


# Plain classes rather than dataclasses here: building a dataclass costs about a
# millisecond at import, and plugin start-up matters.
class Param:
    """One parameter of a command handler.

    Attributes:
        kind: ``positional`` (a word, or ``--name value`` when it has a default),
            ``greedy`` (the rest of the line), ``option`` (keyword-only: ``--name value``
            only), ``inject``.
        keyword: passed to the handler by keyword (keyword-only parameters).
        inject: for injected parameters, ``"args"`` (CommandArgs) or ``"context"``
            (PluginContext).
    """

    __slots__ = ("converter", "default", "doc", "inject", "keyword", "kind", "name", "required")

    def __init__(
        self,
        name: str,
        kind: ParamKind,
        converter: Converter,
        required: bool,
        default: Any,
        keyword: bool,
        inject: str = "",
        doc: str = "",
    ) -> None:
        self.name, self.kind, self.converter = name, kind, converter
        self.required, self.default, self.keyword = required, default, keyword
        self.inject, self.doc = inject, doc

    def __repr__(self) -> str:
        return f"<Param {self.name} {self.kind}>"

    @property
    def flag(self) -> bool:
        """A ``bool``: as an option, ``--name`` alone means true."""
        return isinstance(self.converter, _Bool)


class CommandSignature:
    """The parsed signature of one handler.

    Attributes:
        params: every parameter after ``self``.
        positionals: the parameters the words fill, in order (the greedy one last).
        options: ``--name`` (and ``--the-name`` for ``the_name``) → parameter: every
            parameter with a default, and keyword-only ones.
        mentions: some parameter is a user or a channel, resolved with the API first.
        plain: ``(name, default)`` of every parameter when all are filled from the line
            and passed by position (the quick way to call the handler); else ``None``.
        required: the parameters the line must fill, in order.
        greedy: the last positional takes the rest of the line.
    """

    __slots__ = ("greedy", "mentions", "options", "params", "plain", "positionals", "required")

    def __init__(self, params: tuple[Param, ...]) -> None:
        self.params = params
        self.positionals = tuple(p for p in params if p.kind in ("positional", "greedy"))
        self.required = tuple(p for p in params if p.required)
        self.greedy = bool(self.positionals) and self.positionals[-1].kind == "greedy"
        self.options: dict[str, Param] = {}
        for param in params:
            if param.kind == "option" or (param.kind == "positional" and not param.required):
                self.options[param.name.lower()] = param
                self.options[param.name.lower().replace("_", "-")] = param
        self.mentions = any(p.converter.value_type is Mention for p in params)
        plain = not any(p.keyword or p.inject for p in params)
        self.plain = tuple((p.name, p.default) for p in params) if plain else None


def _model_name(annotation: object) -> str | None:
    """The name of an SDK model class (``User``, ``CommandArgs``, …), without importing the
    models: the plugin module has imported the ones it annotates with."""
    if isinstance(annotation, type) and annotation.__module__.startswith(
        "mattermost_plugin.models."
    ):
        return annotation.__name__
    return None


_INJECTED = {"CommandArgs": "args", "PluginContext": "context"}
_SIMPLE: dict[object, Converter] = {str: Converter(), int: _Int(), float: _Float(), bool: _Bool()}


def _strip_optional(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Union or origin is UnionType:
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _choice(annotation: Any) -> _Choice | None:
    if get_origin(annotation) is Literal:
        values = get_args(annotation)
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
            raise TypeError("Literal choices must be strings or integers")
        shown = [str(v) for v in values]
        types = {type(v) for v in values}
        value_type: type = types.pop() if len(types) == 1 else object
        words = {word.lower(): value for word, value in zip(shown, values, strict=True)}
        return _Choice(words, shown, value_type)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        members = list(annotation)
        if not members:
            raise TypeError(f"{annotation.__name__} has no members")
        by_value = all(isinstance(m.value, str) for m in members)
        shown = [str(m.value) if by_value else m.name.lower() for m in members]
        choices: dict[str, Any] = {}
        for member in members:  # names and values both work; the shown word wins a clash
            choices.setdefault(member.name.lower(), member)
            choices.setdefault(str(member.value).lower(), member)
        for word, member in zip(shown, members, strict=True):
            choices[word.lower()] = member
        return _Choice(choices, shown, annotation)
    return None


def _converter(annotation: Any) -> Converter:
    simple = _SIMPLE.get(annotation)
    if simple is not None:
        return simple
    choice = _choice(annotation)
    if choice is not None:
        return choice
    name = _model_name(annotation)
    if name == "User":
        return _Mention("user")
    if name == "Channel":
        return _Mention("channel")
    raise TypeError(
        f"unsupported type {getattr(annotation, '__name__', annotation)!r}; use str, int, "
        "float, bool, a Literal, an Enum, User, Channel, Text, CommandArgs or PluginContext"
    )


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except NameError as exc:
        raise NameError(
            f"{func.__qualname__}: cannot read the annotation: {exc}; import the type at run "
            "time (not under TYPE_CHECKING)"
        ) from exc


def analyze(func: Callable[..., Any], where: str, docs: dict[str, str]) -> CommandSignature:
    """Read ``func``'s signature (a method: ``self`` first). ``where`` names the command in
    errors; ``docs`` maps parameter names to their docstring text. Raises ``TypeError`` for
    a signature that cannot be a command, ``NameError`` for an annotation that does not
    resolve yet (a type defined later in the module)."""
    signature = inspect.signature(func)
    listed = list(signature.parameters.values())
    if not listed or listed[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(f"{where}: a command handler is a method, (self, ...)")
    hints = _type_hints(func)
    params: list[Param] = []
    for parameter in listed[1:]:
        params.append(_param(parameter, hints, where, docs))
    fillable = [p for p in params if p.kind in ("positional", "greedy")]
    for index, param in enumerate(fillable):
        if param.kind == "greedy" and index != len(fillable) - 1:
            later = fillable[index + 1].name
            raise TypeError(
                f"{where}: {param.name} takes the rest of the line, so it must be the last "
                f"parameter the line fills ({later} comes after it; make {later} keyword-only)"
            )
    return CommandSignature(tuple(params))


def _param(
    parameter: inspect.Parameter, hints: dict[str, Any], where: str, docs: dict[str, str]
) -> Param:
    name = parameter.name
    if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
        raise TypeError(f"{where}: *{name} and **{name} cannot be command arguments")
    annotation: Any = hints.get(name, str)  # unannotated: a word, as typed
    greedy = False
    if get_origin(annotation) is Annotated:
        greedy = any(m is Greedy or isinstance(m, Greedy) for m in annotation.__metadata__)
        annotation = annotation.__origin__
    annotation = _strip_optional(annotation)
    has_default = parameter.default is not inspect.Parameter.empty
    default = parameter.default if has_default else None
    keyword = parameter.kind is inspect.Parameter.KEYWORD_ONLY
    injected = _INJECTED.get(_model_name(annotation) or "")
    doc = docs.get(name, "")
    if injected is not None:
        return Param(name, "inject", Converter(), False, default, keyword, injected, doc)
    try:
        converter = _converter(annotation)
    except TypeError as exc:
        raise TypeError(f"{where}: parameter {name}: {exc}") from None
    if greedy:
        if converter.value_type is not str or isinstance(converter, _Choice):
            raise TypeError(f"{where}: parameter {name}: Greedy applies to str parameters")
        if keyword:
            raise TypeError(f"{where}: parameter {name}: a Greedy parameter cannot be keyword-only")
        return Param(name, "greedy", converter, not has_default, default, keyword, "", doc)
    kind: ParamKind = "option" if keyword else "positional"
    return Param(name, kind, converter, not has_default, default, keyword, "", doc)
