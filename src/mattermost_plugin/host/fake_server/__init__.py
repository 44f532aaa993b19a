"""A fake Mattermost server behind the ``PluginAPI`` gRPC service.

It keeps users, teams, channels and memberships, posts (threads, reactions, ephemeral
posts), the plugin KV store (expiry, compare-and-set), files and upload sessions, bots,
slash commands, preferences, the server and plugin config and the plugin's log lines, in
memory or written through to a SQLite file (``store=``) that survives restarts, and answers
the way the real server does (PROTOCOL.md §5):

* KV, post, reaction and file methods answer gRPC OK with the response's ``error`` set;
* user, team, channel, config, plugin and bot methods abort with a gRPC status derived from
  the HTTP status, whose message is ``"<error id>: <message>"``;
* the methods the real server does not serve (PROTOCOL.md §6, ``UNSERVED_METHODS``) abort
  with UNIMPLEMENTED, as it does ("method GetPluginID not implemented");
* every other PluginAPI method it does not model answers an ``AppError`` with status 501:
  "the local host does not model X". ``MODELLED`` lists the methods it models, and
  ``docs/local-host-methods.md`` is generated from it and the tests.

Each area of the API is a module of this package (``_users``, ``_channels``, ``_posts``, ...);
:class:`FakeMattermost` puts them together. Error ids follow the real server's where they are
known; the rest are in the same style. One re-entrant lock, taken around every RPC, makes
each call atomic (compare-and-set included), and with a state file each call is written in
one SQLite transaction. Timestamps come from an injectable clock so tests can move time
forward.

With a host attached (``hooks``, see :class:`PluginHooks`), the API calls run the plugin's
hooks as the server does for them: ``CreatePost`` runs ``MessageWillBePosted`` and then
``MessageHasBeenPosted``, ``AddChannelMember`` runs ``UserHasJoinedChannel``, and so on
(each handler's ``hooks=`` says which). "Will be" hooks are called without the lock held
(validate under the lock, release, call the plugin, take the lock again to store), so a
handler may call the API; "has been" hooks run in the background once the call's
transaction is over, as the server's goroutines do.

Run it out of process with ``python -m mattermost_plugin.host.fake_server [--port N]``: the
first line on stdout is the address to dial.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Sequence
from concurrent import futures
from typing import TYPE_CHECKING, Any, cast

import grpc
from google.protobuf.message import Message

from mattermost_plugin._pb.pluginapi.v1 import api_pb2_grpc
from mattermost_plugin.host.fake_server._bots import BotsAPI
from mattermost_plugin.host.fake_server._channels import ChannelsAPI
from mattermost_plugin.host.fake_server._cluster import ClusterAPI, ClusterEvent
from mattermost_plugin.host.fake_server._config import ConfigAPI
from mattermost_plugin.host.fake_server._custom_commands import CustomCommandsAPI
from mattermost_plugin.host.fake_server._emoji import EmojiAPI
from mattermost_plugin.host.fake_server._groups import GroupsAPI
from mattermost_plugin.host.fake_server._kv import KVAPI
from mattermost_plugin.host.fake_server._oauth import OAuthAPI
from mattermost_plugin.host.fake_server._permissions import PermissionsAPI
from mattermost_plugin.host.fake_server._plugins import PluginsAPI
from mattermost_plugin.host.fake_server._post_search import PostSearchAPI
from mattermost_plugin.host.fake_server._posts import mark_edited
from mattermost_plugin.host.fake_server._preferences import PreferencesAPI
from mattermost_plugin.host.fake_server._reactions import ReactionsAPI
from mattermost_plugin.host.fake_server._rpc import (
    MODELLED,
    NOT_IMPLEMENTED_ID,
    FakeAppError,
    HookRejection,
    Modelled,
    app_error,
    grpc_code_for_http,
    install_not_implemented,
)
from mattermost_plugin.host.fake_server._sessions import SessionsAPI
from mattermost_plugin.host.fake_server._sidebar import SidebarAPI
from mattermost_plugin.host.fake_server._state import (
    DEFAULT_SERVER_VERSION,
    LogEntry,
    PluginHooks,
    WebSocketEvent,
    default_config,
    new_id,
)
from mattermost_plugin.host.fake_server._statuses import StatusesAPI
from mattermost_plugin.host.fake_server._system import Mail, SystemAPI
from mattermost_plugin.host.fake_server._teams import TeamsAPI
from mattermost_plugin.host.fake_server._uploads import UploadsAPI
from mattermost_plugin.host.fake_server._users import UsersAPI

__all__ = [
    "DEFAULT_SERVER_VERSION",
    "MAX_MESSAGE_BYTES",
    "MODELLED",
    "NOT_IMPLEMENTED_ID",
    "SERVER_THREADS",
    "ClusterEvent",
    "FakeAppError",
    "FakeMattermost",
    "HookRejection",
    "LogEntry",
    "Mail",
    "Modelled",
    "PluginHooks",
    "WebSocketEvent",
    "app_error",
    "default_config",
    "grpc_code_for_http",
    "main",
    "mark_edited",
    "new_id",
    "serve",
]

MAX_MESSAGE_BYTES = 64 * 1024 * 1024

# The generated stubs declare all 236 servicer methods abstract. The fake overrides a subset
# and fills in the rest at import time (install_not_implemented), which mypy cannot see, so
# for the type checker the base is plain ``object``; at run time it is the real servicer.
if TYPE_CHECKING:
    _ServicerBase = object
else:
    _ServicerBase = api_pb2_grpc.PluginAPIServicer


class FakeMattermost(
    UsersAPI,
    SessionsAPI,
    StatusesAPI,
    TeamsAPI,
    ChannelsAPI,
    SidebarAPI,
    PostSearchAPI,
    ReactionsAPI,
    KVAPI,
    UploadsAPI,
    BotsAPI,
    ConfigAPI,
    CustomCommandsAPI,
    PreferencesAPI,
    PermissionsAPI,
    SystemAPI,
    PluginsAPI,
    EmojiAPI,
    OAuthAPI,
    GroupsAPI,
    ClusterAPI,
    _ServicerBase,
):
    """The PluginAPI service over in-memory state. Public attributes are for tests to inspect.

    Args:
        clock: seconds since the epoch (default ``time.time``); drives timestamps and KV expiry.
        plugin_id: the id of the plugin the fake serves (plugin config, bots, commands).
        store: a SQLite file (path or :class:`SQLiteStore`) the state is loaded from and
            written through to after every call, so it survives restarts; ``None`` keeps
            everything in memory. The plugin's log lines are never stored.

    Change state from outside an RPC inside ``with fake.transaction():`` so that it is
    written to the store; :meth:`invoke` runs a method in process. The host that embeds the
    fake (:class:`mattermost_plugin.host.local.LocalMattermost`) sets ``hooks`` (the plugin's
    hooks, :class:`PluginHooks`), ``execute_command`` (runs a plugin's slash command for
    ``ExecuteSlashCommand``), ``on_log`` (sees every log call), ``on_config_saved`` (runs
    after ``SaveConfig``/``SavePluginConfig``; the server then calls
    ``OnConfigurationChange``) and ``deliver_cluster_event`` (gets every published cluster
    event with the publishing call's context); the last two must not call back into the
    fake synchronously.
    """

    def invoke(self, method: str, request: Message) -> Any:
        """Run a modelled PluginAPI method in process and return its response; raise its
        :class:`FakeAppError` (the hooks it runs run as for a call over gRPC)."""
        handler = getattr(type(self), method)
        if getattr(handler, "locked", True):
            with self.transaction():
                return handler.__wrapped__(self, request, None)
        return handler.__wrapped__(self, request, None)


install_not_implemented(FakeMattermost)

SERVER_THREADS = 256
"""The fake's gRPC threads. A call that runs a hook keeps its thread while the plugin's
handler runs, and a handler that calls the API takes another (which may run a hook, ...):
threads are started only when needed, so a generous cap costs nothing and nesting cannot
starve the pool."""


def serve(
    fake: FakeMattermost | None = None,
    address: str = "127.0.0.1:0",
    *,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
) -> tuple[grpc.Server, str]:
    """Start a gRPC server for ``fake`` (a new one by default) and return it with its address.

    Port 0 picks a free port; the returned address is ``host:port`` ready to dial.
    ``interceptors`` see every call (the tests record outcomes with one).
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=SERVER_THREADS, thread_name_prefix="fake-mattermost"
        ),
        interceptors=list(interceptors),
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
