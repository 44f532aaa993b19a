"""The command-line parser: every argument type, every error path, and a property: any line
either parses into the declared types or gives a usage message, never another exception."""

from __future__ import annotations

import enum
import inspect
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mattermost_plugin.commands import Greedy, Text, UsageError
from mattermost_plugin.commands._parse import Scanner, _parse, _parse_plain, parse_arguments
from mattermost_plugin.commands._signature import CommandSignature, Mention, analyze
from mattermost_plugin.models import Channel, CommandArgs, PluginContext, User


class Color(enum.Enum):
    RED = "red"
    DARK_BLUE = "dark-blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def signature_of(func: Any) -> CommandSignature:
    return analyze(func, "test", {})


def parse(func: Any, line: str) -> dict[str, Any]:
    return parse_arguments(signature_of(func), Scanner(line))


def usage_error(func: Any, line: str) -> UsageError:
    with pytest.raises(UsageError) as raised:
        parse(func, line)
    return raised.value


# -- types --------------------------------------------------------------------------------


def test_words_and_quotes() -> None:
    def handler(self: object, a: str, b: str, c: str, d: str) -> None: ...

    assert parse(handler, "plain 'single quoted' \"double quoted\" don't") == {
        "a": "plain",
        "b": "single quoted",
        "c": "double quoted",
        "d": "don't",  # a quote inside a word is a character
    }
    smart = "\u201csmart quotes\u201d \u2018also smart\u2019"
    assert parse(handler, f'{smart} "" x') == {
        "a": "smart quotes",
        "b": "also smart",
        "c": "",
        "d": "x",
    }
    assert parse(handler, r'"say \"hi\"" "back\\slash" a\b c') == {
        "a": 'say "hi"',
        "b": "back\\slash",
        "c": "a\\b",
        "d": "c",
    }


def test_unannotated_parameters_are_words() -> None:
    def handler(self, name, count=2):  # type: ignore[no-untyped-def]
        ...

    assert parse(handler, "x 3") == {"name": "x", "count": "3"}


def test_numbers() -> None:
    def handler(self: object, count: int, ratio: float) -> None: ...

    assert parse(handler, "-3 2.5") == {"count": -3, "ratio": 2.5}
    assert parse(handler, "1_000 1e3") == {"count": 1000, "ratio": 1000.0}
    assert usage_error(handler, "2.5 1").message == (
        'Invalid count: expected a whole number, got "2.5".'
    )
    assert usage_error(handler, "1 inf").param == "ratio"
    assert usage_error(handler, "1 nan").message == 'Invalid ratio: expected a number, got "nan".'
    assert usage_error(handler, "9" * 5000 + " 1").message.startswith("Invalid count:")


def test_bools() -> None:
    def handler(self: object, flag: bool) -> None: ...

    for word in ("yes", "TRUE", "on", "1", "y"):
        assert parse(handler, word) == {"flag": True}
    for word in ("no", "False", "off", "0", "n"):
        assert parse(handler, word) == {"flag": False}
    assert usage_error(handler, "maybe").message == (
        'Invalid flag: expected yes or no (true/false, on/off), got "maybe".'
    )


def test_literal_and_enum_choices() -> None:
    def handler(
        self: object, mode: Literal["fast", "slow"], size: Literal[1, 2], color: Color, level: Level
    ) -> None: ...

    assert parse(handler, "FAST 2 Dark-Blue high") == {
        "mode": "fast",
        "size": 2,
        "color": Color.DARK_BLUE,
        "level": Level.HIGH,
    }
    assert parse(handler, "slow 1 dark_blue 1")["color"] is Color.DARK_BLUE  # the name works
    assert parse(handler, "slow 1 red 1")["level"] is Level.LOW  # so does an int value
    assert usage_error(handler, "medium 1 red low").message == (
        'Invalid mode: expected one of fast, slow, got "medium".'
    )
    assert usage_error(handler, "fast 3 red low").param == "size"
    assert usage_error(handler, "fast 1 green low").message == (
        'Invalid color: expected one of red, dark-blue, got "green".'
    )
    assert usage_error(handler, "fast 1 red 3").message == (
        'Invalid level: expected one of low, high, got "3".'
    )


