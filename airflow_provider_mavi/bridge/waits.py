"""In-process long-poll waiters: a callback committed here wakes its waiters at once (asyncio events)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


class Waiter:
    """
    One long-poll waiting for any of ``job_ids``.

    :param job_ids: the ids it waits for.
    """

    __slots__ = ("event", "job_ids", "notified", "notified_at")

    def __init__(self, job_ids: Sequence[str]) -> None:
        self.job_ids = tuple(dict.fromkeys(job_ids))
        self.event = asyncio.Event()
        self.notified_at: float | None = None
        self.notified: set[str] = set()

    def take_notified(self) -> list[str]:
        """Return the ids notified since the last call, and clear the event."""
        ids = list(self.notified)
        self.notified.clear()
        self.event.clear()
        return ids


class WaitHub:
    """Registry of open waiters by job id. Use from the event loop's thread only."""

    def __init__(self) -> None:
        self._by_job: dict[str, set[Waiter]] = {}
        self._any: set[Waiter] = set()
        self._count = 0

    @property
    def open_waits(self) -> int:
        """How many waiters are registered."""
        return self._count

    def waited_ids(self) -> list[str]:
        """Every job id some waiter waits for."""
        return list(self._by_job)

    def register(self, job_ids: Sequence[str]) -> Waiter:
        """
        Add a waiter for ``job_ids``.

        :param job_ids: the ids to wait for.
        """
        waiter = Waiter(job_ids)
        for job_id in waiter.job_ids:
            self._by_job.setdefault(job_id, set()).add(waiter)
        self._count += 1
        return waiter

    def register_any(self) -> Waiter:
        """Add a waiter woken by any callback (a long-poll of the arrival-ordered list)."""
        waiter = Waiter(())
        self._any.add(waiter)
        self._count += 1
        return waiter

    def unregister(self, waiter: Waiter) -> None:
        """
        Remove a waiter.

        :param waiter: what :meth:`register` or :meth:`register_any` returned.
        """
        self._any.discard(waiter)
        for job_id in waiter.job_ids:
            waiters = self._by_job.get(job_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._by_job[job_id]
        self._count -= 1

    def notify(self, job_ids: Iterable[str], at: float | None = None) -> int:
        """
        Wake every waiter of ``job_ids``; return how many were woken.

        :param job_ids: ids whose callback is now stored.
        :param at: ``time.monotonic()`` of the commit or discovery (for the wake latency metric).
        """
        at = time.monotonic() if at is None else at
        woken = 0
        for job_id in job_ids:
            for waiter in (*self._by_job.get(job_id, ()), *self._any):
                waiter.notified.add(job_id)
                if not waiter.event.is_set():
                    waiter.notified_at = at
                    waiter.event.set()
                    woken += 1
        return woken
