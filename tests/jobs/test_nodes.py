"""The cluster mutex and jobs across plugin processes (issue 20's cluster tests).

Each test runs on every ``nodes`` parameter (conftest.py): one node, three processes on one
store, and the local host's 3-node cluster once it exists. What the tests count lives in
the shared KV store (``test:*``), written by the test plugin (plugins/jobs) on every node.
Bounds are loose: these run on a loaded 2-CPU machine.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.jobs.conftest import NodesFactory
from tests.support.cluster import Nodes, wait_until

from mattermost_plugin.kv import KV

SLACK = 2.5  # seconds of scheduling noise allowed on top of a bound


def counts(nodes: Nodes) -> dict[str, int]:
    collection = KV(nodes.api).collection("test", int)
    return dict(collection.items())


def texts(nodes: Nodes, key: str) -> list[str]:
    return KV(nodes.api).collection("logs", list[str]).get(key) or []


def other(nodes: Nodes, node: int) -> int:
    return (node + 1) % nodes.count


# -- mutex -------------------------------------------------------------------------------------


def test_the_mutex_is_never_held_by_two_nodes(nodes: NodesFactory) -> None:
    """Six loops of lock/unlock at once, spread over the nodes, sync and async: a KV counter
    of the holders never sees two."""
    with nodes({}) as cluster, ThreadPoolExecutor(6) as pool:
        loops = [
            pool.submit(
                cluster.get,
                i % cluster.count,
                "/mutex-loop" if i % 2 else "/async-mutex-loop",
                name="shared",
                n=8,
                hold=0.01,
            )
            for i in range(6)
        ]
        overlaps = [loop.result(timeout=120)["overlaps"] for loop in loops]
        assert overlaps == [0] * 6
        assert counts(cluster) == {"entries": 48, "holders": 0}
        assert cluster.api.kv_get("_mutex:shared") is None  # every unlock deleted it


def test_a_killed_holder_releases_the_mutex_after_the_lease(nodes: NodesFactory) -> None:
    lease = 2
    with nodes({}) as cluster:
        assert cluster.get(0, "/hold", name="m", lease=lease)["held"]
        if cluster.count > 1:
            assert not cluster.get(1, "/try", name="m")["acquired"]
        time.sleep(lease + 0.5)  # renewed: still held past the first lease
        if cluster.count > 1:
            assert not cluster.get(1, "/try", name="m")["acquired"]
        cluster.kill(0)
        killed = time.monotonic()
        if cluster.count == 1:
            cluster.start(0)  # the only node comes back as a new process
        taker = other(cluster, 0) if cluster.count > 1 else 0
        wait_until(
            lambda: cluster.get(taker, "/try", name="m")["acquired"],
            lease + SLACK,
            "another node takes the mutex of the killed one",
            interval=0.1,
        )
        assert time.monotonic() - killed <= lease + SLACK


def test_lock_gives_up_after_its_timeout(nodes: NodesFactory) -> None:
    with nodes({}) as cluster:
        cluster.get(0, "/hold", name="busy", lease=5)
        answer = cluster.get(other(cluster, 0), "/lock", name="busy", timeout=0.5)
        assert answer["acquired"] is False and answer["timeout"] == 0.5
        assert 0.5 <= answer["waited"] < 0.5 + SLACK
        assert cluster.get(other(cluster, 0), "/lock", name="free", timeout=0.5)["acquired"]


def test_a_stalled_holder_loses_the_mutex_and_is_told(nodes: NodesFactory) -> None:
    """A holder that stops renewing (a paused process) loses the lock after the lease;
    another node takes it meanwhile, and the holder's ``with`` raises LockLostError."""
    with nodes({}) as cluster:
        stalled: dict[str, object] = {}
        holder = threading.Thread(
            target=lambda: stalled.update(cluster.get(0, "/stall", name="s", lease=1, hold=3))
        )
        holder.start()
        wait_until(lambda: cluster.api.kv_get("_mutex:s"), 10, "the holder took the mutex")
        wait_until(
            lambda: cluster.get(other(cluster, 0), "/try", name="s")["acquired"],
            1 + SLACK,
            "another holder gets the lapsed mutex",
            interval=0.1,
        )
        holder.join(30)
        assert stalled == {"pid": cluster.pid(0), "held": False, "error": "LockLostError"}


# -- @job ----------------------------------------------------------------------------------------


def test_a_one_second_job_runs_once_a_second_across_the_nodes(nodes: NodesFactory) -> None:
    with nodes({"JOBS_PLUGIN": "tick"}) as cluster:
        wait_until(lambda: counts(cluster).get("tick:runs"), 15, "the first run")
        first = counts(cluster)
        time.sleep(10)
        last = counts(cluster)
        assert 9 <= last["tick:runs"] - first["tick:runs"] <= 11, (first, last)
        assert 9 <= last["async-tick:runs"] - first["async-tick:runs"] <= 11, (first, last)
        assert "tick:overlaps" not in last
        due = [float(entry.split()[1]) for entry in texts(cluster, "tick:log")]
        assert due == sorted(set(due)), "a slot ran twice, or out of order"
        if cluster.count > 1:
            runners = {entry.split()[0] for entry in texts(cluster, "tick:log")}
            assert len(runners) > 1, "one node ran every run: nothing was shared"


