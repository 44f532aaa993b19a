"""Hooks never wait behind HTTP: `def` ServeHTTP handlers have threads of their own, so slow
HTTP clients (a body at one byte per half second) cannot starve a content hook."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.plugins import running_plugin

from mattermost_plugin._pb.pluginapi.v1 import hooks_common_pb2, post_pb2
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb
from mattermost_plugin.host.http_bridge import send_request

PLUGIN = Path(__file__).parent / "plugins" / "guide_http_and_spam"
SLOW_CLIENTS = 32
SPAM_POSTS = 20
HOOK_DEADLINE = 5.0  # a loose bound: the point is "not starved", not "fast"


def test_slow_http_clients_do_not_starve_content_hooks() -> None:
    stop = threading.Event()

    def dribble() -> Iterator[bytes]:
        while not stop.is_set():
            yield b" "
            stop.wait(0.5)

    def slow_client() -> int:
        with send_request(
            supervisor.channel, "POST", "/api/data", body=dribble(), timeout=60
        ) as response:
            response.read()
            return response.status_code

    def spam() -> tuple[str, float]:
        request = message_pb.MessageWillBePostedRequest(
            plugin_context=hooks_common_pb2.PluginContext(),
            post=post_pb2.Post(channel_id="c1", message="buy SPAM now"),
        )
        started = time.monotonic()
        response = supervisor.call("MessageWillBePosted", request, timeout=HOOK_DEADLINE)
        assert isinstance(response, message_pb.MessageWillBePostedResponse)
        return response.rejection_reason, time.monotonic() - started

    with (
        running_plugin(PLUGIN, hook_timeout=HOOK_DEADLINE) as running,
        ThreadPoolExecutor(SLOW_CLIENTS + SPAM_POSTS) as pool,
    ):
        supervisor = running.supervisor
        clients = [pool.submit(slow_client) for _ in range(SLOW_CLIENTS)]
        time.sleep(1.0)  # every slow client is now inside the handler, reading its body
        try:
            results = list(pool.map(lambda _: spam(), range(SPAM_POSTS)))
        finally:
            stop.set()
        assert [status.result(timeout=30) for status in clients] == [200] * SLOW_CLIENTS
    reasons = {reason for reason, _ in results}
    assert reasons == {"Message rejected: spam detected"}
    worst = max(seconds for _, seconds in results)
    print(f"worst MessageWillBePosted latency under {SLOW_CLIENTS} slow clients: {worst:.3f} s")
    assert worst < HOOK_DEADLINE
