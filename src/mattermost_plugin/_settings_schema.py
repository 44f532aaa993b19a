"""A settings model → the manifest's ``settings_schema``, and how two schemas differ.

Only setting types the server's manifest validation accepts are produced:

==========================================  =====================================================
Python type (of a field of the model)       setting
==========================================  =====================================================
``bool``                                    ``bool``
``int``                                     ``number`` (the System Console's integer box)
``float``                                   ``text``, validated as a number by the model
``str``                                     ``text``; ``kind="longtext"``, ``"username"``,
                                            ``"generated"`` for those types
``SecretStr``                               ``text`` with ``secret: true`` (masked, never logged)
``Literal[...]``, an ``Enum``               ``dropdown`` with the choices as options;
                                            ``kind="radio"`` for radio buttons
anything, with ``kind="custom"``            ``custom`` (rendered by the plugin's webapp)
==========================================  =====================================================

``X | None`` is the setting of ``X``. ``display_name``, ``help_text``, ``placeholder`` and
``default`` come from the field (``setting(...)`` or ``Field(title=, description=)``); a
field's ``section`` groups it in ``sections``; the model's docstring is the ``header``, and
``model_config = ConfigDict(json_schema_extra={"mattermost": {"header": …, "footer": …}})``
sets both. Settings are flat: a field whose type is a model is an error naming the field.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mattermost_plugin.settings import EXTRA_KEY, SettingsError

__all__ = ["schema_differences", "schema_for"]

_ATTRIBUTES = (
    "display_name",
    "type",
    "help_text",
    "regenerate_help_text",
    "placeholder",
    "default",
    "options",
    "hosting",
    "secret",
)


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    found = extra.get(EXTRA_KEY) if isinstance(extra, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _humanize(name: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").strip()
    return words[:1].upper() + words[1:].lower() if words else name


def _choices(annotation: Any) -> list[Any] | None:
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return [member.value for member in annotation]
    return None


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return PydanticUndefined
    else:
        value = info.default
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _setting(name: str, key: str, info: FieldInfo) -> dict[str, Any]:
    extra = _extra(info)
    kind = extra.get("kind")
    annotation = _unwrap_optional(info.annotation)
    setting: dict[str, Any] = {"key": key, "display_name": info.title or _humanize(name)}
    choices = _choices(annotation)
    if kind == "custom":
        setting["type"] = "custom"
    elif inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        raise SettingsError(
            f"setting {name!r} is a {annotation.__name__} model: plugin settings are flat; "
            "give each value a field of its own (use setting(section=...) to group them)",
            {name: "a nested model"},
        )
    elif annotation is bool:
        setting["type"] = "bool"
    elif annotation is int:
        setting["type"] = "number"
    elif annotation in (float, str) or annotation is SecretStr:
        if kind in ("longtext", "username", "generated"):
            setting["type"] = kind
        else:
            setting["type"] = "text"
        if annotation is SecretStr:
            setting["secret"] = True
    elif choices is not None:
        setting["type"] = "radio" if kind == "radio" else "dropdown"
        names = extra.get("options") or {}
        setting["options"] = [
            {"display_name": names.get(str(value), str(value)), "value": value} for value in choices
        ]
    else:
        shown = getattr(annotation, "__name__", None) or repr(annotation)
        raise SettingsError(
            f"setting {name!r} has type {shown}, which the System Console cannot edit: use "
            "bool, int, float, str, SecretStr, a Literal or an Enum, or setting(kind='custom') "
            "for a value the plugin's webapp renders",
            {name: f"unsupported type {shown}"},
        )
    if info.description:
        setting["help_text"] = info.description
    for attribute in ("placeholder", "regenerate_help_text", "hosting"):
        if attribute in extra:
            setting[attribute] = extra[attribute]
    default = _default(info)
    if default is not PydanticUndefined and default is not None:
        setting["default"] = default
    return setting


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "section"


def schema_for(model: type[BaseModel]) -> dict[str, Any]:
    """The ``settings_schema`` for ``model``; raises ``SettingsError`` naming a field the
    System Console cannot show."""
    settings: list[dict[str, Any]] = []
    sections: dict[str, dict[str, Any]] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        setting = _setting(name, key, info)
        title = _extra(info).get("section")
        if title is None:
            settings.append(setting)
            continue
        section = sections.setdefault(title, {"key": _slug(title), "title": title, "settings": []})
        section["settings"].append(setting)
    schema: dict[str, Any] = {}
    config_extra = model.model_config.get("json_schema_extra")
    texts = config_extra.get(EXTRA_KEY) if isinstance(config_extra, dict) else None
    texts = texts if isinstance(texts, dict) else {}
    docstring = model.__dict__.get("__doc__")
    header = texts.get("header", inspect.cleandoc(docstring) if docstring else None)
    if header:
        schema["header"] = header
    if texts.get("footer"):
        schema["footer"] = texts["footer"]
    schema["settings"] = settings
    if sections:
        schema["sections"] = list(sections.values())
    return schema


def _by_key(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    groups = [schema.get("settings") or []]
    groups += [section.get("settings") or [] for section in schema.get("sections") or []]
    for group in groups:
        for item in group:
            if isinstance(item, Mapping) and isinstance(item.get("key"), str):
                found[item["key"].lower()] = dict(item)
    return found


def schema_differences(
    declared: Mapping[str, Any] | None, generated: Mapping[str, Any]
) -> list[str]:
    """How the manifest's ``settings_schema`` differs from the model's, one line per
    difference, each naming the setting (empty: they agree)."""
    if not declared:
        return ["there is no settings_schema; `mattermost-plugin manifest` writes it"]
    problems = []
    mine, theirs = _by_key(generated), _by_key(declared)
    for key, wanted in mine.items():
        found = theirs.get(key)
        if found is None:
            problems.append(f"setting {wanted['key']!r} is missing")
            continue
        for attribute in _ATTRIBUTES:
            if found.get(attribute) != wanted.get(attribute):
                problems.append(
                    f"setting {wanted['key']!r}: {attribute} is {found.get(attribute)!r}, "
                    f"the model says {wanted.get(attribute)!r}"
                )
    problems.extend(
        f"setting {found['key']!r} is not in the settings model"
        for key, found in theirs.items()
        if key not in mine
    )
    for text in ("header", "footer"):
        if declared.get(text) != generated.get(text):
            problems.append(f"{text} differs from the settings model's")
    return problems
