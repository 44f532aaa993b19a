"""``ensure_bot``: the plugin's bot account, created once, safe when several nodes start at once.

``bot_id = self.ensure_bot(username="todo", display_name="Todo", icon="assets/icon.png")``
(``await self.async_ensure_bot(...)`` in ``async def`` code) returns the bot's user id. Each
call:

1. reads the SDK's record for this username from the KV store (``_bots:<username>``: the
   bot's user id and the hash of the icon last set) and fetches that bot;
2. without a record (or when the bot was deleted for good) looks the username up, and
   creates the bot when there is none. When several processes race, the server lets one
   ``CreateBot`` through and refuses the others (username taken); those look the username
   up again and adopt the bot the winner created. So N nodes activating together end up
   with one bot and the same id;
3. brings the bot in line with the call: display name and description (only the ones
   given), reactivated if it was deactivated, the icon set when its bytes changed (the
   record keeps their SHA-256, so an unchanged icon costs no upload);
4. writes the record when it changed.

A username that belongs to a human account is an error (the SDK never turns users into
bots). An existing bot with that username is adopted, as the server's own
``EnsureBotUser`` does. The steady state costs two calls (the record, the bot).

``icon`` is a PNG, JPEG, GIF, BMP or WebP file; a relative path is relative to the plugin's
folder (``MATTERMOST_PLUGIN_PATH``, else the working directory the server starts the
plugin in), e.g. ``assets/icon.png`` in the bundle. The Plugin API sets it as the bot's
profile image; SVG icons need the server's ``SetBotIconImage``, which the gRPC protocol does
not have.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel

from mattermost_plugin._plugin_id import plugin_folder
from mattermost_plugin._steps import Steps, call, run_async, run_sync
from mattermost_plugin.errors import AlreadyExistsError, NotFoundError, ValidationError
from mattermost_plugin.kv import CollectionBase
from mattermost_plugin.models.api_file_bot import Bot, BotPatch

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient
    from mattermost_plugin.models.user import User

__all__ = ["BotAccountError", "async_ensure_bot", "ensure_bot"]

IconPath = str | os.PathLike[str]


class BotAccountError(Exception):
    """The username belongs to an account that is not a bot."""


class _BotRecord(BaseModel):
    user_id: str
    icon_sha256: str = ""


class _BotRecords(CollectionBase[_BotRecord]):
    _sdk_namespace: ClassVar[bool] = True


_RECORDS = _BotRecords("_bots", _BotRecord)


def _read_icon(icon: IconPath) -> bytes:
    path = Path(icon)
    if not path.is_absolute():
        path = plugin_folder() / path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(
            f"ensure_bot(): cannot read the icon {str(icon)!r} ({path}): {exc.strerror}"
        ) from None
    head = data[:256].lstrip()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096]):
        raise ValueError(
            f"ensure_bot(): {path} is an SVG; the Plugin API sets bot icons as profile "
            "images (PNG, JPEG, GIF, BMP or WebP)"
        )
    return data


def _ensure_steps(
    username: str, display_name: str | None, description: str | None, icon: bytes | None
) -> Steps[str]:
    if not isinstance(username, str) or not username:
        raise ValueError(f"ensure_bot(): the username must be a non-empty str, got {username!r}")
    username = username.lower()
    key = _RECORDS.store_key(username)
    raw = yield call("kv_get", key)
    record = None
    if raw is not None:
        try:
            record = _RECORDS.decode(username, raw)
        except ValueError:
            record = None  # unreadable: rebuilt below
    bot: Bot | None = None
    if record is not None:
        try:
            bot = yield call("get_bot", record.user_id, include_deleted=True)
        except NotFoundError:
            bot = None  # deleted for good: find or create it again
    if bot is None:
        bot = yield from _find_or_create(username, display_name or "", description or "")
    wanted = {"display_name": display_name, "description": description}
    changes = {f: v for f, v in wanted.items() if v is not None and getattr(bot, f) != v}
    if changes:
        bot = yield call("patch_bot", bot.user_id, BotPatch(**changes))
    if bot.delete_at:
        bot = yield call("update_bot_active", bot.user_id, True)
    icon_sha256 = record.icon_sha256 if record is not None and record.user_id == bot.user_id else ""
    if icon is not None:
        digest = hashlib.sha256(icon).hexdigest()
        if digest != icon_sha256:
            yield call("set_profile_image", bot.user_id, icon)
            icon_sha256 = digest
    new_record = _BotRecord(user_id=bot.user_id, icon_sha256=icon_sha256)
    if new_record != record:
        yield call("kv_set", key, _RECORDS.encode(username, new_record))
    return bot.user_id


def _find_or_create(username: str, display_name: str, description: str) -> Steps[Bot]:
    user = yield from _user_named(username)
    if user is None:
        template = Bot(username=username, display_name=display_name, description=description)
        try:
            created: Bot = yield call("create_bot", template)
            return created
        except (AlreadyExistsError, ValidationError) as exc:
            # Most likely another node created it first: the server refuses a taken
            # username (ValidationError for its 400, AlreadyExistsError for a 409). If no
            # bot has the name now, the refusal was about something else: raised below.
            refused = exc
        user = yield from _user_named(username)
        if user is None:
            raise refused
    if not user.is_bot:
        raise BotAccountError(
            f"ensure_bot(): {username!r} is a user account, not a bot; choose another "
            f"username, or convert the account (mmctl user convert {username} --bot)"
        )
    found: Bot = yield call("get_bot", user.id, include_deleted=True)
    return found


def _user_named(username: str) -> Steps[User | None]:
    try:
        user: User = yield call("get_user_by_username", username)
    except NotFoundError:
        return None
    return user


def ensure_bot(
    api: PluginAPIClient,
    username: str,
    *,
    display_name: str | None = None,
    description: str | None = None,
    icon: IconPath | None = None,
) -> str:
    """The user id of the bot ``username``, created or brought up to date (module doc)."""
    data = None if icon is None else _read_icon(icon)
    return run_sync(_ensure_steps(username, display_name, description, data), api)


async def async_ensure_bot(
    api: AsyncPluginAPIClient,
    username: str,
    *,
    display_name: str | None = None,
    description: str | None = None,
    icon: IconPath | None = None,
) -> str:
    """:func:`ensure_bot` with an ``AsyncPluginAPIClient``."""
    data = None if icon is None else _read_icon(icon)
    return await run_async(_ensure_steps(username, display_name, description, data), api)
