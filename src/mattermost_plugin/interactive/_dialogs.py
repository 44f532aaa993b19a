"""Interactive dialogs: typed elements, the request that opens one, and reading a submission.

A :class:`Dialog` names the ``@dialog`` handler its submission goes to. Opening it sends
the server an ``OpenDialogRequest`` whose ``state`` is a signed token holding the plugin's
id, the dialog's name, the user it was opened for (when known), the plugin's own state and
what each element accepts. The submission comes back through the user's client, which can
send anything, so the SDK checks every value against the element it was declared as (the
webapp's own checks, done again) and only then hands the values to the handler.

Element types as the server knows them (``model.DialogElement``): ``text`` (``subtype``
text, email, number, password, tel, url), ``textarea``, ``select`` (``options``, or
``data_source`` users/channels), ``bool`` and ``radio``; each with ``optional``,
``min_length``, ``max_length``, ``help_text``, ``placeholder`` and ``default``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mattermost_plugin.interactive._messages import DIALOG_PREFIX, Option, check_name, json_value
from mattermost_plugin.interactive._signing import sign
from mattermost_plugin.models import Dialog as DialogModel
from mattermost_plugin.models import DialogElement as ElementModel
from mattermost_plugin.models import DialogElementOption, OpenDialogRequest

__all__ = [
    "REQUIRED",
    "BoolElement",
    "Dialog",
    "Element",
    "RadioElement",
    "SelectElement",
    "TextElement",
    "TextareaElement",
    "dialog_request",
    "parse_submission",
]

TextSubtype = Literal["text", "email", "number", "password", "tel", "url"]
_SUBTYPES = ("text", "email", "number", "password", "tel", "url")
_ID = re.compile(r"^[A-Za-z0-9]{26}$")

# The webapp's words for what it refuses, so a submission that bypassed it reads the same.
REQUIRED = "This field is required."
_NUMBER = "Must be a number."
_EMAIL = "Must be a valid email address."
_URL = "URL must include http:// or https://."
_CHOICE = "Must be one of the choices."
_BOOL = "Must be true or false."
_TEXT = "Must be text."


class Element:
    """Base of the dialog elements: ``name`` is the key of the value in the submission,
    ``display_name`` the label."""

    type: str = ""
    __slots__ = ("default", "display_name", "help_text", "name", "optional", "placeholder")

    def __init__(
        self,
        name: str,
        display_name: str,
        *,
        optional: bool,
        help_text: str,
        placeholder: str,
        default: str,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a dialog element needs a name (the key of its value)")
        if not display_name:
            raise ValueError(f"the dialog element {name!r} needs a display_name (its label)")
        self.name, self.display_name, self.optional = name, display_name, optional
        self.help_text, self.placeholder, self.default = help_text, placeholder, default

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.display_name!r})"

    def kind(self) -> str:
        """What the submission's value is checked as."""
        return self.type

    def choices(self) -> list[str] | None:
        return None

    def limits(self) -> tuple[int, int]:
        return 0, 0

    def to_model(self) -> ElementModel:
        return ElementModel(
            name=self.name,
            display_name=self.display_name,
            type=self.type,
            optional=self.optional,
            help_text=self.help_text,
            placeholder=self.placeholder,
            default=self.default,
        )


class _Text(Element):
    __slots__ = ("max_length", "min_length")

    def __init__(
        self,
        name: str,
        display_name: str,
        *,
        optional: bool,
        help_text: str,
        placeholder: str,
        default: str,
        min_length: int,
        max_length: int,
    ) -> None:
        super().__init__(
            name,
            display_name,
            optional=optional,
            help_text=help_text,
            placeholder=placeholder,
            default=default,
        )
        if min_length < 0 or max_length < 0 or (max_length and min_length > max_length):
            raise ValueError(
                f"the dialog element {name!r}: min_length {min_length} and max_length "
                f"{max_length} allow no length"
            )
        self.min_length, self.max_length = min_length, max_length

    def limits(self) -> tuple[int, int]:
        return self.min_length, self.max_length

    def to_model(self) -> ElementModel:
        model = super().to_model()
        model.min_length, model.max_length = self.min_length, self.max_length
        return model


