"""Settings model → settings_schema → config → model, by example and by property."""

from __future__ import annotations

import enum
import keyword
import string
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model

from mattermost_plugin._settings_schema import schema_differences, schema_for
from mattermost_plugin.settings import SettingsError, setting, validate_settings


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Example(BaseModel):
    """Settings of the example.

    Second paragraph."""

    model_config = ConfigDict(json_schema_extra={"mattermost": {"footer": "The end."}})

    enabled: bool = True
    count: int = Field(3, title="How many", description="A count.")
    ratio: float = 0.5
    name: str = setting("", placeholder="your name")
    notes: str = setting("", kind="longtext", section="More")
    owner: str = setting("", kind="username", section="More")
    token: str = setting("", kind="generated", regenerate_help_text="Make a new one")
    secret: SecretStr = setting(SecretStr("x"), display_name="Secret")
    mode: Literal["a", "b"] = setting("a", options={"a": "Option A"})
    color: Color = setting(Color.RED, kind="radio")
    optional_count: int | None = None
    widget: dict[str, Any] = setting({}, kind="custom")


def test_every_setting_type() -> None:
    schema = schema_for(Example)
    assert schema["header"] == "Settings of the example.\n\nSecond paragraph."
    assert schema["footer"] == "The end."
    assert schema["settings"] == [
        {"key": "enabled", "display_name": "Enabled", "type": "bool", "default": True},
        {
            "key": "count",
            "display_name": "How many",
            "type": "number",
            "help_text": "A count.",
            "default": 3,
        },
        {"key": "ratio", "display_name": "Ratio", "type": "text", "default": 0.5},
        {
            "key": "name",
            "display_name": "Name",
            "type": "text",
            "placeholder": "your name",
            "default": "",
        },
        {
            "key": "token",
            "display_name": "Token",
            "type": "generated",
            "regenerate_help_text": "Make a new one",
            "default": "",
        },
        {
            "key": "secret",
            "display_name": "Secret",
            "type": "text",
            "secret": True,
            "default": "x",
        },
        {
            "key": "mode",
            "display_name": "Mode",
            "type": "dropdown",
            "options": [
                {"display_name": "Option A", "value": "a"},
                {"display_name": "b", "value": "b"},
            ],
            "default": "a",
        },
        {
            "key": "color",
            "display_name": "Color",
            "type": "radio",
            "options": [
                {"display_name": "red", "value": "red"},
                {"display_name": "blue", "value": "blue"},
            ],
            "default": "red",
        },
        {"key": "optional_count", "display_name": "Optional count", "type": "number"},
        {"key": "widget", "display_name": "Widget", "type": "custom", "default": {}},
    ]
    assert schema["sections"] == [
        {
            "key": "more",
            "title": "More",
            "settings": [
                {"key": "notes", "display_name": "Notes", "type": "longtext", "default": ""},
                {"key": "owner", "display_name": "Owner", "type": "username", "default": ""},
            ],
        }
    ]


def test_nested_models_and_unsupported_types_name_the_field() -> None:
    class Inner(BaseModel):
        x: int = 0

    class Nested(BaseModel):
        inner: Inner = Inner()

    with pytest.raises(
        SettingsError, match="setting 'inner' is a Inner model: plugin settings are flat"
    ):
        schema_for(Nested)

    class Listy(BaseModel):
        tags: list[str] = []

    with pytest.raises(SettingsError, match="setting 'tags' has type list"):
        schema_for(Listy)


def test_differences_name_the_setting() -> None:
    generated = schema_for(Example)
    assert schema_differences(generated, generated) == []
    declared = schema_for(Example)
    declared["settings"][1]["type"] = "text"
    del declared["settings"][0]
    declared["settings"].append({"key": "old", "type": "bool"})
    assert schema_differences(declared, generated) == [
        "setting 'enabled' is missing",
        "setting 'count': type is 'text', the model says 'number'",
        "setting 'old' is not in the settings model",
    ]
    assert schema_differences(None, generated) == [
        "there is no settings_schema; `mattermost-plugin manifest` writes it"
    ]


