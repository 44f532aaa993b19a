"""Process benchmarks: spawn → handshake time, and idle memory, against a bare grpcio server.

Both sides are real processes started the same way (the go-plugin environment, the plugin
folder as working directory); the baseline is ``plugins/bare_grpc.py``, a grpcio server with
only health registered. Memory is read from /proc once the process is idle after its
handshake: RSS, and USS (private pages, what killing the process would free).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
MINIMAL = HERE / "plugins" / "minimal"
BARE = HERE / "plugins" / "bare_grpc.py"
SPAWN_TARGET_MS = 300.0
MEMORY_TARGET_RATIO = 1.25
ENV = {
    "MATTERMOST_PLUGIN": "Securely message teams, anywhere.",
    "PLUGIN_PROTOCOL_VERSIONS": "1",
    "PLUGIN_MIN_PORT": "20000",
    "PLUGIN_MAX_PORT": "25000",
}


def _spawn(argv: list[str], cwd: Path) -> tuple[subprocess.Popen[bytes], float]:
    """Start a process; return it and the seconds until its handshake line."""
    env = {**os.environ, **ENV}
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    if not line.startswith(b"1|1|"):
        process.kill()
        raise RuntimeError(f"{argv}: no handshake (got {line!r})")
    return process, elapsed


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, USS) of a process in KiB, from /proc."""
    rss = uss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "Rss":
            rss = int(value.split()[0])
        elif key in ("Private_Clean", "Private_Dirty"):
            uss += int(value.split()[0])
    return rss, uss


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def _measure(argv: list[str], cwd: Path, runs: int) -> tuple[list[float], list[tuple[int, int]]]:
    times: list[float] = []
    memory: list[tuple[int, int]] = []
    for _ in range(runs):
        process, elapsed = _spawn(argv, cwd)
        times.append(elapsed)
        time.sleep(0.5)  # idle: let start-up garbage settle
        memory.append(_memory_kib(process.pid))
        _stop(process)
    return times, memory


def run(runs: int = 9) -> list[dict[str, Any]]:
    """Interleave SDK and baseline runs; return result entries for results.json."""
    sdk_argv = [sys.executable, "server/plugin.py"]
    bare_argv = [sys.executable, str(BARE)]
    _measure(sdk_argv, MINIMAL, 1)  # warm the bytecode caches of both
    _measure(bare_argv, MINIMAL, 1)
    sdk_t: list[float] = []
    bare_t: list[float] = []
    sdk_m: list[tuple[int, int]] = []
    bare_m: list[tuple[int, int]] = []
    for i in range(runs):
        order = [(sdk_argv, sdk_t, sdk_m), (bare_argv, bare_t, bare_m)]
        for argv, times, memory in order if i % 2 == 0 else reversed(order):
            t, m = _measure(argv, MINIMAL, 1)
            times += t
            memory += m
    sdk_ms = statistics.median(sdk_t) * 1000
    bare_ms = statistics.median(bare_t) * 1000
    sdk_rss = statistics.median(m[0] for m in sdk_m)
    bare_rss = statistics.median(m[0] for m in bare_m)
    sdk_uss = statistics.median(m[1] for m in sdk_m)
    bare_uss = statistics.median(m[1] for m in bare_m)
    return [
        {
            "name": "spawn → handshake",
            "sdk_median_us": round(sdk_ms * 1000, 1),
            "baseline_median_us": round(bare_ms * 1000, 1),
            "ratio": round(sdk_ms / bare_ms, 3),
            "target": f"sdk median <= {SPAWN_TARGET_MS:.0f} ms",
            "ok": sdk_ms <= SPAWN_TARGET_MS,
            "n": runs,
        },
        {
            "name": "idle memory (RSS)",
            "sdk_median_kib": sdk_rss,
            "baseline_median_kib": bare_rss,
            "ratio": round(sdk_rss / bare_rss, 3),
            "sdk_uss_kib": sdk_uss,
            "baseline_uss_kib": bare_uss,
            "uss_ratio": round(sdk_uss / bare_uss, 3),
            "target": f"RSS ratio <= {MEMORY_TARGET_RATIO}",
            "ok": sdk_rss / bare_rss <= MEMORY_TARGET_RATIO,
            "n": runs,
        },
    ]


def table(entries: list[dict[str, Any]]) -> str:
    spawn, memory = entries
    return "\n".join(
        [
            f"spawn → handshake: SDK {spawn['sdk_median_us'] / 1000:.0f} ms, bare grpcio "
            f"{spawn['baseline_median_us'] / 1000:.0f} ms (ratio {spawn['ratio']:.2f}; "
            f"{spawn['target']}: {'yes' if spawn['ok'] else 'NO'})",
            f"idle memory: SDK RSS {memory['sdk_median_kib'] / 1024:.1f} MiB vs "
            f"{memory['baseline_median_kib'] / 1024:.1f} MiB (ratio {memory['ratio']:.2f}), "
            f"USS {memory['sdk_uss_kib'] / 1024:.1f} vs "
            f"{memory['baseline_uss_kib'] / 1024:.1f} MiB "
            f"(ratio {memory['uss_ratio']:.2f}); {memory['target']}: "
            f"{'yes' if memory['ok'] else 'NO'}",
        ]
    )


if __name__ == "__main__":
    results = run()
    print(table(results))
