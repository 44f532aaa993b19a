"""``mattermost-plugin dev --nodes 3``: the plugin as a 3-node cluster behind the dev server,
as a real subprocess: requests spread over the nodes, the node on every printed line and
hook event, and a SIGKILLed node leaving the others serving until it is restarted."""

from __future__ import annotations

import collections
import os
import signal
from pathlib import Path

from tests.rest.test_events import Listener
from tests.support.dev import WORKBENCH, copy_plugin, dev_server

PLUGIN = "/plugins/com.example.workbench"


def test_dev_nodes_spread_requests_and_survive_a_killed_node(tmp_path: Path) -> None:
    folder = copy_plugin(WORKBENCH, tmp_path / "workbench")
    with dev_server(folder, "--nodes", "3", "--in-memory") as dev:
        dev.wait_output(r"nodes\s+3 \(0: pid \d+, 1: pid \d+, 2: pid \d+\)")
        nodes = dev.status()["nodes"]
        assert [(n["node"], n["running"]) for n in nodes] == [(0, True), (1, True), (2, True)]
        pids = [n["pid"] for n in nodes]
        listener = Listener(f"http://127.0.0.1:{dev.port}/dev/events")
        try:
            served = [dev.request("GET", f"{PLUGIN}/pid").json()["pid"] for _ in range(6)]
            assert collections.Counter(served) == dict.fromkeys(pids, 2)
            dev.wait_output(r"http\s+\[node \d\] GET /plugins/com\.example\.workbench/pid → 200")

            assert dev.post("hello").status == 201
            hook = listener.wait_for(
                lambda name, m: name == "dev_hook" and m["data"]["hook"] == "MessageWillBePosted"
            )
            assert hook["data"]["node"] in (0, 1, 2)
            dev.wait_output(r"hook\s+\[node \d\] MessageWillBePosted → allowed")
        finally:
            listener.close()

        os.kill(pids[1], signal.SIGKILL)
        # Until its process is gone a request may still reach it (and gets a 503, as on a
        # server whose plugin just died); from then on the others serve.
        dev.wait_for(lambda s: not (s["nodes"][1]["running"] and s["nodes"][1]["pid"] == pids[1]))
        after = [dev.request("GET", f"{PLUGIN}/pid") for _ in range(4)]
        assert [answer.status for answer in after] == [200] * 4
        assert pids[1] not in {answer.json()["pid"] for answer in after}
        assert dev.post("still there").status == 201

        back = dev.wait_for(
            lambda status: status["nodes"][1]["running"] and status["nodes"][1]["pid"] != pids[1]
        )
        assert [n["pid"] for n in back["nodes"]][::2] == pids[::2]  # the others untouched
        dev.wait_output(r"restarted com\.example\.workbench on node 1 after a failure")
