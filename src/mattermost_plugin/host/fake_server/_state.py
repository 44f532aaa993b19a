"""The fake's state: its tables, the lock and transactions, lookups shared by every area,
and the hooks it runs on the plugin through the host that embeds it."""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import hmac
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import Message

from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_file_bot_pb2,
    api_kv_config_pb2,
    api_remaining_pb2,
    api_user_team_pb2,
    channel_pb2,
    file_pb2,
    hooks_common_pb2,
    post_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin.host._logring import MAX_LOG_LINES, LogRing
from mattermost_plugin.host.fake_server._rpc import bad_request, not_found
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

DEFAULT_SERVER_VERSION = "10.5.0"

# --------------------------------------------------------------------------- ids, validation

_B32_TABLE = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"ybndrfg8ejkmcpqxot1uwisza345h769"
)


def new_id() -> str:
    """A Mattermost-style id: 16 random bytes in Mattermost's base32 alphabet, 26 chars."""
    return base64.b32encode(os.urandom(16))[:26].translate(_B32_TABLE).decode()


USERNAME_RE = re.compile(r"^[a-z][a-z0-9.\-_]{0,63}$")
RESTRICTED_USERNAMES = frozenset({"all", "channel", "here", "matterbot", "system"})
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
TEAM_NAME_RE = re.compile(r"^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$")
RESERVED_TEAM_NAMES = frozenset(
    {"admin", "api", "boards", "channel", "claim", "error", "files", "help", "landing", "login"}
    | {"mfa", "oauth", "playbooks", "plug", "plugins", "post", "signup"}
)
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$")
EMOJI_NAME_RE = re.compile(r"^[a-zA-Z0-9\-+_]{1,64}$")
KV_KEY_MAX_RUNES = 150
POST_MESSAGE_MAX_RUNES = 16383


def validate_username(
    username: str, error_id: str = "model.user.is_valid.username.app_error"
) -> None:
    if not USERNAME_RE.match(username) or username in RESTRICTED_USERNAMES:
        raise bad_request(error_id, f"invalid username {username!r}")


_PASSWORD_ROUNDS = 20_000  # a local host: slow enough to be a hash, fast for tests


def hash_password(password: str) -> bytes:
    """A salted PBKDF2 hash (the server keeps a bcrypt hash; the fake needs only to check)."""
    salt = os.urandom(16)
    return salt + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PASSWORD_ROUNDS)


def check_password(password: str, stored: bytes) -> bool:
    salt, digest = stored[:16], stored[16:]
    attempt = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PASSWORD_ROUNDS)
    return hmac.compare_digest(attempt, digest)


