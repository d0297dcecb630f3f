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


class BatchPlan:
    """
    Group a batch by body and by job, in arrival order.

    :param items: the callbacks to write, in arrival order.
    """

    def __init__(self, items: Sequence[IncomingCallback]) -> None:
        self.items = list(items)
        self._bodies: dict[tuple[str, str], list[int]] = {}
        self._jobs: dict[str, list[int]] = {}
        for index, item in enumerate(self.items):
            self._bodies.setdefault((item.job_id, item.body_sha256), []).append(index)
            self._jobs.setdefault(item.job_id, []).append(index)

    @property
    def job_ids(self) -> list[str]:
        """Each job of the batch once, in arrival order."""
        return list(self._jobs)

    def delivery_rows(self) -> list[DeliveryRow]:
        """One row per distinct (job, body): first and last time seen, and how many POSTs carried it."""
        rows = []
        for indexes in self._bodies.values():
            first, last = self.items[indexes[0]], self.items[indexes[-1]]
            rows.append(
                DeliveryRow(
                    first.job_id,
                    first.body_sha256,
                    first.received_at,
                    last.received_at,
                    len(indexes),
                    first.terminal,
                    first.payload,
                )
            )
        return rows

    def callback_rows(self) -> list[CallbackRow]:
        """
        One row per job, in arrival order: the body readers should get from this batch (its first terminal
        one, else its first) and how many POSTs came. The upsert keeps a stored terminal body over it, and
        replaces a stored progress body with it when it is terminal.
        """
        rows = []
        for indexes in self._jobs.values():
            batch = [self.items[i] for i in indexes]
            chosen = next((item for item in batch if item.terminal), batch[0])
            rows.append(
                CallbackRow(
                    batch[0].job_id,
                    batch[0].received_at,
                    batch[-1].received_at,
                    len(batch),
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
        counts: dict[int, int] = {}
        for key, indexes in self._bodies.items():
            if key not in body_totals:
                raise StoreError(f"the store returned no count for a body of job {key[0]}")
            for position, index in enumerate(indexes):
                counts[index] = body_totals[key] - len(indexes) + 1 + position
        answers: dict[int, WriteResult] = {}
        for job_id, indexes in self._jobs.items():
            if job_id not in job_totals:
                raise StoreError(f"the store returned no record for job {job_id}")
            for position, index in enumerate(indexes):
                deliveries = job_totals[job_id] - len(indexes) + 1 + position
                answers[index] = WriteResult(job_id, duplicate=counts[index] > 1, deliveries=deliveries)
        return [answers[index] for index in range(len(self.items))]
