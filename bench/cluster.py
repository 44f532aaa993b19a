"""KV ``update`` under contention from plugin nodes: increments per second (reported).

The plugin (``plugins/kv_counter``) runs on the local host's cluster,
``local_mattermost(folder, nodes=N)``: N plugin processes on one store, as on a
high-availability cluster. Each node gets one request whose handler runs 4 threads
incrementing one key with ``collection.update`` for a few seconds; the row reports the
updates that succeeded per second, those that gave up (each raised
``UpdateConflictError``), and whether the final count equals the successes. The 1-node row
is the same load from one process, for comparison.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mattermost_plugin.host.local import NO_RESTARTS, local_mattermost
from mattermost_plugin.kv import KV

PLUGIN = Path(__file__).with_name("plugins") / "kv_counter"


def contention(nodes: int, workers: int = 4, seconds: float = 3.0) -> dict[str, Any]:
    """One row: ``nodes`` nodes x ``workers`` threads on one key for ``seconds``."""
    key = f"hot-{nodes}"
    with local_mattermost(PLUGIN, nodes=nodes, restart_policy=NO_RESTARTS) as mm:

        def hammer(index: int) -> dict[str, int]:
            query = f"key={key}&workers={workers}&seconds={seconds}"
            answer = mm.nodes[index].get("/hammer", query=query, timeout=seconds + 60)
            assert answer.status_code == 200, answer.text
            counts: dict[str, int] = answer.json()
            return counts

        started = time.monotonic()
        with ThreadPoolExecutor(nodes) as pool:
            results = list(pool.map(hammer, range(nodes)))
        elapsed = time.monotonic() - started
        final = KV(mm.api).collection("contention", int).get(key)
    ok = sum(r["ok"] for r in results)
    return {
        "name": f"kv update under contention from {nodes} node{'s' if nodes > 1 else ''}",
        "nodes": nodes,
        "threads_per_node": workers,
        "seconds": seconds,
        "increments_per_s": round(ok / seconds, 1),
        "gave_up": sum(r["gave_up"] for r in results),
        "final_equals_successes": final == ok,
        "wall_s": round(elapsed, 2),
    }


def run() -> list[dict[str, Any]]:
    return [contention(1), contention(3)]


def table(entries: list[dict[str, Any]]) -> str:
    lines = ["kv update under contention from plugin nodes (local cluster, one key):"]
    for entry in entries:
        lines.append(
            f"  {entry['nodes']} node(s) x {entry['threads_per_node']} threads, "
            f"{entry['seconds']:g} s: {entry['increments_per_s']:.0f} increments/s, "
            f"{entry['gave_up']} gave up, final count "
            f"{'matches' if entry['final_equals_successes'] else 'DOES NOT MATCH'} the successes"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run()))
