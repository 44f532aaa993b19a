"""What the local Mattermost's parts share: results, errors, events and small helpers."""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, TypeVar

import grpc
from google.protobuf.message import Message

from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
    channel_pb2,
    post_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin.host.supervisor import RestartPolicy
from mattermost_plugin.http import Headers
from mattermost_plugin.models import (
    Channel,
    Post,
    Preference,
    Team,
    User,
)

__all__ = [
    "ANONYMOUS",
    "DEV_RESTART_POLICY",
    "DISMISS_POST",
    "NO_RESTARTS",
    "SINGLE_NODE",
    "CommandError",
    "Event",
    "HTTPResult",
    "HookCallError",
    "HookCallInfo",
    "HookObserver",
    "LogRecord",
    "LoginRejectedError",
    "PostDismissedError",
    "PostRejectedError",
]

DISMISS_POST = "plugin.message_will_be_posted.dismiss_post"
"""The rejection reason that dismisses a post silently."""

DEV_RESTART_POLICY = RestartPolicy(
    ping_interval=0.5, ping_failures_per_failure=3, failures_before_disable=5, failure_window=60
)
"""The server's restart rules, faster: a crashed plugin is back within about a second."""

NO_RESTARTS = RestartPolicy(ping_interval=3600.0)
"""No health checks, so no restarts: a killed node stays down until it is started again
(what the ``mattermost_cluster`` fixture uses, so a test decides when a node comes back)."""

R = TypeVar("R", bound=Message)
UserRef = str | User | user_pb2.User


class _NoUser(enum.Enum):
    ANONYMOUS = "anonymous"

    def __repr__(self) -> str:
        return "ANONYMOUS"


ANONYMOUS: Final = _NoUser.ANONYMOUS
"""``user=ANONYMOUS``: an HTTP request to the plugin without a user (no
``Mattermost-User-Id``), as from someone not logged in."""
HTTPUser = UserRef | Literal[_NoUser.ANONYMOUS] | None
TeamRef = str | Team | team_pb2.Team
ChannelRef = str | Channel | channel_pb2.Channel
PostRef = str | Post | post_pb2.Post
PreferenceLike = Preference | api_remaining_pb2.Preference | Mapping[str, str]
EventKind = Literal[
    "server", "plugin", "hook", "log", "post", "command", "http", "action", "dialog"
]


# --- results and errors ------------------------------------------------------------------------


class PostRejectedError(Exception):
    """The plugin's ``MessageWillBePosted`` rejected the post; ``reason`` is its reason."""

    def __init__(self, reason: str, post: Post) -> None:
        super().__init__(f"Post rejected by plugin. {reason}")
        self.reason = reason
        self.post = post


class PostDismissedError(PostRejectedError):
    """The plugin dismissed the post (``plugin.message_will_be_posted.dismiss_post``)."""


class LoginRejectedError(Exception):
    """The plugin's ``UserWillLogIn`` rejected the login; ``reason`` is its reason."""

    def __init__(self, reason: str, user: User) -> None:
        super().__init__(f"Login rejected by plugin: {reason}")
        self.reason = reason
        self.user = user


class CommandError(Exception):
    """A slash command failed the way the server reports it: ``status_code`` (HTTP),
    ``error_id`` and ``message``."""

    def __init__(self, error_id: str, message: str, status_code: int) -> None:
        super().__init__(f"{error_id}: {message}")
        self.error_id = error_id
        self.message = message
        self.status_code = status_code


class HookCallError(Exception):
    """Calling a hook failed on the transport: the plugin crashed, is not running, or took
    longer than the hook deadline. ``code`` is the gRPC status code."""

    def __init__(self, hook: str, code: grpc.StatusCode | None, detail: str) -> None:
        super().__init__(f"{hook} failed: {detail}")
        self.hook = hook
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Event:
    """Something the local server did or saw, for a console or a test."""

    kind: EventKind
    message: str
    level: str = "info"
    """debug, info, warn or error."""
    fields: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class LogRecord:
    """One line of the plugin's log: ``source`` is ``"stderr"`` (its logger, hclog lines
    keep level and fields, other lines are debug) or ``"api"`` (``LogInfo`` and friends)."""

    level: str
    message: str
    fields: dict[str, Any]
    source: Literal["stderr", "api"]
    node: int | None = None
    """The node whose plugin process wrote it, on a local cluster (``nodes=N`` > 1)."""
    time: float = field(default_factory=time.time, compare=False)
    """When the host got it (seconds since the epoch; not compared: equal lines are equal)."""


SINGLE_NODE = 0
"""The node that serves every hook when the plugin runs as one process (``nodes[0]``)."""


@dataclass(frozen=True)
class HookCallInfo:
    """One ended hook call, for a hook log (``LocalCore.hook_observer``): the request (``None``
    for ``ServeHTTP``, which streams: ``summary`` tells it), how it ended (``outcome`` and its
    ``level``, as the ``hook`` events say), how long it took, and the node that served it."""

    hook: str
    request: Message | None
    outcome: str
    level: str
    seconds: float
    node: int = SINGLE_NODE
    time: float = field(default_factory=time.time)
    summary: str = ""
    """The arguments when there is no request message: ``"GET /path?query"`` for a
    ``ServeHTTP`` request."""


class HookObserver(Protocol):
    """Told of each hook call made through ``call_hook`` (every such call ends with a
    ``hook`` event) and each ``ServeHTTP`` request: when it starts, and when it ended."""

    def hook_started(self, hook: str) -> None: ...

    def hook_ended(self, call: HookCallInfo) -> None: ...


@dataclass(frozen=True)
class HTTPResult:
    """A buffered answer of the plugin's ``ServeHTTP``."""

    status_code: int
    headers: Headers
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


def _id(ref: Any) -> str:
    if isinstance(ref, str):
        return ref
    value = getattr(ref, "id", None)
    if not isinstance(value, str):
        raise TypeError(f"expected an id or an object with an id, got {ref!r}")
    return value


def _rpc_code(exc: grpc.RpcError) -> tuple[grpc.StatusCode | None, str]:
    if isinstance(exc, grpc.Call):
        return exc.code(), exc.details() or ""
    return None, str(exc)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
