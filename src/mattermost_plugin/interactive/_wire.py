"""The JSON the server and the plugin exchange for clicks and dialog submissions.

These travel over HTTP (the server POSTs them to the integration URL, which for a plugin is
its ``ServeHTTP``), not over gRPC, so they are not among the generated models. Field names
are the server's (``model.PostActionIntegrationRequest`` and friends). Unknown fields are
kept (a newer server may send more) and missing ones take their zero value, as Go's JSON
decoding does.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from mattermost_plugin.models import Post

__all__ = [
    "PostActionAPIResponse",
    "PostActionIntegrationRequest",
    "PostActionIntegrationResponse",
    "SubmitDialogRequest",
    "SubmitDialogResponse",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class PostActionIntegrationRequest(_Wire):
    """What the server POSTs to an action's integration URL when a user clicks it. For a
    menu, the chosen value is also in ``context["selected_option"]``."""

    user_id: str = ""
    user_name: str = ""
    channel_id: str = ""
    channel_name: str = ""
    team_id: str = ""
    team_domain: str = ""
    post_id: str = ""
    trigger_id: str = ""
    type: str = ""
    data_source: str = ""
    context: dict[str, Any] = {}


class PostActionIntegrationResponse(_Wire):
    """The integration's answer, which the server applies: ``update`` replaces the post's
    message and props (keeping its id, channel, author and creation time),
    ``ephemeral_text`` is shown to the user who clicked, ``goto_location`` opens a URL in
    their client."""

    update: Post | None = None
    ephemeral_text: str = ""
    goto_location: str = ""
    skip_slack_parsing: bool = False


class PostActionAPIResponse(_Wire):
    """The server's answer to the client's ``POST /api/v4/posts/{post_id}/actions/{id}``.
    (``status`` and ``trigger_id`` are the server's fields; whether its answer carries the
    integration's ``goto_location`` here, or the webapp learns it otherwise, we could not
    tell from the server's code: the local host puts it here.)"""

    status: str = "OK"
    trigger_id: str = ""
    goto_location: str = ""


class SubmitDialogRequest(_Wire):
    """What the client sends to ``POST /api/v4/actions/dialogs/submit`` and the server
    forwards to the dialog's URL (with ``user_id`` set from the session)."""

    type: str = "dialog_submission"
    url: str = ""
    callback_id: str = ""
    state: str = ""
    user_id: str = ""
    channel_id: str = ""
    team_id: str = ""
    submission: dict[str, Any] = {}
    cancelled: bool = False


class SubmitDialogResponse(_Wire):
    """The answer to a submission: ``error`` (shown at the bottom) or ``errors`` (by
    element name, shown next to each) keep the dialog open; an empty answer closes it."""

    error: str = ""
    errors: dict[str, str] = {}
