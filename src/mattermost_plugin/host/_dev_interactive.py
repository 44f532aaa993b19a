"""The dev server's routes for buttons, menus and dialogs: the server's own.

* ``POST /api/v4/posts/{post_id}/actions/{action_id}`` (``{"selected_option"?,
  "cookie"?}``): a click, as the webapp sends it; the answer is the server's
  ``{"status": "OK", "trigger_id", "goto_location"?}``;
* ``POST /api/v4/actions/dialogs/submit`` (a ``SubmitDialogRequest``): a dialog submission;
  the answer is the plugin's ``{"error"?, "errors"?}``;
* ``GET /dev/dialogs``: the dialogs the plugin opened, newest first (a client would show
  them): for whom, and the ``OpenDialogRequest`` to submit them with.

Both POST routes run :class:`~mattermost_plugin.host.local.LocalMattermost`'s flows, the
ones the pytest helpers use. A cookie is accepted and not read: the local host finds an
ephemeral post's actions in the post itself, which the cookie would only repeat.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mattermost_plugin.host._http_front import Exchange, HTTPError
from mattermost_plugin.host.fake_server import FakeAppError
from mattermost_plugin.interactive._wire import SubmitDialogRequest

if TYPE_CHECKING:
    from mattermost_plugin.host._dev_routes import DevRoutes

__all__ = ["route_interactive"]

_ACTION = re.compile(r"^/api/v4/posts/([A-Za-z0-9]+)/actions/([A-Za-z0-9]+)$")
_SUBMIT = "/api/v4/actions/dialogs/submit"
_INVALID_BODY = "api.context.invalid_body_param.app_error"


def route_interactive(routes: DevRoutes, exchange: Exchange, method: str, path: str) -> bool:
    """Answer ``exchange`` if it is one of these routes; ``False`` when it is not."""
    local = routes.dev.local
    if method == "GET" and path == "/dev/dialogs":
        opened = reversed(local.dialogs())
        exchange.respond_json(
            200,
            [
                {
                    "user_id": d.user_id,
                    "trigger_id": d.trigger_id,
                    "request": d.request.model_dump(mode="json"),
                }
                for d in opened
            ],
        )
        return True
    match = _ACTION.match(path)
    if method == "POST" and match is not None:
        body = routes._json_body(exchange)
        selected = body.get("selected_option")
        if selected is not None and not isinstance(selected, str):
            raise HTTPError(400, _INVALID_BODY, "selected_option must be a string")
        try:
            result = local.do_post_action(
                match[1], match[2], user=_session_user(routes, exchange), selected_option=selected
            )
        except FakeAppError as exc:
            raise HTTPError(exc.status_code, exc.error_id, exc.message) from None
        exchange.respond_json(200, result.api.model_dump(mode="json"))
        return True
    if method == "POST" and path == _SUBMIT:
        data: dict[str, Any] = routes._json_body(exchange)
        try:
            request = SubmitDialogRequest.model_validate(data)
        except ValidationError as exc:
            raise HTTPError(400, _INVALID_BODY, f"not a dialog submission: {exc}") from None
        try:
            response = local.submit_dialog_request(request, user=_session_user(routes, exchange))
        except FakeAppError as exc:
            raise HTTPError(exc.status_code, exc.error_id, exc.message) from None
        exchange.respond_json(200, response.model_dump(mode="json", exclude_defaults=True))
        return True
    return False


def _session_user(routes: DevRoutes, exchange: Exchange) -> str:
    user = routes._user_id(exchange)
    if not user:  # the server's routes need a session
        raise HTTPError(401, "api.context.session_expired.app_error", "a session is required")
    return user
