"""A mutex across the cluster: ``with self.cluster.mutex("sync"):`` (docs/state.md).

Every node runs its own plugin process; this lock holds across all of them. It lives in the
plugin's KV store under ``_mutex:<name>``, as Go's ``pluginapi/cluster.Mutex`` does:

* **lock**: write a random per-holder token with "only if absent" (an atomic
  ``KVSetWithOptions``) and an expiry of ``lease`` seconds; when another holder has it,
  wait a random, growing pause (the backoff of KV updates) and try again, until
  ``timeout``. ``try_lock()`` tries once.
* **held**: while held, the lease is renewed every ``lease / 3`` seconds (compare-and-set
  from the token to itself with a fresh expiry): from a thread shared by the process for a
  :class:`Mutex`, from a task on the holder's event loop for an :class:`AsyncMutex`.
* **unlock**: compare-and-delete with the token, so a holder never deletes a lock someone
  else took meanwhile.

The lease is what frees the lock of a node that crashed or hangs: nobody renews it, and it
expires. The server counts expiry in whole seconds, so ``lease`` is whole seconds (default
15). The price of a lease: a holder that stops renewing for longer than ``lease`` — its
process paused, its event loop blocked, the server unreachable — **loses the lock**, and
another node may take it while the first still runs its critical section. The holder sees
that: :attr:`Mutex.held` turns ``False`` (the holder counts the lease from when it *sent*
its last successful renewal, so it knows no later than the server), :meth:`Mutex.check`
raises :class:`LockLostError`, and leaving the ``with`` block raises it too (when the block
itself raised nothing). Check before a step that must not run twice, or make the step safe
to repeat (a compare-and-set, an idempotent write).

Renewal is not forever: after ``max_hold`` seconds (default 10 minutes) the lease is no
longer renewed, with an error in the log, so a thread stuck forever inside the block cannot
hold the lock forever. Pass a larger ``max_hold`` (or ``None``) for long critical sections.
Locks are not reentrant, and one :class:`Mutex` object is safe to share between threads
(they take turns in the process first), an :class:`AsyncMutex` between tasks.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Final

from mattermost_plugin._steps import Sleep, Steps, call, run_async, run_sync
from mattermost_plugin.kv import CollectionBase, backoff
from mattermost_plugin.models.api_kv_config import PluginKVSetOptions

if TYPE_CHECKING:
    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_MAX_HOLD",
    "AsyncMutex",
    "LockLostError",
    "LockTimeoutError",
    "Mutex",
    "MutexError",
]

DEFAULT_LEASE: Final = 15
"""Seconds a lock outlives its last renewal."""
DEFAULT_MAX_HOLD: Final = 600.0
"""Seconds after which a held lock is no longer renewed."""

_log = logging.getLogger("mattermost_plugin.cluster")

Seconds = float | timedelta


class _Default(enum.Enum):
    TIMEOUT = "the timeout given to the mutex"


_DEFAULT: Final = _Default.TIMEOUT


class MutexError(Exception):
    """A cluster mutex problem; ``name`` is the mutex."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


class LockTimeoutError(MutexError, TimeoutError):
    """The lock was not acquired within ``timeout`` seconds."""

    def __init__(self, message: str, *, name: str, timeout: float) -> None:
        super().__init__(message, name=name)
        self.timeout = timeout


class LockLostError(MutexError):
    """The lease ran out while the lock was held: another node may have taken it, so the
    critical section may have overlapped with another holder's."""


class LockKeys(CollectionBase[bytes]):
    """KV keys of the SDK's locks: checked like collection keys (length, no NUL)."""

    _sdk_namespace: ClassVar[bool] = True

    def __init__(self, name: str) -> None:
        super().__init__(name, bytes)


_MUTEX_KEYS = LockKeys("_mutex")


def lease_seconds(lease: Seconds) -> int:
    """``lease`` as the whole seconds the server counts expiry in (at least 1)."""
    seconds = lease.total_seconds() if isinstance(lease, timedelta) else lease
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"lease: give seconds or a timedelta, not {type(lease).__name__}")
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(
            f"lease must be whole seconds, at least 1 (the server counts KV expiry in whole "
            f"seconds), got {lease!r}"
        )
    return int(seconds)


