"""Buttons, menus and dialogs on the local Mattermost: the server's flows for a click and a
dialog submission, shared by the pytest helpers and the dev server's routes.

A click (``POST /api/v4/posts/{post_id}/actions/{action_id}``, server's
``DoPostActionWithCookie``): find the action in the stored post (or the ephemeral post the
cookie names), build the ``PostActionIntegrationRequest`` (user, channel and team, post,
a new trigger id, the action's type, data source and context, with ``selected_option``
added for a menu), POST it to the action's integration URL (for a URL of the plugin: its
``ServeHTTP`` with ``Mattermost-User-Id``), then apply the answer: ``update`` through the
server's post update (id, channel, author and creation time kept; the retained props
``from_webhook``, ``override_username``, ``override_icon_url`` carried over),
``ephemeral_text`` as an ephemeral post for the user who clicked, ``goto_location`` handed
back to the client.

A submission (``POST /api/v4/actions/dialogs/submit``, ``SubmitInteractiveDialog``): the
request as the client sent it, ``user_id`` replaced by the session's, POSTed to its URL;
the plugin's ``SubmitDialogResponse`` is the answer.

Only the plugin's own URLs (``/plugins/<id>/...``, relative or on the site URL or
localhost) are delivered: the local host sends nothing to the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mattermost_plugin._generated.converters import api_remaining as c_remaining
from mattermost_plugin._generated.converters import post as c_post
from mattermost_plugin._pb.pluginapi.v1 import api_channel_post_pb2, post_pb2
from mattermost_plugin.host._local_posts import LocalPosts
from mattermost_plugin.host._local_types import ChannelRef, PostRef, TeamRef, UserRef, _id, _ms
from mattermost_plugin.host.fake_server import FakeAppError, new_id
from mattermost_plugin.interactive._messages import actions_of
from mattermost_plugin.interactive._wire import (
    PostActionAPIResponse,
    PostActionIntegrationRequest,
    PostActionIntegrationResponse,
    SubmitDialogRequest,
    SubmitDialogResponse,
)
from mattermost_plugin.models import OpenDialogRequest, Post

if TYPE_CHECKING:
    from mattermost_plugin.host._local_types import HTTPResult

__all__ = ["ActionResult", "LocalInteractive", "OpenedDialog"]

_INTEGRATION_ERROR = "api.post.do_action.action_integration.app_error"
# model.PostActionRetainPropKeys: kept from the original post when an action updates it.
_RETAINED_PROPS = ("from_webhook", "override_username", "override_icon_url")


@dataclass(frozen=True)
class OpenedDialog:
    """A dialog the plugin opened (``OpenInteractiveDialog``): for whom, and the request as
    sent (its ``trigger_id``, ``url`` and ``dialog``)."""

    user_id: str
    request: OpenDialogRequest

    @property
    def trigger_id(self) -> str:
        return self.request.trigger_id


@dataclass(frozen=True)
class ActionResult:
    """What a click did: the server's answer to the client (``status``, ``trigger_id``,
    ``goto_location``), the plugin's answer (``response``), and the post it updated and
    the ephemeral post it sent, if any."""

    api: PostActionAPIResponse
    response: PostActionIntegrationResponse
    updated: Post | None = None
    ephemeral: Post | None = None
    request: PostActionIntegrationRequest = field(default_factory=PostActionIntegrationRequest)

    @property
    def ephemeral_text(self) -> str:
        return self.response.ephemeral_text

    @property
    def trigger_id(self) -> str:
        return self.api.trigger_id


class LocalInteractive(LocalPosts):
    """Clicks and dialog submissions, with the server's flows around them."""

    if TYPE_CHECKING:

        def http(
            self, method: str, path: str, *, json_body: Any = None, user: UserRef | None = None
        ) -> HTTPResult: ...

    # -- looking at actions and dialogs ---------------------------------------------------
    def _stored_post(self, post_id: str) -> tuple[post_pb2.Post, str | None]:
        """The post (stored, else ephemeral) and, for an ephemeral one, its user."""
        fake = self.server
        with fake.transaction():
            ephemeral = fake.ephemeral_posts.get(post_id)
            if ephemeral is not None:
                copy = post_pb2.Post()
                copy.CopyFrom(ephemeral.post)
                return copy, ephemeral.user_id
            copy = post_pb2.Post()
            copy.CopyFrom(fake._post(post_id))
            return copy, None

    def actions(self, post: PostRef) -> list[dict[str, Any]]:
        """The buttons and menus of a post (stored or ephemeral), as stored: ``id``,
        ``name``, ``type``, ``options``, ``integration``, ..."""
        stored, _ = self._stored_post(_id(post))
        return actions_of(c_post.post_from_pb(stored).props)

    def dialogs(self, user: UserRef | None = None) -> list[OpenedDialog]:
        """The dialogs the plugin opened (for ``user``), oldest first (the latest 1000)."""
        user_id = _id(user) if user is not None else None
        with self.server.transaction():
            opened = list(self.server.dialogs)
        return [
            OpenedDialog(owner, c_remaining.open_dialog_request_from_pb(request))
            for owner, request in opened
            if user_id is None or owner == user_id
        ]

    def new_trigger_id(self, user: UserRef | None = None) -> str:
        """A trigger id for ``user`` (default: the default user), as a command or click
        gives one: it opens a dialog for 3 seconds."""
        user_id = self._default(user, self._user, "user")
        with self.server.transaction():
            return self.server.issue_trigger_id(user_id)

    # -- clicking ---------------------------------------------------------------------------
    def click(
        self,
        post: PostRef,
        button: str,
        *,
        user: UserRef | None = None,
        selected_option: str | None = None,
    ) -> ActionResult:
        """Click a button of ``post`` (or choose ``selected_option`` in a menu) as ``user``
        (default: the default user), the way the webapp and the server do. ``button`` is
        the action's id, or its label when no other action of the post has that label.
        Raises :class:`~mattermost_plugin.host.fake_server.FakeAppError` as the server
        answers: 404 for a missing post or action, 400 when the integration refused (its
        status is in the message)."""
        post_id = _id(post)
        found = self.actions(post_id)
        ids = [a.get("id") for a in found]
        if button not in ids:
            named = [a for a in found if a.get("name") == button]
            if len(named) > 1:
                listed = ", ".join(f"{a.get('id')}" for a in named)
                raise ValueError(
                    f"{len(named)} actions of the post are labelled {button!r}: {listed}"
                )
            if named:
                button = str(named[0].get("id", ""))
        return self.do_post_action(
            post_id,
            button,
            user=self._default(user, self._user, "user"),
            selected_option=selected_option,
        )

    def do_post_action(
        self, post_id: str, action_id: str, *, user: str, selected_option: str | None = None
    ) -> ActionResult:
        """The server's ``DoPostActionWithCookie`` (``POST /api/v4/posts/{post_id}/actions/
        {action_id}``) for ``user``: see the module doc. The dev server's route calls it."""
        fake = self.server
        stored, ephemeral_user = self._stored_post(post_id)
        if ephemeral_user is not None and ephemeral_user != user:
            # The cookie of another user's ephemeral post does not decrypt to this post.
            raise FakeAppError(_INTEGRATION_ERROR, "the ephemeral post is another user's", 400)
        original = c_post.post_from_pb(stored)
        action = next((a for a in actions_of(original.props) if a.get("id") == action_id), None)
        integration = action.get("integration") if action is not None else None
        if action is None or not isinstance(integration, dict):
            raise FakeAppError(
                "api.post.do_action.action_id.app_error",
                f"the post has no action {action_id!r}",
                404,
            )
        with fake.transaction():
            channel = fake._channel(stored.channel_id)
            team = fake.teams.get(channel.team_id) if channel.team_id else None
            username = fake._user(user).username
        context = dict(integration.get("context") or {})
        action_type = str(action.get("type") or "button")
        if action_type == "select" and selected_option:
            context["selected_option"] = selected_option
        trigger_id = self.new_trigger_id(user)
        request = PostActionIntegrationRequest(
            user_id=user,
            user_name=username,
            channel_id=stored.channel_id,
            channel_name=channel.name,
            team_id=channel.team_id,
            team_domain=team.name if team is not None else "",
            post_id=post_id,
            trigger_id=trigger_id,
            type=action_type,
            data_source=str(action.get("data_source") or ""),
            context=context,
        )
        started = time.monotonic()
        answer = self._deliver(str(integration.get("url", "")), request.model_dump(), user)
        try:
            response = PostActionIntegrationResponse.model_validate(answer or {})
        except ValueError:
            raise FakeAppError(
                _INTEGRATION_ERROR, "the answer is not a valid response", 400
            ) from None
        self._emit(
            "action",
            f"{action.get('name')!r} clicked by {username} on {post_id}",
            fields={"duration": _ms(time.monotonic() - started)},
        )
        updated = ephemeral = None
        if response.update is not None:
            updated = self._apply_update(original, response.update, ephemeral_user)
        if response.ephemeral_text:
            sent = post_pb2.Post(
                id=new_id(),
                channel_id=stored.channel_id,
                root_id=stored.root_id,
                user_id=user,
                message=response.ephemeral_text,
            )
            answer_post = self._invoke(
                "SendEphemeralPost",
                api_channel_post_pb2.SendEphemeralPostRequest(user_id=user, post=sent),
            ).post
            ephemeral = c_post.post_from_pb(answer_post)
        api = PostActionAPIResponse(
            status="OK", trigger_id=trigger_id, goto_location=response.goto_location
        )
        return ActionResult(api, response, updated, ephemeral, request)

    def _apply_update(self, original: Post, update: Post, ephemeral_user: str | None) -> Post:
        props = dict(update.props)
        for key in _RETAINED_PROPS:
            if key in original.props:
                props[key] = original.props[key]
            else:
                props.pop(key, None)
        if ephemeral_user is not None:
            # UpdateEphemeralPost: the client replaces its copy; the id and channel stay.
            post = c_post.post_to_pb(update)
            post.id, post.channel_id = original.id, original.channel_id
            post.user_id = original.user_id
            post.create_at = original.create_at
            post.ClearField("props")
            post.props.update(props)
            stored = self._invoke(
                "UpdateEphemeralPost",
                api_channel_post_pb2.UpdateEphemeralPostRequest(user_id=ephemeral_user, post=post),
            ).post
            return c_post.post_from_pb(stored)
        # UpdatePost with SafeUpdate false: message, props, files and pinned come from the
        # update; the post's id, channel, author and creation time stay.
        return self.update_post(
            original.id,
            update.message,
            props=props,
            file_ids=update.file_ids,
            is_pinned=update.is_pinned,
            wait=False,
        )

    # -- dialogs ----------------------------------------------------------------------------
    def submit_dialog(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        dialog: OpenedDialog | None = None,
        user: UserRef | None = None,
        channel: ChannelRef | None = None,
        team: TeamRef | None = None,
        cancelled: bool = False,
        state: str | None = None,
    ) -> SubmitDialogResponse:
        """Submit ``dialog`` (default: the latest one opened for ``user``) with ``values``
        by element name, as the webapp does: an element the values leave out keeps its
        ``default``. ``cancelled=True`` closes it instead (the plugin hears of it only if
        the dialog asked, ``notify_on_cancel``). ``state`` replaces the dialog's state, to
        test what a tampered one gets. Returns the plugin's answer: ``errors`` and
        ``error`` keep the dialog open, an empty answer closes it."""
        user_id = self._default(user, self._user, "user")
        if dialog is None:
            opened = self.dialogs(user_id)
            if not opened:
                raise LookupError(f"no dialog was opened for {user_id}")
            dialog = opened[-1]
        model = dialog.request.dialog
        if model is None:
            raise ValueError("the dialog request has no dialog")
        submission: dict[str, Any] = {}
        if not cancelled:
            for element in model.elements:
                if element.default and element.name not in (values or {}):
                    submission[element.name] = (
                        element.default == "true" if element.type == "bool" else element.default
                    )
            submission.update(values or {})
        channel_id = self._default(channel, self._channel, "channel")
        request = SubmitDialogRequest(
            url=dialog.request.url,
            callback_id=model.callback_id,
            state=model.state if state is None else state,
            channel_id=channel_id,
            team_id=_id(team) if team is not None else (self._team.id if self._team else ""),
            submission=submission,
            cancelled=cancelled,
        )
        return self.submit_dialog_request(request, user=user_id)

    def submit_dialog_request(
        self, request: SubmitDialogRequest, *, user: str
    ) -> SubmitDialogResponse:
        """The server's ``SubmitInteractiveDialog`` (``POST /api/v4/actions/dialogs/submit``)
        for ``user``; the dev server's route calls it."""
        sent = request.model_copy(update={"user_id": user})
        started = time.monotonic()
        answer = self._deliver(sent.url, sent.model_dump(), user)
        try:
            response = SubmitDialogResponse.model_validate(answer or {})
        except ValueError:
            raise FakeAppError(
                _INTEGRATION_ERROR, "the answer is not a valid response", 400
            ) from None
        outcome = "cancelled" if sent.cancelled else "submitted"
        if response.errors or response.error:
            outcome += f"; kept open: {response.error or ''} {response.errors or ''}".rstrip()
        self._emit(
            "dialog",
            f"{sent.callback_id!r} {outcome}",
            fields={"duration": _ms(time.monotonic() - started)},
        )
        return response

    # -- delivery -----------------------------------------------------------------------------
    def _plugin_url(self, url: str) -> str | None:
        """The path below the site for a URL of this plugin, else ``None``."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            allowed = {"localhost", "127.0.0.1", urlsplit(self.site_url_value).hostname}
            if parts.scheme not in ("http", "https") or parts.hostname not in allowed:
                return None
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
        prefix = f"/plugins/{self.plugin_id}/"
        if not path.startswith(prefix):
            return None
        return path + (f"?{parts.query}" if parts.query else "")

    def _deliver(self, url: str, body: dict[str, Any], user: str) -> Any:
        """POST ``body`` to an integration URL as the server does (DoActionRequest): a
        non-200 answer is the server's 400 ``action_integration`` error."""
        path = self._plugin_url(url)
        if path is None:
            raise FakeAppError(
                _INTEGRATION_ERROR,
                f"the local host delivers only to this plugin's URLs (/plugins/"
                f"{self.plugin_id}/...), not {url!r}",
                400,
            )
        try:
            result = self.http("POST", path, json_body=body, user=user)
        except Exception as exc:  # not running, crashed, gone: the server's request failed
            raise FakeAppError(_INTEGRATION_ERROR, f"the request failed: {exc}", 400) from None
        if result.status_code != 200:
            raise FakeAppError(_INTEGRATION_ERROR, f"status={result.status_code}", 400)
        if not result.body.strip():
            return None
        try:
            return json.loads(result.body)
        except ValueError:
            raise FakeAppError(_INTEGRATION_ERROR, "the answer is not JSON", 400) from None
