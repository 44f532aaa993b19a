"""Background jobs that run once across the cluster (docs/state.md, "Jobs").

::

    class Digest(Plugin):
        @job(every=timedelta(days=1), offset=timedelta(hours=8))   # daily at 08:00 UTC
        def post_digest(self, run: JobRun) -> None: ...

        @once_job
        def remind(self, key: str, payload: Reminder) -> None: ...

        def later(self, reminder: Reminder) -> None:
            self.jobs.schedule_once(reminder.id, at=timedelta(hours=1), run=self.remind,
                                    payload=reminder)

Every node's plugin process runs a scheduler (:mod:`mattermost_plugin._scheduler`), started
after ``OnActivate`` succeeded and stopped before ``OnDeactivate`` finishes. What decides
which node runs what is in the KV store only, so any node can take over:

* ``@job``: the schedule (``_jobs:<name>``: next run, last start and finish, runs) and a
  cluster mutex per job (``_jobs.lock:<name>``). The node that takes the mutex claims the
  due run with a compare-and-set on the schedule, moving the next run one interval on,
  then runs the job while renewing the mutex's lease. So a run happens at most once per
  interval across the cluster (the compare-and-set), and never overlaps the previous one
  (the mutex). A node dying mid-run loses that run; the next one is taken by another node
  once the lease ran out: within ``lease`` + ``every`` after the death.
* ``schedule_once``: a record per key (``_jobs.once:<key>``: the handler's name, the time,
  the payload as JSON), deleted after the run. Each node reads the records when it starts
  and every ``Plugin.jobs_poll_interval`` seconds, and runs the due ones under a mutex. A
  node dying mid-run leaves the record, so another node runs it again after the lease:
  once-jobs run *at least* once; make them safe to repeat.

Jobs read the time from :mod:`mattermost_plugin.clock`, which tests move forward.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar, overload

import pydantic
import pydantic_core
from pydantic import BaseModel

from mattermost_plugin import clock
from mattermost_plugin._model_base import describe_errors
from mattermost_plugin._steps import Steps, call, run_async, run_sync
from mattermost_plugin.kv import AsyncCollection, Collection, CollectionBase
from mattermost_plugin.listeners import CallNext, HookCall, Listener, Order
from mattermost_plugin.models.api_kv_config import PluginKVSetOptions
from mattermost_plugin.mutex import LockKeys, Seconds, lease_seconds, optional_seconds

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient
    from mattermost_plugin.plugin import Plugin

__all__ = [
    "DEFAULT_JOB_LEASE",
    "DEFAULT_JOB_TIMEOUT",
    "AsyncJobs",
    "JobExistsError",
    "JobRun",
    "JobState",
    "Jobs",
    "ScheduledJob",
    "job",
    "once_job",
]

F = TypeVar("F", bound=Callable[..., Any])
P = TypeVar("P")

DEFAULT_JOB_LEASE: Final = 15
"""Seconds a job's lock outlives a node that stopped renewing it."""
DEFAULT_JOB_TIMEOUT: Final = 3600.0
"""Seconds a run may take before it is cancelled (``async def``) or abandoned (``def``)."""
MAX_ONCE_KEY: Final = 100
"""The longest key of a once-job."""

_JOB_ATTR = "__mattermost_job__"
_ONCE_ATTR = "__mattermost_once_job__"
When = datetime | timedelta


class JobExistsError(Exception):
    """``schedule_once`` found a pending job with that key (pass ``replace=True``)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"a once-job with key {key!r} is already scheduled")
        self.key = key


# -- what the decorators record -------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """A ``@job`` method."""

    name: str
    attr: str
    every: float
    offset: float | None
    lease: int
    timeout: float | None
    is_async: bool
    takes_run: bool


@dataclass(frozen=True)
class OnceSpec:
    """A ``@once_job`` method; ``adapter`` is ``None`` when it takes no payload."""

    name: str
    attr: str
    lease: int
    timeout: float | None
    is_async: bool
    adapter: pydantic.TypeAdapter[Any] | None


@dataclass(frozen=True)
class JobRun:
    """What a ``@job`` method declared as ``(self, run)`` learns about its run."""

    name: str
    scheduled_for: datetime
    """The time the run was due (a multiple of ``every`` after ``offset``, for aligned jobs)."""
    started_at: datetime
    previous: datetime | None
    """When the previous run started, on any node (``None`` for the first)."""


# -- what the KV store holds ------------------------------------------------------------------


class JobState(BaseModel):
    """The schedule of a ``@job`` (``_jobs:<name>``); times are seconds since the epoch on
    the SDK's clock."""

    every: float
    offset: float | None = None
    next_run: float
    last_started: float | None = None
    last_finished: float | None = None
    last_error: str | None = None
    runs: int = 0