def optional_seconds(value: Seconds | None, what: str) -> float | None:
    """A non-negative duration in seconds, or ``None``."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"{what}: give seconds, a timedelta or None, not {type(value).__name__}")
    if seconds < 0:
        raise ValueError(f"{what} must not be negative, got {value!r}")
    return float(seconds)


_HOST = socket.gethostname()


def _new_token() -> bytes:
    # Random so that only this holder matches it; where it came from, for whoever reads it.
    return f"{secrets.token_hex(16)} {_HOST}:{os.getpid()}".encode()


def _options(lease: int, old_value: bytes) -> PluginKVSetOptions:
    # An empty old_value with atomic means "only if absent" (Go's nil).
    return PluginKVSetOptions(atomic=True, old_value=old_value, expire_in_seconds=lease)


def _acquire_steps(
    key: str, token: bytes, lease: int, deadline: float | None
) -> Steps[float | None]:
    """Try to write the token until it sticks or ``deadline`` (monotonic) passed: the
    monotonic time the winning request was sent (the lease counts from no earlier), or
    ``None``. A deadline already past still tries once."""
    attempt = 0
    while True:
        sent = time.monotonic()
        if (yield call("kv_set_with_options", key, token, options=_options(lease, b""))):
            return sent
        pause = backoff(attempt)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            pause = min(pause, left)
        yield Sleep(pause)
        attempt += 1


class _Hold:
    """One acquisition: the token, and until when (monotonic) the lease surely holds."""

    __slots__ = ("acquired_at", "lost", "refresh_until", "token", "valid_until")

    def __init__(self, token: bytes, sent: float, lease: int, max_hold: float | None) -> None:
        self.token = token
        self.acquired_at = sent
        self.valid_until = sent + lease
        self.refresh_until = None if max_hold is None else sent + max_hold
        self.lost = False

    def valid(self) -> bool:
        return not self.lost and time.monotonic() < self.valid_until


class _MutexBase:
    """What both mutexes share: the options, the hold, what the holder can see."""

    def __init__(
        self,
        name: str,
        *,
        lease: Seconds,
        timeout: Seconds | None,
        max_hold: Seconds | None,
        key: str | None,
    ) -> None:
        self.key = _MUTEX_KEYS.store_key(name) if key is None else key
        self.name = name
        self.lease = lease_seconds(lease)
        self.timeout = optional_seconds(timeout, "timeout")
        self.max_hold = optional_seconds(max_hold, "max_hold")
        self.refresh_interval = self.lease / 3
        self._hold: _Hold | None = None
        self._last_lost = False
        self._on_lost: Callable[[], None] | None = None

    def __repr__(self) -> str:
        state = "held" if self.held else "lost" if self.lost else "free"
        return f"<{type(self).__name__} {self.name!r} {state}, lease {self.lease} s>"

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now, its lease surely still running."""
        hold = self._hold
        return hold is not None and hold.valid()

    @property
    def lost(self) -> bool:
        """Whether the lease ran out (or was taken) during the current or the last hold."""
        hold = self._hold
        return self._last_lost if hold is None else not hold.valid()

    def check(self) -> None:
        """Raise :class:`LockLostError` unless the lock is held with its lease running."""
        if not self.held:
            why = "its lease ran out" if self.lost else "it is not locked"
            raise LockLostError(f"cluster mutex {self.name!r} is not held: {why}", name=self.name)

    def _timeout(self, timeout: Seconds | _Default | None) -> float | None:
        if isinstance(timeout, _Default):
            return self.timeout
        return optional_seconds(timeout, "timeout")

    def _timed_out(self, seconds: float | None) -> LockTimeoutError:
        assert seconds is not None  # waiting for ever never times out
        return LockTimeoutError(
            f"cluster mutex {self.name!r}: not acquired within {seconds:g} s",
            name=self.name,
            timeout=seconds,
        )

    def _refreshed(self, hold: _Hold, sent: float, ok: bool | None) -> bool:
        """Record a renewal's outcome (``None``: the call failed); whether to go on."""
        if hold is not self._hold:
            return False  # unlocked meanwhile
        if ok:
            hold.valid_until = sent + self.lease
        elif ok is False:  # the token is gone: expired, maybe taken
            hold.lost = True
        if hold.valid():
            if hold.refresh_until is not None and time.monotonic() >= hold.refresh_until:
                _log.error(
                    "cluster mutex %r held for more than %g s (max_hold): no longer renewing "
                    "its lease; it runs out within %d s and another node may take the lock",
                    self.name,
                    self.max_hold,
                    self.lease,
                    extra={"mutex": self.name},
                )
                return False
            return True
        hold.lost = True
        _log.error(
            "cluster mutex %r: the lease ran out while held; another node may hold it now",
            self.name,
            extra={"mutex": self.name},
        )
        if self._on_lost is not None:
            self._on_lost()
        return False

    def _released(self, hold: _Hold, deleted: bool | None) -> bool:
        """After unlock: whether the lock had been lost."""
        lost = hold.lost or deleted is False or time.monotonic() >= hold.valid_until
        if lost:
            _log.warning(
                "cluster mutex %r was unlocked after its lease ran out",
                self.name,
                extra={"mutex": self.name},
            )
        self._last_lost = lost
        return lost

    def _lost_error(self) -> LockLostError:
        return LockLostError(
            f"cluster mutex {self.name!r}: the lease ran out while the block ran; another "
            "node may have held the lock at the same time",
            name=self.name,
        )


