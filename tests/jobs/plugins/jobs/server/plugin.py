"""Test plugin of tests/jobs: the cluster mutex and jobs, one process per node.

``JOBS_PLUGIN`` picks the class (a class's jobs are fixed when it is defined): ``base`` has
the HTTP routes only; ``tick`` adds a 1 s ``def`` job and an ``async def`` one, ``broken``
a job that raises, ``slow`` a job that outlasts deactivation. Everything the tests count
lives in the KV store (``test:*`` keys), so it adds up across nodes.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from mattermost_plugin import HookName, JobRun, Plugin, hook, job, once_job
from mattermost_plugin.http import HTTPRequest
from mattermost_plugin.models import PluginContext
from mattermost_plugin.models.api_kv_config import PluginKVSetOptions
from mattermost_plugin.mutex import LockTimeoutError

PID = os.getpid()


class Note(BaseModel):
    text: str


def _add(n: int | None) -> int:
    return (n or 0) + 1


def _sub(n: int | None) -> int:
    return (n or 0) - 1


class Base(Plugin):
    jobs_poll_interval = 1.0

    @once_job
    def fire(self, key: str, payload: Note) -> None:
        self.kv.collection("logs", list[str]).update(
            "fired", lambda seen: [*(seen or []), f"{key}:{payload.text}:{PID}"]
        )
        self.logger.info("fired", extra={"key": key, "pid": PID})

    @once_job(name="async-fire")
    async def fire_async(self, key: str) -> None:
        await self.async_kv.collection("logs", list[str]).update(
            "fired", lambda seen: [*(seen or []), f"{key}:async:{PID}"]
        )

    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> dict[str, Any]:
        query = request.query_params

        def arg(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        route = getattr(self, "route_" + request.path.strip("/").replace("-", "_"), None)
        if route is None:
            return {"status_code": 404, "body": "no such route"}
        if asyncio.iscoroutinefunction(route):
            result = await route(arg)
        else:
            result = await asyncio.to_thread(route, arg)
        return {"status_code": 200, "body": json.dumps({"pid": PID, **result})}

    # -- mutex ---------------------------------------------------------------------------
    def route_mutex_loop(self, arg: Any) -> dict[str, Any]:
        """``n`` lock/unlock cycles holding ``hold`` s each; a KV counter of the holders
        catches two at once."""
        holders = self.kv.collection("test", int)
        mutex = self.cluster.mutex(arg("name"), lease=int(arg("lease", "5")))
        overlaps = 0
        for _ in range(int(arg("n"))):
            with mutex:
                if holders.update("holders", _add) != 1:
                    overlaps += 1
                time.sleep(float(arg("hold", "0")))
                holders.update("holders", _sub)
                holders.update("entries", _add)
        return {"overlaps": overlaps}

    async def route_async_mutex_loop(self, arg: Any) -> dict[str, Any]:
        holders = self.async_kv.collection("test", int)
        overlaps = 0
        for _ in range(int(arg("n"))):
            async with self.async_cluster.mutex(arg("name"), lease=int(arg("lease", "5"))):
                if await holders.update("holders", _add) != 1:
                    overlaps += 1
                await asyncio.sleep(float(arg("hold", "0")))
                await holders.update("holders", _sub)
                await holders.update("entries", _add)
        return {"overlaps": overlaps}

    def route_hold(self, arg: Any) -> dict[str, Any]:
        """Take the mutex and keep it (renewed) until the process dies."""
        mutex = self.cluster.mutex(arg("name"), lease=int(arg("lease", "2")), max_hold=None)
        mutex.lock(timeout=10)
        self._held = mutex  # keeps it referenced: the refresher keeps renewing it
        return {"held": mutex.held}

    def route_stall(self, arg: Any) -> dict[str, Any]:
        """Take the mutex and stop renewing it, as a paused process would: what the
        holder sees once the lease ran out."""
        mutex = self.cluster.mutex(arg("name"), lease=int(arg("lease", "1")), max_hold=0)
        try:
            with mutex:
                time.sleep(float(arg("hold")))
                held = mutex.held
        except Exception as exc:
            return {"held": held, "error": type(exc).__name__}
        return {"held": held, "error": None}

    def route_try(self, arg: Any) -> dict[str, Any]:
        mutex = self.cluster.mutex(arg("name"))
        acquired = mutex.try_lock()
        if acquired:
            mutex.unlock()
        return {"acquired": acquired}

    def route_lock(self, arg: Any) -> dict[str, Any]:
        mutex = self.cluster.mutex(arg("name"), timeout=float(arg("timeout")))
        started = time.monotonic()
        try:
            with mutex:
                pass
        except LockTimeoutError as exc:
            return {"acquired": False, "waited": time.monotonic() - started, "timeout": exc.timeout}
        return {"acquired": True, "waited": time.monotonic() - started}

    # -- once-jobs -------------------------------------------------------------------------
    def route_schedule(self, arg: Any) -> dict[str, Any]:
        at = timedelta(seconds=float(arg("in")))
        if arg("async"):
            self.jobs.schedule_once(arg("key"), at=at, run=self.fire_async)
        else:
            self.jobs.schedule_once(
                arg("key"), at=at, run=self.fire, payload=Note(text=arg("text"))
            )
        return {}

    def route_pending(self, arg: Any) -> dict[str, Any]:
        return {"keys": [scheduled.key for scheduled in self.jobs.pending()]}

    def route_state(self, arg: Any) -> dict[str, Any]:
        state = self.jobs.state(arg("name"))
        return {"state": None if state is None else state.model_dump()}


def _count_run(plugin: Plugin, name: str) -> bool:
    """Record a run's start; whether another run of ``name`` was running at the same time."""
    running = f"test:{name}:running"
    options = PluginKVSetOptions(atomic=True, old_value=b"", expire_in_seconds=30)
    alone = plugin.api.kv_set_with_options(running, str(PID).encode(), options=options)
    counts = plugin.kv.collection("test", int)
    counts.update(f"{name}:runs", _add)
    if not alone:
        counts.update(f"{name}:overlaps", _add)
    return alone


