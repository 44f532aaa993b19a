"""Large hook requests are converted off the event loop: while a MessagesWillBeConsumed call
with 400k posts is parsed and converted to models, the plugin keeps answering health checks
and other hooks."""

from __future__ import annotations

import threading
import time

from tests.support.plugins import HOOK_PLUGINS, running_plugin

from mattermost_plugin._pb.pluginapi.v1 import hooks_common_pb2, post_pb2
from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2 as message_pb

POSTS = 400_000
HEALTH_BOUND = 2.0  # seconds; loose, the CI machine is small and busy


def test_health_and_hooks_answer_during_a_large_conversion() -> None:
    posts = [post_pb2.Post(id=f"{i:x}") for i in range(POSTS)]
    posts[0].message = "none"  # the `returns` plugin answers None: no change
    request = message_pb.MessagesWillBeConsumedRequest(posts=posts)
    print(f"request: {request.ByteSize() / 2**20:.1f} MiB, {POSTS} posts")
    with running_plugin(
        HOOK_PLUGINS / "returns", plugin_config={"mode": "ok"}, hook_timeout=120
    ) as running:
        supervisor = running.supervisor
        outcome: list[message_pb.MessagesWillBeConsumedResponse] = []
        big = threading.Thread(
            target=lambda: outcome.append(
                running.call(request, message_pb.MessagesWillBeConsumedResponse, timeout=120)
            )
        )
        started = time.monotonic()
        big.start()
        health: list[float] = []
        small_hooks: list[float] = []
        while big.is_alive():
            began = time.monotonic()
            assert supervisor.health_check(timeout=HEALTH_BOUND)
            health.append(time.monotonic() - began)
            began = time.monotonic()
            small = message_pb.MessageWillBePostedRequest(
                plugin_context=hooks_common_pb2.PluginContext(),
                post=post_pb2.Post(message="reject"),
            )
            answer = running.call(small, message_pb.MessageWillBePostedResponse, timeout=5)
            assert answer.rejection_reason == "posts like this are not allowed"
            small_hooks.append(time.monotonic() - began)
            time.sleep(0.02)
        big.join()
        took = time.monotonic() - started
    (response,) = outcome
    assert list(response.posts) == []  # unchanged: the server keeps its own posts
    assert len(health) >= 3, "the large call ended before the health checks could overlap it"
    print(
        f"large call: {took:.1f} s; {len(health)} health checks during it, worst "
        f"{max(health) * 1000:.0f} ms; worst MessageWillBePosted {max(small_hooks) * 1000:.0f} ms"
    )
    assert max(health) < HEALTH_BOUND
