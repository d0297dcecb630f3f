"""
A batch of callbacks as set-based writes: one row per distinct body and one per job, whatever the batch holds.

The group-commit writer hands a store up to a few hundred callbacks at once. Writing them one statement per
callback cost more than the commit itself (one round trip each on PostgreSQL), so a store writes the rows of
a :class:`BatchPlan` in a statement or two per table, each row adding its number of POSTs to the stored
counters (``count = count + excluded.count``) and returning the new totals. The totals then give each
callback its own answer, exactly as if they had been written one after another: the ``k`` POSTs of a body in
the batch are the last ``k`` of its total. Pure: no database here, shared by every store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from airflow_provider_mavi.bridge.store.protocol import StoreError
from airflow_provider_mavi.bridge.store.records import IncomingCallback, WriteResult

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class DeliveryRow(NamedTuple):
    """A ``mavi_bridge_deliveries`` row to upsert (columns in table order; ``posts`` goes to ``count``)."""

    job_id: str
    body_sha256: str
    received_at: float
    last_received_at: float
    posts: int
    terminal: bool
    payload: bytes


class CallbackRow(NamedTuple):
    """A ``mavi_bridge_callbacks`` row to upsert (columns in table order)."""

    job_id: str
    received_at: float
    updated_at: float
    deliveries: int
    terminal: bool
    payload: bytes


class _Group:
    """The callbacks of one body, or of one job, within a batch."""

    __slots__ = ("first", "last", "size", "terminal")

    def __init__(self, item: IncomingCallback) -> None:
        self.first = self.last = item
        self.size = 0
        self.terminal: IncomingCallback | None = None

    def add(self, item: IncomingCallback) -> int:
        """Add ``item``; return its position in the group."""
        self.last = item
        if self.terminal is None and item.terminal:
            self.terminal = item
        self.size += 1
        return self.size - 1


class BatchPlan:
    """
    Group a batch by body and by job, in arrival order.

    :param items: the callbacks to write, in arrival order.
    """

    def __init__(self, items: Sequence[IncomingCallback]) -> None:
        self._bodies: dict[tuple[str, str], _Group] = {}
        self._jobs: dict[str, _Group] = {}
        # per callback: its body key, its job, and its position among the batch's POSTs of each
        self._places: list[tuple[tuple[str, str], int, str, int]] = []
        for item in items:
            key = (item.job_id, item.body_sha256)
            body = self._bodies.get(key) or self._bodies.setdefault(key, _Group(item))
            job = self._jobs.get(item.job_id) or self._jobs.setdefault(item.job_id, _Group(item))
            self._places.append((key, body.add(item), item.job_id, job.add(item)))

    @property
    def job_ids(self) -> list[str]:
        """Each job of the batch once, in arrival order."""
        return list(self._jobs)

    def delivery_rows(self) -> list[DeliveryRow]:
        """One row per distinct (job, body): first and last time seen, and how many POSTs carried it."""
        return [
            DeliveryRow(
                g.first.job_id,
                g.first.body_sha256,
                g.first.received_at,
                g.last.received_at,
                g.size,
                g.first.terminal,
                g.first.payload,
            )
            for g in self._bodies.values()
        ]

    def callback_rows(self) -> list[CallbackRow]:
        """
        One row per job, in arrival order: the body readers should get from this batch (its first terminal
        one, else its first) and how many POSTs came. The upsert keeps a stored terminal body over it, and
        replaces a stored progress body with it when it is terminal.
        """
        rows = []
        for g in self._jobs.values():
            chosen = g.terminal or g.first
            rows.append(
                CallbackRow(
                    g.first.job_id,
                    g.first.received_at,
                    g.last.received_at,
                    g.size,
                    chosen.terminal,
                    chosen.payload,
                )
            )
        return rows

    def results(
        self, body_totals: Mapping[tuple[str, str], int], job_totals: Mapping[str, int]
    ) -> list[WriteResult]:
        """
        Each callback's answer, in arrival order, from the totals the store returned after its upserts.

        :param body_totals: ``count`` per (job id, body hash) after the write.
        :param job_totals: ``deliveries`` per job id after the write.
        """
        missing = next((key for key in self._bodies if key not in body_totals), None)
        if missing is not None:
            raise StoreError(f"the store returned no count for a body of job {missing[0]}")
        lost = next((job for job in self._jobs if job not in job_totals), None)
        if lost is not None:
            raise StoreError(f"the store returned no record for job {lost}")
        bodies, jobs = self._bodies, self._jobs
        return [
            WriteResult(
                job_id,
                duplicate=body_totals[key] - bodies[key].size + body_place > 0,
                deliveries=job_totals[job_id] - jobs[job_id].size + 1 + job_place,
            )
            for key, body_place, job_id, job_place in self._places
        ]