def test_mentions_are_parsed_for_resolution() -> None:
    def handler(self: object, who: User, where: Channel) -> None: ...

    assert parse(handler, "@Alice ~Town-Square") == {
        "who": Mention("user", "alice"),
        "where": Mention("channel", "town-square"),
    }
    assert parse(handler, "alice town-square")["where"] == Mention("channel", "town-square")
    assert usage_error(handler, "@ ~x").message == "Invalid who: expected a user name after @."


def test_injected_parameters_are_not_arguments() -> None:
    def handler(self: object, context: PluginContext, text: Text, args: CommandArgs) -> None: ...

    signature = signature_of(handler)
    assert [(p.name, p.kind, p.inject) for p in signature.params] == [
        ("context", "inject", "context"),
        ("text", "greedy", ""),
        ("args", "inject", "args"),
    ]
    assert parse(handler, "anything at all") == {"text": "anything at all"}


# -- greedy text, optionals, options -------------------------------------------------------


def test_greedy_text_is_the_rest_of_the_line_as_typed() -> None:
    def handler(self: object, count: int, note: Text) -> None: ...

    line = '3   buy "milk  and\teggs\n  now '
    assert parse(handler, line) == {"count": 3, "note": 'buy "milk  and\teggs\n  now'}
    assert usage_error(handler, "3").message == "Missing note."

    def annotated(self: object, note: Annotated[str, Greedy] = "") -> None: ...

    assert parse(annotated, "") == {}
    assert parse(annotated, " 'a' b") == {"note": "'a' b"}


def test_optionals_by_position_or_by_name() -> None:
    def handler(self: object, name: str, count: int = 1, unit: str = "x") -> None: ...

    assert parse(handler, "a") == {"name": "a"}  # defaults are the handler's own
    assert parse(handler, "a 2 kg") == {"name": "a", "count": 2, "unit": "kg"}
    assert parse(handler, "a --unit kg") == {"name": "a", "unit": "kg"}
    assert parse(handler, "--unit=kg a 3") == {"name": "a", "unit": "kg", "count": 3}
    assert parse(handler, "a --count 4 kg") == {"name": "a", "count": 4, "unit": "kg"}
    assert usage_error(handler, "a --name b").message.startswith('Unknown option "--name".')
    assert usage_error(handler, "a --count 2 --count 3").message == "count is given twice."
    assert usage_error(handler, "a --count").message == "--count needs a value."
    assert usage_error(handler, "a 1 kg extra").message == (
        'Unexpected argument "extra". Quote text that has spaces in it.'
    )


def test_keyword_only_parameters_are_options() -> None:
    def handler(
        self: object, text: Text, *, all: bool = False, max_items: int = 5, tag: str
    ) -> None: ...

    assert parse(handler, "--tag x hello world") == {"tag": "x", "text": "hello world"}
    assert parse(handler, "--all --max-items 2 --tag=y hi") == {
        "all": True,
        "max_items": 2,
        "tag": "y",
        "text": "hi",
    }
    assert usage_error(handler, "--tag t --tag u hi").message == "tag is given twice."
    assert parse(handler, "--all=no --tag t hi") == {"all": False, "tag": "t", "text": "hi"}
    assert usage_error(handler, "hello").message == "Missing --tag."
    # Text starts at the first word that is not a known option: unknown ones are text.
    assert parse(handler, "--tag t --unknown stays") == {"tag": "t", "text": "--unknown stays"}
    assert parse(handler, "--tag t -- --all is text") == {"tag": "t", "text": "--all is text"}
    assert parse(handler, '--tag t "--all" quoted') == {"tag": "t", "text": '"--all" quoted'}