class TextElement(_Text):
    """A one-line text field; ``subtype`` makes it an email, number, password, tel or url
    field (a ``number`` arrives as an ``int`` or a ``float``)."""

    type = "text"
    __slots__ = ("subtype",)

    def __init__(
        self,
        name: str,
        display_name: str,
        *,
        subtype: TextSubtype = "text",
        optional: bool = False,
        min_length: int = 0,
        max_length: int = 0,
        placeholder: str = "",
        help_text: str = "",
        default: str = "",
    ) -> None:
        super().__init__(
            name,
            display_name,
            optional=optional,
            help_text=help_text,
            placeholder=placeholder,
            default=default,
            min_length=min_length,
            max_length=max_length,
        )
        if subtype not in _SUBTYPES:
            raise ValueError(f"the dialog element {name!r}: subtype must be one of {_SUBTYPES}")
        self.subtype = subtype

    def kind(self) -> str:
        return "text" if self.subtype in ("text", "password", "tel") else self.subtype

    def to_model(self) -> ElementModel:
        model = super().to_model()
        model.subtype = self.subtype
        return model


class TextareaElement(_Text):
    """A multi-line text field."""

    type = "textarea"
    __slots__ = ()

    def __init__(
        self,
        name: str,
        display_name: str,
        *,
        optional: bool = False,
        min_length: int = 0,
        max_length: int = 0,
        placeholder: str = "",
        help_text: str = "",
        default: str = "",
    ) -> None:
        super().__init__(
            name,
            display_name,
            optional=optional,
            help_text=help_text,
            placeholder=placeholder,
            default=default,
            min_length=min_length,
            max_length=max_length,
        )


def _options(name: str, options: Sequence[Option | str]) -> list[Option]:
    found = [o if isinstance(o, Option) else Option(o) for o in options]
    values = [o.value for o in found]
    if len(set(values)) != len(values):
        raise ValueError(f"the dialog element {name!r} has two options with one value")
    return found


class SelectElement(Element):
    """A drop-down: fixed ``options``, or ``data_source="users"`` / ``"channels"`` (the
    value is then a user's or a channel's id)."""

    type = "select"
    __slots__ = ("data_source", "options")

    def __init__(
        self,
        name: str,
        display_name: str,
        *,
        options: Sequence[Option | str] = (),
        data_source: Literal["users", "channels"] | None = None,
        optional: bool = False,
        placeholder: str = "",
        help_text: str = "",
        default: str = "",
    ) -> None:
        super().__init__(
            name,
            display_name,
            optional=optional,
            help_text=help_text,
            placeholder=placeholder,
            default=default,
        )
        if data_source is not None and data_source not in ("users", "channels"):
            raise ValueError(f"data_source must be 'users' or 'channels', not {data_source!r}")
        if (data_source is None) == (not options):
            raise ValueError(
                f"the dialog element {name!r} needs options or a data_source (one of them)"
            )
        self.options = _options(name, options)
        self.data_source = data_source

    def kind(self) -> str:
        return self.data_source or "select"

    def choices(self) -> list[str] | None:
        return [o.value for o in self.options] if self.options else None

    def to_model(self) -> ElementModel:
        model = super().to_model()
        model.data_source = self.data_source or ""
        model.options = [DialogElementOption(**o.to_json()) for o in self.options]
        return model


class RadioElement(Element):
    """Radio buttons, one of ``options``."""

    type = "radio"
    __slots__ = ("options",)

    def __init__(
        self,
        name: str,
        display_name: str,
        *,
        options: Sequence[Option | str],
        optional: bool = False,
        help_text: str = "",
        default: str = "",
    ) -> None:
        super().__init__(
            name,
            display_name,
            optional=optional,
            help_text=help_text,
            placeholder="",
            default=default,
        )
        if not options:
            raise ValueError(f"the dialog element {name!r} needs options")
        self.options = _options(name, options)

    def choices(self) -> list[str] | None:
        return [o.value for o in self.options]

    def to_model(self) -> ElementModel:
        model = super().to_model()
        model.options = [DialogElementOption(**o.to_json()) for o in self.options]
        return model


class BoolElement(Element):
    """A checkbox; ``placeholder`` is the text beside it. Its value is a ``bool``
    (``False`` when left unchecked; a required one must be checked, as in the webapp)."""

    type = "bool"
    __slots__ = ()

    def __init__(
        self,
        name: str,
        display_name: str,
        *,
        placeholder: str = "",
        optional: bool = True,
        help_text: str = "",
        default: bool = False,
    ) -> None:
        super().__init__(
            name,
            display_name,
            optional=optional,
            help_text=help_text,
            placeholder=placeholder,
            default="true" if default else "false",
        )