class Mutex(_MutexBase):
    """A cluster-wide lock on a ``PluginAPIClient`` (a plugin gets one from
    ``self.cluster.mutex(name)``). See the module doc."""

    def __init__(
        self,
        api: PluginAPIClient,
        name: str,
        *,
        lease: Seconds = DEFAULT_LEASE,
        timeout: Seconds | None = None,
        max_hold: Seconds | None = DEFAULT_MAX_HOLD,
        key: str | None = None,
    ) -> None:
        super().__init__(name, lease=lease, timeout=timeout, max_hold=max_hold, key=key)
        self.api = api
        self._local = threading.Lock()
        self._owner: int | None = None

    def lock(self, timeout: Seconds | _Default | None = _DEFAULT) -> None:
        """Wait for the lock: at most ``timeout`` seconds (default: the mutex's; ``None``
        waits for ever), then :class:`LockTimeoutError`."""
        seconds = self._timeout(timeout)
        if not self._lock(None if seconds is None else time.monotonic() + seconds):
            raise self._timed_out(seconds)

    def try_lock(self) -> bool:
        """Take the lock if it is free now (one attempt); whether it was taken."""
        return self._lock(time.monotonic())

    def _lock(self, deadline: float | None) -> bool:
        if self._owner == threading.get_ident():
            raise RuntimeError(f"cluster mutex {self.name!r} is already held by this thread")
        wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._local.acquire(timeout=wait):
            return False
        try:
            token = _new_token()
            steps = _acquire_steps(self.key, token, self.lease, deadline)
            sent = run_sync(steps, self.api)
        except BaseException:
            self._local.release()
            raise
        if sent is None:
            self._local.release()
            return False
        self._owner = threading.get_ident()
        self._hold = hold = _Hold(token, sent, self.lease, self.max_hold)
        _REFRESHER.schedule(self, hold, sent + self.refresh_interval)
        return True

    def unlock(self) -> None:
        """Release the lock (compare-and-delete: a lock someone else took meanwhile stays
        theirs). Raises ``RuntimeError`` when this object does not hold it."""
        hold = self._hold
        if hold is None:
            raise RuntimeError(f"cluster mutex {self.name!r} is not locked")
        self._hold = None  # the refresher sees it is gone
        self._owner = None
        _REFRESHER.cancel(self, hold)
        try:
            deleted = self.api.kv_compare_and_delete(self.key, hold.token)
        except Exception as exc:
            # The lease frees it soon; the holder's work is done and must not fail for this.
            _log.warning(
                "cluster mutex %r: unlock failed (%s); the lock frees itself within %d s",
                self.name,
                exc,
                self.lease,
                extra={"mutex": self.name},
            )
            deleted = None
        finally:
            self._local.release()
        self._released(hold, deleted)

    def _refresh(self, hold: _Hold) -> float | None:
        """Renew the lease once (from the refresher thread); when to renew next."""
        if hold is not self._hold:
            return None
        sent = time.monotonic()
        ok: bool | None
        try:
            ok = self.api.kv_set_with_options(
                self.key,
                hold.token,
                options=_options(self.lease, hold.token),
                timeout=self.refresh_interval,
            )
        except Exception:
            ok = None  # retried next time, while the lease lasts
        if not self._refreshed(hold, sent, ok):
            return None
        return time.monotonic() + (self.refresh_interval if ok else self.refresh_interval / 3)

    def __enter__(self) -> Mutex:
        self.lock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlock()
        if exc_type is None and self._last_lost:
            raise self._lost_error()


class _Refresher:
    """One daemon thread renewing the leases of every :class:`Mutex` this process holds."""

    def __init__(self) -> None:
        self._due: dict[tuple[Mutex, _Hold], float] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wakes_at = math.inf  # when the thread looks next on its own

    def schedule(self, mutex: Mutex, hold: _Hold, at: float) -> None:
        with self._changed:
            self._due[(mutex, hold)] = at
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mattermost-mutex-refresher", daemon=True
                )
                self._thread.start()
            if at < self._wakes_at:  # waking a thread costs more than the lock itself
                self._changed.notify()

    def cancel(self, mutex: Mutex, hold: _Hold) -> None:
        with self._changed:
            self._due.pop((mutex, hold), None)

    def _run(self) -> None:
        while True:
            with self._changed:
                while True:
                    if not self._due:
                        self._wakes_at = math.inf
                        self._changed.wait()
                        continue
                    entry, at = min(self._due.items(), key=lambda item: item[1])
                    wait = at - time.monotonic()
                    if wait <= 0:
                        del self._due[entry]
                        break
                    self._wakes_at = at
                    self._changed.wait(wait)
            mutex, hold = entry
            try:
                following = mutex._refresh(hold)
            except Exception:  # never let one lock stop the renewal of the others
                _log.exception("cluster mutex %r: renewing the lease failed", mutex.name)
                following = time.monotonic() + mutex.refresh_interval / 3
            if following is not None:
                with self._changed:
                    self._due[entry] = following


