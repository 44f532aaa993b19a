"""A fake Mattermost server behind the ``PluginAPI`` gRPC service.

It keeps users, teams, channels and memberships, posts (threads, reactions, ephemeral
posts), the plugin KV store (expiry, compare-and-set), files and upload sessions, bots and
profile images, slash commands, preferences, the server and plugin config, the plugin's
log lines and the cluster events it published, in
memory or written through to a SQLite file (``store=``) that survives restarts, and answers
the way the real server does (PROTOCOL.md §5):

* KV, post, reaction and file methods answer gRPC OK with the response's ``error`` set;
* user, team, channel, config, plugin and bot methods abort with a gRPC status derived from
  the HTTP status, whose message is ``"<error id>: <message>"``;
* the methods the real server does not serve (PROTOCOL.md §6, ``UNSERVED_METHODS``) abort
  with UNIMPLEMENTED, as it does ("method GetPluginID not implemented");
* every other PluginAPI method answers an ``AppError`` with status 501: "the local host does
  not model X".

Error ids follow the real server's where they are known; the rest are in the same style.
One re-entrant lock, taken around every RPC, makes each call atomic (compare-and-set
included), and with a state file each call is written in one SQLite transaction. Timestamps
come from an injectable clock so tests can move time forward.

The fake stores what the plugin asks for; it runs no hooks itself. Posts created through the
API (``CreatePost``) are stored without calling the plugin's ``MessageWillBePosted`` /
``MessageHasBeenPosted``: the flows that call the plugin back (a user posting, a slash
command) live in :mod:`mattermost_plugin.host.local`, which also answers
``ExecuteSlashCommand`` through the ``execute_command`` attribute.

Run it out of process with ``python -m mattermost_plugin.host.fake_server [--port N]``: the
first line on stdout is the address to dial.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import functools
import json
import mimetypes
import os
import re
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc
from google.protobuf import json_format, message_factory, struct_pb2
from google.protobuf.message import Message

from mattermost_plugin._generated.unserved import UNSERVED_METHODS
from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_file_bot_pb2,
    api_kv_config_pb2,
    api_pb2,
    api_pb2_grpc,
    api_remaining_pb2,
    api_user_team_pb2,
    channel_pb2,
    common_pb2,
    file_pb2,
    post_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin.host._fake_dialogs import DialogsMixin
from mattermost_plugin.host._logring import MAX_LOG_LINE, MAX_LOG_LINES, LogRing, cut_text
from mattermost_plugin.host.store import (
    Codec,
    SQLiteStore,
    Table,
    pack_parts,
    proto_codec,
    proto_dict_codec,
    proto_list_codec,
    unpack_parts,
)

__all__ = [
    "DEFAULT_SERVER_VERSION",
    "MAX_MESSAGE_BYTES",
    "ClusterEvent",
    "FakeAppError",
    "FakeMattermost",
    "LogEntry",
    "app_error",
    "grpc_code_for_http",
    "main",
    "new_id",
    "serve",
]

DEFAULT_SERVER_VERSION = "10.5.0"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
NOT_IMPLEMENTED_ID = "app.plugin.fake.not_implemented"

_SERVICE = api_pb2.DESCRIPTOR.services_by_name["PluginAPI"]

# --------------------------------------------------------------------------- errors

_HTTP_TO_GRPC: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ALREADY_EXISTS,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def grpc_code_for_http(status_code: int) -> grpc.StatusCode:
    """The gRPC status code the real server uses for an AppError's HTTP status."""
    return _HTTP_TO_GRPC.get(status_code, grpc.StatusCode.INTERNAL)


def app_error(
    where: str, error_id: str, message: str, status_code: int, detailed_error: str = ""
) -> common_pb2.AppError:
    """Build the wire ``AppError``."""
    return common_pb2.AppError(
        id=error_id,
        message=message,
        detailed_error=detailed_error,
        status_code=status_code,
        where=where,
    )


class FakeAppError(Exception):
    """Raised by handlers; the method's error style decides how it reaches the client."""

    def __init__(self, error_id: str, message: str, status_code: int, detailed: str = "") -> None:
        super().__init__(f"{error_id}: {message}")
        self.error_id = error_id
        self.message = message
        self.status_code = status_code
        self.detailed = detailed

    def to_proto(self, where: str) -> common_pb2.AppError:
        return app_error(where, self.error_id, self.message, self.status_code, self.detailed)


def _response_class(method_name: str) -> type[Message]:
    """The generated response class of a PluginAPI method (KeyError on a misspelt name)."""
    return message_factory.GetMessageClass(_SERVICE.methods_by_name[method_name].output_type)


def _error_response(response_cls: type[Message], error: common_pb2.AppError) -> Message:
    response = response_cls()
    cast(Any, response).error.CopyFrom(error)
    return response


_Handler = TypeVar("_Handler", bound=Callable[..., Message])


def _embedded(method: _Handler) -> _Handler:
    """Error style 1: failures travel in the response's ``error`` field with gRPC OK."""
    name = method.__name__
    response_cls = _response_class(name)

    @functools.wraps(method)
    def handler(self: FakeMattermost, request: Message, context: grpc.ServicerContext) -> Message:
        try:
            with self.transaction():
                return method(self, request, context)
        except FakeAppError as exc:
            return _error_response(response_cls, exc.to_proto(name))

    return cast(_Handler, handler)


def _status(method: _Handler) -> _Handler:
    """Error style 2: failures abort the call with a gRPC status derived from the HTTP one."""
    _response_class(method.__name__)  # fail at import on a name that is not an RPC

    @functools.wraps(method)
    def handler(self: FakeMattermost, request: Message, context: grpc.ServicerContext) -> Message:
        try:
            with self.transaction():
                return method(self, request, context)
        except FakeAppError as exc:
            context.abort(grpc_code_for_http(exc.status_code), f"{exc.error_id}: {exc.message}")

    return cast(_Handler, handler)


def _not_found(error_id: str, what: str, key: str) -> FakeAppError:
    return FakeAppError(error_id, f"{what} not found: {key!r}", 404)


def _bad_request(error_id: str, message: str) -> FakeAppError:
    return FakeAppError(error_id, message, 400)


def mark_edited(new: post_pb2.Post, old: post_pb2.Post, now: int) -> None:
    """Set ``new.edit_at`` as the server does when an edit changes the message, the files
    or the attachments (and ``edit_at`` was not set for this edit already)."""
    if new.edit_at != old.edit_at:
        return
    attachments = new.props.fields.get("attachments") != old.props.fields.get("attachments")
    if new.message != old.message or list(new.file_ids) != list(old.file_ids) or attachments:
        new.edit_at = now


# --------------------------------------------------------------------------- ids, validation

_B32_TABLE = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"ybndrfg8ejkmcpqxot1uwisza345h769"
)


def new_id() -> str:
    """A Mattermost-style id: 16 random bytes in Mattermost's base32 alphabet, 26 chars."""
    return base64.b32encode(os.urandom(16))[:26].translate(_B32_TABLE).decode()


_USERNAME_RE = re.compile(r"^[a-z][a-z0-9.\-_]{0,63}$")
_RESTRICTED_USERNAMES = frozenset({"all", "channel", "here", "matterbot", "system"})
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
_TEAM_NAME_RE = re.compile(r"^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$")
_RESERVED_TEAM_NAMES = frozenset(
    {"admin", "api", "boards", "channel", "claim", "error", "files", "help", "landing", "login"}
    | {"mfa", "oauth", "playbooks", "plug", "plugins", "post", "signup"}
)
_CHANNEL_NAME_RE = re.compile(r"^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$")
_EMOJI_NAME_RE = re.compile(r"^[a-zA-Z0-9\-+_]{1,64}$")
_KV_KEY_MAX_RUNES = 150
_POST_MESSAGE_MAX_RUNES = 16383


# What the server's image decoder reads (Go's image package with its registered formats).
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def _is_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _validate_username(
    username: str, error_id: str = "model.user.is_valid.username.app_error"
) -> None:
    if not _USERNAME_RE.match(username) or username in _RESTRICTED_USERNAMES:
        raise _bad_request(error_id, f"invalid username {username!r}")


def _page(items: Sequence[Any], page: int, per_page: int) -> list[Any]:
    # Mirrors SQL ``LIMIT per_page OFFSET page*per_page``: per_page 0 returns nothing.
    if per_page <= 0:
        return []
    start = max(page, 0) * per_page
    return list(items[start : start + per_page])


_OPEN = channel_pb2.CHANNEL_TYPE_OPEN
_PRIVATE = channel_pb2.CHANNEL_TYPE_PRIVATE
_DIRECT = channel_pb2.CHANNEL_TYPE_DIRECT
_DEFAULT_CHANNEL_NOTIFY_PROPS = {
    "desktop": "default",
    "email": "default",
    "push": "default",
    "mark_unread": "all",
    "ignore_channel_mentions": "default",
}


def default_config() -> dict[str, Any]:
    """A small subset of Mattermost's config, enough for plugins that read common settings."""
    return {
        "ServiceSettings": {"SiteURL": "http://localhost:8065", "EnableDeveloper": True},
        "TeamSettings": {"SiteName": "Mattermost", "MaxUsersPerTeam": 50},
        "PasswordSettings": {"MinimumLength": 8},
        "FileSettings": {"DriverName": "local", "MaxFileSize": 100 * 1024 * 1024},
        "LogSettings": {"ConsoleLevel": "DEBUG"},
        "PluginSettings": {"Enable": True, "Plugins": {}, "PluginStates": {}},
    }


@dataclass(frozen=True)
class LogEntry:
    """One LogDebug/LogInfo/LogWarn/LogError call, as the plugin sent it."""

    level: str
    message: str
    fields: dict[str, Any]


@dataclass
class _KVEntry:
    value: bytes
    expire_at: int  # ms since the epoch; 0 = never


@dataclass
class _StoredFile:
    info: file_pb2.FileInfo
    data: bytes


@dataclass
class _EphemeralPost:
    user_id: str  # the only user who sees it
    post: post_pb2.Post


@dataclass
class _Upload:
    session: api_file_bot_pb2.UploadSession
    data: bytearray


@dataclass(frozen=True)
class ClusterEvent:
    """A cluster event as the plugin published it."""

    event: api_remaining_pb2.PluginClusterEvent
    options: api_remaining_pb2.PluginClusterEventSendOptions


