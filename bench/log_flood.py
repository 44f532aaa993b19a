"""The host's memory under a log flood: ``python -m bench.log_flood [--lines N] [--mib M]``.

A host (``LocalMattermost``, what the pytest fixture and the dev server run) is started as a
subprocess of this script with ``plugins/log_flood``; once idle its RSS is read, then the
plugin writes N short lines (default 300,000) and one line of M MiB (default 200) on its
stderr, and the host's peak RSS (VmHWM, reset before the flood) and its RSS afterwards are
printed. The host keeps a ring of the latest lines and cuts long ones, so the peak stays
near the idle size; without those bounds it would grow by the whole flood.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
PLUGIN = HERE / "plugins" / "log_flood"


def _status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def host() -> None:
    """The measured process: a local Mattermost; floods when told on stdin."""
    from mattermost_plugin.host.local import LocalMattermost

    with LocalMattermost(PLUGIN) as local:
        print("ready", flush=True)
        for command in sys.stdin:
            if command.strip() == "quit":
                break
            lines, mib = (int(x) for x in command.split())
            mark = local.logs.total
            answer = local.get("/flood", query=f"lines={lines}&mib={mib}", timeout=600)
            assert answer.status_code == 200, answer
            local.wait_for_log("flood done", since=mark, timeout=600)
            kept = len(local.logs)
            longest = max(len(r.message) for r in local.logs)
            print(f"done {local.logs.total - mark} {kept} {longest}", flush=True)


def measure(lines: int, mib: int) -> dict[str, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.log_flood", "--host"],
        cwd=HERE.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the host re-logs the plugin's lines: not ours to show
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # idle: threads started, first calls done
        idle = _status_kib(process.pid, "VmRSS")
        with open(f"/proc/{process.pid}/clear_refs", "w") as clear:
            clear.write("5")  # VmHWM := VmRSS
        started = time.monotonic()
        process.stdin.write(f"{lines} {mib}\n")
        process.stdin.flush()
        _, seen, kept, longest = process.stdout.readline().split()
        seconds = time.monotonic() - started
        peak = _status_kib(process.pid, "VmHWM")
        after = _status_kib(process.pid, "VmRSS")
        process.stdin.write("quit\n")
        process.stdin.flush()
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    return {
        "idle_kib": idle,
        "peak_kib": peak,
        "after_kib": after,
        "lines_seen": int(seen),
        "lines_kept": int(kept),
        "longest_kept": int(longest),
        "seconds": round(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--host", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.host:
        host()
        return
    if not os.path.exists("/proc/self/clear_refs"):
        sys.exit("needs Linux (/proc)")
    result = measure(args.lines, args.mib)
    mib = 1024
    print(
        f"host RSS: idle {result['idle_kib'] / mib:.1f} MiB, peak {result['peak_kib'] / mib:.1f} "
        f"MiB during {args.lines:,} lines + one {args.mib} MiB line, "
        f"{result['after_kib'] / mib:.1f} MiB after ({result['seconds']} s; "
        f"{result['lines_seen']:,} lines seen, {result['lines_kept']:,} kept, "
        f"longest kept {result['longest_kept']:,} characters)"
    )


if __name__ == "__main__":
    main()