def test_a_job_resumes_within_lease_and_interval_after_its_node_dies(
    nodes: NodesFactory,
) -> None:
    lease, every = 2, 1
    with nodes({"JOBS_PLUGIN": "tick", "JOBS_TICK_SLEEP": "0.8"}) as cluster:
        running = wait_until(
            lambda: cluster.api.kv_get("test:tick:running"), 15, "a run in progress"
        )
        victim = next(i for i in range(cluster.count) if cluster.pid(i) == int(running))
        cluster.kill(victim)
        killed = time.time()
        if cluster.count == 1:
            cluster.start(victim)
        survivors = {cluster.pid(i) for i in range(cluster.count)} - {int(running)}

        def resumed() -> float | None:
            runs = [entry.split() for entry in texts(cluster, "tick:log")]
            later = [float(started) for pid, _, started in runs if int(pid) in survivors]
            return min((at for at in later if at > killed), default=None)

        first = wait_until(resumed, lease + every + 10, "a run on a surviving node")
        assert first - killed <= lease + every + SLACK


def test_a_failing_job_is_logged_and_keeps_its_schedule(nodes: NodesFactory) -> None:
    with nodes({"JOBS_PLUGIN": "broken"}) as cluster:
        wait_until(lambda: (counts(cluster).get("broken:runs") or 0) >= 2, 15, "two runs")
        failures = [
            line
            for _, line in cluster.logs()
            if line.message == "job 'broken' failed: the job broke"
        ]
        assert failures and failures[0].level == "error"
        assert failures[0].fields.get("job") == "job 'broken'"
        state = cluster.get(0, "/state", name="broken")["state"]
        assert state["last_error"] == "the job broke" and state["runs"] >= 2
        assert cluster.get(0, "/try", name="still-serving")["acquired"]


def test_a_job_past_its_timeout_is_cancelled_or_abandoned(nodes: NodesFactory) -> None:
    env = {"JOBS_PLUGIN": "slow", "JOBS_SLOW_TIMEOUT": "1", "JOBS_SLOW_SLEEP": "4"}
    with nodes(env) as cluster:

        def logged() -> list[str]:
            return [line.message for _, line in cluster.logs()]

        wait_until(
            lambda: (
                "job 'slow' did not finish within 1 s: abandoned (its thread runs on; "
                "its lock lapses)" in logged()
            ),
            15,
            "the def job abandoned",
        )
        wait_until(
            lambda: "job 'async-slow' did not finish within 1 s: cancelled" in logged(),
            15,
            "the async job cancelled",
        )
        states = {
            name: cluster.get(0, "/state", name=name)["state"] for name in ("slow", "async-slow")
        }
        assert states["async-slow"]["last_error"] == "did not finish within 1 s"
        assert states["async-slow"]["last_finished"] is not None
        wait_until(lambda: counts(cluster).get("slow:finished"), 10, "the abandoned thread ends")
        assert counts(cluster)["slow:started"] == 1  # every hour: no second run
        assert "async-slow:finished" not in counts(cluster)


def test_deactivation_stops_the_jobs(nodes: NodesFactory) -> None:
    env = {"JOBS_PLUGIN": "slow", "JOBS_SLOW_TIMEOUT": "60", "JOBS_SLOW_SLEEP": "30"}
    with nodes(env) as cluster:
        wait_until(
            lambda: {"slow:started", "async-slow:started"} <= set(counts(cluster)),
            15,
            "both jobs running",
        )
        runner = set(range(cluster.count))
        started = time.monotonic()
        for node in runner:
            cluster.stop(node)
        assert time.monotonic() - started < 5 * cluster.count + 10
        messages = [line.message for _, line in cluster.logs()]
        assert any(
            m.startswith("job 'slow' still running")
            and m.endswith("abandoned (its thread runs on; its lock lapses)")
            for m in messages
        ), messages
        assert any(
            m.startswith("job 'async-slow' still running") and m.endswith("cancelled")
            for m in messages
        ), messages
        assert "async-slow:finished" not in counts(cluster)


# -- once-jobs ---------------------------------------------------------------------------------


def test_a_once_job_survives_a_restart_of_every_node(nodes: NodesFactory) -> None:
    with nodes({}) as cluster:
        cluster.get(0, "/schedule", key="later", **{"in": 3600}, text="hello")
        cluster.get(other(cluster, 0), "/schedule", key="soon", **{"in": 3600}, **{"async": 1})
        assert cluster.get(0, "/pending")["keys"] == ["later", "soon"]
        for node in range(cluster.count):
            cluster.stop(node)
        for node in range(cluster.count):
            cluster.start(node)
        time.sleep(1)
        assert texts(cluster, "fired") == []  # not due yet
        cluster.clock.advance(timedelta(hours=1))
        fired = wait_until(lambda: len(texts(cluster, "fired")) == 2, 10, "both fired")
        assert fired
        time.sleep(1.5)  # a second run would show up by now (polling every second)
        entries = sorted(texts(cluster, "fired"))
        assert [e.rsplit(":", 1)[0] for e in entries] == ["later:hello", "soon:async"]
        assert cluster.get(0, "/pending")["keys"] == []


def test_a_once_job_of_a_dead_node_runs_on_another(nodes: NodesFactory) -> None:
    with nodes({}) as cluster:
        cluster.get(0, "/schedule", key="orphan", **{"in": 2}, text="x")
        dead = cluster.pid(0)
        cluster.kill(0)
        if cluster.count == 1:
            cluster.start(0)
        wait_until(lambda: texts(cluster, "fired"), 2 + SLACK + 2, "the job ran elsewhere")
        (entry,) = texts(cluster, "fired")
        assert entry.startswith("orphan:x:") and int(entry.rsplit(":", 1)[1]) != dead
