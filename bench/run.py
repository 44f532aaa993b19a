"""Run the benchmarks: ``python -m bench.run [--rounds 7] [--calls 500] [--only NAME] …``.

Starts the fake Mattermost server out of process (or uses ``--server host:port``), builds
every suite in ``SUITES``, measures each benchmark (SDK and baseline interleaved, see
``bench.harness``), prints a table and writes ``bench/results.json``.

To add benchmarks (hooks, HTTP streaming, process spawn …), write a suite — a function
``(Context) -> list[Benchmark]`` — in a module of this package and append it to ``SUITES``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import (
    api_calls,
    cluster,
    commands,
    hooks,
    http,
    mutex,
    process,
    startup,
    state,
    upload,
)
from bench.harness import (
    INTERLEAVE,
    Context,
    Result,
    Suite,
    fake_server,
    measure,
    table,
    write_json,
)

SUITES: list[Suite] = [
    api_calls.sync_suite,
    api_calls.async_suite,
    hooks.suite,
    commands.suite,
    http.suite,
    state.sync_suite,
    state.async_suite,
    mutex.sync_suite,
    mutex.async_suite,
]

RESULTS = Path(__file__).with_name("results.json")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="rounds per benchmark (7)")
    parser.add_argument("--calls", type=int, default=500, help="timed calls per side per round")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per side first")
    parser.add_argument(
        "--interleave",
        choices=INTERLEAVE,
        default="pairs",
        help="alternate SDK and baseline call by call (pairs) or in blocks per round",
    )
    parser.add_argument(
        "--only", action="append", default=[], help="run benchmarks whose name contains this"
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="leave the processes where the scheduler puts them (by default, with 2 CPUs or "
        "more: the server and plugins on the last CPU, the timing client on the first)",
    )
    parser.add_argument("--server", help="use a running PluginAPI server at host:port")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a benchmark's median ratio is above its target",
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def _server(address: str | None) -> Iterator[str]:
    if address:
        yield address
    else:
        with fake_server() as started:
            yield started


class _Placement:
    """Where the processes of the timed rows run, when the machine has two CPUs or more.

    Left to the scheduler, the two sides of a pair land on CPUs by chance: two identical
    plugins measured against each other on a 2-vCPU VM came out anywhere from 0.87 to 1.00,
    more than the 5-15 % a target allows. Pinned (the fake server and every plugin on the
    last CPU, the timing client on the first), the same pair measured 0.998-1.008. Both
    sides of every pair get the same placement; what a row compares is unchanged.

    ``serve()`` before the server and the plugins start (child processes inherit the
    calling thread's CPUs), ``time()`` before the timed calls, ``release()`` after them.
    """

    def __init__(self, enabled: bool) -> None:
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.cpus = cpus if enabled and len(cpus) >= 2 and os.path.isdir("/proc/self/task") else []

    def describe(self) -> str:
        if not self.cpus:
            return "not pinned"
        return f"server and plugins on CPU {self.cpus[-1]}, client on CPU {self.cpus[0]}"

    def serve(self) -> None:
        self._move(self.cpus[-1:])

    def time(self) -> None:
        self._move(self.cpus[:1])

    def release(self) -> None:
        self._move(self.cpus)

    def _move(self, cpus: list[int]) -> None:
        """Every thread of this process (sched_setaffinity moves one thread at a time)."""
        if not self.cpus:
            return
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(ProcessLookupError):  # a thread that just ended
                os.sched_setaffinity(int(tid), cpus)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def run(args: argparse.Namespace) -> list[Result]:
    """Measure every selected benchmark; print progress and the table; write the JSON."""
    placement = _Placement(args.pin)
    placement.serve()
    loop = asyncio.new_event_loop()
    results: list[Result] = []
    started = time.monotonic()
    with _server(args.server) as address:
        ctx = Context(address=address, loop=loop)
        try:
            benchmarks = [b for suite in SUITES for b in suite(ctx)]
            if args.only:
                benchmarks = [b for b in benchmarks if any(o in b.name for o in args.only)]
            placement.time()
            print(
                f"{len(benchmarks)} benchmarks, {args.rounds} rounds x {args.calls} calls per "
                f"side ({args.interleave}), server {address}, "
                f"Python {platform.python_version()}, load {_load()}, {placement.describe()}",
                flush=True,
            )
            for bench in benchmarks:
                result = measure(
                    loop,
                    bench,
                    rounds=args.rounds,
                    calls=args.calls,
                    warmup=args.warmup,
                    interleave=args.interleave,
                )
                results.append(result)
                print(
                    f"  {result.name:<24} ratio {result.ratio:.3f}  "
                    f"({result.sdk_median_us:.1f} vs {result.baseline_median_us:.1f} µs)",
                    flush=True,
                )
        finally:
            placement.release()
            ctx.close()
            loop.close()
    # Process-level measurements: (module, its entries), each with its own table.
    modules: list[Any] = [] if args.only else [process, upload, startup]
    if not args.only or any(o in "kv update under contention from 3 nodes" for o in args.only):
        modules.append(cluster)
    reports = [(m, m.run()) for m in modules]
    extra = [entry for _, entries in reports for entry in entries]
    elapsed = time.monotonic() - started
    print(f"\n{table(results)}\n")
    for module, entries in reports:
        print(f"{module.table(entries)}\n")
    verdict = (
        "ok: every median ratio is at most its row's target"
        if all(r.ok for r in results)
        else "NOT ok: " + ", ".join(r.name for r in results if not r.ok) + " above target"
    )
    print(f"{elapsed:.0f} s, load {_load()}; {verdict}")
    write_json(results, args.output, extra)
    print(f"wrote {args.output}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    return 1 if args.check and not all(r.ok for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