# How each kind of entity is stored in a state file (see store.py).
_BYTES_CODEC: Codec[bytes] = Codec(bytes, bytes)
_KV_CODEC: Codec[_KVEntry] = Codec(
    lambda e: struct.pack(">q", e.expire_at) + e.value,
    lambda b: _KVEntry(bytes(b[8:]), struct.unpack_from(">q", b)[0]),
)
_FILE_CODEC: Codec[_StoredFile] = Codec(
    lambda f: pack_parts([f.info.SerializeToString(deterministic=True), f.data]),
    lambda b: (lambda p: _StoredFile(file_pb2.FileInfo.FromString(p[0]), p[1]))(unpack_parts(b)),
)
_EPHEMERAL_CODEC: Codec[_EphemeralPost] = Codec(
    lambda e: pack_parts([e.user_id.encode(), e.post.SerializeToString(deterministic=True)]),
    lambda b: (lambda p: _EphemeralPost(p[0].decode(), post_pb2.Post.FromString(p[1])))(
        unpack_parts(b)
    ),
)
_UPLOAD_CODEC: Codec[_Upload] = Codec(
    lambda u: pack_parts([u.session.SerializeToString(deterministic=True), bytes(u.data)]),
    lambda b: (lambda p: _Upload(api_file_bot_pb2.UploadSession.FromString(p[0]), bytearray(p[1])))(
        unpack_parts(b)
    ),
)


# The generated stubs declare all 236 servicer methods abstract. The fake overrides a subset
# and fills in the rest at import time (_install_not_implemented), which mypy cannot see, so
# for the type checker the base is plain ``object``; at run time it is the real servicer.
if TYPE_CHECKING:
    _ServicerBase = object
else:
    _ServicerBase = api_pb2_grpc.PluginAPIServicer

_Ctx = grpc.ServicerContext