_REFRESHER = _Refresher()


class AsyncMutex(_MutexBase):
    """:class:`Mutex` on an ``AsyncPluginAPIClient`` (``self.async_cluster.mutex(name)``):
    ``async with``, and coroutines. The lease is renewed by a task on the holder's event
    loop, so a loop that stops running (blocked by a long call) lets it run out."""

    def __init__(
        self,
        api: AsyncPluginAPIClient,
        name: str,
        *,
        lease: Seconds = DEFAULT_LEASE,
        timeout: Seconds | None = None,
        max_hold: Seconds | None = DEFAULT_MAX_HOLD,
        key: str | None = None,
    ) -> None:
        super().__init__(name, lease=lease, timeout=timeout, max_hold=max_hold, key=key)
        self.api = api
        self._local: asyncio.Lock | None = None
        self._owner: asyncio.Task[object] | None = None
        self._renewer: asyncio.Task[None] | None = None

    async def lock(self, timeout: Seconds | _Default | None = _DEFAULT) -> None:
        """:meth:`Mutex.lock`, as a coroutine."""
        seconds = self._timeout(timeout)
        if not await self._lock(None if seconds is None else time.monotonic() + seconds):
            raise self._timed_out(seconds)

    async def try_lock(self) -> bool:
        """:meth:`Mutex.try_lock`, as a coroutine."""
        return await self._lock(time.monotonic())

    async def _lock(self, deadline: float | None) -> bool:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            raise RuntimeError(f"cluster mutex {self.name!r} is already held by this task")
        if self._local is None:
            self._local = asyncio.Lock()
        local = self._local
        if deadline is None or not local.locked():
            await local.acquire()  # at once when it is free
        elif deadline <= time.monotonic():
            return False
        else:
            try:
                await asyncio.wait_for(local.acquire(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return False
        try:
            token = _new_token()
            sent = await run_async(_acquire_steps(self.key, token, self.lease, deadline), self.api)
        except BaseException:
            local.release()
            raise
        if sent is None:
            local.release()
            return False
        self._owner = task
        self._hold = hold = _Hold(token, sent, self.lease, self.max_hold)
        self._renewer = asyncio.ensure_future(self._renew(hold))
        return True

    async def unlock(self) -> None:
        """:meth:`Mutex.unlock`, as a coroutine."""
        hold = self._hold
        if hold is None or self._local is None:
            raise RuntimeError(f"cluster mutex {self.name!r} is not locked")
        self._hold, self._owner = None, None
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
        try:
            deleted: bool | None = await self.api.kv_compare_and_delete(self.key, hold.token)
        except Exception as exc:
            _log.warning(
                "cluster mutex %r: unlock failed (%s); the lock frees itself within %d s",
                self.name,
                exc,
                self.lease,
                extra={"mutex": self.name},
            )
            deleted = None
        finally:
            self._local.release()
        self._released(hold, deleted)

    def abandon(self) -> None:
        """Stop renewing the lease and forget the lock without deleting it: it frees itself
        within ``lease`` seconds. For a holder whose work goes on where it cannot be stopped
        (a thread that overran its time): unlocking would let the next holder in at once."""
        hold = self._hold
        if hold is None or self._local is None:
            raise RuntimeError(f"cluster mutex {self.name!r} is not locked")
        self._hold, self._owner = None, None
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
        self._local.release()
        self._last_lost = hold.lost

    async def _renew(self, hold: _Hold) -> None:
        pause = self.refresh_interval
        while True:
            await asyncio.sleep(pause)
            sent = time.monotonic()
            ok: bool | None
            try:
                ok = await self.api.kv_set_with_options(
                    self.key,
                    hold.token,
                    options=_options(self.lease, hold.token),
                    timeout=self.refresh_interval,
                )
            except Exception:
                ok = None
            if not self._refreshed(hold, sent, ok):
                return
            pause = self.refresh_interval if ok else self.refresh_interval / 3

    async def __aenter__(self) -> AsyncMutex:
        await self.lock()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.unlock()
        if exc_type is None and self._last_lost:
            raise self._lost_error()