class OnceRecord(BaseModel):
    """A pending once-job (``_jobs.once:<key>``)."""

    handler: str
    at: float
    payload: str | None = None  # JSON text; None: the handler takes no payload
    scheduled_at: float


@dataclass(frozen=True)
class ScheduledJob:
    """A pending once-job, as :meth:`Jobs.get` and :meth:`Jobs.pending` list it."""

    key: str
    at: datetime
    handler: str
    payload: Any
    """The payload as JSON data (dicts, lists, …), ``None`` without one."""


class StateCollection(AsyncCollection[JobState]):
    """``_jobs``: the schedules of ``@job`` methods."""

    _sdk_namespace: ClassVar[bool] = True


class OnceRecords(Collection[OnceRecord]):
    """``_jobs.once``: pending once-jobs."""

    _sdk_namespace: ClassVar[bool] = True


class AsyncOnceRecords(AsyncCollection[OnceRecord]):
    _sdk_namespace: ClassVar[bool] = True


class _Keys(CollectionBase[Any]):
    _sdk_namespace: ClassVar[bool] = True


STATES: Final = _Keys("_jobs", JobState)
ONCE: Final = _Keys("_jobs.once", OnceRecord)
LOCKS: Final = LockKeys("_jobs.lock")


def job_lock_key(name: str) -> str:
    return LOCKS.store_key(name)


def once_lock_key(key: str) -> str:
    return LOCKS.store_key("once:" + key)


# -- schedule arithmetic ------------------------------------------------------------------------


def first_run(now: float, every: float, offset: float | None, state: JobState | None) -> float:
    """When a job (new, or whose interval changed) is next due."""
    if offset is None:
        if state is not None and state.last_started is not None:
            return state.last_started + every  # in the past: due now
        return now
    return offset + math.ceil((now - offset) / every) * every


def following_run(due: float, now: float, every: float) -> float:
    """The first slot after ``now`` on the grid of ``due`` + k·``every``: runs missed while
    no node ran the job collapse into this one."""
    following = due + (math.floor((now - due) / every) + 1) * every
    while following <= now:  # the division rounds: a slot equal to now is not after it
        following += every
    return following


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _when(at: When) -> float:
    if isinstance(at, timedelta):
        return clock.time() + at.total_seconds()
    if not isinstance(at, datetime):
        raise TypeError(f"at: give a datetime or a timedelta from now, not {type(at).__name__}")
    if at.tzinfo is None:
        raise ValueError(f"at: give a timezone-aware datetime, got {at!r}")
    return at.timestamp()


# -- the decorators ------------------------------------------------------------------------------


def job(
    *,
    every: Seconds,
    offset: Seconds | None = None,
    lease: Seconds = DEFAULT_JOB_LEASE,
    timeout: Seconds | None = DEFAULT_JOB_TIMEOUT,
    name: str | None = None,
) -> Callable[[F], F]:
    """Run the decorated method every ``every`` (at least a second), on one node at a time.

    The method is ``(self)`` or ``(self, run: JobRun)``, ``def`` or ``async def``. Without
    ``offset`` the first run is due when the plugin first starts, the next ones ``every``
    later; with ``offset`` runs are due at the multiples of ``every`` since the Unix epoch
    plus ``offset`` (``every=timedelta(days=1), offset=timedelta(hours=8)``: daily at 08:00
    UTC). ``lease``: whole seconds before another node takes over from one that died;
    ``timeout``: how long a run may take. ``name`` (default: the method's) keys the
    schedule in the KV store: keep it when renaming the method.
    """
    every_s = optional_seconds(every, "every")
    if every_s is None or every_s < 1:
        raise ValueError(f"every must be at least a second, got {every!r}")
    offset_s = optional_seconds(offset, "offset")
    if offset_s is not None and offset_s >= every_s:
        raise ValueError(f"offset must be shorter than every, got {offset!r}")
    lease_s = lease_seconds(lease)
    timeout_s = optional_seconds(timeout, "timeout")

    def register(func: F) -> F:
        _check_plain(func, "@job")
        job_name = _checked_name(name if name is not None else func.__name__, "job")
        takes_run = _arity(func, "@job", ("(self)", "(self, run)"), (0, 1)) == 1
        spec = JobSpec(
            name=job_name,
            attr=func.__name__,
            every=every_s,
            offset=offset_s,
            lease=lease_s,
            timeout=timeout_s,
            is_async=inspect.iscoroutinefunction(func),
            takes_run=takes_run,
        )
        setattr(func, _JOB_ATTR, spec)
        setattr(func, "__mattermost_listeners__", _provide)  # noqa: B010 - a dunder on a function
        return func

    return register


