"""The local host as a cluster (``nodes=3``, the ``mattermost_cluster`` fixture): one plugin
process and API endpoint per node on one store, which node serves what, and nodes dying."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest
from tests.support.cluster import wait_until

from mattermost_plugin.testing import LocalMattermost, local_mattermost

pytestmark = pytest.mark.mattermost_plugin("plugins/workbench", hook_timeout=10.0)
WORKBENCH = Path(__file__).parent / "plugins" / "workbench"


def served_by(mm: LocalMattermost, times: int) -> collections.Counter[int]:
    """The pids that answered ``times`` requests sent to the cluster (not to one node)."""
    pids: collections.Counter[int] = collections.Counter()
    for _ in range(times):
        answer = mm.get("/pid")
        assert answer.status_code == 200, answer.text
        pids[answer.json()["pid"]] += 1
    return pids


def hook_nodes(mm: LocalMattermost, since: int) -> list[tuple[str, int]]:
    """(hook, node) of the hook events after the first ``since`` ones."""
    events = list(mm.events)[since:]
    return [(e.message.split(" → ")[0], e.fields["node"]) for e in events if e.kind == "hook"]


def test_each_node_is_a_process_of_its_own_on_one_store(
    mattermost_cluster: LocalMattermost,
) -> None:
    mm = mattermost_cluster
    nodes = mm.nodes
    assert len(nodes) == 3 and mm.clustered
    assert len({node.pid for node in nodes}) == 3
    assert len({node.api_target for node in nodes} | {mm.api_target}) == 4
    for node in nodes:  # every node activated, and says so in its own log lines
        wait_until(
            lambda node=node: any(r.message == "workbench activated" for r in node.logs),
            5,
            f"{node.name} activated",
        )
    # One bot for the three activations (ensure_bot_user is idempotent on the server).
    with mm.server.transaction():
        assert [b.username for b in mm.server.bots.values()] == ["workbench"]
    mm.create_post(mm.channel, "hello")  # counted in KV by the node that ran the hook
    assert {node.get("/status").json()["posts"] for node in nodes} == {1}


def test_requests_go_round_robin_over_the_nodes(mattermost_cluster: LocalMattermost) -> None:
    mm = mattermost_cluster
    assert served_by(mm, 6) == collections.Counter({node.pid: 2 for node in mm.nodes})
    assert mm.nodes[2].get("/pid").json()["pid"] == mm.nodes[2].pid
    http = [e for e in mm.events if e.kind == "http"]
    assert [e.fields["node"] for e in http][:6] == [0, 1, 2, 0, 1, 2]


def test_a_flow_runs_its_hooks_on_one_node(mattermost_cluster: LocalMattermost) -> None:
    """A post and the plugin's answer to it (its own API call) run every hook on the node
    that served the post, as a server node runs the hooks of the requests it serves."""
    mm = mattermost_cluster
    for _ in range(3):
        mark = len(mm.events)
        mm.create_post(mm.channel, "ping")
        mm.wait_for_hooks()
        seen = hook_nodes(mm, mark)
        assert [hook for hook, _ in seen].count("MessageHasBeenPosted") == 2, seen  # + pong
        assert len({node for _, node in seen}) == 1, seen
    mark = len(mm.events)
    assert mm.execute_command("/echo hi").text == "hi"
    mm.wait_for_hooks()
    assert len({node for _, node in hook_nodes(mm, mark)}) == 1


def test_configuration_changes_reach_every_node(mattermost_cluster: LocalMattermost) -> None:
    mm = mattermost_cluster
    mark = mm.logs.total
    mm.set_plugin_config({"mode": "loud"})

    def changed() -> set[int | None]:
        return {r.node for r in mm.find_logs("configuration", since=mark)}

    assert wait_until(lambda: changed() == {0, 1, 2}, 5, "every node reconfigured")


def test_a_killed_node_leaves_the_others_serving(mattermost_cluster: LocalMattermost) -> None:
    mm = mattermost_cluster
    victim = mm.nodes[1]
    dead = victim.pid
    victim.kill()
    assert not victim.running and victim.pid == dead  # stays down (NO_RESTARTS)
    survivors = {mm.nodes[0].pid, mm.nodes[2].pid}
    assert set(served_by(mm, 6)) == survivors
    for text in ("one", "two", "three"):  # message hooks run on the survivors
        mm.create_post(mm.channel, text)
    assert mm.nodes[0].get("/status").json()["posts"] == 3
    with pytest.raises(RuntimeError, match="node 1"):
        victim.get("/pid")
    assert mm.execute_command("/count").text == "3 posts"
    assert mm.running

    victim.start()
    assert victim.running and victim.pid not in (dead, *survivors)
    assert set(served_by(mm, 3)) == {node.pid for node in mm.nodes}


def test_the_default_policy_restarts_a_killed_node() -> None:
    """Outside the fixture (``mattermost-plugin dev --nodes``), a node's health check
    restarts its killed process, as each server node does for its plugin."""
    with local_mattermost(WORKBENCH, nodes=2, hook_timeout=10.0) as mm:
        dead = mm.nodes[1].pid
        mm.nodes[1].kill()
        assert mm.nodes[0].get("/pid").status_code == 200  # meanwhile node 0 serves
        started = time.monotonic()
        wait_until(lambda: mm.nodes[1].running, 10, "node 1 restarted")
        assert mm.nodes[1].pid != dead
        assert time.monotonic() - started < 10
        wait_until(
            lambda: any("restarted" in e.message and "node 1" in e.message for e in mm.events),
            5,
            "the restart reported",
        )


def test_nodes_must_be_at_least_one() -> None:
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="nodes must be a whole number of at least 1"):
            LocalMattermost(WORKBENCH, nodes=bad)  # type: ignore[arg-type]
