"""Message attachments with buttons and menus, and how they become a post's props.

An action (a :class:`Button` or a :class:`Select`) names the ``@action`` handler its clicks
go to and the context it carries. Rendered into ``props["attachments"]``, each action gets
an id (the server finds the clicked action by it), an integration URL under the plugin's
reserved prefix and a signed context: a token binding the plugin, the action, the button's
id, the post's channel and either the post's id or its author, and the context.

The server's JSON (``model.SlackAttachment``, ``model.PostAction``): an action has ``id``,
``name`` (its label), ``type`` (``"button"`` or ``"select"``), ``style``, ``disabled``,
``options`` (``[{"text", "value"}]``), ``data_source`` (``"users"``, ``"channels"``),
``default_option`` and ``integration`` (``{"url", "context"}``). The server's route for a
click only matches action ids of letters and digits, so ids are made of those.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from mattermost_plugin.interactive._signing import sign

__all__ = [
    "ACTION_NAME",
    "ACTION_PREFIX",
    "CONTEXT_TOKEN",
    "DIALOG_PREFIX",
    "Attachment",
    "AttachmentField",
    "Binding",
    "Button",
    "Option",
    "Select",
    "check_name",
    "json_value",
    "new_action_id",
    "render_attachments",
]

ACTION_PREFIX = "/_sdk/actions/"
"""Where a plugin's action URLs live, below ``/plugins/<plugin id>``."""
DIALOG_PREFIX = "/_sdk/dialogs/"
"""Where a plugin's dialog submission URLs live, below ``/plugins/<plugin id>``."""
CONTEXT_TOKEN = "_sdk_token"
"""The key of the signed token in an action's integration context."""

ACTION_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ACTION_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_ID_LETTERS = string.ascii_lowercase + string.digits
ButtonStyle = Literal["default", "primary", "success", "good", "warning", "danger"]


def check_name(kind: str, name: object) -> str:
    """``name`` if it can be an action or dialog name (it is part of a URL path)."""
    if not isinstance(name, str) or not ACTION_NAME.match(name):
        raise ValueError(
            f"{kind} name {name!r}: use 1-64 letters, digits, '_', '-' or '.' (it is part of "
            "the URL the server calls)"
        )
    return name


def json_value(value: object, what: str) -> Any:
    """``value`` as plain JSON data (a Pydantic model is dumped in JSON mode)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    try:
        from pydantic_core import to_jsonable_python

        return to_jsonable_python(value)
    except Exception as exc:
        raise TypeError(f"{what} must be JSON data or a Pydantic model: {exc}") from None


class Option:
    """A choice of a :class:`Select` menu: ``text`` is shown, ``value`` is what the handler
    receives as ``request.selected_option``."""

    __slots__ = ("text", "value")

    def __init__(self, text: str, value: str | None = None) -> None:
        self.text = text
        self.value = text if value is None else value

    def __repr__(self) -> str:
        return f"Option({self.text!r}, {self.value!r})"

    def to_json(self) -> dict[str, str]:
        return {"text": self.text, "value": self.value}


class _Action:
    kind: str = ""
    __slots__ = ("action", "context", "disabled", "id", "name")

    def __init__(
        self, name: str, action: str, context: object, id: str | None, disabled: bool
    ) -> None:
        self.name = name
        """The label the user sees."""
        self.action = check_name("action", action)
        """The ``@action`` handler the click goes to."""
        self.context = json_value(context, f"the context of {name!r}")
        if id is not None and not _ACTION_ID.match(id):
            raise ValueError(f"action id {id!r}: use 1-64 letters and digits")
        self.id = id
        """The action's id in the post (letters and digits); made up when ``None``."""
        self.disabled = disabled

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.kind, "name": self.name}
        if self.disabled:
            data["disabled"] = True
        return data


class Button(_Action):
    """A button: ``Button("Approve", action="approve", context={"request": 42})``.

    ``context`` is JSON data or a Pydantic model; the handler receives it validated into
    the type its ``ActionRequest[...]`` names. ``style`` colours the button.
    """

    kind = "button"
    __slots__ = ("style",)

    def __init__(
        self,
        name: str,
        *,
        action: str,
        context: object = None,
        style: ButtonStyle | str = "default",
        id: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name, action, context, id, disabled)
        self.style = style

    def __repr__(self) -> str:
        return f"Button({self.name!r}, action={self.action!r})"

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if self.style and self.style != "default":
            data["style"] = self.style
        return data


class Select(_Action):
    """A menu: fixed ``options``, or ``data_source="users"`` / ``"channels"`` (the
    webapp lists them). The handler receives the chosen value as
    ``request.selected_option``."""

    kind = "select"
    __slots__ = ("data_source", "default", "options")

    def __init__(
        self,
        name: str,
        *,
        action: str,
        options: Sequence[Option | str] = (),
        data_source: Literal["users", "channels"] | None = None,
        default: str | None = None,
        context: object = None,
        id: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name, action, context, id, disabled)
        if data_source is not None and data_source not in ("users", "channels"):
            raise ValueError(f"data_source must be 'users' or 'channels', not {data_source!r}")
        if data_source is not None and options:
            raise ValueError("a menu has options or a data_source, not both")
        if data_source is None and not options:
            raise ValueError(f"the menu {name!r} needs options or a data_source")
        self.options = [o if isinstance(o, Option) else Option(o) for o in options]
        self.data_source = data_source
        self.default = default

    def __repr__(self) -> str:
        return f"Select({self.name!r}, action={self.action!r})"

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if self.data_source:
            data["data_source"] = self.data_source
        else:
            data["options"] = [option.to_json() for option in self.options]
        if self.default is not None:
            data["default_option"] = self.default
        return data


