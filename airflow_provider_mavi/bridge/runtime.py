"""
The bridge's ``Runtime``: everything that lives in the event loop beside the routes (the store and its read
threads, the group-commit writer, the waiters, the relay, the store poll and the store's push of callbacks
other replicas stored). It knows the store only through the ``CallbackStore`` protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_mavi.bridge.metrics import BridgeMetrics
from airflow_provider_mavi.bridge.relay import Relay
from airflow_provider_mavi.bridge.store import open_store
from airflow_provider_mavi.bridge.waits import WaitHub
from airflow_provider_mavi.bridge.writer import BatchWriter

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_mavi.bridge.settings import BridgeSettings
    from airflow_provider_mavi.bridge.store import CallbackStore, StoredCallback, StoreWatch, WriteResult

log = logging.getLogger("airflow_provider_mavi.bridge")

T = TypeVar("T")


class Runtime:
    """
    The app's store, writer, waiters and background tasks.

    Started by the app's lifespan under ``mavi-bridge serve``, or lazily on the first request when mounted in
    another app (Starlette does not run a mounted app's lifespan).

    :param settings: the checked settings.
    :param opener: opens the store named by ``settings.db_url`` (``open_store``; tests may pass another).
    """

    def __init__(self, settings: BridgeSettings, opener: Callable[[str], CallbackStore] = open_store) -> None:
        self.settings = settings
        self.hub = WaitHub()
        self.metrics = BridgeMetrics(lambda: self.hub.open_waits)
        self.store: CallbackStore | None = None
        self.writer: BatchWriter | None = None
        self.relay: Relay | None = None
        self.watch: StoreWatch | None = None
        self._opener = opener
        self._reads: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock: asyncio.Lock | None = None
        self.started = False

    async def ensure_started(self) -> None:
        """Open the store, create or migrate its tables and start the background tasks (idempotent)."""
        if self.started:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.started:
                return
            loop = asyncio.get_running_loop()
            store = self._opener(self.settings.db_url)
            reads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="mavi-bridge-read")
            try:
                await loop.run_in_executor(reads, store.ensure_schema)
            except BaseException:
                reads.shutdown(wait=False)
                store.close()
                raise
            self.store, self._reads = store, reads
            self.writer = BatchWriter(store, self._committed)
            self.writer.start()
            self.relay = Relay(self.settings.relay_urls, self.metrics)
            self.relay.start()
            self._tasks.append(loop.create_task(self._poll_other_replicas(), name="mavi-bridge-poller"))
            hub = self.hub

            def on_ids(ids: list[str]) -> None:  # in the store's listening thread
                loop.call_soon_threadsafe(hub.notify, ids)

            self.watch = store.watch(on_ids)
            if self.settings.retention_seconds:
                self._tasks.append(loop.create_task(self._purge_periodically(), name="mavi-bridge-purge"))
            self.started = True
            log.info("mavi-bridge: store ready (%s)", store.backend)

    async def stop(self) -> None:
        """Stop the background tasks and close the store."""
        if not self.started:
            return
        if self.watch is not None:
            self.watch.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.writer is not None:
            await self.writer.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self._reads is not None:
            self._reads.shutdown(wait=False)
        if self.store is not None:
            self.store.close()
        self.started = False

    async def read(self, func: Callable[..., T], *args: Any) -> T:
        """
        Run a blocking store call in the read threads.

        :param func: the store method.
        :param args: its arguments.
        """
        return await asyncio.get_running_loop().run_in_executor(self._reads, func, *args)

    def _committed(self, results: Sequence[WriteResult], at: float) -> None:
        self.metrics.batch_size.observe(len(results))
        self.hub.notify((r.job_id for r in results), at)

    async def _poll_other_replicas(self) -> None:
        """Wake waiters whose callback another replica (or process) stored: one cheap query per interval."""
        assert self.store is not None
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            waited = self.hub.waited_ids()
            if not waited:
                continue
            try:
                found = await self.read(self.store.present, waited)
            except Exception as err:
                log.warning("mavi-bridge: store poll failed (%s)", type(err).__name__)
                continue
            if found:
                self.hub.notify(found)

    async def _purge_periodically(self) -> None:
        assert self.store is not None
        assert self.settings.retention_seconds
        while True:
            try:
                counts = await self.read(self.store.purge, time.time() - self.settings.retention_seconds)
                log.info("mavi-bridge: retention purge removed %s", counts)
            except Exception as err:
                log.warning("mavi-bridge: retention purge failed (%s)", type(err).__name__)
            await asyncio.sleep(3600)

    async def wait_for_list(
        self, after: int, limit: int, wait: float, disconnected: asyncio.Event | None = None
    ) -> tuple[list[StoredCallback], int]:
        """
        Return the list's page after ``after``, waiting up to ``wait`` seconds for it not to be empty.

        A callback committed here wakes the wait at once; one stored by another replica (PostgreSQL's push,
        or the next look) within ``poll_interval``. The list is read again on every wake and every
        ``poll_interval``, so a PostgreSQL callback still settling (``list_settle_seconds``) shows as soon
        as it may.

        :param after: the cursor of the last record already seen.
        :param limit: the most records to return.
        :param wait: seconds to wait when the page is empty (already capped).
        :param disconnected: set when the client went away; the wait then ends early.
        """
        assert self.store is not None
        store = self.store
        records, cursor = await self.read(store.list_callbacks, after, limit)
        if records or wait <= 0:
            return records, cursor
        waiter = self.hub.register_any()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        try:
            while not records:
                remaining = deadline - loop.time()
                if remaining <= 0 or (disconnected is not None and disconnected.is_set()):
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(waiter.event.wait(), min(remaining, self.settings.poll_interval))
                waiter.take_notified()
                records, cursor = await self.read(store.list_callbacks, after, limit)
        finally:
            self.hub.unregister(waiter)
        return records, cursor

    async def wait_for_records(
        self, job_ids: Sequence[str], wait: float, disconnected: asyncio.Event | None = None
    ) -> list[StoredCallback]:
        """
        Return the stored records among ``job_ids``, waiting up to ``wait`` seconds for at least one.

        :param job_ids: the ids to look for.
        :param wait: seconds to wait when none is there yet (already capped).
        :param disconnected: set when the client went away; the wait then ends early.
        """
        assert self.store is not None
        if wait <= 0:
            return await self.read(self.store.get_callbacks, job_ids)
        waiter = self.hub.register(job_ids)
        relay_disconnect: asyncio.Task[None] | None = None
        if disconnected is not None:

            async def wake_on_disconnect() -> None:
                await disconnected.wait()
                waiter.event.set()

            relay_disconnect = asyncio.get_running_loop().create_task(wake_on_disconnect())
        try:
            records = await self.read(self.store.get_callbacks, job_ids)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait
            while not records:
                remaining = deadline - loop.time()
                if remaining <= 0 or (disconnected is not None and disconnected.is_set()):
                    return []
                try:
                    await asyncio.wait_for(waiter.event.wait(), remaining)
                except asyncio.TimeoutError:
                    return []
                notified = waiter.take_notified()
                if disconnected is not None and disconnected.is_set():
                    return []
                # only the ids that were notified can have changed since the full check
                records = await self.read(self.store.get_callbacks, notified)
                if records and waiter.notified_at is not None:
                    self.metrics.wake_latency.observe(time.monotonic() - waiter.notified_at)
            return records
        finally:
            if relay_disconnect is not None:
                relay_disconnect.cancel()
            self.hub.unregister(waiter)
