"""Trigger ids and ``OpenInteractiveDialog`` for the fake Mattermost.

The server hands out a trigger id with each slash command and each click
(``base64("<client trigger id>:<user id>:<millis>:<signature>")``, signed with its own key)
and opens a dialog only for a trigger id it signed whose time is less than 3 s ago
(``InteractiveDialogTriggerTimeoutMilliseconds``); the dialog opens in the client of the
user the trigger id names. The fake does the same with an HMAC key of its own, and keeps
the dialogs it opened (a client would show them) for the local host and tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

from mattermost_plugin._generated.converters import api_remaining as c_remaining
from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2
from mattermost_plugin.models import OpenDialogRequest

__all__ = ["TRIGGER_TIMEOUT_MS", "DialogsMixin", "OpenedDialog"]

TRIGGER_TIMEOUT_MS = 3000
"""How long a trigger id opens a dialog (the server's ``InteractiveDialogTriggerTimeout``)."""
MAX_KEPT = 100


@dataclass(frozen=True)
class OpenedDialog:
    """A dialog the plugin opened: for whom, when (ms), and the request as sent."""

    user_id: str
    opened_at: int
    trigger_id: str
    request: OpenDialogRequest


class DialogsMixin:
    """What :class:`~mattermost_plugin.host.fake_server.FakeMattermost` knows about trigger
    ids and dialogs. ``on_dialog`` is called with each dialog opened (outside the lock)."""

    if TYPE_CHECKING:

        def now_ms(self) -> int: ...
        def transaction(self) -> Any: ...

    def _init_dialogs(self) -> None:
        self._trigger_key = os.urandom(32)
        self._dialogs_lock = threading.Lock()
        self.opened_dialogs: deque[OpenedDialog] = deque(maxlen=MAX_KEPT)
        """The latest dialogs opened, oldest first."""
        self.on_dialog: Callable[[OpenedDialog], None] | None = None

    def _trigger_signature(self, data: str) -> str:
        mac = hmac.new(self._trigger_key, data.encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode()

    def new_trigger_id(self, user_id: str) -> str:
        """A trigger id for ``user_id``, as the server makes one for a command or a click."""
        from mattermost_plugin.host.fake_server import new_id

        data = f"{new_id()}:{user_id}:{self.now_ms()}"
        return base64.b64encode(f"{data}:{self._trigger_signature(data)}".encode()).decode()

    def trigger_user(self, trigger_id: str) -> str:
        """The user a trigger id was made for; raises the server's errors (``FakeAppError``,
        400) for one it did not sign or that expired."""
        from mattermost_plugin.host.fake_server import FakeAppError

        def refuse(what: str, message: str) -> FakeAppError:
            return FakeAppError(f"interactive_message.decode_trigger_id.{what}", message, 400)

        try:
            decoded = base64.b64decode(trigger_id.encode(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise refuse("base64_decode_failed", "the trigger id is not base64") from None
        parts = decoded.split(":")
        if len(parts) != 4 or not all(parts[:3]):
            raise refuse("missing_data", "the trigger id is missing data")
        client_id, user_id, millis, signature = parts
        expected = self._trigger_signature(f"{client_id}:{user_id}:{millis}")
        if not hmac.compare_digest(expected, signature):
            raise refuse("verify_signature_failed", "the trigger id's signature is not valid")
        try:
            made = int(millis)
        except ValueError:
            raise refuse("missing_data", "the trigger id's time is not a number") from None
        if self.now_ms() - made > TRIGGER_TIMEOUT_MS:
            raise refuse(
                "expired",
                f"Trigger ID for interactive dialog is expired. Trigger IDs live for a "
                f"maximum of {TRIGGER_TIMEOUT_MS // 1000}s.",
            )
        return user_id

    def OpenInteractiveDialog(
        self,
        request: api_remaining_pb2.OpenInteractiveDialogRequest,
        context: grpc.ServicerContext,
    ) -> api_remaining_pb2.OpenInteractiveDialogResponse:
        from mattermost_plugin.host.fake_server import FakeAppError, grpc_code_for_http

        try:
            with self.transaction():
                user_id = self.trigger_user(request.dialog.trigger_id)
                if not request.dialog.url:
                    raise FakeAppError(
                        "interactive_message.open_dialog.url.app_error",
                        "the dialog has no URL",
                        400,
                    )
                opened = OpenedDialog(
                    user_id,
                    self.now_ms(),
                    request.dialog.trigger_id,
                    c_remaining.open_dialog_request_from_pb(request.dialog),
                )
                with self._dialogs_lock:
                    self.opened_dialogs.append(opened)
        except FakeAppError as exc:
            context.abort(grpc_code_for_http(exc.status_code), f"{exc.error_id}: {exc.message}")
        callback = self.on_dialog
        if callback is not None:
            callback(opened)
        return api_remaining_pb2.OpenInteractiveDialogResponse()

    def dialogs_for(self, user_id: str | None = None) -> Iterator[OpenedDialog]:
        """The dialogs opened (for ``user_id``), oldest first."""
        with self._dialogs_lock:
            kept = list(self.opened_dialogs)
        return (d for d in kept if user_id is None or d.user_id == user_id)
