"""``self.interactive``: posts with buttons and menus, and dialogs, for one plugin object."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mattermost_plugin.interactive._dialogs import Dialog, dialog_request
from mattermost_plugin.interactive._messages import (
    Attachment,
    Binding,
    new_action_id,
    render_attachments,
)
from mattermost_plugin.interactive._signing import load_key, load_key_async

if TYPE_CHECKING:
    from mattermost_plugin.interactive._requests import ActionRequest
    from mattermost_plugin.models import CommandArgs, OpenDialogRequest, Post
    from mattermost_plugin.plugin import Plugin

__all__ = ["Interactions", "interactions_of"]


class Interactions:
    """Buttons, menus and dialogs for one plugin object: ``self.interactive``.

    The signing key is loaded when the plugin activates (the SDK's ``OnActivate``
    listener, before the plugin's own handler); code that runs earlier, or a unit test of
    a plugin built without a server, loads it with ``self.api`` on first use, or sets one
    with :meth:`use_key`.
    """

    def __init__(self, plugin: Plugin[Any]) -> None:
        self._plugin = plugin
        self._key: bytes | None = None
        self._plugin_id: str | None = None

    # -- key and id ----------------------------------------------------------------------
    @property
    def plugin_id(self) -> str:
        """The plugin's id (from the runtime, else ``MATTERMOST_PLUGIN_ID`` or the manifest)."""
        if self._plugin_id is None:
            from mattermost_plugin._plugin_id import find_plugin_id

            found, where = find_plugin_id(os.environ)
            if found is None:
                raise RuntimeError(f"the plugin's id is unknown: looked in {where}")
            self._plugin_id = found
        return self._plugin_id

    def use_key(self, key: bytes, plugin_id: str | None = None) -> None:
        """Sign with ``key`` (32 bytes) from now on: for unit tests without a server."""
        if not isinstance(key, bytes) or len(key) != 32:
            raise ValueError("a signing key is 32 bytes")
        self._key = key
        if plugin_id is not None:
            self._plugin_id = plugin_id

    @property
    def key(self) -> bytes:
        """The signing key (loaded with ``self.api`` if activation has not loaded it)."""
        if self._key is None:
            self._key = load_key(self._plugin.api)
        return self._key

    async def load(self, plugin_id: str, timeout: float | None = None) -> None:
        """Load the key with ``async_api`` (the ``OnActivate`` listener does)."""
        self._plugin_id = plugin_id
        self._key = await load_key_async(self._plugin.async_api, timeout)

    async def key_async(self) -> bytes:
        if self._key is None:
            self._key = await load_key_async(self._plugin.async_api)
        return self._key

    # -- posts ---------------------------------------------------------------------------
    def with_attachments(
        self, post: Post, attachments: Sequence[Attachment], *, ephemeral: bool = False
    ) -> Post:
        """A copy of ``post`` whose ``props["attachments"]`` are ``attachments``, each
        button and menu signed for this post; send it with ``create_post``,
        ``send_ephemeral_post`` (then pass ``ephemeral=True``) or ``update_post``.

        The signature is bound to the post's id when it has one (an ephemeral post gets a
        new id here), else to its author and channel: a new post needs ``user_id`` (the
        bot or user posting it) and ``channel_id``.
        """
        copy = post.model_copy(deep=True)
        if ephemeral and not copy.id:
            copy.id = new_action_id()
        binding = Binding(copy.channel_id, post_id=copy.id, author=copy.user_id)
        copy.props = {
            **copy.props,
            "attachments": render_attachments(
                attachments, plugin_id=self.plugin_id, key=self.key, binding=binding
            ),
        }
        return copy

    # -- dialogs -------------------------------------------------------------------------
    def dialog_request(
        self, trigger: str | CommandArgs | ActionRequest[Any], dialog: Dialog
    ) -> OpenDialogRequest:
        """The ``OpenDialogRequest`` that opens ``dialog`` (for ``open_interactive_dialog``).

        ``trigger`` is a trigger id, or what carries one: the ``CommandArgs`` of a slash
        command or the ``ActionRequest`` of a click (the dialog is then bound to that
        user: a submission by anyone else is refused).
        """
        if isinstance(trigger, str):
            trigger_id, user_id = trigger, ""
        else:
            trigger_id, user_id = trigger.trigger_id, trigger.user_id
        return dialog_request(
            dialog, trigger_id, plugin_id=self.plugin_id, key=self.key, user_id=user_id
        )

    def open_dialog(self, trigger: str | CommandArgs | ActionRequest[Any], dialog: Dialog) -> None:
        """Open ``dialog`` in the user's client. A trigger id is good for about 3 seconds
        after the command or click that made it."""
        self._plugin.api.open_interactive_dialog(self.dialog_request(trigger, dialog))

    async def open_dialog_async(
        self, trigger: str | CommandArgs | ActionRequest[Any], dialog: Dialog
    ) -> None:
        """:meth:`open_dialog` for ``async def`` handlers."""
        await self.key_async()
        await self._plugin.async_api.open_interactive_dialog(self.dialog_request(trigger, dialog))


def interactions_of(plugin: Plugin[Any]) -> Interactions:
    """The plugin object's :class:`Interactions` (made on first use)."""
    found = plugin.__dict__.get(_SLOT)
    if found is None:
        found = plugin.__dict__[_SLOT] = Interactions(plugin)
    return found


_SLOT = "_mattermost_interactions"
