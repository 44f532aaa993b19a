"""Run a plugin folder for real: ``PluginSupervisor`` + a fake Mattermost server (tests/hooks).

``running_plugin(folder)`` serves a :class:`FakeMattermost` over gRPC, starts the plugin
folder under :class:`PluginSupervisor` with this interpreter (handshake, health,
``Implemented``, ``OnActivate``) and stops both on exit. The yielded :class:`RunningPlugin`
calls hooks with typed responses and waits for log lines: the supervisor reads the plugin's
stderr on a thread, so a line written before a hook answered may arrive just after it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.host.supervisor import LogLine, PluginSupervisor

HOOK_PLUGINS = Path(__file__).resolve().parent.parent / "hooks" / "plugins"
REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLES = REPO / "examples"

R = TypeVar("R", bound=Message)
LogMatch = str | Callable[[LogLine], bool]


def plugin_id_of(plugin_dir: Path) -> str:
    """The ``id`` in the folder's ``plugin.json``."""
    manifest = json.loads((plugin_dir / "plugin.json").read_text())
    plugin_id = manifest["id"]
    assert isinstance(plugin_id, str)
    return plugin_id


def _matches(match: LogMatch, line: LogLine) -> bool:
    return match(line) if callable(match) else line.message == match


@dataclass
class RunningPlugin:
    """A started plugin, its supervisor, and the fake server it talks to."""

    supervisor: PluginSupervisor
    fake: FakeMattermost
    api_target: str

    def call(self, request: Message, response_type: type[R], **kwargs: Any) -> R:
        """Call the hook the request is for (``FooRequest`` → ``Foo``) through the supervisor,
        and check the response has the expected type."""
        name = type(request).DESCRIPTOR.name.removesuffix("Request")
        response = self.supervisor.call(name, request, **kwargs)
        assert isinstance(response, response_type), type(response)
        return response

    def mark(self) -> int:
        """A position in the log, for ``wait_log(..., since=mark)``."""
        return self.supervisor.logs.total

    def find_logs(self, match: LogMatch, since: int = 0) -> list[LogLine]:
        """The log lines (so far) after ``since`` whose message is ``match`` (or that the
        predicate accepts)."""
        return [line for line in self.supervisor.logs.since(since) if _matches(match, line)]

    def wait_log(self, match: LogMatch, since: int = 0, timeout: float = 5.0) -> LogLine:
        """The first log line after ``since`` that matches, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_logs(match, since)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                messages = "\n".join(f"  {line}" for line in self.supervisor.logs.since(since))
                raise AssertionError(f"no log line matching {match!r}; the log:\n{messages}")
            time.sleep(0.01)

    def wait_logs(
        self, match: LogMatch, count: int, since: int = 0, timeout: float = 5.0
    ) -> list[LogLine]:
        """Wait until at least ``count`` lines after ``since`` match; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_logs(match, since)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                messages = "\n".join(f"  {line}" for line in self.supervisor.logs.since(since))
                raise AssertionError(
                    f"{len(found)} of {count} log lines matching {match!r}; the log:\n{messages}"
                )
            time.sleep(0.01)

    def set_plugin_config(self, settings: Mapping[str, Any]) -> None:
        """Replace this plugin's settings in the fake's configuration."""
        with self.fake._lock:
            plugins = self.fake.config.setdefault("PluginSettings", {}).setdefault("Plugins", {})
            plugins[self.fake.plugin_id] = dict(settings)


@contextmanager
def fake_api(fake: FakeMattermost | None = None) -> Iterator[tuple[FakeMattermost, str]]:
    """A fake Mattermost server on a free loopback port: ``(fake, address)``."""
    fake = fake if fake is not None else FakeMattermost()
    server, address = serve(fake)
    try:
        yield fake, address
    finally:
        server.stop(0)


@contextmanager
def running_plugin(
    plugin_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    fake: FakeMattermost | None = None,
    plugin_config: Mapping[str, Any] | None = None,
    hook_timeout: float = 5.0,
    start: bool = True,
    **kwargs: Any,
) -> Iterator[RunningPlugin]:
    """Start ``plugin_dir`` under a supervisor against a fresh fake server; stop both after.

    ``plugin_config`` becomes the plugin's settings in the fake before the plugin starts;
    ``env`` is added to the plugin's environment; ``kwargs`` go to ``PluginSupervisor``.
    With ``start=False`` the test starts it (``running.supervisor.start()``), e.g. to see
    the start fail and still read the logs.
    """
    fake = fake if fake is not None else FakeMattermost(plugin_id=plugin_id_of(plugin_dir))
    with fake_api(fake) as (_, address):
        supervisor = PluginSupervisor(
            plugin_dir,
            api_target=address,
            env=env,
            python=sys.executable,
            hook_timeout=hook_timeout,
            deactivate_timeout=5.0,
            **kwargs,
        )
        running = RunningPlugin(supervisor, fake, address)
        if plugin_config is not None:
            running.set_plugin_config(plugin_config)
        try:
            if start:
                supervisor.start()
            yield running
        finally:
            supervisor.stop()


def rpc_code(call: Callable[[], object]) -> grpc.StatusCode:
    """The status code of the ``grpc.RpcError`` that ``call`` raises."""
    try:
        call()
    except grpc.RpcError as exc:
        assert isinstance(exc, grpc.Call)
        code: grpc.StatusCode = exc.code()
        return code
    raise AssertionError("the call did not fail")
