"""
``CallbackStore``: every operation the bridge service needs from its durable inbox.

The app (``Runtime``), the group-commit writer and the CLI use only this protocol; ``open_store(db_url)``
picks the implementation from the URL (``sqlite.py``, ``postgres.py``). Methods block: the app runs them in
threads. A method may raise anything its driver raises when the database is unreachable; the callers turn
that into a ``503`` or a log line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_mavi.bridge.store.records import (
        IncomingCallback,
        JobSubmission,
        PurgeCounts,
        ReceivedCallback,
        SpendRow,
        StoredCallback,
        StoredConsumer,
        StoredDelivery,
        StoredJob,
        WriteResult,
    )


class StoreError(RuntimeError):
    """The store cannot be used (unsupported URL, unreachable, or written by a newer bridge)."""


class StoreWatch(Protocol):
    """A running subscription to callbacks stored by other processes (see :meth:`CallbackStore.watch`)."""

    def stop(self) -> None:
        """Stop delivering ids (within about a second)."""


class CallbackStore(Protocol):
    """The bridge's durable inbox: callbacks as Mavi posted them, and the jobs operators recorded."""

    @property
    def backend(self) -> str:
        """A short name for logs (``sqlite``, ``postgresql``)."""

    def ensure_schema(self) -> None:
        """
        Create the tables when missing, migrate an older schema, refuse a newer one (``StoreError``).

        Safe when several replicas start at once on one database.
        """

    def ping(self) -> None:
        """Run a trivial query; raises when the store is unreachable."""

    def close(self) -> None:
        """Close every pooled connection."""

    # -- callbacks --------------------------------------------------------------------------------------

    def write_callbacks(self, items: Sequence[IncomingCallback]) -> list[WriteResult]:
        """
        Store a batch in one transaction; return what happened to each, in order, once it is committed.

        :param items: the callbacks, in arrival order (one job may come several times).
        """

    def get_callbacks(self, job_ids: Sequence[str]) -> list[StoredCallback]:
        """
        Return the records present among ``job_ids`` (any number), in arrival order.

        :param job_ids: Mavi's job ids.
        """

    def present(self, job_ids: Sequence[str]) -> set[str]:
        """
        Return which of ``job_ids`` (any number) have a stored callback: the cheap check of the store poll.

        :param job_ids: Mavi's job ids.
        """

    def list_callbacks(self, after: int, limit: int) -> tuple[list[StoredCallback], int]:
        """
        Return up to ``limit`` records after cursor ``after`` in arrival order, and the next cursor.

        A record shows only once no record with a lower cursor can still appear (see the PostgreSQL store).

        :param after: the cursor of the last record already seen (0 for the start).
        :param limit: the most records to return.
        """

    def get_deliveries(self, job_id: str) -> list[StoredDelivery]:
        """
        Return every distinct body stored for a job, first first.

        :param job_id: Mavi's job id.
        """

    def job_kinds(self, job_ids: Sequence[str]) -> dict[str, str]:
        """
        Return the recorded ``kind`` of each of ``job_ids`` that has a job record (the others are left out).

        :param job_ids: Mavi's job ids.
        """

    def watch(self, on_ids: Callable[[list[str]], None]) -> StoreWatch | None:
        """
        Start pushing the ids of callbacks that other processes store; ``None`` when the backend cannot push
        (then the app's store poll is the only path between processes).

        :param on_ids: called, from another thread, with the job ids of each notification.
        """

    # -- jobs -------------------------------------------------------------------------------------------

    def put_job(self, job: JobSubmission) -> StoredJob:
        """
        Record a submitted job (idempotent: a repeat updates its fields and keeps the first time).

        :param job: the job and what the operator knows of it.
        """

    def get_job(self, job_id: str) -> StoredJob | None:
        """
        Return a recorded job, or ``None``.

        :param job_id: Mavi's job id.
        """

    def find_jobs(self, key: str, limit: int = 100) -> list[StoredJob]:
        """
        Return the jobs recorded under ``key``, newest first.

        :param key: the caller's idempotency key.
        :param limit: the most jobs to return.
        """

    def abandon_job(self, job_id: str) -> StoredJob | None:
        """
        Mark a job as no longer waited for; ``None`` when the job is unknown.

        :param job_id: Mavi's job id.
        """

    def record_cost(self, job_id: str, cost_usd: float | None) -> StoredJob | None:
        """
        Record a job's price once its task knows it; ``None`` when the job is unknown.

        :param job_id: Mavi's job id.
        :param cost_usd: the price in dollars, None when it cannot be known.
        """

    # -- the Mavi page (reads only) -------------------------------------------------------------------

    def waiting_jobs(self, limit: int) -> list[StoredJob]:
        """
        Return jobs still waited for (no callback stored, not abandoned), nearest deadline first.

        :param limit: the most jobs to return.
        """

    def received_callbacks(self, limit: int, *, unclaimed: bool = False) -> list[ReceivedCallback]:
        """
        Return the latest callbacks, newest first, each with the job recorded for it.

        :param limit: the most callbacks to return.
        :param unclaimed: only callbacks for which no job is recorded (no task waits for them).
        """

    def spend(self, since: float) -> list[SpendRow]:
        """
        Return the jobs recorded since ``since`` and their recorded prices, per UTC day and DAG.

        :param since: epoch seconds.
        """

    def count_callbacks(self, since: float) -> int:
        """
        Return how many jobs' callbacks were first received since ``since`` (every replica's).

        :param since: epoch seconds.
        """

    # -- consumers (event triggers' positions in the list) ------------------------------------------------

    def get_consumer(self, name: str) -> StoredConsumer | None:
        """
        Return a consumer and its cursor, or ``None``.

        :param name: the consumer's name.
        """

    def start_consumer(self, name: str, at_end: bool) -> StoredConsumer:
        """
        Return a consumer, creating it first when missing (at the list's end, or its start); an existing one
        is returned unchanged.

        :param name: the consumer's name.
        :param at_end: create it after every callback the list can show so far.
        """

    def advance_consumer(self, name: str, cursor: int) -> StoredConsumer:
        """
        Move a consumer forward to ``cursor``, never back; a missing one is created there.

        :param name: the consumer's name.
        :param cursor: the list cursor of the last callback it has processed.
        """

    # -- retention --------------------------------------------------------------------------------------

    def purge(self, older_than: float) -> PurgeCounts:
        """
        Delete callbacks (with their deliveries) and jobs last touched before ``older_than``.

        :param older_than: epoch seconds.
        """
