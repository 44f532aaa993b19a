"""The benchmark machinery: SDK call vs. baseline call, interleaved, repeated, compared.

A ``Benchmark`` is a name and two zero-argument callables doing the same work, one through
the SDK and one the plain way (a raw grpcio stub call, a hand-written hook server …). Both
are plain functions, or both return awaitables (``asynchronous=True``); async ones are timed
inside one event loop that lives for the whole run.

``measure`` warms both sides up, then runs ``rounds`` rounds of ``calls`` timed calls per
side, alternating which side goes first; within a round the sides alternate call by call by
default, so drift on the machine (other processes, CPU frequency, a growing server) hits both
alike. Every call is timed on its own; the result compares the medians of all calls.

Benchmarks come from *suites*: a function ``(Context) -> list[Benchmark]`` that sets up what
its benchmarks need (clients, channels, test data) and registers the clean-up with
``Context.defer``. ``bench.run`` lists the suites.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

T = TypeVar("T")

TARGET_RATIO = 1.10  # the SDK may cost at most 10 % more than the baseline, at the median


@dataclass(frozen=True)
class Benchmark:
    """One comparison. ``sdk`` and ``baseline`` take no arguments and do the same work."""

    name: str
    sdk: Callable[[], object]
    baseline: Callable[[], object]
    asynchronous: bool = False  # both return awaitables, timed in the harness's event loop
    calls: int | None = None  # calls per round, for slow benchmarks (default: the run's)
    description: str = ""
    target_ratio: float = TARGET_RATIO


@dataclass
class Result:
    """What ``results.json`` holds per benchmark (times in microseconds)."""

    name: str
    sdk_median_us: float
    baseline_median_us: float
    ratio: float  # sdk / baseline, medians
    overhead_us: float  # sdk - baseline, medians
    sdk_p90_us: float
    baseline_p90_us: float
    sdk_mean_us: float
    baseline_mean_us: float
    n: int  # timed calls per side
    rounds: int
    round_ratios: list[float]  # the ratio of the medians of each round
    interleave: str = "pairs"
    target_ratio: float = TARGET_RATIO
    ok: bool = True
    description: str = ""


@dataclass
class Context:
    """What a suite gets: the server address, the event loop, and a place for clean-ups."""

    address: str
    loop: asyncio.AbstractEventLoop
    _cleanups: list[Callable[[], object]] = field(default_factory=list)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the harness's loop (to create grpc.aio channels in it)."""
        return self.loop.run_until_complete(coro)

    def defer(self, cleanup: Callable[[], object]) -> None:
        """Call ``cleanup`` at the end of the run (awaited if it returns an awaitable)."""
        self._cleanups.append(cleanup)

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            outcome = cleanup()
            if isinstance(outcome, Awaitable):
                self.loop.run_until_complete(_await(outcome))
        self._cleanups.clear()


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


Suite = Callable[[Context], list[Benchmark]]


# --------------------------------------------------------------------------- timing


def _pairs_sync(
    first: Callable[[], object], second: Callable[[], object], calls: int
) -> tuple[list[int], list[int]]:
    """``calls`` times (first, second), each call timed alone."""
    clock = time.perf_counter_ns
    a, b = [0] * calls, [0] * calls
    for i in range(calls):
        start = clock()
        first()
        middle = clock()
        second()
        a[i], b[i] = middle - start, clock() - middle
    return a, b


async def _pairs_async(
    first: Callable[[], object], second: Callable[[], object], calls: int
) -> tuple[list[int], list[int]]:
    clock = time.perf_counter_ns
    a, b = [0] * calls, [0] * calls
    for i in range(calls):
        start = clock()
        await cast(Awaitable[object], first())
        middle = clock()
        await cast(Awaitable[object], second())
        a[i], b[i] = middle - start, clock() - middle
    return a, b


def _blocks_sync(
    first: Callable[[], object], second: Callable[[], object], calls: int
) -> tuple[list[int], list[int]]:
    """``calls`` times first, then ``calls`` times second, each call timed alone."""
    clock = time.perf_counter_ns
    a, b = [0] * calls, [0] * calls
    for fn, samples in ((first, a), (second, b)):
        for i in range(calls):
            start = clock()
            fn()
            samples[i] = clock() - start
    return a, b


async def _blocks_async(
    first: Callable[[], object], second: Callable[[], object], calls: int
) -> tuple[list[int], list[int]]:
    clock = time.perf_counter_ns
    a, b = [0] * calls, [0] * calls
    for fn, samples in ((first, a), (second, b)):
        for i in range(calls):
            start = clock()
            await cast(Awaitable[object], fn())
            samples[i] = clock() - start
    return a, b


INTERLEAVE = ("pairs", "blocks")


