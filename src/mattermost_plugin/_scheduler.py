"""The job scheduler of one plugin process (what :mod:`mattermost_plugin.jobs` promises).

It runs on the plugin's event loop, started by the jobs listener after ``OnActivate`` and
stopped by it in ``OnDeactivate``: a task per ``@job`` and one for once-jobs. They wait by
looking at the clock (:mod:`mattermost_plugin.clock`) every second, every 50 ms with a test
clock so that moving it is noticed at once, and touch the KV store only when something is
due (and, for once-jobs, every ``jobs_poll_interval`` to find those other nodes scheduled).
``def`` jobs run in a daemon thread each (a job never takes a hook thread, and one that
hangs cannot keep the process from exiting), ``async def`` jobs as tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import pydantic

from mattermost_plugin import clock
from mattermost_plugin._dispatch import contain_exits
from mattermost_plugin._model_base import describe_errors
from mattermost_plugin.jobs import (
    ONCE,
    STATES,
    AsyncOnceRecords,
    JobRun,
    JobSpec,
    JobState,
    OnceRecord,
    OnceSpec,
    StateCollection,
    _datetime,
    first_run,
    following_run,
    job_lock_key,
    jobs_of,
    once_lock_key,
)
from mattermost_plugin.kv import KVError
from mattermost_plugin.models.api_kv_config import PluginKVSetOptions
from mattermost_plugin.mutex import AsyncMutex

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient
    from mattermost_plugin.plugin import Plugin

STOP_TIMEOUT: Final = 5.0
"""Seconds ``OnDeactivate`` waits for running jobs before it abandons them."""
TICK: Final = 1.0
TEST_TICK: Final = 0.05
_ATTR = "_mattermost_scheduler"


def start_scheduler(plugin: Plugin[Any]) -> None:
    if plugin.__dict__.get(_ATTR) is None:
        jobs, onces = jobs_of(type(plugin))
        scheduler = plugin.__dict__[_ATTR] = Scheduler(plugin, jobs, onces)
        scheduler.start()


async def stop_scheduler(plugin: Plugin[Any], remaining: float | None) -> None:
    scheduler: Scheduler | None = plugin.__dict__.pop(_ATTR, None)
    if scheduler is not None:
        budget = STOP_TIMEOUT if remaining is None else min(STOP_TIMEOUT, remaining / 2)
        await scheduler.stop(budget)


def notify(plugin: Plugin[Any], key: str, at: float | None) -> None:
    """This process scheduled (``at``) or cancelled (``None``) once-job ``key``."""
    scheduler: Scheduler | None = plugin.__dict__.get(_ATTR)
    if scheduler is not None:
        scheduler.notify(key, at)


def _retry_after(lease: int) -> float:
    """How soon to look again at a job whose lock another node holds: it may have died."""
    return max(0.25, lease / 8)


class _Abandoned(Exception):
    """A ``def`` job still runs in its thread; its lock must lapse, not be released."""


class _NotStarted(Exception):
    """Deactivation began before the job could start: it does not start."""


class Scheduler:
    def __init__(
        self, plugin: Plugin[Any], jobs: list[JobSpec], onces: dict[str, OnceSpec]
    ) -> None:
        self.plugin = plugin
        self.jobs = jobs
        self.onces = onces
        self.api: AsyncPluginAPIClient = plugin._connected("async_api")
        self.logger = plugin.logger
        self.tick = TEST_TICK if clock.test_clock_path() is not None else TICK
        self.poll = float(type(plugin).jobs_poll_interval)
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[asyncio.Future[Any], tuple[str, bool]] = {}
        self._once_due: dict[str, float] = {}
        self._once_running: dict[str, asyncio.Task[None]] = {}
        self._unhandled: set[str] = set()
        self._states = StateCollection(self.api, STATES.name, JobState)
        self._records = AsyncOnceRecords(self.api, ONCE.name, OnceRecord)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        path = clock.test_clock_path()
        if path is not None:
            self.logger.warning(
                "jobs read the test clock in %s (set by %s): it is now %s; never set this "
                "variable in production",
                path,
                clock.TEST_CLOCK_ENV,
                clock.now().isoformat(timespec="seconds"),
            )
        for spec in self.jobs:
            self._tasks.append(asyncio.ensure_future(self._periodic(spec)))
        if self.onces:
            self._tasks.append(asyncio.ensure_future(self._once_loop()))

    async def stop(self, budget: float) -> None:
        """No job starts from now on; running ones get ``budget`` seconds, then ``async``
        ones are cancelled and ``def`` ones abandoned (their locks lapse)."""
        self._stopping = True
        self._stop_event.set()
        self._wake.set()
        running = dict(self._running)
        if running:
            await asyncio.wait(running, timeout=budget)
        for future, (what, is_async) in running.items():
            if future.done():
                continue
            self.logger.warning(
                "%s still running %.3g s into deactivation: %s",
                what,
                budget,
                "cancelled" if is_async else "abandoned (its thread runs on; its lock lapses)",
                extra={"job": what},
            )
            future.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def notify(self, key: str, at: float | None) -> None:
        def apply() -> None:
            if at is None:
                self._once_due.pop(key, None)
            else:
                self._once_due[key] = at
            self._wake.set()

        with contextlib.suppress(RuntimeError):  # the loop is closed: the process is stopping
            self._loop.call_soon_threadsafe(apply)

    async def _sleep_until(self, due: float, event: asyncio.Event, until: float = math.inf) -> bool:
        """Wait until the clock reaches ``due``, ``event`` is set or ``until`` (monotonic)
        passed; ``False`` when stopping."""
        while not self._stopping:
            left = due - clock.time()
            if left <= 0 or event.is_set() or time.monotonic() >= until:
                return True
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), min(left, self.tick))
        return False

    # -- running user code ------------------------------------------------------------------------
    async def _execute(
        self,
        what: str,
        func: Callable[..., Any],
        args: list[Any],
        is_async: bool,
        timeout: float | None,
        mutex: AsyncMutex,
    ) -> str | None:
        """Run a job; its error text (``None``: it succeeded). Raises :class:`_Abandoned`
        when a ``def`` job is still running when its time is up."""
        if self._stopping:  # checked with no await before the run is registered below
            raise _NotStarted
        loop = self._loop
        future: asyncio.Future[Any]
        if is_async:
            future = asyncio.ensure_future(contain_exits(func(*args)))
        else:
            future = loop.create_future()
            threading.Thread(
                target=_in_thread, args=(loop, future, func, args), name=what, daemon=True
            ).start()

        def lost() -> None:
            if is_async and not future.done():
                self.logger.error(
                    "%s lost its lock while running: cancelled", what, extra={"job": what}
                )
                future.cancel()

        mutex._on_lost = lost
        self._running[future] = (what, is_async)
        try:
            done, _ = await asyncio.wait({future}, timeout=timeout)
        finally:
            del self._running[future]
        if not done:
            if not is_async:
                self.logger.error(
                    "%s did not finish within %.3g s: abandoned (its thread runs on; its lock "
                    "lapses)",
                    what,
                    timeout,
                    extra={"job": what},
                )
                raise _Abandoned
            future.cancel()
            with contextlib.suppress(BaseException):
                await future
            self.logger.error(
                "%s did not finish within %.3g s: cancelled", what, timeout, extra={"job": what}
            )
            return f"did not finish within {timeout:.3g} s"
        if future.cancelled():
            if not is_async and self._stopping:
                raise _Abandoned  # deactivation gave up on it; the thread still runs
            return "cancelled"
        error = future.exception()
        if error is None:
            return None
        text = str(error) or type(error).__name__
        self.logger.error("%s failed: %s", what, text, exc_info=error, extra={"job": what})
        return text

    # -- @job ----------------------------------------------------------------------------------
    async def _periodic(self, spec: JobSpec) -> None:
        mutex = AsyncMutex(
            self.api,
            spec.name,
            lease=spec.lease,
            max_hold=spec.timeout,
            key=job_lock_key(spec.name),
        )
        due = -math.inf  # not known yet: read the schedule at once
        while await self._sleep_until(due, self._stop_event):
            try:
                due = await self._periodic_step(spec, mutex)
            except Exception as exc:  # the API failed: try again a little later
                self.logger.warning(
                    "job %r: reading or writing its schedule failed: %s",
                    spec.name,
                    exc,
                    extra={"job": spec.name},
                )
                due = clock.time() + _retry_after(spec.lease)

    async def _read_state(self, name: str) -> tuple[bytes | None, JobState | None]:
        raw = await self.api.kv_get(STATES.store_key(name))
        if raw is None:
            return None, None
        try:
            return raw, STATES.decode(name, raw)
        except KVError:
            return raw, None  # unreadable (another version's?): rewritten

    async def _write_state(self, name: str, old: bytes | None, state: JobState) -> bool:
        options = PluginKVSetOptions(atomic=True, old_value=old or b"")
        written: bool = await self.api.kv_set_with_options(
            STATES.store_key(name), STATES.encode(name, state), options=options
        )
        return written

    async def _periodic_step(self, spec: JobSpec, mutex: AsyncMutex) -> float:
        """One look at a job: run it if due; when to look next (clock seconds)."""
        raw, state = await self._read_state(spec.name)
        now = clock.time()
        if state is None or state.every != spec.every or state.offset != spec.offset:
            start = first_run(now, spec.every, spec.offset, state)
            base = state.model_dump() if state is not None else {}
            fresh = JobState(
                **{**base, "every": spec.every, "offset": spec.offset, "next_run": start}
            )
            await self._write_state(spec.name, raw, fresh)  # lost to another node: fine too
            return -math.inf
        if now < state.next_run:
            return state.next_run
        if not await mutex.try_lock():
            return now + _retry_after(spec.lease)  # running elsewhere, or its node died
        finished = True
        try:
            raw, state = await self._read_state(spec.name)  # again, under the lock
            now = clock.time()
            if state is None or now < state.next_run or self._stopping:
                return -math.inf if state is None else state.next_run
            claimed = state.model_copy(
                update={
                    "last_started": now,
                    "next_run": following_run(state.next_run, now, spec.every),
                    "runs": state.runs + 1,
                }
            )
            if not await self._write_state(spec.name, raw, claimed):
                return -math.inf
            run = JobRun(
                name=spec.name,
                scheduled_for=_datetime(state.next_run),
                started_at=_datetime(now),
                previous=None if state.last_started is None else _datetime(state.last_started),
            )
            func = getattr(self.plugin, spec.attr)
            ran = True
            try:
                error = await self._execute(
                    f"job {spec.name!r}",
                    func,
                    [run] if spec.takes_run else [],
                    spec.is_async,
                    spec.timeout,
                    mutex,
                )
            except _Abandoned:
                finished = False
                error = "abandoned: still running when its time was up"
            except _NotStarted:
                error = "not started: the plugin was deactivating"
                ran = False
            await self._record_finish(spec.name, now, error, finished and ran)
            return claimed.next_run
        finally:
            if finished:
                await mutex.unlock()
            else:
                mutex.abandon()

    async def _record_finish(
        self, name: str, started: float, error: str | None, finished: bool
    ) -> None:
        def record(state: JobState | None) -> JobState:
            if state is None or state.last_started != started:
                raise _Superseded  # a later run started meanwhile: its record wins
            if finished:
                state.last_finished = clock.time()
            state.last_error = error
            return state

        with contextlib.suppress(_Superseded):
            await self._states.update(name, record)

    # -- once-jobs ------------------------------------------------------------------------------
    async def _once_loop(self) -> None:
        next_scan = 0.0
        while not self._stopping:
            self._wake.clear()
            if time.monotonic() >= next_scan:
                try:
                    await self._scan()
                except Exception as exc:
                    self.logger.warning("once-jobs: reading the pending ones failed: %s", exc)
                next_scan = time.monotonic() + self.poll
            now = clock.time()
            for key, at in list(self._once_due.items()):
                if at <= now and key not in self._once_running:
                    del self._once_due[key]
                    self._once_running[key] = asyncio.ensure_future(self._run_once(key))
            soonest = min(self._once_due.values(), default=math.inf)
            await self._sleep_until(soonest, self._wake, until=next_scan)
        if self._once_running:
            await asyncio.gather(*self._once_running.values(), return_exceptions=True)

    async def _scan(self) -> None:
        async for key in self._records.keys():
            try:
                record = await self._records.get(key)
            except KVError as exc:
                self.logger.error("once-job %r: %s", key, exc, extra={"job": key})
                continue
            if record is not None and key not in self._once_running:
                self._once_due[key] = record.at

    async def _run_once(self, key: str) -> None:
        try:
            await self._run_once_locked(key)
        except Exception as exc:
            self.logger.warning("once-job %r: %s; trying again", key, exc, extra={"job": key})
            self._once_due[key] = clock.time() + 1.0
        finally:
            self._once_running.pop(key, None)
            self._wake.set()  # it may have noted a new time

    async def _run_once_locked(self, key: str) -> None:
        store_key = ONCE.store_key(key)
        raw = await self.api.kv_get(store_key)
        if raw is None:
            return  # ran on another node, or cancelled
        record = ONCE.decode(key, raw)
        if record.at > clock.time():
            self._once_due[key] = record.at  # rescheduled meanwhile
            return
        spec = self.onces.get(record.handler)
        if spec is None:
            if record.handler not in self._unhandled:
                self._unhandled.add(record.handler)
                self.logger.error(
                    "once-job %r: this version of the plugin has no @once_job named %r; the job "
                    "stays pending",
                    key,
                    record.handler,
                    extra={"job": key},
                )
            return
        mutex = AsyncMutex(
            self.api, key, lease=spec.lease, max_hold=spec.timeout, key=once_lock_key(key)
        )
        if self._stopping or not await mutex.try_lock():
            self._once_due[key] = clock.time() + _retry_after(spec.lease)
            return
        finished = True
        try:
            if await self.api.kv_get(store_key) != raw or self._stopping:
                self._once_due[key] = clock.time()  # changed meanwhile: look again
                return
            args: list[Any] = [key]
            if spec.adapter is not None:
                try:
                    args.append(spec.adapter.validate_json(record.payload or "null"))
                except pydantic.ValidationError as exc:
                    self.logger.error(
                        "once-job %r: the payload does not validate for %s: %s; dropped",
                        key,
                        spec.name,
                        describe_errors(exc),
                        extra={"job": key},
                    )
                    await self.api.kv_compare_and_delete(store_key, raw)
                    return
            what = f"once-job {key!r}"
            try:
                await self._execute(
                    what, getattr(self.plugin, spec.attr), args, spec.is_async, spec.timeout, mutex
                )
            except _Abandoned:
                finished = False
                return  # the record stays: after the lease, it runs again
            except _NotStarted:
                return  # the record stays for the next start
            await self.api.kv_compare_and_delete(store_key, raw)  # a replacement stays
        finally:
            if finished:
                await mutex.unlock()
            else:
                mutex.abandon()


class _Superseded(Exception):
    pass


def _in_thread(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    func: Callable[..., Any],
    args: list[Any],
) -> None:
    outcome: tuple[bool, Any]
    try:
        outcome = (True, func(*args))
    except BaseException as exc:  # SystemExit too: the job failed, the process goes on
        outcome = (False, exc)

    def deliver() -> None:
        if future.done():  # cancelled: deactivation gave up on it
            return
        if outcome[0]:
            future.set_result(outcome[1])
        else:
            future.set_exception(outcome[1])

    with contextlib.suppress(RuntimeError):  # the loop closed: the process is stopping
        loop.call_soon_threadsafe(deliver)