class Tick(Base):
    @job(every=1, lease=2)
    def tick(self, run: JobRun) -> None:
        alone = _count_run(self, "tick")
        time.sleep(float(os.environ.get("JOBS_TICK_SLEEP", "0.3")))
        if alone:
            self.api.kv_delete("test:tick:running")
        entry = f"{PID} {run.scheduled_for.timestamp()} {run.started_at.timestamp()}"
        self.kv.collection("logs", list[str]).update("tick:log", lambda log: [*(log or []), entry])

    @job(every=1, lease=2, name="async-tick")
    async def async_tick(self) -> None:
        await self.async_kv.collection("test", int).update("async-tick:runs", _add)


class Broken(Base):
    @job(every=1)
    def broken(self) -> None:
        self.kv.collection("test", int).update("broken:runs", _add)
        raise RuntimeError("the job broke")


SLOW_TIMEOUT = float(os.environ.get("JOBS_SLOW_TIMEOUT", "1"))


class Slow(Base):
    @job(every=3600, timeout=SLOW_TIMEOUT)
    def slow(self) -> None:
        self.kv.collection("test", int).update("slow:started", _add)
        threading.Event().wait(float(os.environ.get("JOBS_SLOW_SLEEP", "3")))
        self.kv.collection("test", int).update("slow:finished", _add)

    @job(every=3600, timeout=SLOW_TIMEOUT, name="async-slow")
    async def async_slow(self) -> None:
        await self.async_kv.collection("test", int).update("async-slow:started", _add)
        await asyncio.sleep(30)
        await self.async_kv.collection("test", int).update("async-slow:finished", _add)


PLUGINS: dict[str, type[Plugin]] = {"base": Base, "tick": Tick, "broken": Broken, "slow": Slow}

if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(PLUGINS[os.environ.get("JOBS_PLUGIN", "base")])