def _round(
    loop: asyncio.AbstractEventLoop,
    bench: Benchmark,
    calls: int,
    *,
    sdk_first: bool,
    interleave: str,
) -> tuple[list[int], list[int]]:
    """One round: (sdk samples, baseline samples)."""
    first, second = (bench.sdk, bench.baseline) if sdk_first else (bench.baseline, bench.sdk)
    gc.collect()  # start each round with the same heap; collections inside it still count
    if bench.asynchronous:
        timer_async = _pairs_async if interleave == "pairs" else _blocks_async
        a, b = loop.run_until_complete(timer_async(first, second, calls))
    else:
        timer = _pairs_sync if interleave == "pairs" else _blocks_sync
        a, b = timer(first, second, calls)
    return (a, b) if sdk_first else (b, a)


def _percentile(sorted_values: Sequence[int], fraction: float) -> float:
    index = min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values)) - 1)
    return float(sorted_values[max(index, 0)])


def measure(
    loop: asyncio.AbstractEventLoop,
    bench: Benchmark,
    *,
    rounds: int,
    calls: int,
    warmup: int,
    interleave: str = "pairs",
) -> Result:
    """Warm up, then ``rounds`` rounds of ``calls`` timed calls per side.

    Rounds alternate which side goes first. ``interleave="pairs"`` alternates the sides call
    by call within a round (sdk, baseline, sdk, …), so both see the same moment of a noisy
    machine; ``"blocks"`` runs all of one side's calls, then all of the other's.
    """
    if interleave not in INTERLEAVE:
        raise ValueError(f"interleave must be one of {INTERLEAVE}, not {interleave!r}")
    calls = bench.calls or calls
    if warmup:
        _round(loop, bench, min(warmup, calls), sdk_first=True, interleave=interleave)
    sdk: list[int] = []
    baseline: list[int] = []
    round_ratios: list[float] = []
    for round_no in range(rounds):
        got_sdk, got_baseline = _round(
            loop, bench, calls, sdk_first=round_no % 2 == 0, interleave=interleave
        )
        sdk.extend(got_sdk)
        baseline.extend(got_baseline)
        round_ratios.append(statistics.median(got_sdk) / statistics.median(got_baseline))
    sdk.sort()
    baseline.sort()
    sdk_median = statistics.median(sdk) / 1000
    baseline_median = statistics.median(baseline) / 1000
    ratio = sdk_median / baseline_median
    return Result(
        name=bench.name,
        sdk_median_us=round(sdk_median, 2),
        baseline_median_us=round(baseline_median, 2),
        ratio=round(ratio, 4),
        overhead_us=round(sdk_median - baseline_median, 2),
        sdk_p90_us=round(_percentile(sdk, 0.9) / 1000, 2),
        baseline_p90_us=round(_percentile(baseline, 0.9) / 1000, 2),
        sdk_mean_us=round(statistics.fmean(sdk) / 1000, 2),
        baseline_mean_us=round(statistics.fmean(baseline) / 1000, 2),
        n=len(sdk),
        rounds=rounds,
        round_ratios=[round(r, 4) for r in round_ratios],
        interleave=interleave,
        target_ratio=bench.target_ratio,
        ok=ratio <= bench.target_ratio,
        description=bench.description,
    )


# --------------------------------------------------------------------------- the server


@contextlib.contextmanager
def fake_server() -> Iterator[str]:
    """Run ``python -m mattermost_plugin.host.fake_server`` out of process; yield its address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mattermost_plugin.host.fake_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # the address, or "" when it died
        if not line:
            raise RuntimeError(f"the fake server did not start (exit code {process.poll()})")
        yield line
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- reporting


def table(results: Sequence[Result]) -> str:
    """The results as a fixed-width text table."""
    header = (
        f"{'benchmark':<24} {'sdk µs':>9} {'base µs':>9} {'ratio':>6} {'+µs':>7} "
        f"{'sdk p90':>9} {'base p90':>9} {'rounds (min-max ratio)':>23} {'n':>6} "
        f"{'target':>6}  ok"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        spread = f"{min(r.round_ratios):.3f}-{max(r.round_ratios):.3f}"
        lines.append(
            f"{r.name:<24} {r.sdk_median_us:>9.1f} {r.baseline_median_us:>9.1f} "
            f"{r.ratio:>6.3f} {r.overhead_us:>7.1f} {r.sdk_p90_us:>9.1f} "
            f"{r.baseline_p90_us:>9.1f} {spread:>23} {r.n:>6} {_target(r):>6}  "
            f"{'yes' if r.ok else 'NO'}"
        )
    return "\n".join(lines)


def _target(result: Result) -> str:
    return "-" if result.target_ratio == math.inf else f"{result.target_ratio:.2f}"


def write_json(results: Sequence[Result], path: Path, extra: Sequence[dict[str, Any]] = ()) -> None:
    """``results.json``: the call benchmarks, then entries of other shapes (process, memory)."""
    path.write_text(json.dumps([asdict(r) for r in results] + list(extra), indent=2) + "\n")
