"""
Group commit: callbacks that arrive while a commit is running are written together in the next one.

Every request waits for the commit that holds its callback before answering ``200``; one fsync then covers
many callbacks, which is what lets a SQLite file keep up with bursts while staying durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from airflow_provider_mavi.bridge.store import WriteResult

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_mavi.bridge.store import CallbackStore, IncomingCallback

log = logging.getLogger(__name__)


class BatchWriter:
    """
    Single writer task over a one-thread executor.

    :param store: the store to write to (any ``CallbackStore``).
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
        self._pending: list[tuple[IncomingCallback, asyncio.Future[WriteResult]]] = []
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mavi-bridge-writer")
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start the writer task in the running loop."""
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="mavi-bridge-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def submit(self, item: IncomingCallback) -> WriteResult:
        """
        Queue a callback and return once it is committed; raises what the store raised.

        :param item: the callback to store.
        """
        assert self._loop is not None, "start() the writer first"
        future: asyncio.Future[WriteResult] = self._loop.create_future()
        self._pending.append((item, future))
        self._wakeup.set()
        # Not shielded: a caller that goes away cancels only its own future; the callback stays queued, is
        # written all the same, and its result is dropped (see ``_run``).
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                items = [item for item, _ in batch]
                try:
                    results = await loop.run_in_executor(self._executor, self._write, items)
                except Exception as err:  # each future gets the store's error
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(err)
                    continue
                committed_at = time.monotonic()
                for (_, future), result in zip(batch, results, strict=False):
                    if not future.done():
                        if isinstance(result, BaseException):
                            future.set_exception(result)
                        else:
                            future.set_result(result)
                ok = [r for r in results if isinstance(r, WriteResult)]
                try:
                    self._on_committed(ok, committed_at)
                except Exception:
                    log.exception("mavi-bridge: after-commit hook failed")

    def _write(self, items: list[IncomingCallback]) -> list[WriteResult | BaseException]:
        try:
            return list(self._store.write_callbacks(items))
        except Exception as err:
            if len(items) == 1:
                raise
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