@overload
def once_job(func: F, /) -> F: ...
@overload
def once_job(
    *,
    name: str | None = None,
    lease: Seconds = DEFAULT_JOB_LEASE,
    timeout: Seconds | None = DEFAULT_JOB_TIMEOUT,
) -> Callable[[F], F]: ...
def once_job(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    lease: Seconds = DEFAULT_JOB_LEASE,
    timeout: Seconds | None = DEFAULT_JOB_TIMEOUT,
) -> F | Callable[[F], F]:
    """Make the decorated method a handler of once-jobs (``self.jobs.schedule_once(...,
    run=self.method)``): ``(self, key)`` or ``(self, key, payload)``, the payload decoded into
    the parameter's annotation. ``name`` (default: the method's) is what pending jobs store:
    keep it when renaming the method. ``lease`` and ``timeout`` as for :func:`job`."""
    lease_s = lease_seconds(lease)
    timeout_s = optional_seconds(timeout, "timeout")

    def register(function: F) -> F:
        _check_plain(function, "@once_job")
        handler = _checked_name(name if name is not None else function.__name__, "once-job handler")
        takes = _arity(function, "@once_job", ("(self, key)", "(self, key, payload)"), (1, 2))
        adapter = _payload_adapter(function) if takes == 2 else None
        spec = OnceSpec(
            name=handler,
            attr=function.__name__,
            lease=lease_s,
            timeout=timeout_s,
            is_async=inspect.iscoroutinefunction(function),
            adapter=adapter,
        )
        setattr(function, _ONCE_ATTR, spec)
        setattr(function, "__mattermost_listeners__", _provide)  # noqa: B010
        return function

    return register if func is None else register(func)


def _check_plain(func: object, decorator: str) -> None:
    if not inspect.isfunction(func):
        raise TypeError(f"{decorator} goes on a plain method, not {type(func).__name__}")
    if hasattr(func, _JOB_ATTR) or hasattr(func, _ONCE_ATTR):
        raise TypeError(f"{func.__qualname__} is already a job")


def _checked_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_ONCE_KEY or "\x00" in name:
        raise ValueError(f"a {what} name is a non-empty str of at most {MAX_ONCE_KEY} characters")
    return name


def _arity(
    func: Callable[..., Any], decorator: str, forms: tuple[str, str], counts: tuple[int, int]
) -> int:
    signature = inspect.signature(func)
    for count in reversed(counts):
        try:
            signature.bind(None, *range(count))
        except TypeError:
            continue
        return count
    raise TypeError(f"{func.__qualname__}: {decorator} methods are {forms[0]} or {forms[1]}")


def _payload_adapter(func: Callable[..., Any]) -> pydantic.TypeAdapter[Any]:
    parameter = list(inspect.signature(func).parameters.values())[2]
    annotation: Any = Any
    if parameter.annotation is not inspect.Parameter.empty:
        try:
            annotation = typing.get_type_hints(func).get(parameter.name, Any)
        except Exception as exc:
            raise TypeError(
                f"{func.__qualname__}: cannot resolve the annotation of {parameter.name}: {exc}"
            ) from exc
    try:
        return pydantic.TypeAdapter(annotation)
    except pydantic.PydanticUserError as exc:
        raise TypeError(
            f"{func.__qualname__}: cannot decode payloads into {annotation!r}: {exc}"
        ) from exc


# -- the class's jobs, and the listeners that run them -----------------------------------------


def jobs_of(owner: type) -> tuple[list[JobSpec], dict[str, OnceSpec]]:
    """The ``@job`` and ``@once_job`` methods of a plugin class (checked for clashes)."""
    jobs: dict[str, JobSpec] = {}
    onces: dict[str, OnceSpec] = {}
    for attr in dir(owner):
        value = inspect.getattr_static(owner, attr, None)
        for spec_attr, found in ((_JOB_ATTR, jobs), (_ONCE_ATTR, onces)):
            spec = getattr(value, spec_attr, None)
            if spec is None:
                continue
            if spec.attr != attr:  # the same function under another name
                spec = type(spec)(**{**spec.__dict__, "attr": attr})
            other = found.get(spec.name)
            if other is not None:
                kind = "jobs" if spec_attr == _JOB_ATTR else "once-job handlers"
                raise TypeError(
                    f"{owner.__name__} has two {kind} named {spec.name!r}: {other.attr} and "
                    f"{attr}; give one another name="
                )
            found[spec.name] = spec
    return list(jobs.values()), onces