def test_validation_errors_never_carry_the_value() -> None:
    class Secretive(BaseModel):
        pin: int = 0
        key: SecretStr = SecretStr("")

    with pytest.raises(SettingsError) as info:
        validate_settings(Secretive, {"pin": "correct-horse-battery", "key": 12345})
    text = str(info.value)
    assert "correct-horse" not in text and "12345" not in text
    assert info.value.problems == {
        "pin": "Input should be a valid integer, unable to parse string as an integer",
        "key": "Input should be a valid string",
    }


# -- properties ---------------------------------------------------------------------------------

KINDS = ["bool", "int", "float", "str", "secret", "literal", "enum"]
names = st.text(string.ascii_letters, min_size=1, max_size=12).filter(
    lambda n: not keyword.iskeyword(n) and not n.startswith("model_")
)


def _value(kind: str) -> st.SearchStrategy[Any]:
    texts = st.text(max_size=20)
    return {
        "bool": st.booleans(),
        "int": st.integers(-(10**9), 10**9),
        "float": st.floats(allow_nan=False, allow_infinity=False, width=32),
        "str": texts,
        "secret": texts,
        "literal": st.sampled_from(["x", "y", "z"]),
        "enum": st.sampled_from(["red", "blue"]),
    }[kind]


def _annotation(kind: str) -> Any:
    return {
        "bool": bool,
        "int": int,
        "float": float,
        "str": str,
        "secret": SecretStr,
        "literal": Literal["x", "y", "z"],
        "enum": Color,
    }[kind]


def _python(kind: str, value: Any) -> Any:
    if kind == "secret":
        return SecretStr(value)
    if kind == "enum":
        return Color(value)
    return value


@st.composite
def models(draw: st.DrawFn) -> tuple[type[BaseModel], dict[str, tuple[str, Any]]]:
    fields = draw(
        st.dictionaries(
            names,
            st.sampled_from(KINDS),
            min_size=1,
            max_size=6,
            dict_class=dict,
        ).filter(lambda d: len({k.lower() for k in d}) == len(d))
    )
    spec: dict[str, tuple[str, Any]] = {}
    definitions: dict[str, Any] = {}
    for name, kind in fields.items():
        default = draw(_value(kind))
        spec[name] = (kind, default)
        definitions[name] = (_annotation(kind), _python(kind, default))
    return create_model("Drawn", **definitions), spec


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return getattr(value, "value", value)


@given(models(), st.data())
def test_schema_defaults_and_config_round_trip(
    drawn: tuple[type[BaseModel], dict[str, tuple[str, Any]]], data: st.DataObject
) -> None:
    model, spec = drawn
    schema = schema_for(model)
    by_key = {item["key"]: item for item in schema["settings"]}
    assert set(by_key) == set(spec)
    # What the server stores: the schema's defaults, some values changed by an admin, keys
    # possibly lowercased, some keys missing.
    expected: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for name, (kind, default) in spec.items():
        assert _plain(by_key[name]["default"]) == default
        value = data.draw(st.one_of(st.just(default), _value(kind)), label=name)
        expected[name] = value
        if data.draw(st.booleans(), label=f"{name} missing") and value == default:
            continue  # missing: the model's default
        key = name.lower() if data.draw(st.booleans(), label=f"{name} lowercased") else name
        config[key] = value
    loaded = validate_settings(model, config)
    assert {name: _plain(getattr(loaded, name)) for name in spec} == expected


@given(models(), st.data())
def test_a_wrong_type_names_its_field_and_hides_its_value(
    drawn: tuple[type[BaseModel], dict[str, tuple[str, Any]]], data: st.DataObject
) -> None:
    model, spec = drawn
    name = data.draw(st.sampled_from(sorted(spec)))
    kind = spec[name][0]
    wrong = {
        "bool": "maybe-7f3a",
        "int": "lots-7f3a",
        "float": "huge-7f3a",
        "str": ["list-7f3a"],
        "secret": {"dict": "7f3a"},
        "literal": "other-7f3a",
        "enum": "green-7f3a",
    }[kind]
    with pytest.raises(SettingsError) as info:
        validate_settings(model, {name.upper(): wrong})
    assert list(info.value.problems) == [name]
    assert "7f3a" not in str(info.value)