class Dialog:
    """An interactive dialog whose submission goes to the ``@dialog(name)`` handler.

    ``state`` is JSON data (or a Pydantic model) that comes back with the submission,
    signed: the handler can trust it. ``notify_on_cancel`` sends the handler a cancelled
    submission when the user closes the dialog.
    """

    __slots__ = (
        "elements",
        "icon_url",
        "introduction_text",
        "name",
        "notify_on_cancel",
        "state",
        "submit_label",
        "title",
    )

    def __init__(
        self,
        name: str,
        *,
        title: str,
        elements: Sequence[Element] = (),
        introduction_text: str = "",
        submit_label: str = "",
        icon_url: str = "",
        notify_on_cancel: bool = False,
        state: object = None,
    ) -> None:
        self.name = check_name("dialog", name)
        if not title:
            raise ValueError(f"the dialog {name!r} needs a title")
        names = [element.name for element in elements]
        for element in elements:
            if not isinstance(element, Element):
                raise TypeError(f"elements: expected dialog elements, got {element!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"the dialog {name!r} has two elements with one name")
        self.title, self.elements = title, list(elements)
        self.introduction_text, self.submit_label, self.icon_url = (
            introduction_text,
            submit_label,
            icon_url,
        )
        self.notify_on_cancel = notify_on_cancel
        self.state = json_value(state, f"the state of the dialog {name!r}")

    def __repr__(self) -> str:
        return f"Dialog({self.name!r}, title={self.title!r})"

    def spec(self) -> list[list[Any]]:
        """What each element accepts, compactly (it travels in the signed state)."""
        return [[e.name, e.kind(), e.optional, *e.limits(), e.choices()] for e in self.elements]


def dialog_request(
    dialog: Dialog, trigger_id: str, *, plugin_id: str, key: bytes, user_id: str = ""
) -> OpenDialogRequest:
    """The ``OpenDialogRequest`` for ``dialog``, its state signed."""
    if not trigger_id:
        raise ValueError("opening a dialog needs a trigger id (CommandArgs.trigger_id, ...)")
    payload = {
        "t": "dialog",
        "p": plugin_id,
        "d": dialog.name,
        "u": user_id,
        "s": dialog.state,
        "n": dialog.notify_on_cancel,
        "e": dialog.spec(),
    }
    model = DialogModel(
        callback_id=dialog.name,
        title=dialog.title,
        introduction_text=dialog.introduction_text,
        elements=[element.to_model() for element in dialog.elements],
        submit_label=dialog.submit_label,
        notify_on_cancel=dialog.notify_on_cancel,
        icon_url=dialog.icon_url,
        state=sign(key, payload),
    )
    return OpenDialogRequest(
        trigger_id=trigger_id,
        url=f"/plugins/{plugin_id}{DIALOG_PREFIX}{dialog.name}",
        dialog=model,
    )


# -- reading a submission ---------------------------------------------------------------------


def _empty(value: object) -> bool:
    return value is None or value == ""


def _number(value: object) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        number: float = value
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and not isinstance(value, str) else number


def _check_length(text: str, low: int, high: int) -> str | None:
    if low and len(text) < low:
        return f"Must be at least {low} characters."
    if high and len(text) > high:
        return f"Must be at most {high} characters."
    return None


def _parse_one(kind: str, low: int, high: int, choices: list[str] | None, raw: object) -> Any:
    """The value of one element, or raises ``ValueError`` with the message for the user."""
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise ValueError(_BOOL)
    if kind == "number":
        number = _number(raw)
        if number is None:
            raise ValueError(_NUMBER)
        return number
    if not isinstance(raw, str):
        raise ValueError(_TEXT)
    if kind in ("select", "radio"):
        if choices is not None and raw not in choices:
            raise ValueError(_CHOICE)
        return raw
    if kind in ("users", "channels"):
        if not _ID.match(raw):
            raise ValueError(f"Must be one of the {kind}.")
        return raw
    problem = _check_length(raw, low, high)
    if problem is not None:
        raise ValueError(problem)
    if kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+", raw):
        raise ValueError(_EMAIL)
    if kind == "url" and not re.match(r"https?://\S", raw):
        raise ValueError(_URL)
    return raw


def parse_submission(
    spec: Sequence[Sequence[Any]], submission: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a submission against the elements' spec: ``(values, errors)``. ``values``
    has every element: its value, ``None`` for an empty optional one (``False`` for an
    unchecked box); ``errors`` maps element names to what is wrong with them. Keys of the
    submission that name no element are dropped."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, kind, optional, low, high, choices in spec:
        raw = submission.get(name)
        if kind == "bool" and raw is None:
            raw = False
        if _empty(raw) or (kind == "bool" and raw is False and not optional):
            if not optional:
                errors[name] = REQUIRED
            values[name] = False if kind == "bool" else None
            continue
        try:
            values[name] = _parse_one(kind, low, high, choices, raw)
        except ValueError as exc:
            errors[name] = str(exc)
            values[name] = None
    return values, errors