def _failed(result: object) -> bool:
    return isinstance(result, BaseException) or (isinstance(result, str) and bool(result))


async def _start_jobs(call: HookCall, call_next: CallNext) -> Any:
    result = await call_next()
    if not _failed(result):
        from mattermost_plugin._scheduler import start_scheduler

        start_scheduler(call.plugin)
    return result


async def _stop_jobs(call: HookCall, call_next: CallNext) -> Any:
    from mattermost_plugin._scheduler import stop_scheduler

    await stop_scheduler(call.plugin, call.remaining())
    return await call_next()


_LISTENERS: Final = (
    Listener("OnActivate", _start_jobs, Order.JOBS, "jobs"),
    Listener("OnDeactivate", _stop_jobs, Order.JOBS, "jobs"),
)


def _provide(owner: type[Plugin[Any]]) -> tuple[Listener, ...]:
    jobs_of(owner)  # clashes fail when the class is defined
    return _LISTENERS


# -- self.jobs -----------------------------------------------------------------------------------


def _handler_spec(owner: type, run: Callable[..., Any]) -> OnceSpec:
    func = getattr(run, "__func__", run)
    spec: OnceSpec | None = getattr(func, _ONCE_ATTR, None)
    if spec is None:
        raise TypeError(
            f"run={getattr(run, '__qualname__', run)!r} is not a @once_job method; mark it "
            "@once_job"
        )
    _, onces = jobs_of(owner)
    if spec.name not in onces:
        raise TypeError(f"{owner.__name__} has no once-job handler {spec.name!r}")
    return onces[spec.name]


def _record(spec: OnceSpec, key: str, at: float, payload: object, has_payload: bool) -> bytes:
    if spec.adapter is None:
        if has_payload:
            raise TypeError(f"once-job handler {spec.name!r} takes no payload")
        text = None
    else:
        if not has_payload:
            raise TypeError(f"once-job handler {spec.name!r} needs a payload")
        try:
            data = pydantic_core.to_json(payload, by_alias=True)
            spec.adapter.validate_json(data)  # what the handler will get: fail now, not then
        except pydantic_core.PydanticSerializationError as exc:
            raise TypeError(
                f"once-job {key!r}: the payload cannot be written as JSON: {exc}"
            ) from None
        except pydantic.ValidationError as exc:
            raise ValueError(
                f"once-job {key!r}: the payload does not validate for handler {spec.name!r}: "
                f"{describe_errors(exc)}"
            ) from None
        text = data.decode()
    record = OnceRecord(handler=spec.name, at=at, payload=text, scheduled_at=clock.time())
    return ONCE.encode(key, record)


def _scheduled(key: str, record: OnceRecord) -> ScheduledJob:
    payload = None if record.payload is None else pydantic_core.from_json(record.payload)
    return ScheduledJob(key=key, at=_datetime(record.at), handler=record.handler, payload=payload)


def _schedule_steps(key: str, data: bytes, replace: bool) -> Steps[None]:
    if len(key) > MAX_ONCE_KEY:
        raise ValueError(f"once-job key {key!r}: at most {MAX_ONCE_KEY} characters")
    store_key = ONCE.store_key(key)
    if replace:
        yield call("kv_set", store_key, data)
        return
    options = PluginKVSetOptions(atomic=True, old_value=b"")
    if not (yield call("kv_set_with_options", store_key, data, options=options)):
        raise JobExistsError(key)


def _get_steps(key: str) -> Steps[ScheduledJob | None]:
    raw = yield call("kv_get", ONCE.store_key(key))
    return None if raw is None else _scheduled(key, ONCE.decode(key, raw))


def _state_steps(name: str) -> Steps[JobState | None]:
    raw = yield call("kv_get", STATES.store_key(name))
    return None if raw is None else STATES.decode(name, raw)


class _JobsBase:
    def __init__(self, plugin: Plugin[Any]) -> None:
        self._owner = type(plugin)
        self._plugin = plugin

    def _prepare(
        self, key: str, at: When, run: Callable[..., Any], payload: object, has_payload: bool
    ) -> tuple[float, bytes]:
        if not isinstance(key, str) or not key:
            raise ValueError(f"a once-job key is a non-empty str, got {key!r}")
        spec = _handler_spec(self._owner, run)
        when = _when(at)
        return when, _record(spec, key, when, payload, has_payload)

    def _notify(self, key: str, at: float | None) -> None:
        from mattermost_plugin._scheduler import notify

        notify(self._plugin, key, at)


