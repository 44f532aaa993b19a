"""``@job`` and ``@once_job`` checked when the class is defined, the schedule arithmetic,
and ``self.jobs`` against the fake server. Running jobs is in test_nodes.py."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from tests.support.api_client import Clock, RunAsync

from mattermost_plugin import AsyncPluginAPIClient, JobRun, Plugin, PluginAPIClient, job, once_job
from mattermost_plugin.jobs import (
    AsyncJobs,
    JobExistsError,
    Jobs,
    JobState,
    first_run,
    following_run,
    jobs_of,
)
from mattermost_plugin.listeners import Order


class Reminder(BaseModel):
    text: str
    times: int = 1


class Scheduled(Plugin):
    @job(every=timedelta(minutes=5))
    def sync(self) -> None: ...

    @job(every=60, offset=30, name="aligned")
    async def with_run(self, run: JobRun) -> None: ...

    @once_job
    def remind(self, key: str, payload: Reminder) -> None: ...

    @once_job(name="bare", lease=5, timeout=None)
    async def bare(self, key: str) -> None: ...


def test_jobs_take_part_in_activation_and_deactivation() -> None:
    assert [(lst.hook, lst.order, lst.name) for lst in Scheduled.listeners()] == [
        ("OnActivate", Order.JOBS, "jobs"),
        ("OnDeactivate", Order.JOBS, "jobs"),
    ]
    assert set(Scheduled.implemented_hooks()) == {"OnActivate", "OnDeactivate"}
    jobs, onces = jobs_of(Scheduled)
    by_name = {spec.name: spec for spec in jobs}
    assert by_name["sync"].every == 300 and not by_name["sync"].takes_run
    assert by_name["aligned"].offset == 30 and by_name["aligned"].takes_run
    assert by_name["aligned"].is_async and by_name["aligned"].attr == "with_run"
    assert onces["remind"].adapter is not None and onces["bare"].adapter is None
    assert (onces["bare"].lease, onces["bare"].timeout) == (5, None)


def test_definitions_are_checked() -> None:
    with pytest.raises(ValueError, match="every must be at least a second"):
        job(every=0.5)
    with pytest.raises(ValueError, match="offset must be shorter than every"):
        job(every=60, offset=60)
    with pytest.raises(ValueError, match="whole seconds"):
        job(every=60, lease=1.5)
    with pytest.raises(TypeError, match=r"@job methods are \(self\) or \(self, run\)"):

        class TooMany(Plugin):
            @job(every=1)
            def tick(self, a: int, b: int) -> None: ...

    with pytest.raises(TypeError, match=r"@once_job methods are \(self, key\) or"):

        class NoKey(Plugin):
            @once_job
            def handle(self) -> None: ...

    with pytest.raises(TypeError, match="two jobs named 'tick': first and second"):

        class Twice(Plugin):
            @job(every=1, name="tick")
            def first(self) -> None: ...

            @job(every=1, name="tick")
            def second(self) -> None: ...

    with pytest.raises(TypeError, match="already a job"):
        once_job(job(every=1)(lambda self: None))
    with pytest.raises(TypeError, match="cannot resolve the annotation of payload"):

        class Unresolved(Plugin):
            @once_job
            def handle(self, key: str, payload: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821


def test_a_subclass_keeps_and_replaces_jobs() -> None:
    class Sub(Scheduled):
        def sync(self) -> None: ...  # no longer a job

    jobs, _ = jobs_of(Sub)
    assert {spec.name for spec in jobs} == {"aligned"}


# -- schedule arithmetic -------------------------------------------------------------------------

times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
intervals = st.floats(min_value=1, max_value=86400 * 30, allow_nan=False)


@given(due=times, late=st.floats(min_value=0, max_value=1e7), every=intervals)
def test_the_next_run_is_the_first_slot_after_now(due: float, late: float, every: float) -> None:
    now = due + late
    following = following_run(due, now, every)
    assert following > now
    assert following - every <= now + 1e-6 * max(1.0, now)  # no slot skipped past now
    slots = (following - due) / every
    assert math.isclose(slots, round(slots), abs_tol=1e-6 * max(1.0, slots))


@given(now=times, every=intervals, fraction=st.floats(min_value=0, max_value=0.999))
def test_aligned_jobs_start_on_their_grid(now: float, every: float, fraction: float) -> None:
    offset = every * fraction
    start = first_run(now, every, offset, None)
    assert now - 1e-3 <= start < now + every + 1e-3
    slots = (start - offset) / every
    assert math.isclose(slots, round(slots), abs_tol=1e-6 * max(1.0, abs(slots)))


def test_first_runs() -> None:
    assert first_run(1000, 60, None, None) == 1000  # a new job runs at once
    state = JobState(every=30, next_run=2000, last_started=990)
    assert first_run(1000, 60, None, state) == 1050  # a changed interval counts from the last run
    day = 86400.0
    assert first_run(day * 10 + 3600, day, 8 * 3600, None) == day * 10 + 8 * 3600


# -- self.jobs -----------------------------------------------------------------------------------


def test_schedule_once_stores_a_record_and_lists_it(api: PluginAPIClient, clock: Clock) -> None:
    import mattermost_plugin.clock as sdk_clock

    plugin = Scheduled()
    jobs = Jobs(api, plugin)
    at = datetime(2030, 1, 2, 3, 4, tzinfo=timezone.utc)
    jobs.schedule_once("r1", at=at, run=plugin.remind, payload=Reminder(text="call"))
    jobs.schedule_once("b1", at=timedelta(hours=1), run=plugin.bare)
    scheduled = jobs.get("r1")
    assert scheduled is not None
    assert (scheduled.key, scheduled.at, scheduled.handler) == ("r1", at, "remind")
    assert scheduled.payload == {"text": "call", "times": 1}
    soon = jobs.get("b1")
    assert soon is not None and soon.payload is None
    assert abs(soon.at.timestamp() - (sdk_clock.time() + 3600)) < 5
    assert [s.key for s in jobs.pending()] == ["b1", "r1"]

    with pytest.raises(JobExistsError, match="'r1' is already scheduled"):
        jobs.schedule_once("r1", at=at, run=plugin.remind, payload=Reminder(text="again"))
    later = at + timedelta(days=1)
    jobs.schedule_once("r1", at=later, run=plugin.remind, payload=Reminder(text="x"), replace=True)
    replaced = jobs.get("r1")
    assert replaced is not None and replaced.at == later

    assert jobs.cancel("r1") and not jobs.cancel("r1")
    assert jobs.get("r1") is None
    assert [s.key for s in jobs.pending()] == ["b1"]
    assert jobs.state("sync") is None


def test_schedule_once_checks_its_arguments(api: PluginAPIClient) -> None:
    plugin = Scheduled()
    jobs = Jobs(api, plugin)
    soon = timedelta(minutes=1)
    with pytest.raises(TypeError, match="not a @once_job method; mark it @once_job"):
        jobs.schedule_once("k", at=soon, run=plugin.sync)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not validate for handler 'remind': text: Field"):
        jobs.schedule_once("k", at=soon, run=plugin.remind, payload={"times": 2})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'remind' needs a payload"):
        jobs.schedule_once("k", at=soon, run=plugin.remind)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="'bare' takes no payload"):
        jobs.schedule_once("k", at=soon, run=plugin.bare, payload=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        jobs.schedule_once("k", at=datetime(2030, 1, 1), run=plugin.bare)
    with pytest.raises(ValueError, match="at most 100 characters"):
        jobs.schedule_once("k" * 101, at=soon, run=plugin.bare)
    with pytest.raises(ValueError, match="non-empty str"):
        jobs.schedule_once("", at=soon, run=plugin.bare)

    class Other(Plugin):
        @once_job
        def elsewhere(self, key: str) -> None: ...

    with pytest.raises(TypeError, match="Scheduled has no once-job handler 'elsewhere'"):
        jobs.schedule_once("k", at=soon, run=Other().elsewhere)
    assert jobs.pending() == []


def test_async_jobs(aio: RunAsync) -> None:
    async def body(client: AsyncPluginAPIClient) -> list[str]:
        plugin = Scheduled()
        jobs = AsyncJobs(client, plugin)
        await jobs.schedule_once(
            "a", at=timedelta(seconds=5), run=plugin.remind, payload=Reminder(text="t")
        )
        found = await jobs.get("a")
        assert found is not None and found.payload == {"text": "t", "times": 1}
        assert await jobs.state("sync") is None
        keys = [s.key for s in await jobs.pending()]
        assert await jobs.cancel("a")
        return keys

    assert aio(body) == ["a"]