def test_bool_parameters_are_flags_by_name() -> None:
    def handler(self: object, word: str, loud: bool = False) -> None: ...

    assert parse(handler, "hi yes") == {"word": "hi", "loud": True}
    assert parse(handler, "--loud hi") == {"loud": True, "word": "hi"}
    assert parse(handler, "hi --loud=off") == {"word": "hi", "loud": False}


def test_options_and_words_outside_greedy_text() -> None:
    def handler(self: object, word: str, *, verbose: bool = False) -> None: ...

    assert parse(handler, "-- --verbose") == {"word": "--verbose"}
    assert parse(handler, '"--verbose" --verbose') == {"word": "--verbose", "verbose": True}
    error = usage_error(handler, "--loud x")
    assert error.message == (
        'Unknown option "--loud". Options: --verbose. To pass text that starts with --, quote '
        "it or put -- before it."
    )

    def no_options(self: object, word: str) -> None: ...

    assert "This command has no options." in usage_error(no_options, "--x").message


def test_broken_quotes_are_usage_errors() -> None:
    def handler(self: object, a: str, b: str = "") -> None: ...

    assert usage_error(handler, '"unclosed words').message == (
        'The quote " before unclosed words is never closed.'
    )
    assert usage_error(handler, "x 'open").message == "The quote ' before open is never closed."
    assert usage_error(handler, '"ab"cd').message == (
        'Put a space after the closing quote in ""ab"cd".'
    )
    long = usage_error(handler, '"' + "x" * 100).message
    assert len(long) < 80 and long.endswith("… is never closed.")


# -- the property ---------------------------------------------------------------------------

_TYPES: list[Any] = [str, int, float, bool, Literal["a", "b"], Literal[1, 2], Color, User, Channel]
_EMPTY = inspect.Parameter.empty


def _build(spec: list[tuple[Any, bool]], greedy: bool, options: list[tuple[Any, bool]]) -> Any:
    """A handler whose signature is ``spec`` (annotation, has default) positionals, a greedy
    text, and keyword-only ``options``."""
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    seen_default = False
    for index, (annotation, has_default) in enumerate(spec):
        seen_default = seen_default or has_default
        name = f"p{index}"
        default = None if seen_default else _EMPTY
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
        )
        annotations[name] = annotation
    if greedy:
        default = "" if seen_default else _EMPTY
        parameters.append(
            inspect.Parameter("rest", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
        )
        annotations["rest"] = Text
    for index, (annotation, has_default) in enumerate(options):
        name = f"opt_{index}"
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=None if has_default else _EMPTY
            )
        )
        annotations[name] = annotation

    def handler(*args: Any, **kwargs: Any) -> None: ...

    handler.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    handler.__annotations__ = annotations
    return handler


_pieces = st.sampled_from(
    ["a", "b", "1", "2", "-3", "2.5", "yes", "no", "red", "dark-blue", "@alice", "~town",
     '"', "'", "\u201c", "\u201d", "\u2018", "\\", "--", "--p1", "--opt-0", "--opt_1=2",
     "--p0=", "=", " ", "\n", "\t", "nan", "x" * 30, "é", "😀"]
)  # fmt: skip
_lines = st.one_of(
    st.lists(_pieces, max_size=12).map(" ".join),
    st.lists(_pieces, max_size=12).map("".join),
    st.text(max_size=40),
)
_params = st.lists(st.tuples(st.sampled_from(_TYPES), st.booleans()), max_size=4)


@given(_params, st.booleans(), _params, _lines)
def test_any_line_parses_or_is_a_usage_error(
    spec: list[tuple[Any, bool]], greedy: bool, options: list[tuple[Any, bool]], line: str
) -> None:
    signature = signature_of(_build(spec, greedy, options))
    try:
        values = parse_arguments(signature, Scanner(line))
    except UsageError as exc:
        assert exc.message.strip()
        return
    by_name = {p.name: p for p in signature.params}
    for param in signature.params:
        assert param.name in values or not param.required
    for name, value in values.items():
        converter = by_name[name].converter
        if converter.value_type is object:  # a Literal: one of its choices
            assert value in converter.choices.values()  # type: ignore[attr-defined]
        else:
            assert type(value) is converter.value_type or isinstance(value, converter.value_type)
            assert not (converter.value_type is int and isinstance(value, bool))