# What the server's image decoder reads (Go's image package with its registered formats).
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def is_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def default_image(seed: str, size: int = 32) -> bytes:
    """A plain square PNG whose colour comes from ``seed`` (a default picture)."""
    red, green, blue = hashlib.sha256(seed.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def is_guest(user: user_pb2.User) -> bool:
    return "system_guest" in user.roles.split()


def paged(items: Sequence[Any], page: int, per_page: int) -> list[Any]:
    # Mirrors SQL ``LIMIT per_page OFFSET page*per_page``: per_page 0 returns nothing.
    if per_page <= 0:
        return []
    start = max(page, 0) * per_page
    return list(items[start : start + per_page])


OPEN = channel_pb2.CHANNEL_TYPE_OPEN
PRIVATE = channel_pb2.CHANNEL_TYPE_PRIVATE
DIRECT = channel_pb2.CHANNEL_TYPE_DIRECT
GROUP = channel_pb2.CHANNEL_TYPE_GROUP
CHANNEL_TYPE_LETTERS = {OPEN: "O", PRIVATE: "P", DIRECT: "D", GROUP: "G"}
"""The server's names of the channel types, in its JSON."""


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


# --------------------------------------------------------------------------- stored kinds


@dataclass(frozen=True)
class LogEntry:
    """One LogDebug/LogInfo/LogWarn/LogError call, as the plugin sent it."""

    level: str
    message: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class WebSocketEvent:
    """An event the server would send to WebSocket clients: its ``event`` name
    (``posted``, ``custom_<plugin id>_<name>``, ...), its ``data`` (protobuf messages where
    the server sends an object, as they were when it happened) and its ``broadcast``
    (``channel_id``, ``user_id``, ``team_id``: who receives it)."""

    event: str
    data: dict[str, Any]
    broadcast: dict[str, Any]


@dataclass
class KVEntry:
    value: bytes
    expire_at: int  # ms since the epoch; 0 = never


@dataclass
class StoredFile:
    info: file_pb2.FileInfo
    data: bytes


@dataclass
class EphemeralPost:
    user_id: str  # the only user who sees it
    post: post_pb2.Post


@dataclass
class Upload:
    session: api_file_bot_pb2.UploadSession
    data: bytearray


# How each kind of entity is stored in a state file (see store.py).
BYTES_CODEC: Codec[bytes] = Codec(bytes, bytes)
_KV_CODEC: Codec[KVEntry] = Codec(
    lambda e: struct.pack(">q", e.expire_at) + e.value,
    lambda b: KVEntry(bytes(b[8:]), struct.unpack_from(">q", b)[0]),
)
_FILE_CODEC: Codec[StoredFile] = Codec(
    lambda f: pack_parts([f.info.SerializeToString(deterministic=True), f.data]),
    lambda b: (lambda p: StoredFile(file_pb2.FileInfo.FromString(p[0]), p[1]))(unpack_parts(b)),
)
_EPHEMERAL_CODEC: Codec[EphemeralPost] = Codec(
    lambda e: pack_parts([e.user_id.encode(), e.post.SerializeToString(deterministic=True)]),
    lambda b: (lambda p: EphemeralPost(p[0].decode(), post_pb2.Post.FromString(p[1])))(
        unpack_parts(b)
    ),
)
_UPLOAD_CODEC: Codec[Upload] = Codec(
    lambda u: pack_parts([u.session.SerializeToString(deterministic=True), bytes(u.data)]),
    lambda b: (lambda p: Upload(api_file_bot_pb2.UploadSession.FromString(p[0]), bytearray(p[1])))(
        unpack_parts(b)
    ),
)


# --------------------------------------------------------------------------- hooks


class PluginHooks(Protocol):
    """How the fake runs the plugin's hooks: the host that embeds it implements this
    (:class:`mattermost_plugin.host.local.LocalMattermost`). Without one, no hook runs."""

    def implements(self, hook: str) -> bool:
        """Whether the plugin has a handler for ``hook`` (``Implemented()``)."""
        ...

    def run_hook(self, hook: str, request: Message) -> Message | None:
        """Call a hook and return its answer, or ``None`` when the call failed on the
        transport (crash, deadline): the server then goes on as if there were no hook."""
        ...

    def fire_hook(self, hook: str, request: Message) -> None:
        """Run a notification hook in the background, as the server's goroutines do."""
        ...


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # nested transactions of this thread
        self.fired: list[tuple[str, Message]] = []  # hooks to fire once the lock is released
        self.published: list[WebSocketEvent] = []  # WebSocket events, likewise


# --------------------------------------------------------------------------- the state


class FakeState:
    """The tables, the lock and the shared lookups; each area of the API is a subclass."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        plugin_id: str = "com.example.plugin",
        store: SQLiteStore | str | os.PathLike[str] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._thread = _ThreadState()
        self._clock = clock
        self.plugin_id = plugin_id
        self.server_version = DEFAULT_SERVER_VERSION
        self.config: dict[str, Any] = default_config()
        self.logs: LogRing[LogEntry] = LogRing(MAX_LOG_LINES)  # the latest only
        self.hooks: PluginHooks | None = None
        self.on_log: Callable[[LogEntry], None] | None = None
        self.execute_command: (
            Callable[[api_remaining_pb2.CommandArgs], api_remaining_pb2.CommandResponse] | None
        ) = None
        self.on_config_saved: Callable[[], None] | None = None
        self.on_websocket_event: Callable[[WebSocketEvent], None] | None = None
        self.cluster_events: collections.deque[Any] = collections.deque(maxlen=1000)
        self.deliver_cluster_event: Callable[[Any, Any], None] | None = None
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
        self.ephemeral_posts: Table[str, EphemeralPost] = Table("ephemeral", _EPHEMERAL_CODEC)
        self.kv: Table[str, KVEntry] = Table("kv", _KV_CODEC)
        self.files: Table[str, StoredFile] = Table("file", _FILE_CODEC)
        self.uploads: Table[str, Upload] = Table("upload", _UPLOAD_CODEC)
        self.bots: Table[str, api_file_bot_pb2.Bot] = Table("bot", P(api_file_bot_pb2.Bot))
        self.commands: Table[tuple[str, str], api_remaining_pb2.Command] = Table(
            "command", P(api_remaining_pb2.Command), tuple_keys=True
        )  # (team, trigger)
        self.preferences: Table[tuple[str, str, str], api_remaining_pb2.Preference] = Table(
            "preference", P(api_remaining_pb2.Preference), tuple_keys=True
        )  # (user, category, name)
        self.passwords: Table[str, bytes] = Table("password", BYTES_CODEC)  # user id -> hash
        self.sessions: Table[str, api_user_team_pb2.Session] = Table(
            "session", P(api_user_team_pb2.Session)
        )
        self.access_tokens: Table[str, api_user_team_pb2.UserAccessToken] = Table(
            "access_token", P(api_user_team_pb2.UserAccessToken)
        )
        self.statuses: Table[str, api_user_team_pb2.Status] = Table(
            "status", P(api_user_team_pb2.Status)
        )
        self.profile_images: Table[str, bytes] = Table("profile_image", BYTES_CODEC)
        self.team_icons: Table[str, bytes] = Table("team_icon", BYTES_CODEC)
        self.websocket_events: collections.deque[tuple[str, dict[str, Any], dict[str, Any]]] = (
            collections.deque(maxlen=1000)
        )
        """The latest WebSocket events (event, payload, broadcast) the plugin sent."""
        self.sidebar: Table[tuple[str, str], api_channel_post_pb2.OrderedSidebarCategories] = Table(
            "sidebar",
            P(api_channel_post_pb2.OrderedSidebarCategories),
            tuple_keys=True,
        )  # (user, team)
        self.file_contents: Table[str, bytes] = Table("file_content", BYTES_CODEC)
        self.custom_commands: Table[str, api_remaining_pb2.Command] = Table(
            "custom_command", P(api_remaining_pb2.Command)
        )
        self.system: Table[str, bytes] = Table("system", BYTES_CODEC)  # install date, ids
        self.license: dict[str, Any] | None = None
        """The license ``GetLicense`` answers (none, as a server without one)."""
        self.enterprise_ready = False
        self.trigger_ids: dict[str, tuple[str, int]] = {}  # id -> (user id, issued at, ms)
        self.mails: collections.deque[Any] = collections.deque(maxlen=1000)
        self.push_notifications: collections.deque[tuple[str, Any]] = collections.deque(maxlen=1000)
        self.dialogs: collections.deque[tuple[str, Any]] = collections.deque(maxlen=1000)
        self.audit_records: collections.deque[tuple[str, dict[str, Any]]] = collections.deque(
            maxlen=1000
        )
        self.collections: set[tuple[str, str]] = set()
        self.bundle_path = ""
        """Where the plugin's files are (``GetBundlePath``)."""
        self.plugins: Table[str, api_kv_config_pb2.PluginStatus] = Table(
            "plugin", P(api_kv_config_pb2.PluginStatus)
        )
        self.plugin_manifests: Table[str, api_kv_config_pb2.Manifest] = Table(
            "plugin_manifest", P(api_kv_config_pb2.Manifest)
        )
        self.emojis: Table[str, api_channel_post_pb2.Emoji] = Table(
            "emoji", P(api_channel_post_pb2.Emoji)
        )
        self.emoji_images: Table[str, bytes] = Table("emoji_image", BYTES_CODEC)
        self.oauth_apps: Table[str, api_remaining_pb2.OAuthApp] = Table(
            "oauth_app", P(api_remaining_pb2.OAuthApp)
        )
        self.groups: Table[str, api_remaining_pb2.Group] = Table(
            "group", P(api_remaining_pb2.Group)
        )
        self.group_members: Table[tuple[str, str], api_remaining_pb2.GroupMember] = Table(
            "group_member", P(api_remaining_pb2.GroupMember), tuple_keys=True
        )  # (group, user)
        self.group_syncables: Table[tuple[str, str, str], api_remaining_pb2.GroupSyncable] = Table(
            "group_syncable", P(api_remaining_pb2.GroupSyncable), tuple_keys=True
        )  # (group, syncable, type)
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

        Every PluginAPI call runs inside one, so each is atomic, also in the file. The
        notification hooks a call causes (:meth:`fire`) run once the outermost transaction
        of the thread has released the lock, and only if it succeeded."""
        thread = self._thread
        with self._lock:
            thread.depth += 1
            mark, published_mark = len(thread.fired), len(thread.published)
            try:
                yield
            except BaseException:
                del thread.fired[mark:]
                del thread.published[published_mark:]
                raise
            finally:
                thread.depth -= 1
                if self.store is not None:
                    self.store.flush({"config": self.config})
        if thread.depth == 0 and thread.published:
            published, thread.published = thread.published, []
            listener = self.on_websocket_event
            if listener is not None:
                for event in published:
                    listener(event)
        if thread.depth == 0 and thread.fired:
            fired, thread.fired = thread.fired, []
            hooks = self.hooks
            if hooks is not None:
                for hook, request in fired:
                    hooks.fire_hook(hook, request)

    def close(self) -> None:
        """Close the state file (the in-memory state stays readable)."""
        with self._lock:
            if self.store is not None:
                self.store.flush({"config": self.config})
                self.store.close()
                self.store = None
                for table in self._tables():
                    table.tracking = False

    # ----------------------------------------------------------------------- hooks

    @staticmethod
    def plugin_context() -> hooks_common_pb2.PluginContext:
        """The context of a hook the fake runs: a fresh request id (the plugin API's calls
        carry no session)."""
        return hooks_common_pb2.PluginContext(request_id=new_id())

    def wants(self, hook: str) -> bool:
        """Whether a hook would run: a host is attached and the plugin implements it."""
        hooks = self.hooks
        return hooks is not None and hooks.implements(hook)

    def fire(self, hook: str, build: Callable[[], Message]) -> None:
        """Fire a notification hook (``...HasBeen...``) after the current transaction, with
        the request ``build`` makes now (a snapshot of the state it reads)."""
        if self.wants(hook):
            self._thread.fired.append((hook, build()))

    def publish(self, event: str, data: dict[str, Any], **broadcast: Any) -> None:
        """Send a WebSocket event, as the server does for every change clients show, once
        the current transaction succeeded (to ``on_websocket_event``; nothing without one).
        Messages in ``data`` are copied now."""
        if self.on_websocket_event is None:
            return
        snapshot: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, Message):
                copy = type(value)()
                copy.CopyFrom(value)
                value = copy
            snapshot[key] = value
        published = WebSocketEvent(event, snapshot, broadcast)
        if self._thread.depth:
            self._thread.published.append(published)
        else:
            self.on_websocket_event(published)

    def run_hook(self, hook: str, request: Message) -> Message | None:
        """Call a "will be" hook and wait for its answer (``None``: no hook ran, or the call
        failed and the server goes on without it). Never under the lock: the handler may
        call the API."""
        if self._thread.depth:
            raise RuntimeError(f"{hook} must not be called with the fake's lock held")
        hooks = self.hooks
        if hooks is None or not hooks.implements(hook):
            return None
        return hooks.run_hook(hook, request)

    # ----------------------------------------------------------------------- lookups

    def now_ms(self) -> int:
        """The fake's current time in milliseconds since the epoch."""
        return int(self._clock() * 1000)

    def _user(self, user_id: str) -> user_pb2.User:
        if user_id not in self.users:
            raise not_found("app.user.missing_account.const", "user", user_id)
        return self.users[user_id]

    def _find_user(self, *, username: str = "", email: str = "") -> user_pb2.User | None:
        for user in self.users.values():
            if (username and user.username == username) or (email and user.email == email):
                return user
        return None

    def _team(self, team_id: str) -> team_pb2.Team:
        if team_id not in self.teams:
            raise not_found("app.team.get.find.app_error", "team", team_id)
        return self.teams[team_id]

    def _channel(self, channel_id: str) -> channel_pb2.Channel:
        if channel_id not in self.channels:
            raise not_found("app.channel.get.existing.app_error", "channel", channel_id)
        return self.channels[channel_id]

    def _post(self, post_id: str) -> post_pb2.Post:
        post = self.posts.get(post_id)
        # Deleted posts are invisible to reads, as in the real store.
        if post is None or post.delete_at:
            raise not_found("app.post.get.app_error", "post", post_id)
        return post

    def _file(self, file_id: str) -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None or stored.info.delete_at:
            raise not_found("app.file_info.get.app_error", "file", file_id)
        return stored

    def _bot(self, user_id: str, include_deleted: bool = False) -> api_file_bot_pb2.Bot:
        bot = self.bots.get(user_id)
        if bot is None or (bot.delete_at and not include_deleted):
            raise not_found("store.sql_bot.get.missing.app_error", "bot", user_id)
        return bot

    def _active_member(self, team_id: str, user_id: str) -> bool:
        member = self.team_members.get((team_id, user_id))
        return member is not None and member.delete_at == 0

    def sessions_of_user_revoked(self, user_id: str) -> None:
        """Revoke every session of a user (deactivation, as the server does)."""
        for session_id in [s.id for s in self.sessions.values() if s.user_id == user_id]:
            del self.sessions[session_id]

    def _members(self, channel_id: str) -> dict[str, api_channel_post_pb2.ChannelMember]:
        return self.channel_members.get(channel_id, {})
