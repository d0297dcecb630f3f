"""
Group commit: callbacks that arrive while a commit is running are written together in the next one.

Every request waits for the commit that holds its callback before answering ``200``; one fsync then covers
many callbacks, which is what lets a SQLite file keep up with bursts while staying durable.

The writer is one thread that commits back to back while callbacks are queued: the event loop only queues
them and resolves their futures, and is never on the path from one commit to the next.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from typing import TYPE_CHECKING

from airflow_provider_mavi.bridge.store import WriteResult

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_mavi.bridge.store import CallbackStore, IncomingCallback

log = logging.getLogger(__name__)

_Pending = tuple["IncomingCallback", "asyncio.Future[WriteResult]"]


class BatchWriter:
    """
    A writer thread over any ``CallbackStore``.

    :param store: the store to write to.
    :param on_committed: called in the loop with the results of each committed batch and its commit time.
    :param max_batch: the most callbacks in one transaction.
    """

    def __init__(
        self,
        store: CallbackStore,
        on_committed: Callable[[Sequence[WriteResult], float], None],
        max_batch: int = 500,
    ) -> None:
        self._store = store
        self._on_committed = on_committed
        self._max_batch = max_batch
        self._queue: collections.deque[_Pending] = collections.deque()  # appended by the loop, taken here
        self._queued = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="mavi-bridge-writer", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start the writer thread for the running loop."""
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._loop is None:
            return
        self._stopping = True
        self._queued.set()
        await asyncio.to_thread(self._thread.join)

    async def submit(self, item: IncomingCallback) -> WriteResult:
        """
        Queue a callback and return once it is committed; raises what the store raised.

        :param item: the callback to store.
        """
        assert self._loop is not None, "start() the writer first"
        future: asyncio.Future[WriteResult] = self._loop.create_future()
        self._queue.append((item, future))
        self._queued.set()
        # Not shielded: a caller that goes away cancels only its own future; the callback stays queued, is
        # written all the same, and its result is dropped (see ``_resolve``).
        return await future

    def _work(self) -> None:
        """The writer thread: commit whatever is queued, batch after batch, until stopped."""
        assert self._loop is not None
        while True:
            self._queued.wait()
            self._queued.clear()  # before taking: whatever comes after sets it again
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
                outcome = self._write([item for item, _ in batch])
                committed_at = time.monotonic()
                try:
                    self._loop.call_soon_threadsafe(self._resolve, batch, outcome, committed_at)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return
            if self._stopping:
                return

    def _write(self, items: list[IncomingCallback]) -> list[WriteResult | BaseException] | BaseException:
        """Write a batch; when it fails as a whole, write its callbacks one by one so one cannot sink all."""
        try:
            return list(self._store.write_callbacks(items))
        except Exception as err:
            if len(items) == 1:
                return err
            log.warning(
                "mavi-bridge: a batch of %s callbacks failed (%s); writing them one by one",
                len(items),
                type(err).__name__,
            )
        out: list[WriteResult | BaseException] = []
        for item in items:
            try:
                out.extend(self._store.write_callbacks([item]))
            except Exception as err:
                out.append(err)
        return out

    def _resolve(
        self,
        batch: list[_Pending],
        outcome: list[WriteResult | BaseException] | BaseException,
        committed_at: float,
    ) -> None:
        """In the loop: answer each caller, then tell the app what was committed."""
        results = [outcome] * len(batch) if isinstance(outcome, BaseException) else outcome
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller went away
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        ok = [r for r in results if isinstance(r, WriteResult)]
        if not ok:
            return
        try:
            self._on_committed(ok, committed_at)
        except Exception:
            log.exception("mavi-bridge: after-commit hook failed")
