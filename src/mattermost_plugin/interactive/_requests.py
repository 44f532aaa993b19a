"""What ``@action`` and ``@dialog`` handlers receive and return."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

if TYPE_CHECKING:
    from mattermost_plugin.interactive._messages import Attachment
    from mattermost_plugin.models import Post

__all__ = ["ActionRequest", "ActionResponse", "DialogResponse", "DialogSubmission"]

ContextT = TypeVar("ContextT", default=Any)
FormT = TypeVar("FormT", default=dict[str, Any])


class ActionRequest(Generic[ContextT]):
    """A click on a button, or a choice in a menu, as an ``@action`` handler receives it.

    ``ActionRequest[Model]`` in the handler's signature validates the context the button
    carried into ``Model`` (any type Pydantic validates); plain ``ActionRequest`` gives the
    JSON data as it was given.

    Checked by the SDK, so they can be trusted: ``user_id`` (the server's
    ``Mattermost-User-Id`` header: who clicked), ``context``, ``action``, ``action_id``,
    ``channel_id`` and ``post_id`` (the signature binds them), and ``post``. As the client
    sent them, for information: ``user_name``, ``channel_name``, ``team_id``,
    ``team_domain``, ``trigger_id``, ``selected_option``.

    Attributes:
        user_id: the user who clicked.
        post_id: the post the button is on.
        post: that post, as stored (``None`` for an ephemeral post: the server keeps none).
        channel_id: the post's channel.
        context: what the button carried.
        action: the action's name (the handler's ``@action`` name).
        action_id: the button's id in the post.
        type: ``"button"`` or ``"select"``.
        selected_option: the value chosen in a menu (``None`` for a button).
        data_source: a menu's ``"users"`` or ``"channels"``, else ``""``.
        trigger_id: opens a dialog in the user's client for a few seconds
            (``self.interactive.open_dialog(request, Dialog(...))``).
    """

    __slots__ = (
        "action",
        "action_id",
        "channel_id",
        "channel_name",
        "context",
        "data_source",
        "post",
        "post_id",
        "selected_option",
        "team_domain",
        "team_id",
        "trigger_id",
        "type",
        "user_id",
        "user_name",
    )

    def __init__(
        self,
        *,
        user_id: str,
        post_id: str,
        channel_id: str,
        context: ContextT,
        action: str,
        action_id: str = "",
        post: Post | None = None,
        type: str = "button",
        selected_option: str | None = None,
        data_source: str = "",
        trigger_id: str = "",
        user_name: str = "",
        channel_name: str = "",
        team_id: str = "",
        team_domain: str = "",
    ) -> None:
        self.user_id, self.post_id, self.channel_id = user_id, post_id, channel_id
        self.context: ContextT = context
        self.action, self.action_id, self.post = action, action_id, post
        self.type, self.selected_option, self.data_source = type, selected_option, data_source
        self.trigger_id, self.user_name, self.channel_name = trigger_id, user_name, channel_name
        self.team_id, self.team_domain = team_id, team_domain

    def __repr__(self) -> str:
        return (
            f"ActionRequest(action={self.action!r}, user_id={self.user_id!r}, "
            f"post_id={self.post_id!r}, context={self.context!r})"
        )


class ActionResponse:
    """What an ``@action`` handler may answer (it may also return a ``str``: the ephemeral
    text, or ``None``: nothing to show).

    Args:
        ephemeral_text: a message only the user who clicked sees.
        update: the post's new message and props (the server keeps its id, channel, author
            and creation time). Props replace the old ones: an update without attachments
            removes the buttons.
        attachments: the post's new attachments (signed for this post), on top of
            ``update``, or of the post as it is when there is no ``update``.
        goto_location: a URL the user's client opens.
        skip_slack_parsing: do not convert Slack-style markup in the update.
    """

    __slots__ = ("attachments", "ephemeral_text", "goto_location", "skip_slack_parsing", "update")

    def __init__(
        self,
        ephemeral_text: str = "",
        *,
        update: Post | None = None,
        attachments: Sequence[Attachment] | None = None,
        goto_location: str = "",
        skip_slack_parsing: bool = False,
    ) -> None:
        self.ephemeral_text, self.update, self.attachments = ephemeral_text, update, attachments
        self.goto_location, self.skip_slack_parsing = goto_location, skip_slack_parsing

    def __repr__(self) -> str:
        return (
            f"ActionResponse(ephemeral_text={self.ephemeral_text!r}, "
            f"update={self.update is not None}, attachments={self.attachments!r})"
        )


class DialogSubmission(Generic[FormT]):
    """A dialog's submission, as a ``@dialog`` handler receives it.

    ``values`` maps each element's name to its value, checked against the element (a
    ``number`` field gives an ``int`` or ``float``, a ``bool`` a ``bool``, an empty optional
    field ``None``). ``DialogSubmission[Model]`` in the handler's signature validates them
    into ``Model`` (``submission.data``); what does not validate is answered as field errors
    next to the fields, before the handler runs.

    Attributes:
        user_id: who submitted (the server's ``Mattermost-User-Id`` header).
        dialog: the dialog's name.
        state: the ``state`` the dialog was opened with (signed: it can be trusted).
        cancelled: the user closed the dialog (only sent for ``notify_on_cancel``
            dialogs); ``values`` is then empty and ``data`` raises.
        channel_id, team_id: where the client says the dialog was opened.
    """

    __slots__ = (
        "_data",
        "cancelled",
        "channel_id",
        "dialog",
        "state",
        "team_id",
        "user_id",
        "values",
    )

    def __init__(
        self,
        *,
        user_id: str,
        dialog: str,
        values: Mapping[str, Any],
        data: FormT | None = None,
        state: Any = None,
        cancelled: bool = False,
        channel_id: str = "",
        team_id: str = "",
    ) -> None:
        self.user_id, self.dialog, self.values = user_id, dialog, dict(values)
        self._data = data
        self.state, self.cancelled = state, cancelled
        self.channel_id, self.team_id = channel_id, team_id

    @property
    def data(self) -> FormT:
        """The values, validated into the handler's form type (the values dict for plain
        ``DialogSubmission``)."""
        if self.cancelled:
            raise RuntimeError(f"the dialog {self.dialog!r} was cancelled: it has no values")
        if self._data is None:
            return self.values  # type: ignore[return-value]
        return self._data

    def __repr__(self) -> str:
        return (
            f"DialogSubmission(dialog={self.dialog!r}, user_id={self.user_id!r}, "
            f"values={self.values!r}, cancelled={self.cancelled})"
        )


class DialogResponse:
    """What a ``@dialog`` handler answers to keep the dialog open: ``errors`` by element
    name (shown next to the fields) and/or a general ``error``. Returning ``None`` closes
    the dialog; returning a ``dict`` is the same as ``DialogResponse(errors=the_dict)``, a
    ``str`` the same as ``DialogResponse(error=the_str)``."""

    __slots__ = ("error", "errors")

    def __init__(self, errors: Mapping[str, str] | None = None, *, error: str = "") -> None:
        self.errors = dict(errors or {})
        self.error = error

    def __repr__(self) -> str:
        return f"DialogResponse(errors={self.errors!r}, error={self.error!r})"

    def __bool__(self) -> bool:
        return bool(self.errors or self.error)