class AttachmentField:
    """A ``title: value`` pair shown in an attachment's table; ``short`` ones share a row."""

    __slots__ = ("short", "title", "value")

    def __init__(self, title: str, value: str, *, short: bool = False) -> None:
        self.title, self.value, self.short = title, value, short

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "value": self.value, "short": self.short}


_TEXT_FIELDS = (
    "fallback",
    "color",
    "pretext",
    "author_name",
    "author_link",
    "author_icon",
    "title",
    "title_link",
    "text",
    "image_url",
    "thumb_url",
    "footer",
    "footer_icon",
)


class Attachment:
    """A message attachment (Slack's format, as Mattermost renders it), with ``actions``:
    :class:`Button` and :class:`Select` objects. Every other argument is the attachment
    field of the same name."""

    __slots__ = ("actions", "fields", *_TEXT_FIELDS)

    def __init__(
        self,
        *,
        text: str = "",
        title: str = "",
        title_link: str = "",
        pretext: str = "",
        fallback: str = "",
        color: str = "",
        author_name: str = "",
        author_link: str = "",
        author_icon: str = "",
        fields: Sequence[AttachmentField] = (),
        image_url: str = "",
        thumb_url: str = "",
        footer: str = "",
        footer_icon: str = "",
        actions: Sequence[Button | Select] = (),
    ) -> None:
        self.text, self.title, self.title_link, self.pretext = text, title, title_link, pretext
        self.fallback, self.color = fallback, color
        self.author_name, self.author_link, self.author_icon = author_name, author_link, author_icon
        self.fields = list(fields)
        self.image_url, self.thumb_url = image_url, thumb_url
        self.footer, self.footer_icon = footer, footer_icon
        for item in actions:
            if not isinstance(item, _Action):
                raise TypeError(f"actions: expected Button or Select objects, got {item!r}")
        self.actions = list(actions)

    def __repr__(self) -> str:
        return f"Attachment(text={self.text!r}, actions={self.actions!r})"


class Binding:
    """What a post's tokens are bound to: the post's id when it is known (ephemeral posts,
    updates), else its author and channel (a new post: the server picks its id)."""

    __slots__ = ("author", "channel_id", "post_id")

    def __init__(self, channel_id: str, *, post_id: str = "", author: str = "") -> None:
        if not channel_id:
            raise ValueError("a post with buttons or menus needs its channel_id")
        if not post_id and not author:
            raise ValueError(
                "a new post with buttons or menus needs its user_id (the author): the "
                "signature is bound to it, since the server chooses the post's id"
            )
        self.channel_id, self.post_id, self.author = channel_id, post_id, author


def new_action_id() -> str:
    return "".join(secrets.choice(_ID_LETTERS) for _ in range(26))


def render_attachments(
    attachments: Sequence[Attachment], *, plugin_id: str, key: bytes, binding: Binding
) -> list[dict[str, Any]]:
    """The JSON of ``attachments`` for ``props["attachments"]``, every action signed."""
    rendered: list[dict[str, Any]] = []
    used: set[str] = set()
    for attachment in attachments:
        if not isinstance(attachment, Attachment):
            raise TypeError(f"expected Attachment objects, got {attachment!r}")
        data: dict[str, Any] = {
            name: value for name in _TEXT_FIELDS if (value := getattr(attachment, name))
        }
        if attachment.fields:
            data["fields"] = [field.to_json() for field in attachment.fields]
        actions = []
        for item in attachment.actions:
            action_id = item.id or new_action_id()
            if action_id in used:
                raise ValueError(f"two actions of one post have the id {action_id!r}")
            used.add(action_id)
            payload = {
                "t": "action",
                "p": plugin_id,
                "a": item.action,
                "i": action_id,
                "ch": binding.channel_id,
                "po": binding.post_id,
                "au": binding.author if not binding.post_id else "",
                "c": item.context,
            }
            action = {"id": action_id, **item.to_json()}
            action["integration"] = {
                "url": f"/plugins/{plugin_id}{ACTION_PREFIX}{item.action}",
                "context": {CONTEXT_TOKEN: sign(key, payload)},
            }
            actions.append(action)
        if actions:
            data["actions"] = actions
        rendered.append(data)
    return rendered


def actions_of(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The actions in a post's ``props["attachments"]`` (dicts, as stored)."""
    found: list[dict[str, Any]] = []
    attachments = props.get("attachments")
    if not isinstance(attachments, list):
        return found
    for attachment in attachments:
        actions = attachment.get("actions") if isinstance(attachment, dict) else None
        if isinstance(actions, list):
            found.extend(a for a in actions if isinstance(a, dict))
    return found