class FakeMattermost(DialogsMixin, _ServicerBase):
    """The PluginAPI service over in-memory state. Public attributes are for tests to inspect.

    Args:
        clock: seconds since the epoch (default ``time.time``); drives timestamps and KV expiry.
        plugin_id: the id of the plugin the fake serves (plugin config, bots, commands).
        store: a SQLite file (path or :class:`SQLiteStore`) the state is loaded from and
            written through to after every call, so it survives restarts; ``None`` keeps
            everything in memory. The plugin's log lines are never stored.

    Change state from outside an RPC inside ``with fake.transaction():`` so that it is
    written to the store. ``execute_command``, ``on_log``, ``on_config_saved`` and
    ``deliver_cluster_event`` are hooks for the host that embeds the fake
    (:class:`mattermost_plugin.host.local.LocalMattermost`): the first runs a plugin's slash
    command for ``ExecuteSlashCommand``, the second sees every log call, the third runs after
    ``SaveConfig``/``SavePluginConfig`` (the server then calls ``OnConfigurationChange``), the
    fourth gets every published cluster event with the publishing call's context (a server
    with one node delivers them nowhere). The last two must not call back into the fake
    synchronously.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        plugin_id: str = "com.example.plugin",
        store: SQLiteStore | str | os.PathLike[str] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.plugin_id = plugin_id
        self.server_version = DEFAULT_SERVER_VERSION
        self.config: dict[str, Any] = default_config()
        self.logs: LogRing[LogEntry] = LogRing(MAX_LOG_LINES)  # the latest only
        self.on_log: Callable[[LogEntry], None] | None = None
        self.execute_command: (
            Callable[[api_remaining_pb2.CommandArgs], api_remaining_pb2.CommandResponse] | None
        ) = None
        self.on_config_saved: Callable[[], None] | None = None
        self._init_dialogs()  # trigger ids and OpenInteractiveDialog (_fake_dialogs)
        self.cluster_events: collections.deque[ClusterEvent] = collections.deque(maxlen=1000)
        """The latest cluster events the plugin published (``PublishPluginClusterEvent``)."""
        self.deliver_cluster_event: Callable[[ClusterEvent, grpc.ServicerContext], None] | None = (
            None
        )
        P = proto_codec
        self.users: Table[str, user_pb2.User] = Table("user", P(user_pb2.User))
        self.teams: Table[str, team_pb2.Team] = Table("team", P(team_pb2.Team))
        self.team_members: Table[tuple[str, str], team_pb2.TeamMember] = Table(
            "team_member", P(team_pb2.TeamMember), tuple_keys=True
        )  # (team, user)
        self.channels: Table[str, channel_pb2.Channel] = Table("channel", P(channel_pb2.Channel))
        self.channel_members: Table[str, dict[str, api_channel_post_pb2.ChannelMember]] = Table(
            "channel_members",
            proto_dict_codec(api_channel_post_pb2.ChannelMember, lambda m: m.user_id),
        )  # channel id -> user id -> member
        self.posts: Table[str, post_pb2.Post] = Table("post", P(post_pb2.Post))
        self.reactions: Table[str, list[post_pb2.Reaction]] = Table(
            "reactions", proto_list_codec(post_pb2.Reaction)
        )  # post id -> reactions
        self.ephemeral_posts: Table[str, _EphemeralPost] = Table("ephemeral", _EPHEMERAL_CODEC)
        self.kv: Table[str, _KVEntry] = Table("kv", _KV_CODEC)
        self.files: Table[str, _StoredFile] = Table("file", _FILE_CODEC)
        self.uploads: Table[str, _Upload] = Table("upload", _UPLOAD_CODEC)
        self.bots: Table[str, api_file_bot_pb2.Bot] = Table("bot", P(api_file_bot_pb2.Bot))
        self.profile_images: Table[str, bytes] = Table("profile_image", _BYTES_CODEC)
        self.commands: Table[tuple[str, str], api_remaining_pb2.Command] = Table(
            "command", P(api_remaining_pb2.Command), tuple_keys=True
        )  # (team, trigger)
        self.preferences: Table[tuple[str, str, str], api_remaining_pb2.Preference] = Table(
            "preference", P(api_remaining_pb2.Preference), tuple_keys=True
        )  # (user, category, name)
        self.store: SQLiteStore | None = None
        if store is not None:
            self.store = store if isinstance(store, SQLiteStore) else SQLiteStore(store)
            for table in self._tables():
                self.store.attach(table)
            config = self.store.document("config")
            if isinstance(config, dict):
                self.config = config

    def _tables(self) -> list[Table[Any, Any]]:
        return [value for value in vars(self).values() if isinstance(value, Table)]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the fake's lock; on the way out write what changed to the store (if any).

        Every PluginAPI call runs inside one, so each is atomic, also in the file."""
        with self._lock:
            try:
                yield
            finally:
                if self.store is not None:
                    self.store.flush({"config": self.config})

    def close(self) -> None:
        """Close the state file (the in-memory state stays readable)."""
        with self._lock:
            if self.store is not None:
                self.store.flush({"config": self.config})
                self.store.close()
                self.store = None
                for table in self._tables():
                    table.tracking = False

    # ----------------------------------------------------------------------- helpers

    def now_ms(self) -> int:
        """The fake's current time in milliseconds since the epoch."""
        return int(self._clock() * 1000)

    def _user(self, user_id: str) -> user_pb2.User:
        if user_id not in self.users:
            raise _not_found("app.user.missing_account.const", "user", user_id)
        return self.users[user_id]

    def _find_user(self, *, username: str = "", email: str = "") -> user_pb2.User | None:
        for user in self.users.values():
            if (username and user.username == username) or (email and user.email == email):
                return user
        return None

    def _team(self, team_id: str) -> team_pb2.Team:
        if team_id not in self.teams:
            raise _not_found("app.team.get.find.app_error", "team", team_id)
        return self.teams[team_id]

    def _channel(self, channel_id: str) -> channel_pb2.Channel:
        if channel_id not in self.channels:
            raise _not_found("app.channel.get.existing.app_error", "channel", channel_id)
        return self.channels[channel_id]

    def _post(self, post_id: str) -> post_pb2.Post:
        post = self.posts.get(post_id)
        # Deleted posts are invisible to reads, as in the real store.
        if post is None or post.delete_at:
            raise _not_found("app.post.get.app_error", "post", post_id)
        return post

    def _file(self, file_id: str) -> _StoredFile:
        stored = self.files.get(file_id)
        if stored is None or stored.info.delete_at:
            raise _not_found("app.file_info.get.app_error", "file", file_id)
        return stored

    def _bot(self, user_id: str, include_deleted: bool = False) -> api_file_bot_pb2.Bot:
        bot = self.bots.get(user_id)
        if bot is None or (bot.delete_at and not include_deleted):
            raise _not_found("store.sql_bot.get.missing.app_error", "bot", user_id)
        return bot

    def _active_member(self, team_id: str, user_id: str) -> bool:
        member = self.team_members.get((team_id, user_id))
        return member is not None and member.delete_at == 0

    def _check_user(self, user: user_pb2.User, *, exclude_id: str = "") -> None:
        """Validate and normalize (lower-case) a user before it is stored."""
        user.username = user.username.lower()
        user.email = user.email.lower()
        _validate_username(user.username)
        if not _EMAIL_RE.match(user.email) or len(user.email) > 128:
            raise _bad_request(
                "model.user.is_valid.email.app_error", f"invalid email {user.email!r}"
            )
        other = self._find_user(username=user.username)
        if other is not None and other.id != exclude_id:
            raise FakeAppError(
                "app.user.save.username_exists.app_error",
                f"an account with username {user.username!r} already exists",
                409,
            )
        other = self._find_user(email=user.email)
        if other is not None and other.id != exclude_id:
            raise FakeAppError(
                "app.user.save.email_exists.app_error",
                f"an account with email {user.email!r} already exists",
                409,
            )

    def _check_channel(self, channel: channel_pb2.Channel, *, exclude_id: str = "") -> None:
        if len(channel.name) > 64 or not _CHANNEL_NAME_RE.match(channel.name):
            raise _bad_request(
                "model.channel.is_valid.name.app_error", f"invalid channel name {channel.name!r}"
            )
        if not channel.display_name or len(channel.display_name) > 64:
            raise _bad_request(
                "model.channel.is_valid.display_name.app_error", "invalid channel display name"
            )
        for other in self.channels.values():
            if (
                other.id != exclude_id
                and other.team_id == channel.team_id
                and other.name == channel.name
            ):
                raise FakeAppError(
                    "store.sql_channel.save_channel.exists.app_error",
                    f"a channel named {channel.name!r} already exists in the team",
                    409,
                )

    def _add_channel_member(
        self, channel_id: str, user_id: str
    ) -> api_channel_post_pb2.ChannelMember:
        channel = self._channel(channel_id)
        self._user(user_id)
        if channel.delete_at:
            raise _bad_request(
                "api.channel.add_user.to.channel.failed.deleted.app_error",
                "cannot add a user to a deleted channel",
            )
        if channel.type in (_OPEN, _PRIVATE) and not self._active_member(channel.team_id, user_id):
            raise FakeAppError(
                "api.channel.add_user.to.channel.failed.app_error",
                "the user is not a member of the channel's team",
                403,
            )
        members = self.channel_members.setdefault(channel_id, {})
        if user_id not in members:  # adding an existing member is a no-op, as on the server
            members[user_id] = api_channel_post_pb2.ChannelMember(
                channel_id=channel_id,
                user_id=user_id,
                roles="channel_user",
                scheme_user=True,
                notify_props=_DEFAULT_CHANNEL_NOTIFY_PROPS,
                last_update_at=self.now_ms(),
            )
        return members[user_id]

    def _users_sorted(self, users: Iterable[user_pb2.User]) -> list[user_pb2.User]:
        return sorted(users, key=lambda u: u.username)

    def _kv_live(self, key: str) -> _KVEntry | None:
        """The entry for key unless missing or expired (expired entries are dropped)."""
        entry = self.kv.get(key)
        if entry is not None and entry.expire_at and entry.expire_at <= self.now_ms():
            del self.kv[key]
            return None
        return entry

    def _kv_set(
        self, key: str, value: bytes, *, atomic: bool, old_value: bytes, expire_in_seconds: int
    ) -> bool:
        """The real server's ``KVSetWithOptions``.

        Proto3 cannot tell nil from empty bytes, so empty ``value`` means delete and empty
        ``old_value`` means "the key must not exist" (Go's nil in both places).
        """
        if not key or len(key) > _KV_KEY_MAX_RUNES:
            raise _bad_request("model.plugin_key_value.is_valid.key.app_error", "invalid key")
        if expire_in_seconds < 0:
            raise _bad_request(
                "model.plugin_kvset_options.is_valid.expire_in_seconds.app_error",
                "expire_in_seconds must not be negative",
            )
        if old_value and not atomic:
            raise _bad_request(
                "model.plugin_kvset_options.is_valid.old_value.app_error",
                "old_value is only allowed with atomic",
            )
        if atomic:
            current = self._kv_live(key)
            expected = (
                current is None
                if not old_value
                else (current is not None and current.value == old_value)
            )
            if not expected:
                return False
        if not value:
            self.kv.pop(key, None)
            return True
        expire_at = self.now_ms() + expire_in_seconds * 1000 if expire_in_seconds else 0
        self.kv[key] = _KVEntry(value, expire_at)
        return True

    def _post_list(self, posts: Iterable[post_pb2.Post]) -> post_pb2.PostList:
        ordered = sorted(posts, key=lambda p: p.create_at, reverse=True)  # newest first
        return post_pb2.PostList(order=[p.id for p in ordered], posts={p.id: p for p in ordered})

    def _log(self, level: str, request: Any) -> None:
        fields = {kv.key: json_format.MessageToDict(kv.value) for kv in request.key_value_pairs}
        entry = LogEntry(level, cut_text(request.msg, MAX_LOG_LINE), fields)
        self.logs.append(entry)
        if self.on_log is not None:
            with contextlib.suppress(Exception):  # a broken printer must not fail the call
                self.on_log(entry)

    def _plugin_settings(self) -> dict[str, Any]:
        plugins = self.config.setdefault("PluginSettings", {}).setdefault("Plugins", {})
        return cast(dict[str, Any], plugins.setdefault(self.plugin_id, {}))

    # ----------------------------------------------------------------------- users (status)

    @_status
    def CreateUser(
        self, request: api_user_team_pb2.CreateUserRequest, context: _Ctx
    ) -> api_user_team_pb2.CreateUserResponse:
        user = user_pb2.User()
        user.CopyFrom(request.user)
        if user.id:
            raise _bad_request("app.user.save.existing.app_error", "the user already has an id")
        self._check_user(user)
        if not user.auth_service:
            minimum = int(self.config.get("PasswordSettings", {}).get("MinimumLength", 8))
            if len(user.password) < minimum:
                raise _bad_request(
                    "model.user.is_valid.pwd_length.app_error",
                    f"the password must be at least {minimum} characters",
                )
        now = self.now_ms()
        user.id = new_id()
        user.create_at = user.update_at = now
        user.last_password_update = now
        user.password = ""  # the server keeps a hash and never sends it back; the fake drops it
        user.roles = user.roles or "system_user"
        user.locale = user.locale or "en"
        self.users[user.id] = user
        return api_user_team_pb2.CreateUserResponse(user=user)

    @_status
    def GetUser(
        self, request: api_user_team_pb2.GetUserRequest, context: _Ctx
    ) -> api_user_team_pb2.GetUserResponse:
        return api_user_team_pb2.GetUserResponse(user=self._user(request.user_id))

    @_status
    def GetUserByUsername(
        self, request: api_user_team_pb2.GetUserByUsernameRequest, context: _Ctx
    ) -> api_user_team_pb2.GetUserByUsernameResponse:
        user = self._find_user(username=request.name.lower())
        if user is None:
            raise _not_found("app.user.get_by_username.app_error", "user", request.name)
        return api_user_team_pb2.GetUserByUsernameResponse(user=user)

    @_status
    def HasPermissionTo(
        self, request: api_user_team_pb2.HasPermissionToRequest, context: _Ctx
    ) -> api_user_team_pb2.HasPermissionToResponse:
        # The fake keeps no permission schemes: system admins have every system permission,
        # other users none. An unknown user has none, as on the server.
        user = self.users.get(request.user_id)
        admin = user is not None and "system_admin" in user.roles.split()
        return api_user_team_pb2.HasPermissionToResponse(has_permission=admin)

    @_status
    def GetUserByEmail(
        self, request: api_user_team_pb2.GetUserByEmailRequest, context: _Ctx
    ) -> api_user_team_pb2.GetUserByEmailResponse:
        user = self._find_user(email=request.email.lower())
        if user is None:
            raise _not_found("app.user.missing_account.const", "user", request.email)
        return api_user_team_pb2.GetUserByEmailResponse(user=user)

    @_status
    def GetUsersByIds(
        self, request: api_user_team_pb2.GetUsersByIdsRequest, context: _Ctx
    ) -> api_user_team_pb2.GetUsersByIdsResponse:
        found = [self.users[i] for i in request.user_ids if i in self.users]
        return api_user_team_pb2.GetUsersByIdsResponse(users=found)

    @_status
    def GetUsersByUsernames(
        self, request: api_user_team_pb2.GetUsersByUsernamesRequest, context: _Ctx
    ) -> api_user_team_pb2.GetUsersByUsernamesResponse:
        names = {n.lower() for n in request.usernames}
        found = [u for u in self.users.values() if u.username in names]
        return api_user_team_pb2.GetUsersByUsernamesResponse(users=self._users_sorted(found))

    @_status
    def GetUsers(
        self, request: api_user_team_pb2.GetUsersRequest, context: _Ctx
    ) -> api_user_team_pb2.GetUsersResponse:
        def keep(user: user_pb2.User) -> bool:
            r = request
            in_channel = self.channel_members.get(r.in_channel_id or r.not_in_channel_id, {})
            roles = set(user.roles.split())
            wanted_roles = set(r.roles) | ({r.role} if r.role else set())
            return not (
                (r.in_team_id and not self._active_member(r.in_team_id, user.id))
                or (r.not_in_team_id and self._active_member(r.not_in_team_id, user.id))
                or (r.in_channel_id and user.id not in in_channel)
                or (r.not_in_channel_id and user.id in in_channel)
                or (r.without_team and any(self._active_member(t, user.id) for t in self.teams))
                or (r.active and user.delete_at)
                or (r.inactive and not user.delete_at)
                or (wanted_roles and not roles & wanted_roles)
                or (r.updated_after and user.update_at <= r.updated_after)
            )

        users = self._users_sorted(filter(keep, self.users.values()))
        return api_user_team_pb2.GetUsersResponse(
            users=_page(users, request.page, request.per_page)
        )

    @_status
    def GetUsersInTeam(
        self, request: api_user_team_pb2.GetUsersInTeamRequest, context: _Ctx
    ) -> api_user_team_pb2.GetUsersInTeamResponse:
        self._team(request.team_id)
        users = [u for u in self.users.values() if self._active_member(request.team_id, u.id)]
        page = _page(self._users_sorted(users), request.page, request.per_page)
        return api_user_team_pb2.GetUsersInTeamResponse(users=page)

    @_status
    def GetUsersInChannel(
        self, request: api_user_team_pb2.GetUsersInChannelRequest, context: _Ctx
    ) -> api_user_team_pb2.GetUsersInChannelResponse:
        self._channel(request.channel_id)
        members = self.channel_members.get(request.channel_id, {})
        users = self._users_sorted(self.users[i] for i in members if i in self.users)
        return api_user_team_pb2.GetUsersInChannelResponse(
            users=_page(users, request.page, request.per_page)
        )

    @_status
    def UpdateUser(
        self, request: api_user_team_pb2.UpdateUserRequest, context: _Ctx
    ) -> api_user_team_pb2.UpdateUserResponse:
        old = self._user(request.user.id)
        user = user_pb2.User()
        user.CopyFrom(request.user)
        self._check_user(user, exclude_id=old.id)
        # Fields a plain update cannot change, as in app.UpdateUser.
        user.create_at = old.create_at
        user.delete_at = old.delete_at
        user.password = ""
        user.last_password_update = old.last_password_update
        user.is_bot = old.is_bot
        user.update_at = self.now_ms()
        self.users[user.id] = user
        return api_user_team_pb2.UpdateUserResponse(user=user)

    @_status
    def UpdateUserActive(
        self, request: api_user_team_pb2.UpdateUserActiveRequest, context: _Ctx
    ) -> api_user_team_pb2.UpdateUserActiveResponse:
        user = self._user(request.user_id)
        user.delete_at = 0 if request.active else self.now_ms()
        user.update_at = self.now_ms()
        return api_user_team_pb2.UpdateUserActiveResponse()

    @_status
    def DeleteUser(
        self, request: api_user_team_pb2.DeleteUserRequest, context: _Ctx
    ) -> api_user_team_pb2.DeleteUserResponse:
        # The plugin API's DeleteUser deactivates: the user stays readable with delete_at set.
        user = self._user(request.user_id)
        user.delete_at = user.update_at = self.now_ms()
        return api_user_team_pb2.DeleteUserResponse()

    @_status
    def SetProfileImage(
        self, request: api_user_team_pb2.SetProfileImageRequest, context: _Ctx
    ) -> api_user_team_pb2.SetProfileImageResponse:
        user = self._user(request.user_id)
        if not _is_image(request.data):
            raise _bad_request(
                "api.user.upload_profile_user.decode.app_error", "the image cannot be decoded"
            )
        # As the server: unchanged bytes are not written again.
        if self.profile_images.get(user.id) != request.data:
            self.profile_images[user.id] = request.data
            user.last_picture_update = self.now_ms()
        return api_user_team_pb2.SetProfileImageResponse()

    # ----------------------------------------------------------------------- teams (status)

    @_status
    def CreateTeam(
        self, request: api_user_team_pb2.CreateTeamRequest, context: _Ctx
    ) -> api_user_team_pb2.CreateTeamResponse:
        team = team_pb2.Team()
        team.CopyFrom(request.team)
        if team.id:
            raise _bad_request("app.team.save.existing.app_error", "the team already has an id")
        name_ok = 2 <= len(team.name) <= 64 and _TEAM_NAME_RE.match(team.name)
        if not name_ok or team.name in _RESERVED_TEAM_NAMES:
            raise _bad_request("model.team.is_valid.name.app_error", f"invalid name {team.name!r}")
        if not team.display_name or len(team.display_name) > 64:
            raise _bad_request("model.team.is_valid.name.app_error", "invalid display name")
        if team.type == team_pb2.TEAM_TYPE_UNSPECIFIED:
            raise _bad_request("model.team.is_valid.type.app_error", "the team type is required")
        if any(t.name == team.name for t in self.teams.values()):
            raise FakeAppError(
                "store.sql_team.save_team.existing.app_error",
                f"a team named {team.name!r} already exists",
                409,
            )
        team.id = new_id()
        team.create_at = team.update_at = self.now_ms()
        team.invite_id = team.invite_id or new_id()
        self.teams[team.id] = team
        return api_user_team_pb2.CreateTeamResponse(team=team)

    @_status
    def GetTeam(
        self, request: api_user_team_pb2.GetTeamRequest, context: _Ctx
    ) -> api_user_team_pb2.GetTeamResponse:
        return api_user_team_pb2.GetTeamResponse(team=self._team(request.team_id))

    @_status
    def GetTeamByName(
        self, request: api_user_team_pb2.GetTeamByNameRequest, context: _Ctx
    ) -> api_user_team_pb2.GetTeamByNameResponse:
        for team in self.teams.values():
            if team.name == request.name:
                return api_user_team_pb2.GetTeamByNameResponse(team=team)
        raise _not_found("app.team.get_by_name.missing.app_error", "team", request.name)

    @_status
    def GetTeams(
        self, request: api_user_team_pb2.GetTeamsRequest, context: _Ctx
    ) -> api_user_team_pb2.GetTeamsResponse:
        teams = sorted((t for t in self.teams.values() if not t.delete_at), key=lambda t: t.name)
        return api_user_team_pb2.GetTeamsResponse(teams=teams)

    @_status
    def UpdateTeam(
        self, request: api_user_team_pb2.UpdateTeamRequest, context: _Ctx
    ) -> api_user_team_pb2.UpdateTeamResponse:
        team = self._team(request.team.id)
        new = request.team
        if not new.display_name or len(new.display_name) > 64:
            raise _bad_request("model.team.is_valid.name.app_error", "invalid display name")
        # app.UpdateTeam copies only these fields; the name and type stay.
        team.display_name = new.display_name
        team.description = new.description
        team.company_name = new.company_name
        team.allowed_domains = new.allowed_domains
        team.allow_open_invite = new.allow_open_invite
        team.update_at = self.now_ms()
        return api_user_team_pb2.UpdateTeamResponse(team=team)

    @_status
    def DeleteTeam(
        self, request: api_user_team_pb2.DeleteTeamRequest, context: _Ctx
    ) -> api_user_team_pb2.DeleteTeamResponse:
        team = self._team(request.team_id)  # the plugin API soft-deletes
        team.delete_at = team.update_at = self.now_ms()
        return api_user_team_pb2.DeleteTeamResponse()

    @_status
    def CreateTeamMember(
        self, request: api_user_team_pb2.CreateTeamMemberRequest, context: _Ctx
    ) -> api_user_team_pb2.CreateTeamMemberResponse:
        self._team(request.team_id)
        self._user(request.user_id)
        key = (request.team_id, request.user_id)
        member = self.team_members.get(key)
        if member is None:
            member = team_pb2.TeamMember(
                team_id=request.team_id,
                user_id=request.user_id,
                roles="team_user",
                scheme_user=True,
                create_at=self.now_ms(),
            )
            self.team_members[key] = member
        member.delete_at = 0  # re-joining reactivates the old membership
        return api_user_team_pb2.CreateTeamMemberResponse(team_member=member)

    @_status
    def GetTeamMember(
        self, request: api_user_team_pb2.GetTeamMemberRequest, context: _Ctx
    ) -> api_user_team_pb2.GetTeamMemberResponse:
        member = self.team_members.get((request.team_id, request.user_id))
        if member is None:
            key = f"{request.team_id}/{request.user_id}"
            raise _not_found("app.team.get_member.missing.app_error", "team member", key)
        return api_user_team_pb2.GetTeamMemberResponse(team_member=member)

    @_status
    def GetTeamMembers(
        self, request: api_user_team_pb2.GetTeamMembersRequest, context: _Ctx
    ) -> api_user_team_pb2.GetTeamMembersResponse:
        members = [
            m for (t, _), m in self.team_members.items() if t == request.team_id and not m.delete_at
        ]
        return api_user_team_pb2.GetTeamMembersResponse(
            team_members=_page(members, request.page, request.per_page)
        )

    @_status
    def GetTeamMembersForUser(
        self, request: api_user_team_pb2.GetTeamMembersForUserRequest, context: _Ctx
    ) -> api_user_team_pb2.GetTeamMembersForUserResponse:
        members = [
            m for (_, u), m in self.team_members.items() if u == request.user_id and not m.delete_at
        ]
        return api_user_team_pb2.GetTeamMembersForUserResponse(
            team_members=_page(members, request.page, request.per_page)
        )

    @_status
    def GetTeamsForUser(
        self, request: api_user_team_pb2.GetTeamsForUserRequest, context: _Ctx
    ) -> api_user_team_pb2.GetTeamsForUserResponse:
        self._user(request.user_id)
        teams = [t for t in self.teams.values() if self._active_member(t.id, request.user_id)]
        return api_user_team_pb2.GetTeamsForUserResponse(teams=teams)

    @_status
    def DeleteTeamMember(
        self, request: api_user_team_pb2.DeleteTeamMemberRequest, context: _Ctx
    ) -> api_user_team_pb2.DeleteTeamMemberResponse:
        member = self.team_members.get((request.team_id, request.user_id))
        if member is None or member.delete_at:
            key = f"{request.team_id}/{request.user_id}"
            raise _not_found("app.team.get_member.missing.app_error", "team member", key)
        member.delete_at = self.now_ms()
        # Leaving a team also leaves its channels.
        for channel in self.channels.values():
            if channel.team_id == request.team_id:
                self.channel_members.get(channel.id, {}).pop(request.user_id, None)
        return api_user_team_pb2.DeleteTeamMemberResponse()

    # ----------------------------------------------------------------------- channels (status)

    @_status
    def CreateChannel(
        self, request: api_channel_post_pb2.CreateChannelRequest, context: _Ctx
    ) -> api_channel_post_pb2.CreateChannelResponse:
        channel = channel_pb2.Channel()
        channel.CopyFrom(request.channel)
        if channel.id:
            raise _bad_request("store.sql_channel.save.existing.app_error", "channel has an id")
        if channel.type not in (_OPEN, _PRIVATE):
            raise _bad_request(
                "api.channel.create_channel.direct_channel.app_error",
                "only open and private channels can be created; use GetDirectChannel",
            )
        self._team(channel.team_id)
        self._check_channel(channel)
        channel.id = new_id()
        channel.create_at = channel.update_at = self.now_ms()
        self.channels[channel.id] = channel
        self.channel_members[channel.id] = {}
        return api_channel_post_pb2.CreateChannelResponse(channel=channel)

    @_status
    def GetChannel(
        self, request: api_channel_post_pb2.GetChannelRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetChannelResponse:
        return api_channel_post_pb2.GetChannelResponse(channel=self._channel(request.channel_id))

    def _channel_by_name(
        self, team_id: str, name: str, include_deleted: bool
    ) -> channel_pb2.Channel:
        for channel in self.channels.values():
            same = channel.team_id == team_id and channel.name == name
            if same and (include_deleted or not channel.delete_at):
                return channel
        raise _not_found("app.channel.get_by_name.missing.app_error", "channel", name)

    @_status
    def GetChannelByName(
        self, request: api_channel_post_pb2.GetChannelByNameRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetChannelByNameResponse:
        channel = self._channel_by_name(request.team_id, request.name, request.include_deleted)
        return api_channel_post_pb2.GetChannelByNameResponse(channel=channel)

    @_status
    def GetChannelByNameForTeamName(
        self, request: api_channel_post_pb2.GetChannelByNameForTeamNameRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetChannelByNameForTeamNameResponse:
        team = next((t for t in self.teams.values() if t.name == request.team_name), None)
        if team is None:
            raise _not_found("app.team.get_by_name.missing.app_error", "team", request.team_name)
        channel = self._channel_by_name(team.id, request.channel_name, request.include_deleted)
        return api_channel_post_pb2.GetChannelByNameForTeamNameResponse(channel=channel)

    @_status
    def GetPublicChannelsForTeam(
        self, request: api_channel_post_pb2.GetPublicChannelsForTeamRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetPublicChannelsForTeamResponse:
        channels = sorted(
            (
                c
                for c in self.channels.values()
                if c.team_id == request.team_id and c.type == _OPEN and not c.delete_at
            ),
            key=lambda c: c.display_name,
        )
        return api_channel_post_pb2.GetPublicChannelsForTeamResponse(
            channels=_page(channels, request.page, request.per_page)
        )

    @_status
    def GetChannelsForTeamForUser(
        self, request: api_channel_post_pb2.GetChannelsForTeamForUserRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetChannelsForTeamForUserResponse:
        channels = [
            c
            for c in self.channels.values()
            if c.team_id in (request.team_id, "")  # DMs and group messages belong to no team
            and request.user_id in self.channel_members.get(c.id, {})
            and (request.include_deleted or not c.delete_at)
        ]
        return api_channel_post_pb2.GetChannelsForTeamForUserResponse(channels=channels)

    @_status
    def GetDirectChannel(
        self, request: api_channel_post_pb2.GetDirectChannelRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetDirectChannelResponse:
        first, second = sorted((request.user_id_1, request.user_id_2))
        self._user(first)
        self._user(second)
        name = f"{first}__{second}"
        for channel in self.channels.values():
            if channel.type == _DIRECT and channel.name == name:
                return api_channel_post_pb2.GetDirectChannelResponse(channel=channel)
        now = self.now_ms()
        channel = channel_pb2.Channel(
            id=new_id(), name=name, type=_DIRECT, create_at=now, update_at=now
        )
        self.channels[channel.id] = channel
        self.channel_members[channel.id] = {}
        for user_id in {first, second}:
            self._add_channel_member(channel.id, user_id)
        return api_channel_post_pb2.GetDirectChannelResponse(channel=channel)

    @_status
    def UpdateChannel(
        self, request: api_channel_post_pb2.UpdateChannelRequest, context: _Ctx
    ) -> api_channel_post_pb2.UpdateChannelResponse:
        old = self._channel(request.channel.id)
        channel = channel_pb2.Channel()
        channel.CopyFrom(request.channel)
        channel.team_id = old.team_id  # a channel cannot move between teams
        self._check_channel(channel, exclude_id=old.id)
        # Server-maintained fields survive whatever the plugin sent.
        for name in ("create_at", "delete_at", "creator_id", "last_post_at", "total_msg_count"):
            setattr(channel, name, getattr(old, name))
        channel.last_root_post_at = old.last_root_post_at
        channel.total_msg_count_root = old.total_msg_count_root
        channel.update_at = self.now_ms()
        self.channels[channel.id] = channel
        return api_channel_post_pb2.UpdateChannelResponse(channel=channel)

    @_status
    def DeleteChannel(
        self, request: api_channel_post_pb2.DeleteChannelRequest, context: _Ctx
    ) -> api_channel_post_pb2.DeleteChannelResponse:
        channel = self._channel(request.channel_id)
        if channel.type not in (_OPEN, _PRIVATE):
            raise _bad_request(
                "api.channel.delete_channel.type.invalid", "direct and group messages stay"
            )
        if channel.delete_at:
            raise _bad_request(
                "api.channel.delete_channel.deleted.app_error", "the channel is already deleted"
            )
        channel.delete_at = channel.update_at = self.now_ms()
        return api_channel_post_pb2.DeleteChannelResponse()

    @_status
    def AddChannelMember(
        self, request: api_channel_post_pb2.AddChannelMemberRequest, context: _Ctx
    ) -> api_channel_post_pb2.AddChannelMemberResponse:
        member = self._add_channel_member(request.channel_id, request.user_id)
        return api_channel_post_pb2.AddChannelMemberResponse(channel_member=member)

    @_status
    def AddUserToChannel(
        self, request: api_channel_post_pb2.AddUserToChannelRequest, context: _Ctx
    ) -> api_channel_post_pb2.AddUserToChannelResponse:
        member = self._add_channel_member(request.channel_id, request.user_id)
        return api_channel_post_pb2.AddUserToChannelResponse(channel_member=member)

    @_status
    def GetChannelMember(
        self, request: api_channel_post_pb2.GetChannelMemberRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetChannelMemberResponse:
        member = self.channel_members.get(request.channel_id, {}).get(request.user_id)
        if member is None:
            key = f"{request.channel_id}/{request.user_id}"
            raise _not_found("app.channel.get_member.missing.app_error", "channel member", key)
        return api_channel_post_pb2.GetChannelMemberResponse(channel_member=member)

    @_status
    def GetChannelMembers(
        self, request: api_channel_post_pb2.GetChannelMembersRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetChannelMembersResponse:
        self._channel(request.channel_id)
        members = list(self.channel_members.get(request.channel_id, {}).values())
        return api_channel_post_pb2.GetChannelMembersResponse(
            channel_members=_page(members, request.page, request.per_page)
        )

    @_status
    def GetChannelMembersByIds(
        self, request: api_channel_post_pb2.GetChannelMembersByIdsRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetChannelMembersByIdsResponse:
        members = self.channel_members.get(request.channel_id, {})
        found = [members[u] for u in request.user_ids if u in members]
        return api_channel_post_pb2.GetChannelMembersByIdsResponse(channel_members=found)

    @_status
    def DeleteChannelMember(
        self, request: api_channel_post_pb2.DeleteChannelMemberRequest, context: _Ctx
    ) -> api_channel_post_pb2.DeleteChannelMemberResponse:
        self._channel(request.channel_id)
        if self.channel_members[request.channel_id].pop(request.user_id, None) is None:
            key = f"{request.channel_id}/{request.user_id}"
            raise _not_found("app.channel.get_member.missing.app_error", "channel member", key)
        return api_channel_post_pb2.DeleteChannelMemberResponse()

    @_status
    def GetChannelStats(
        self, request: api_channel_post_pb2.GetChannelStatsRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetChannelStatsResponse:
        self._channel(request.channel_id)
        stats = api_channel_post_pb2.ChannelStats(
            channel_id=request.channel_id,
            member_count=len(self.channel_members.get(request.channel_id, {})),
            pinnedpost_count=sum(
                1
                for p in self.posts.values()
                if p.channel_id == request.channel_id and p.is_pinned and not p.delete_at
            ),
        )
        return api_channel_post_pb2.GetChannelStatsResponse(channel_stats=stats)

    # ----------------------------------------------------------------------- posts (embedded)

    def _check_new_post(self, post: post_pb2.Post) -> None:
        """Raise what the server raises for a post it will not create (before any hook)."""
        if post.id:
            raise _bad_request("store.sql_post.save.existing.app_error", "the post has an id")
        if len(post.message) > _POST_MESSAGE_MAX_RUNES:
            raise _bad_request("model.post.is_valid.message_length.app_error", "message too long")
        self._user(post.user_id)
        channel = self._channel(post.channel_id)
        if channel.delete_at:
            raise _bad_request(
                "api.post.create_post.can_not_post_to_deleted.error",
                "cannot post to a deleted channel",
            )
        if post.root_id:
            root = self.posts.get(post.root_id)
            if root is None or root.delete_at or root.root_id:
                raise _bad_request("api.post.create_post.root_id.app_error", "invalid root_id")
            if root.channel_id != post.channel_id:
                raise _bad_request(
                    "api.post.create_post.channel_root_id.app_error",
                    "the root post is in another channel",
                )

    @_embedded
    def CreatePost(
        self, request: api_channel_post_pb2.CreatePostRequest, context: _Ctx
    ) -> api_channel_post_pb2.CreatePostResponse:
        post = post_pb2.Post()
        post.CopyFrom(request.post)
        self._check_new_post(post)
        channel = self._channel(post.channel_id)
        now = self.now_ms()
        if post.root_id:
            root = self.posts[post.root_id]
            root.reply_count += 1
            root.last_reply_at = now
            post.reply_count = root.reply_count
        else:
            channel.last_root_post_at = now
            channel.total_msg_count_root += 1
        post.id = new_id()
        post.create_at = post.update_at = now
        channel.last_post_at = now
        channel.total_msg_count += 1
        self.posts[post.id] = post
        return api_channel_post_pb2.CreatePostResponse(post=post)

    @_embedded
    def GetPost(
        self, request: api_channel_post_pb2.GetPostRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetPostResponse:
        return api_channel_post_pb2.GetPostResponse(post=self._post(request.post_id))

    def edited_post(self, old: post_pb2.Post, received: post_pb2.Post) -> post_pb2.Post:
        """The post ``app.UpdatePost`` makes of an edit: ``old`` with the editable fields of
        ``received`` (message, pinned, file ids, props), ``edit_at`` set when the message,
        the files or the attachments changed. Raises the server's 400 for a system message
        or a too long message. Stores nothing."""
        if old.type.startswith("system_"):
            raise _bad_request(
                "api.post.update_post.system_message.app_error", "system messages cannot be edited"
            )
        if len(received.message) > _POST_MESSAGE_MAX_RUNES:
            raise _bad_request("model.post.is_valid.message_length.app_error", "message too long")
        new = post_pb2.Post()
        new.CopyFrom(old)
        new.message = received.message
        new.is_pinned = received.is_pinned
        new.file_ids[:] = received.file_ids
        new.props.CopyFrom(received.props)
        mark_edited(new, old, self.now_ms())
        return new

    @_embedded
    def UpdatePost(
        self, request: api_channel_post_pb2.UpdatePostRequest, context: _Ctx
    ) -> api_channel_post_pb2.UpdatePostResponse:
        post = self.edited_post(self._post(request.post.id), request.post)
        post.update_at = max(self.now_ms(), post.edit_at)
        self.posts[post.id] = post
        return api_channel_post_pb2.UpdatePostResponse(post=post)

    @_embedded
    def DeletePost(
        self, request: api_channel_post_pb2.DeletePostRequest, context: _Ctx
    ) -> api_channel_post_pb2.DeletePostResponse:
        post = self._post(request.post_id)
        now = self.now_ms()
        post.delete_at = post.update_at = now
        if post.root_id:
            root = self.posts[post.root_id]
            root.reply_count = max(root.reply_count - 1, 0)
        else:  # deleting a root deletes its thread
            for reply in self.posts.values():
                if reply.root_id == post.id and not reply.delete_at:
                    reply.delete_at = reply.update_at = now
                    self.posts.touch(reply.id)
        return api_channel_post_pb2.DeletePostResponse()

    @_embedded
    def GetPostThread(
        self, request: api_channel_post_pb2.GetPostThreadRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetPostThreadResponse:
        post = self._post(request.post_id)
        root_id = post.root_id or post.id
        thread = [
            p
            for p in self.posts.values()
            if not p.delete_at and (p.id == root_id or p.root_id == root_id)
        ]
        return api_channel_post_pb2.GetPostThreadResponse(post_list=self._post_list(thread))

    @_embedded
    def GetPostsForChannel(
        self, request: api_channel_post_pb2.GetPostsForChannelRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetPostsForChannelResponse:
        self._channel(request.channel_id)
        posts = sorted(
            (
                p
                for p in self.posts.values()
                if p.channel_id == request.channel_id and not p.delete_at
            ),
            key=lambda p: p.create_at,
            reverse=True,
        )
        page = _page(posts, request.page, request.per_page)
        return api_channel_post_pb2.GetPostsForChannelResponse(post_list=self._post_list(page))

    @_embedded
    def GetPostsSince(
        self, request: api_channel_post_pb2.GetPostsSinceRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetPostsSinceResponse:
        self._channel(request.channel_id)
        posts = [
            p
            for p in self.posts.values()
            if p.channel_id == request.channel_id and p.update_at > request.time
        ]
        return api_channel_post_pb2.GetPostsSinceResponse(post_list=self._post_list(posts))

    @_embedded
    def SendEphemeralPost(
        self, request: api_channel_post_pb2.SendEphemeralPostRequest, context: _Ctx
    ) -> api_channel_post_pb2.SendEphemeralPostResponse:
        post = post_pb2.Post()
        post.CopyFrom(request.post)
        post.id = post.id or new_id()
        post.type = "ephemeral"
        post.create_at = post.create_at or self.now_ms()
        post.user_id = post.user_id or request.user_id
        self.ephemeral_posts[post.id] = _EphemeralPost(request.user_id, post)
        return api_channel_post_pb2.SendEphemeralPostResponse(post=post)

    @_embedded
    def UpdateEphemeralPost(
        self, request: api_channel_post_pb2.UpdateEphemeralPostRequest, context: _Ctx
    ) -> api_channel_post_pb2.UpdateEphemeralPostResponse:
        # The server only pushes the post to the user's clients; it checks no prior existence.
        post = post_pb2.Post()
        post.CopyFrom(request.post)
        post.type = "ephemeral"
        post.update_at = self.now_ms()
        self.ephemeral_posts[post.id] = _EphemeralPost(request.user_id, post)
        return api_channel_post_pb2.UpdateEphemeralPostResponse(post=post)

    @_embedded
    def DeleteEphemeralPost(
        self, request: api_channel_post_pb2.DeleteEphemeralPostRequest, context: _Ctx
    ) -> api_channel_post_pb2.DeleteEphemeralPostResponse:
        self.ephemeral_posts.pop(request.post_id, None)
        return api_channel_post_pb2.DeleteEphemeralPostResponse()

    # ----------------------------------------------------------------------- reactions (embedded)

    @_embedded
    def AddReaction(
        self, request: api_channel_post_pb2.AddReactionRequest, context: _Ctx
    ) -> api_channel_post_pb2.AddReactionResponse:
        reaction = post_pb2.Reaction()
        reaction.CopyFrom(request.reaction)
        if not _EMOJI_NAME_RE.match(reaction.emoji_name):
            raise _bad_request("model.reaction.is_valid.emoji_name.app_error", "invalid emoji")
        self._user(reaction.user_id)
        post = self._post(reaction.post_id)
        reactions = self.reactions.setdefault(post.id, [])
        for existing in reactions:  # the same user and emoji twice is one reaction
            if (existing.user_id, existing.emoji_name) == (reaction.user_id, reaction.emoji_name):
                return api_channel_post_pb2.AddReactionResponse(reaction=existing)
        reaction.create_at = reaction.update_at = self.now_ms()
        reaction.channel_id = post.channel_id
        reactions.append(reaction)
        post.has_reactions = True
        return api_channel_post_pb2.AddReactionResponse(reaction=reaction)

    @_embedded
    def GetReactions(
        self, request: api_channel_post_pb2.GetReactionsRequest, context: _Ctx
    ) -> api_channel_post_pb2.GetReactionsResponse:
        reactions = self.reactions.get(request.post_id, [])
        return api_channel_post_pb2.GetReactionsResponse(reactions=reactions)

    @_embedded
    def RemoveReaction(
        self, request: api_channel_post_pb2.RemoveReactionRequest, context: _Ctx
    ) -> api_channel_post_pb2.RemoveReactionResponse:
        target = request.reaction
        post = self._post(target.post_id)
        reactions = self.reactions.get(post.id, [])
        reactions[:] = [
            r for r in reactions if (r.user_id, r.emoji_name) != (target.user_id, target.emoji_name)
        ]
        post.has_reactions = bool(reactions)
        return api_channel_post_pb2.RemoveReactionResponse()

    # ----------------------------------------------------------------------- KV store (embedded)

    @_embedded
    def KVSet(
        self, request: api_kv_config_pb2.KVSetRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVSetResponse:
        self._kv_set(request.key, request.value, atomic=False, old_value=b"", expire_in_seconds=0)
        return api_kv_config_pb2.KVSetResponse()

    @_embedded
    def KVSetWithExpiry(
        self, request: api_kv_config_pb2.KVSetWithExpiryRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVSetWithExpiryResponse:
        self._kv_set(
            request.key,
            request.value,
            atomic=False,
            old_value=b"",
            expire_in_seconds=request.expire_in_seconds,
        )
        return api_kv_config_pb2.KVSetWithExpiryResponse()

    @_embedded
    def KVSetWithOptions(
        self, request: api_kv_config_pb2.KVSetWithOptionsRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVSetWithOptionsResponse:
        opts = request.options
        success = self._kv_set(
            request.key,
            request.value,
            atomic=opts.atomic,
            old_value=opts.old_value,
            expire_in_seconds=opts.expire_in_seconds,
        )
        return api_kv_config_pb2.KVSetWithOptionsResponse(success=success)

    @_embedded
    def KVCompareAndSet(
        self, request: api_kv_config_pb2.KVCompareAndSetRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVCompareAndSetResponse:
        success = self._kv_set(
            request.key,
            request.new_value,
            atomic=True,
            old_value=request.old_value,
            expire_in_seconds=0,
        )
        return api_kv_config_pb2.KVCompareAndSetResponse(success=success)

    @_embedded
    def KVCompareAndDelete(
        self, request: api_kv_config_pb2.KVCompareAndDeleteRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVCompareAndDeleteResponse:
        current = self._kv_live(request.key)
        success = current is not None and current.value == request.old_value
        if success:
            del self.kv[request.key]
        return api_kv_config_pb2.KVCompareAndDeleteResponse(success=success)

    @_embedded
    def KVGet(
        self, request: api_kv_config_pb2.KVGetRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVGetResponse:
        entry = self._kv_live(request.key)  # a missing key is empty bytes, not an error
        return api_kv_config_pb2.KVGetResponse(value=entry.value if entry is not None else b"")

    @_embedded
    def KVDelete(
        self, request: api_kv_config_pb2.KVDeleteRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVDeleteResponse:
        self.kv.pop(request.key, None)
        return api_kv_config_pb2.KVDeleteResponse()

    @_embedded
    def KVDeleteAll(
        self, request: api_kv_config_pb2.KVDeleteAllRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVDeleteAllResponse:
        self.kv.clear()
        return api_kv_config_pb2.KVDeleteAllResponse()

    @_embedded
    def KVList(
        self, request: api_kv_config_pb2.KVListRequest, context: _Ctx
    ) -> api_kv_config_pb2.KVListResponse:
        keys = sorted(k for k in list(self.kv) if self._kv_live(k) is not None)
        # The server's store falls back to 10 keys per page when per_page is not positive.
        per_page = request.per_page if request.per_page > 0 else 10
        return api_kv_config_pb2.KVListResponse(keys=_page(keys, request.page, per_page))

    # ----------------------------------------------------------------------- files (embedded)

    @_embedded
    def UploadFile(
        self, request: api_file_bot_pb2.UploadFileRequest, context: _Ctx
    ) -> api_file_bot_pb2.UploadFileResponse:
        self._channel(request.channel_id)
        limit = int(self.config.get("FileSettings", {}).get("MaxFileSize", 0))
        if limit and len(request.data) > limit:
            raise FakeAppError(
                "api.file.upload_file.too_large_detailed.app_error",
                f"{request.filename!r} exceeds the maximum file size of {limit} bytes",
                413,
            )
        now = self.now_ms()
        info = file_pb2.FileInfo(
            id=new_id(),
            creator_id="nouser",  # what the server records for plugin uploads
            channel_id=request.channel_id,
            create_at=now,
            update_at=now,
            name=request.filename,
            extension=os.path.splitext(request.filename)[1].lstrip(".").lower(),
            size=len(request.data),
            mime_type=mimetypes.guess_type(request.filename)[0] or "",
        )
        self.files[info.id] = _StoredFile(info, bytes(request.data))
        return api_file_bot_pb2.UploadFileResponse(file_info=info)

    @_embedded
    def GetFile(
        self, request: api_file_bot_pb2.GetFileRequest, context: _Ctx
    ) -> api_file_bot_pb2.GetFileResponse:
        return api_file_bot_pb2.GetFileResponse(data=self._file(request.file_id).data)

    @_embedded
    def GetFileInfo(
        self, request: api_file_bot_pb2.GetFileInfoRequest, context: _Ctx
    ) -> api_file_bot_pb2.GetFileInfoResponse:
        return api_file_bot_pb2.GetFileInfoResponse(file_info=self._file(request.file_id).info)

    @_embedded
    def GetFileInfos(
        self, request: api_file_bot_pb2.GetFileInfosRequest, context: _Ctx
    ) -> api_file_bot_pb2.GetFileInfosResponse:
        opts = request.options
        infos = [
            f.info
            for f in self.files.values()
            if (not opts.user_id or f.info.creator_id == opts.user_id)
            and (not opts.channel_id or f.info.channel_id == opts.channel_id)
            and (opts.include_deleted or not f.info.delete_at)
        ]
        sort_key = "size" if opts.sort_by == "size" else "create_at"
        infos.sort(key=lambda i: getattr(i, sort_key), reverse=opts.sort_order.lower() == "desc")
        return api_file_bot_pb2.GetFileInfosResponse(
            file_infos=_page(infos, request.page, request.per_page)
        )

    @_embedded
    def CopyFileInfos(
        self, request: api_file_bot_pb2.CopyFileInfosRequest, context: _Ctx
    ) -> api_file_bot_pb2.CopyFileInfosResponse:
        originals = [self._file(i) for i in request.file_ids]  # all or nothing
        now = self.now_ms()
        new_ids = []
        for original in originals:
            info = file_pb2.FileInfo()
            info.CopyFrom(original.info)
            info.id = new_id()
            info.creator_id = request.user_id
            info.post_id = ""
            info.create_at = info.update_at = now
            self.files[info.id] = _StoredFile(info, original.data)
            new_ids.append(info.id)
        return api_file_bot_pb2.CopyFileInfosResponse(file_ids=new_ids)

    # ---------------------------------------------------------------- upload sessions (embedded)

    def _max_file_size(self) -> int:
        return int(self.config.get("FileSettings", {}).get("MaxFileSize", 0))

    def _new_file(
        self, channel_id: str, creator_id: str, filename: str, data: bytes
    ) -> file_pb2.FileInfo:
        now = self.now_ms()
        info = file_pb2.FileInfo(
            id=new_id(),
            creator_id=creator_id,
            channel_id=channel_id,
            create_at=now,
            update_at=now,
            name=filename,
            extension=os.path.splitext(filename)[1].lstrip(".").lower(),
            size=len(data),
            mime_type=mimetypes.guess_type(filename)[0] or "",
        )
        self.files[info.id] = _StoredFile(info, bytes(data))
        return info

    @_embedded
    def CreateUploadSession(
        self, request: api_file_bot_pb2.CreateUploadSessionRequest, context: _Ctx
    ) -> api_file_bot_pb2.CreateUploadSessionResponse:
        session = api_file_bot_pb2.UploadSession()
        session.CopyFrom(request.upload_session)
        limit = self._max_file_size()
        if limit and session.file_size > limit:
            raise FakeAppError(
                "app.upload.create.upload_too_large.app_error",
                f"the file is larger than the maximum file size of {limit} bytes",
                413,
            )
        session.type = session.type or "attachment"
        if session.type not in ("attachment", "import"):
            raise _bad_request("model.upload_session.is_valid.type.app_error", "invalid type")
        if session.type == "attachment":
            if self._channel(session.channel_id).delete_at:
                raise _bad_request(
                    "app.upload.create.cannot_upload_to_deleted_channel.app_error",
                    "cannot upload to a deleted channel",
                )
            self._user(session.user_id)
        if not session.filename:
            raise _bad_request("model.upload_session.is_valid.filename.app_error", "filename")
        if session.file_size <= 0:
            raise _bad_request("model.upload_session.is_valid.file_size.app_error", "file_size")
        session.id = session.id or new_id()
        if session.id in self.uploads:
            raise FakeAppError(
                "app.upload.create.save.app_error", "an upload with this id exists", 409
            )
        session.create_at = self.now_ms()
        session.file_offset = 0
        session.path = f"data/uploads/{session.id}"
        self.uploads[session.id] = _Upload(session, bytearray())
        return api_file_bot_pb2.CreateUploadSessionResponse(upload_session=session)

    @_embedded
    def GetUploadSession(
        self, request: api_file_bot_pb2.GetUploadSessionRequest, context: _Ctx
    ) -> api_file_bot_pb2.GetUploadSessionResponse:
        upload = self.uploads.get(request.upload_id)
        if upload is None:
            raise _not_found("app.upload.get.app_error", "upload session", request.upload_id)
        return api_file_bot_pb2.GetUploadSessionResponse(upload_session=upload.session)

    @_embedded
    def UploadData(
        self, request: api_file_bot_pb2.UploadDataRequest, context: _Ctx
    ) -> api_file_bot_pb2.UploadDataResponse:
        upload = self.uploads.get(request.upload_session.id)
        if upload is None:
            raise _not_found(
                "app.upload.get.app_error", "upload session", request.upload_session.id
            )
        session = upload.session
        if session.file_offset + len(request.data) > session.file_size:
            raise _bad_request(
                "app.upload.upload_data.large_file.app_error",
                f"{len(request.data)} more bytes would exceed the upload's size "
                f"({session.file_offset} of {session.file_size} received)",
            )
        upload.data += request.data
        session.file_offset = len(upload.data)
        if session.file_offset < session.file_size:
            return api_file_bot_pb2.UploadDataResponse()
        del self.uploads[session.id]
        info = self._new_file(
            session.channel_id, session.user_id, session.filename, bytes(upload.data)
        )
        return api_file_bot_pb2.UploadDataResponse(file_info=info)

    # ----------------------------------------------------------------------- bots (status)

    def _sync_bot_user(self, bot: api_file_bot_pb2.Bot) -> None:
        """Mirror a bot's fields onto its user, as model.UserFromBot does."""
        user = self.users[bot.user_id]
        user.username = bot.username
        user.first_name = bot.display_name
        user.bot_description = bot.description
        user.delete_at = bot.delete_at
        user.update_at = bot.update_at

    def _create_bot(self, template: api_file_bot_pb2.Bot) -> api_file_bot_pb2.Bot:
        bot = api_file_bot_pb2.Bot()
        bot.CopyFrom(template)
        bot.username = bot.username.lower()
        _validate_username(bot.username, "model.bot.is_valid.username.app_error")
        if len(bot.display_name) > 64 or len(bot.description) > 1024:
            raise _bad_request("model.bot.is_valid.description.app_error", "field too long")
        if self._find_user(username=bot.username) is not None:
            raise FakeAppError(
                "app.user.save.username_exists.app_error",
                f"an account with username {bot.username!r} already exists",
                409,
            )
        now = self.now_ms()
        user = user_pb2.User(
            id=new_id(),
            username=bot.username,
            email=f"{bot.username}@localhost",
            first_name=bot.display_name,
            roles="system_user",
            is_bot=True,
            bot_description=bot.description,
            create_at=now,
            update_at=now,
            locale="en",
        )
        self.users[user.id] = user
        bot.user_id = user.id
        bot.owner_id = bot.owner_id or self.plugin_id  # the plugin API's default owner
        bot.create_at = bot.update_at = now
        self.bots[bot.user_id] = bot
        return bot

    @_status
    def CreateBot(
        self, request: api_file_bot_pb2.CreateBotRequest, context: _Ctx
    ) -> api_file_bot_pb2.CreateBotResponse:
        return api_file_bot_pb2.CreateBotResponse(bot=self._create_bot(request.bot))

    @_status
    def EnsureBotUser(
        self, request: api_file_bot_pb2.EnsureBotUserRequest, context: _Ctx
    ) -> api_file_bot_pb2.EnsureBotUserResponse:
        username = request.bot.username.lower()
        existing = next((b for b in self.bots.values() if b.username == username), None)
        bot = existing if existing is not None else self._create_bot(request.bot)
        return api_file_bot_pb2.EnsureBotUserResponse(bot_user_id=bot.user_id)

    @_status
    def GetBot(
        self, request: api_file_bot_pb2.GetBotRequest, context: _Ctx
    ) -> api_file_bot_pb2.GetBotResponse:
        bot = self._bot(request.bot_user_id, request.include_deleted)
        return api_file_bot_pb2.GetBotResponse(bot=bot)

    @_status
    def GetBots(
        self, request: api_file_bot_pb2.GetBotsRequest, context: _Ctx
    ) -> api_file_bot_pb2.GetBotsResponse:
        opts = request.options
        bots = sorted(
            (
                b
                for b in self.bots.values()
                if (not opts.owner_id or b.owner_id == opts.owner_id)
                and (opts.include_deleted or not b.delete_at)
                and (not opts.only_orphaned or b.owner_id not in self.users)
            ),
            key=lambda b: b.username,
        )
        return api_file_bot_pb2.GetBotsResponse(bots=_page(bots, opts.page, opts.per_page))

    @_status
    def PatchBot(
        self, request: api_file_bot_pb2.PatchBotRequest, context: _Ctx
    ) -> api_file_bot_pb2.PatchBotResponse:
        bot = self._bot(request.bot_user_id)
        patch = request.bot_patch
        if patch.HasField("username"):
            username = patch.username.lower()
            _validate_username(username, "model.bot.is_valid.username.app_error")
            other = self._find_user(username=username)
            if other is not None and other.id != bot.user_id:
                raise FakeAppError(
                    "app.user.save.username_exists.app_error",
                    f"an account with username {username!r} already exists",
                    409,
                )
            bot.username = username
        if patch.HasField("display_name"):
            bot.display_name = patch.display_name
        if patch.HasField("description"):
            bot.description = patch.description
        bot.update_at = self.now_ms()
        self._sync_bot_user(bot)
        return api_file_bot_pb2.PatchBotResponse(bot=bot)

    @_status
    def UpdateBotActive(
        self, request: api_file_bot_pb2.UpdateBotActiveRequest, context: _Ctx
    ) -> api_file_bot_pb2.UpdateBotActiveResponse:
        bot = self._bot(request.bot_user_id, include_deleted=True)
        bot.update_at = self.now_ms()
        bot.delete_at = 0 if request.active else bot.update_at
        self._sync_bot_user(bot)
        return api_file_bot_pb2.UpdateBotActiveResponse(bot=bot)

    @_status
    def PermanentDeleteBot(
        self, request: api_file_bot_pb2.PermanentDeleteBotRequest, context: _Ctx
    ) -> api_file_bot_pb2.PermanentDeleteBotResponse:
        self._bot(request.bot_user_id, include_deleted=True)
        del self.bots[request.bot_user_id]
        del self.users[request.bot_user_id]
        return api_file_bot_pb2.PermanentDeleteBotResponse()

    # ----------------------------------------------------------------------- config, plugin, server

    @_status
    def GetConfig(
        self, request: api_kv_config_pb2.GetConfigRequest, context: _Ctx
    ) -> api_kv_config_pb2.GetConfigResponse:
        return api_kv_config_pb2.GetConfigResponse(config_json=json.dumps(self.config).encode())

    @_status
    def GetUnsanitizedConfig(
        self, request: api_kv_config_pb2.GetUnsanitizedConfigRequest, context: _Ctx
    ) -> api_kv_config_pb2.GetUnsanitizedConfigResponse:
        config_json = json.dumps(self.config).encode()
        return api_kv_config_pb2.GetUnsanitizedConfigResponse(config_json=config_json)

    @_status
    def SaveConfig(
        self, request: api_kv_config_pb2.SaveConfigRequest, context: _Ctx
    ) -> api_kv_config_pb2.SaveConfigResponse:
        try:
            config = json.loads(request.config_json)
        except ValueError as exc:
            raise _bad_request("api.config.update_config.invalid_json", str(exc)) from exc
        if not isinstance(config, dict):
            raise _bad_request("api.config.update_config.invalid_json", "not a JSON object")
        self.config = config
        self._config_saved()
        return api_kv_config_pb2.SaveConfigResponse()

    def _config_saved(self) -> None:
        if self.on_config_saved is not None:
            self.on_config_saved()

    @_status
    def GetPluginConfig(
        self, request: api_kv_config_pb2.GetPluginConfigRequest, context: _Ctx
    ) -> api_kv_config_pb2.GetPluginConfigResponse:
        config = struct_pb2.Struct()
        config.update(self._plugin_settings())
        return api_kv_config_pb2.GetPluginConfigResponse(config=config)

    @_status
    def SavePluginConfig(
        self, request: api_kv_config_pb2.SavePluginConfigRequest, context: _Ctx
    ) -> api_kv_config_pb2.SavePluginConfigResponse:
        settings = self._plugin_settings()
        settings.clear()
        settings.update(json_format.MessageToDict(request.config))
        self._config_saved()
        return api_kv_config_pb2.SavePluginConfigResponse()

    @_status
    def LoadPluginConfiguration(
        self, request: api_kv_config_pb2.LoadPluginConfigurationRequest, context: _Ctx
    ) -> api_kv_config_pb2.LoadPluginConfigurationResponse:
        config_json = json.dumps(self._plugin_settings()).encode()
        return api_kv_config_pb2.LoadPluginConfigurationResponse(config_json=config_json)

    @_status
    def GetServerVersion(
        self, request: api_remaining_pb2.GetServerVersionRequest, context: _Ctx
    ) -> api_remaining_pb2.GetServerVersionResponse:
        return api_remaining_pb2.GetServerVersionResponse(version=self.server_version)

    @_status
    def PublishPluginClusterEvent(
        self, request: api_remaining_pb2.PublishPluginClusterEventRequest, context: _Ctx
    ) -> api_remaining_pb2.PublishPluginClusterEventResponse:
        # The server sends it to the plugin on the *other* nodes: with one node, nowhere.
        event = ClusterEvent(request.event, request.opts)
        self.cluster_events.append(event)
        if self.deliver_cluster_event is not None:
            self.deliver_cluster_event(event, context)
        return api_remaining_pb2.PublishPluginClusterEventResponse()

    # ------------------------------------------------------------------- commands (status)

    @_status
    def RegisterCommand(
        self, request: api_remaining_pb2.RegisterCommandRequest, context: _Ctx
    ) -> api_remaining_pb2.RegisterCommandResponse:
        trigger = request.command.trigger.strip().lstrip("/").lower()  # as the server does
        if not trigger or " " in trigger:
            raise _bad_request("model.command.is_valid.trigger.app_error", "invalid trigger")
        command = api_remaining_pb2.Command()
        command.CopyFrom(request.command)
        command.trigger = trigger
        command.plugin_id = self.plugin_id  # the server records who handles it
        command.create_at = command.update_at = self.now_ms()
        self.commands[(command.team_id, trigger)] = command
        return api_remaining_pb2.RegisterCommandResponse()

    @_status
    def UnregisterCommand(
        self, request: api_remaining_pb2.UnregisterCommandRequest, context: _Ctx
    ) -> api_remaining_pb2.UnregisterCommandResponse:
        self.commands.pop((request.team_id, request.trigger.lstrip("/").lower()), None)
        return api_remaining_pb2.UnregisterCommandResponse()

    def find_command(self, team_id: str, trigger: str) -> api_remaining_pb2.Command | None:
        """The plugin command ``trigger`` (without the slash) as seen in ``team_id``: one
        registered for that team, else one registered for every team (empty team id)."""
        with self._lock:
            trigger = trigger.lstrip("/").lower()
            for key in ((team_id, trigger), ("", trigger)):
                if key in self.commands:
                    return self.commands[key]
            return None

    @_status
    def ListPluginCommands(
        self, request: api_remaining_pb2.ListPluginCommandsRequest, context: _Ctx
    ) -> api_remaining_pb2.ListPluginCommandsResponse:
        commands = sorted(
            (c for (team, _), c in self.commands.items() if team in ("", request.team_id)),
            key=lambda c: c.trigger,
        )
        return api_remaining_pb2.ListPluginCommandsResponse(commands=commands)

    @_status
    def ListCommands(
        self, request: api_remaining_pb2.ListCommandsRequest, context: _Ctx
    ) -> api_remaining_pb2.ListCommandsResponse:
        # The fake has no built-in or custom (outgoing webhook) commands: plugin ones only.
        commands = sorted(
            (c for (team, _), c in self.commands.items() if team in ("", request.team_id)),
            key=lambda c: c.trigger,
        )
        return api_remaining_pb2.ListCommandsResponse(commands=commands)

    def ExecuteSlashCommand(
        self, request: api_remaining_pb2.ExecuteSlashCommandRequest, context: _Ctx
    ) -> api_remaining_pb2.ExecuteSlashCommandResponse:
        # Not under the lock: running the command calls back into the plugin, which may
        # call this API again while its ExecuteCommand runs.
        try:
            if self.execute_command is None:
                raise FakeAppError(
                    "api.command.execute_command.not_found.app_error",
                    f"command {request.command_args.command!r} not found: no plugin host "
                    "is attached to this fake server",
                    404,
                )
            response = self.execute_command(request.command_args)
        except FakeAppError as exc:
            context.abort(grpc_code_for_http(exc.status_code), f"{exc.error_id}: {exc.message}")
        return api_remaining_pb2.ExecuteSlashCommandResponse(response=response)

    # -------------------------------------------------------------------- preferences (status)

    @_status
    def GetPreferenceForUser(
        self, request: api_remaining_pb2.GetPreferenceForUserRequest, context: _Ctx
    ) -> api_remaining_pb2.GetPreferenceForUserResponse:
        key = (request.user_id, request.category, request.name)
        preference = self.preferences.get(key)
        if preference is None:
            raise _not_found("app.preference.get.app_error", "preference", "/".join(key))
        return api_remaining_pb2.GetPreferenceForUserResponse(preference=preference)

    @_status
    def GetPreferencesForUser(
        self, request: api_remaining_pb2.GetPreferencesForUserRequest, context: _Ctx
    ) -> api_remaining_pb2.GetPreferencesForUserResponse:
        found = sorted(
            (p for (user, _, _), p in self.preferences.items() if user == request.user_id),
            key=lambda p: (p.category, p.name),
        )
        return api_remaining_pb2.GetPreferencesForUserResponse(preferences=found)

    def _check_preferences(
        self, user_id: str, preferences: Iterable[api_remaining_pb2.Preference]
    ) -> None:
        self._user(user_id)
        for preference in preferences:
            if preference.user_id != user_id:
                raise FakeAppError(
                    "api.preference.update_preferences.set.app_error",
                    "preferences can only be changed for the user they belong to",
                    403,
                )
            if not preference.category or len(preference.category) > 32:
                raise _bad_request("model.preference.is_valid.category.app_error", "category")
            if len(preference.name) > 32:
                raise _bad_request("model.preference.is_valid.name.app_error", "name too long")
            if len(preference.value) > 2000:
                raise _bad_request("model.preference.is_valid.value.app_error", "value too long")

    @_status
    def UpdatePreferencesForUser(
        self, request: api_remaining_pb2.UpdatePreferencesForUserRequest, context: _Ctx
    ) -> api_remaining_pb2.UpdatePreferencesForUserResponse:
        self._check_preferences(request.user_id, request.preferences)  # all or nothing
        for preference in request.preferences:
            stored = api_remaining_pb2.Preference()
            stored.CopyFrom(preference)
            self.preferences[(preference.user_id, preference.category, preference.name)] = stored
        return api_remaining_pb2.UpdatePreferencesForUserResponse()

    @_status
    def DeletePreferencesForUser(
        self, request: api_remaining_pb2.DeletePreferencesForUserRequest, context: _Ctx
    ) -> api_remaining_pb2.DeletePreferencesForUserResponse:
        self._check_preferences(request.user_id, request.preferences)
        for p in request.preferences:
            self.preferences.pop((p.user_id, p.category, p.name), None)
        return api_remaining_pb2.DeletePreferencesForUserResponse()

    # ----------------------------------------------------------------------- logs (status)

    @_status
    def LogDebug(
        self, request: api_kv_config_pb2.LogDebugRequest, context: _Ctx
    ) -> api_kv_config_pb2.LogDebugResponse:
        self._log("debug", request)
        return api_kv_config_pb2.LogDebugResponse()

    @_status
    def LogInfo(
        self, request: api_kv_config_pb2.LogInfoRequest, context: _Ctx
    ) -> api_kv_config_pb2.LogInfoResponse:
        self._log("info", request)
        return api_kv_config_pb2.LogInfoResponse()

    @_status
    def LogWarn(
        self, request: api_kv_config_pb2.LogWarnRequest, context: _Ctx
    ) -> api_kv_config_pb2.LogWarnResponse:
        self._log("warn", request)
        return api_kv_config_pb2.LogWarnResponse()

    @_status
    def LogError(
        self, request: api_kv_config_pb2.LogErrorRequest, context: _Ctx
    ) -> api_kv_config_pb2.LogErrorResponse:
        self._log("error", request)
        return api_kv_config_pb2.LogErrorResponse()


# --------------------------------------------------------------------------- not implemented


def _not_modelled(name: str) -> Callable[[Any, Message, _Ctx], Message]:
    """A method the real server serves but this fake does not model: an AppError, 501."""
    response_cls = _response_class(name)
    has_error = "error" in response_cls.DESCRIPTOR.fields_by_name
    message = f"the local host does not model {name}"

    def handler(self: Any, request: Message, context: _Ctx) -> Message:
        if not has_error:  # every PluginAPI response has one today; this is for future ones
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{NOT_IMPLEMENTED_ID}: {message}")
        return _error_response(response_cls, app_error(name, NOT_IMPLEMENTED_ID, message, 501))

    handler.__name__ = handler.__qualname__ = name
    return handler


def _unserved(name: str) -> Callable[[Any, Message, _Ctx], Message]:
    """A method the real server does not serve: UNIMPLEMENTED, in the words of Go's gRPC."""

    def handler(self: Any, request: Message, context: _Ctx) -> Message:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"method {name} not implemented")
        raise AssertionError("abort() raises")

    handler.__name__ = handler.__qualname__ = name
    return handler


def _install_not_implemented(cls: type) -> None:
    """Answer what the real server does not serve with UNIMPLEMENTED, and every other RPC the
    class leaves to the generated base (which raises) with a 501 AppError."""
    base = api_pb2_grpc.PluginAPIServicer
    for method in _SERVICE.methods:
        if method.name in UNSERVED_METHODS:
            if getattr(cls, method.name) is not getattr(base, method.name):
                raise TypeError(f"{cls.__name__} models {method.name}, which no server serves")
            setattr(cls, method.name, _unserved(method.name))
        elif getattr(cls, method.name) is getattr(base, method.name):
            setattr(cls, method.name, _not_modelled(method.name))


_install_not_implemented(FakeMattermost)


# --------------------------------------------------------------------------- serving


def serve(
    fake: FakeMattermost | None = None, address: str = "127.0.0.1:0"
) -> tuple[grpc.Server, str]:
    """Start a gRPC server for ``fake`` (a new one by default) and return it with its address.

    Port 0 picks a free port; the returned address is ``host:port`` ready to dial.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="fake-mattermost"),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),  # never share a port with another process
        ],
    )
    servicer = fake if fake is not None else FakeMattermost()
    api_pb2_grpc.add_PluginAPIServicer_to_server(
        cast(api_pb2_grpc.PluginAPIServicer, servicer), server
    )
    host = address.rsplit(":", 1)[0]
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"cannot listen on {address}")
    server.start()
    return server, f"{host}:{port}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake in the foreground; the first stdout line is the address to dial."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    args = parser.parse_args(argv)
    server, address = serve(address=f"{args.host}:{args.port}")
    print(address, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