_NO_PAYLOAD: Final[Any] = object()


class Jobs(_JobsBase):
    """Once-jobs and job schedules on a ``PluginAPIClient`` (a plugin has one as
    ``self.jobs``)."""

    def __init__(self, api: PluginAPIClient, plugin: Plugin[Any]) -> None:
        super().__init__(plugin)
        self.api = api

    @overload
    def schedule_once(
        self, key: str, *, at: When, run: Callable[[str], object], replace: bool = False
    ) -> None: ...
    @overload
    def schedule_once(
        self,
        key: str,
        *,
        at: When,
        run: Callable[[str, P], object],
        payload: P,
        replace: bool = False,
    ) -> None: ...
    def schedule_once(
        self,
        key: str,
        *,
        at: When,
        run: Callable[..., object],
        payload: Any = _NO_PAYLOAD,
        replace: bool = False,
    ) -> None:
        """Run ``run`` (a ``@once_job`` method) with ``key`` and ``payload`` once, at ``at``
        (a timezone-aware datetime, or a timedelta from now), on one node, also when the
        plugin restarts meanwhile. A pending job with the same key raises
        :class:`JobExistsError`, unless ``replace=True``."""
        when, data = self._prepare(key, at, run, payload, payload is not _NO_PAYLOAD)
        run_sync(_schedule_steps(key, data, replace), self.api)
        self._notify(key, when)

    def cancel(self, key: str) -> bool:
        """Drop the pending once-job ``key``; whether there was one."""
        store_key = ONCE.store_key(key)
        found = self.api.kv_get(store_key) is not None
        self.api.kv_delete(store_key)
        self._notify(key, None)
        return found

    def get(self, key: str) -> ScheduledJob | None:
        """The pending once-job ``key``, or ``None``."""
        return run_sync(_get_steps(key), self.api)

    def pending(self) -> list[ScheduledJob]:
        """Every pending once-job, soonest first (pages through all of the plugin's keys,
        as a collection's ``items()`` does)."""
        records = OnceRecords(self.api, ONCE.name, OnceRecord)
        return sorted((_scheduled(k, r) for k, r in records.items()), key=lambda s: s.at)

    def state(self, name: str) -> JobState | None:
        """The schedule of the ``@job`` named ``name`` (``None`` before its first start)."""
        return run_sync(_state_steps(name), self.api)


class AsyncJobs(_JobsBase):
    """:class:`Jobs` on an ``AsyncPluginAPIClient`` (``self.async_jobs``)."""

    def __init__(self, api: AsyncPluginAPIClient, plugin: Plugin[Any]) -> None:
        super().__init__(plugin)
        self.api = api

    @overload
    async def schedule_once(
        self, key: str, *, at: When, run: Callable[[str], object], replace: bool = False
    ) -> None: ...
    @overload
    async def schedule_once(
        self,
        key: str,
        *,
        at: When,
        run: Callable[[str, P], object],
        payload: P,
        replace: bool = False,
    ) -> None: ...
    async def schedule_once(
        self,
        key: str,
        *,
        at: When,
        run: Callable[..., object],
        payload: Any = _NO_PAYLOAD,
        replace: bool = False,
    ) -> None:
        """:meth:`Jobs.schedule_once`, as a coroutine."""
        when, data = self._prepare(key, at, run, payload, payload is not _NO_PAYLOAD)
        await run_async(_schedule_steps(key, data, replace), self.api)
        self._notify(key, when)

    async def cancel(self, key: str) -> bool:
        """:meth:`Jobs.cancel`, as a coroutine."""
        store_key = ONCE.store_key(key)
        found = await self.api.kv_get(store_key) is not None
        await self.api.kv_delete(store_key)
        self._notify(key, None)
        return found

    async def get(self, key: str) -> ScheduledJob | None:
        """:meth:`Jobs.get`, as a coroutine."""
        return await run_async(_get_steps(key), self.api)

    async def pending(self) -> list[ScheduledJob]:
        """:meth:`Jobs.pending`, as a coroutine."""
        records = AsyncOnceRecords(self.api, ONCE.name, OnceRecord)
        found = [_scheduled(k, r) async for k, r in records.items()]
        return sorted(found, key=lambda s: s.at)

    async def state(self, name: str) -> JobState | None:
        """:meth:`Jobs.state`, as a coroutine."""
        return await run_async(_state_steps(name), self.api)