_WORDS = ["1", "2", "-3", "2.5", "yes", "off", "a", "B", "red", "dark_blue", "high", "@alice",
          "~town", "é", "😀", "x" * 30]  # fmt: skip
_SPECIALS = ["--", "--p0", "--opt-0", "--opt_1=2", "'x", '"a b"', "don't", "\u201cq\u201d"]
_GAPS = [" ", "  ", "\t", "\n ", "\u00a0", "\u2003"]


def _accepts(param: Any, word: str) -> bool:
    try:
        param.converter(word)
    except Exception:
        return False
    return True


@st.composite
def _signature_and_line(draw: st.DrawFn) -> tuple[CommandSignature, str, int]:
    """A signature, and a line made of words its parameters accept (so the quick path has
    something to answer), some left out, sometimes one quote or ``--`` word among them."""
    signature = signature_of(_build(draw(_params), draw(st.booleans()), draw(_params)))
    words = []
    for param in signature.positionals:
        fitting = [w for w in _WORDS if _accepts(param, w)] or _WORDS
        words.append(draw(st.sampled_from(fitting)))
        if param.kind == "greedy":
            words.extend(draw(st.lists(st.sampled_from(_WORDS + _SPECIALS), max_size=3)))
    words = words[: draw(st.integers(0, len(words) + 1))]
    if draw(st.booleans()):  # a quote or -- word, in place of a word or between two
        index, special = draw(st.integers(0, len(words))), draw(st.sampled_from(_SPECIALS))
        words[index : index + draw(st.integers(0, 1))] = [special]
    if draw(st.booleans()):
        words.append(draw(st.sampled_from(_WORDS)))  # one too many, unless greedy takes it
    prefix = draw(st.sampled_from(["", "/cmd sub ", " x "]))
    line = prefix + "".join(w + draw(st.sampled_from(_GAPS)) for w in words)
    line = line if draw(st.booleans()) else line.rstrip()
    return signature, line, len(prefix)


def _outcome(parse: Any, signature: CommandSignature, line: str, position: int) -> Any:
    try:
        return parse(signature, Scanner(line, position))
    except UsageError as exc:
        return ("usage", exc.message, exc.param)


@settings(max_examples=500)  # cheap, and the two parsers must agree on every kind of line
@given(st.one_of(_signature_and_line(), st.tuples(st.just(None), _lines, st.just(0))))
def test_the_quick_path_agrees_with_the_full_parser(
    case: tuple[CommandSignature | None, str, int],
) -> None:
    """Lines without quotes or ``--`` take a quicker path; where it answers, the word-by-word
    parser gives the same values (and where it does not, that parser answers alone)."""
    signature, line, position = case
    if signature is None:  # any line, against a fixed signature with every kind of parameter
        signature = signature_of(_build([(int, False), (str, True)], True, [(bool, True)]))
    quick = _outcome(_parse_plain, signature, line, position)
    full = _outcome(_parse, signature, line, position)
    if quick is not None:
        assert quick == full
    assert _outcome(parse_arguments, signature, line, position) == full


def test_the_quick_path_takes_plain_lines_only() -> None:
    def handler(self: object, count: int, note: Text) -> None: ...

    signature = signature_of(handler)
    assert _parse_plain(signature, Scanner("3  buy milk  ")) == {"count": 3, "note": "buy milk"}
    for line in ('3 "buy" milk', "3 don't", "3 --note x", "x milk", "3"):
        assert _parse_plain(signature, Scanner(line)) is None, line
