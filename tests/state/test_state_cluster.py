"""KV collections, ensure_bot and cluster events on the local host's 3-node cluster
(``mattermost_cluster``): three processes of tests/state/plugins/state on one store."""

from __future__ import annotations

import collections
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.support.cluster import wait_until

from mattermost_plugin.kv import KV
from mattermost_plugin.models import PluginClusterEvent
from mattermost_plugin.testing import LocalMattermost

pytestmark = pytest.mark.mattermost_plugin("plugins/state", hook_timeout=20.0)


def on_every_node(mm: LocalMattermost, path: str, query: str = "") -> list[dict[str, Any]]:
    """``GET path`` on the three nodes at once; their JSON answers, by node."""

    def get(index: int) -> dict[str, Any]:
        answer = mm.nodes[index].get(path, query=query, timeout=60)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    with ThreadPoolExecutor(len(mm.nodes)) as pool:
        return list(pool.map(get, range(len(mm.nodes))))


@pytest.mark.parametrize("attempts", [10, 1])
def test_increments_from_three_nodes_add_up(
    mattermost_cluster: LocalMattermost, attempts: int
) -> None:
    """3 nodes x 4 workers (2 threads, 2 tasks) x 50 ``update`` increments of one key: the
    final value is the number of updates that reported success, and every update that did
    not succeed raised UpdateConflictError naming the key."""
    mm = mattermost_cluster
    key = f"hot-{attempts}"
    answers = on_every_node(mm, "/incr", f"key={key}&workers=2&count=50&attempts={attempts}")
    for answer in answers:
        assert answer["wrong"] == []
        assert answer["ok"] + answer["gave_up"] == 4 * 50
    ok = sum(answer["ok"] for answer in answers)
    assert KV(mm.api).collection("counts", int).get(key) == ok
    assert ok > 0
    if attempts == 1:  # one try each under contention: some give up (and raised)
        assert sum(answer["gave_up"] for answer in answers) > 0


def invalidations(mm: LocalMattermost) -> dict[int, collections.Counter[str]]:
    """Per node: how many times each ``cache-invalidate`` payload reached it."""
    seen: dict[int, collections.Counter[str]] = {i: collections.Counter() for i in range(3)}
    for record in mm.find_logs(lambda r: r.message == "invalidate"):
        assert record.node is not None
        seen[record.node][record.fields["keys"]] += 1
    return seen


def test_cluster_events_reach_every_other_node_once(mattermost_cluster: LocalMattermost) -> None:
    mm = mattermost_cluster
    for index, node in enumerate(mm.nodes):
        assert node.get("/publish", query=f"keys=from{index}").status_code == 200
    expected = {
        receiver: collections.Counter(
            {f"from{sender}": 1 for sender in range(3) if sender != receiver}
        )
        for receiver in range(3)
    }

    def raw() -> list[int | None]:  # sent best effort: delivered once here too
        return sorted(r.node for r in mm.find_logs(lambda r: r.message == "raw"))

    wait_until(
        lambda: invalidations(mm) == expected and raw() == [0, 0, 1, 1, 2, 2],
        10,
        "every other node got each event",
    )
    mm.wait_for_hooks()
    time.sleep(0.5)  # a second delivery would be logged by now
    assert invalidations(mm) == expected and raw() == [0, 0, 1, 1, 2, 2]
    assert len(mm.server.cluster_events) == 6  # 2 events published by each node

    # Published from outside the nodes (the host's own client): every node gets it.
    mm.api.publish_plugin_cluster_event(
        PluginClusterEvent(id="cache-invalidate", data=b'{"keys": ["host"]}')
    )
    wait_until(
        lambda: all(counts["host"] == 1 for counts in invalidations(mm).values()),
        10,
        "every node got the host's event",
    )


def test_a_dead_node_misses_cluster_events_and_the_others_get_them(
    mattermost_cluster: LocalMattermost,
) -> None:
    mm = mattermost_cluster
    mm.nodes[2].kill()
    assert mm.nodes[0].get("/publish", query="keys=while-down").status_code == 200
    wait_until(lambda: invalidations(mm)[1]["while-down"] == 1, 10, "the live other node got it")
    mm.wait_for_hooks()
    assert invalidations(mm)[0]["while-down"] == 0 and invalidations(mm)[2]["while-down"] == 0


def test_ensure_bot_from_three_nodes_at_once_is_one_bot(
    mattermost_cluster: LocalMattermost,
) -> None:
    """The three nodes activated at once, each ensuring ``state-bot``; then each races 3
    threads and 3 tasks for ``race-bot``."""
    mm = mattermost_cluster
    with mm.server.transaction():
        activated = [b.user_id for b in mm.server.bots.values() if b.username == "state-bot"]
    assert len(activated) == 1
    answers = on_every_node(mm, "/bot", "username=race-bot&n=3")
    with mm.server.transaction():
        race = [b.user_id for b in mm.server.bots.values() if b.username == "race-bot"]
    assert len(race) == 1
    assert [answer["ids"] for answer in answers] == [race] * 3
