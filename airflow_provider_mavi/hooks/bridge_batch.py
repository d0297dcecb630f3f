"""The async side's sockets and batch long-polls, shared by every ``MaviBridgeHook`` of one event loop.

:meth:`LoopClient.shared` returns one client per (running event loop, bridge, token, settings): never cached
across loops, because ``airflow dags test`` runs each trigger under its own ``asyncio.run``. Its
:meth:`LoopClient.wait_for` joins every concurrent waiter of the loop into batch long-polls
(``POST /v1/callbacks/wait``): the waited ids are split into chunks (1,000 ids each by default, grown up to
the bridge's 5,000 cap once ``max_connections // 2`` polls are open), one long-poll in flight per chunk over
the client's shared sockets, and a chunk's poll is re-issued only when ids join that chunk or one of its
callbacks comes back; an emptied chunk ends its poll. A thousand waiting triggers use one long-poll; 10,000
use four. While the bridge is unreachable a chunk retries its poll with the retry policy's backoff (its
waiters keep waiting); any other error is handed to the chunk's waiters.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from airflow_provider_mavi.hooks.bridge_protocol import (
    MAX_BATCH_IDS,
    MAX_SERVER_WAIT,
    CallbackRecord,
    is_transient,
    log,
)
from airflow_provider_mavi.retry import RetryPolicy, log_retry

#: Sends one batch long-poll (no retry of its own): ids, seconds → the callbacks stored among them.
BatchPoll = Callable[[list[str], float], Awaitable[list[CallbackRecord]]]


@dataclass(eq=False)
class _Chunk:
    """Some of the waited ids, polled by one long-poll at a time.

    :param ids: the ids this chunk polls.
    :param changed: set when ids join (re-issue the poll) or the chunk empties (end it).
    :param task: the task keeping the chunk's long-poll in flight.
    :param inflight: the poll and the change watch being awaited, cancelled when the task ends.
    """

    ids: set[str] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    inflight: list[asyncio.Future[Any]] = field(default_factory=list)


class LoopClient:
    """The sockets and the coalesced waits of one bridge in one event loop.

    :param base_url: the bridge's base URL.
    :param headers: the headers of every request (the bearer token).
    :param poll: sends one batch long-poll (the hook's async dispatcher).
    :param policy: how a chunk retries its poll while the bridge is unreachable.
    :param max_connections: sockets open at once; half of them (at least one) is the number of batch
        long-polls kept open before chunks grow past ``batch_size``, the rest stay free for other requests.
    :param poll_wait: seconds each batch long-poll asks the bridge to wait (capped at 60).
    :param batch_size: ids a chunk (one long-poll) takes before another chunk is started (1 to 5,000).
    :param transport: an ``httpx.MockTransport`` for tests.
    """

    _per_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, LoopClient]]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        poll: BatchPoll,
        policy: RetryPolicy,
        *,
        max_connections: int = 8,
        poll_wait: float = 50.0,
        batch_size: int = 1000,
        transport: httpx.MockTransport | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
        )
        self._poll = poll
        self._policy = policy
        self._label = f"batch wait at {base_url}"
        self._batch_size = batch_size
        self._max_polls = max(1, max_connections // 2)
        self._poll_wait = min(poll_wait, MAX_SERVER_WAIT)
        self._waiters: dict[str, list[asyncio.Future[CallbackRecord]]] = {}
        self._chunks: list[_Chunk] = []
        self._chunk_of: dict[str, _Chunk] = {}
        self._key: Hashable = None
        self.batch_requests = 0  # how many batch long-polls were sent (for tests and benchmarks)

    @classmethod
    def shared(cls, key: Hashable, make: Callable[[], LoopClient]) -> LoopClient:
        """The running loop's client for ``key``, made with ``make`` on first use.

        :param key: what identifies the client: bridge, token and settings.
        :param make: builds the client.
        """
        clients = cls._per_loop.setdefault(asyncio.get_running_loop(), {})
        client = clients.get(key)
        if client is None:
            client = clients[key] = make()
            client._key = key
        return client

    @property
    def waiting(self) -> int:
        """How many job ids are waited for now."""
        return len(self._waiters)

    async def aclose(self) -> None:
        """Stop the batch polls, close the sockets, and forget this client in its loop."""
        tasks = [chunk.task for chunk in self._chunks if chunk.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.http.aclose()
        with contextlib.suppress(RuntimeError):
            clients = self._per_loop.get(asyncio.get_running_loop(), {})
            if clients.get(self._key) is self:
                del clients[self._key]

    async def wait_for(self, job_id: str, timeout: float) -> CallbackRecord | None:
        """Wait up to ``timeout`` seconds for the job's callback; None when it did not come in time.

        :param job_id: a checked job id.
        :param timeout: seconds to wait.
        :raises MaviBridgeError: what the chunk's poll met, other than the bridge being unreachable.
        """
        future: asyncio.Future[CallbackRecord] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(job_id, []).append(future)
        self._chunk_for(job_id)
        try:
            return await asyncio.wait_for(future, max(timeout, 0.0))
        except asyncio.TimeoutError:
            return None
        finally:
            waiting = self._waiters.get(job_id)
            if waiting is not None:
                with contextlib.suppress(ValueError):
                    waiting.remove(future)
                if not waiting:
                    del self._waiters[job_id]
                    self._forget(job_id)

    def _chunk_for(self, job_id: str) -> _Chunk:
        """The chunk that polls ``job_id``: its own, or one with room (a new one started if none)."""
        chunk = self._chunk_of.get(job_id)
        if chunk is not None:
            return chunk
        chunk = next((c for c in self._chunks if len(c.ids) < self._batch_size), None)
        if chunk is None and len(self._chunks) >= self._max_polls:
            # every poll is at its preferred size and no socket is spare: grow the smallest, up to the cap
            smallest = min(self._chunks, key=lambda c: len(c.ids))
            chunk = smallest if len(smallest.ids) < MAX_BATCH_IDS else None
        if chunk is None:
            chunk = _Chunk()
            self._chunks.append(chunk)
            chunk.task = asyncio.get_running_loop().create_task(
                self._run_chunk(chunk), name="mavi-bridge-wait"
            )
        chunk.ids.add(job_id)
        chunk.changed.set()
        self._chunk_of[job_id] = chunk
        return chunk

    def _forget(self, job_id: str) -> None:
        """Drop ``job_id`` (no waiter left) from its chunk; an emptied chunk ends its poll."""
        chunk = self._chunk_of.pop(job_id, None)
        if chunk is not None:
            chunk.ids.discard(job_id)
            if not chunk.ids:
                chunk.changed.set()

    async def _run_chunk(self, chunk: _Chunk) -> None:
        try:
            retrying = self._policy.aretrying(
                retry_on=is_transient, attempts=None, before_sleep=log_retry(log, self._label)
            )
            while chunk.ids:
                try:
                    records: list[CallbackRecord] = await retrying(self._poll_round, chunk)
                except Exception as error:  # refused token, wrong URL, malformed answer: the waiters decide
                    self._fail(chunk, error)
                    return
                for record in records:
                    # drop the id now, so the next poll does not ask for it again before its waiters run
                    for future in self._waiters.pop(record.job_id, ()):
                        if not future.done():
                            future.set_result(record)
                    self._forget(record.job_id)
        finally:
            await self._end(chunk)

    async def _poll_round(self, chunk: _Chunk) -> list[CallbackRecord]:
        """One long-poll of the chunk's ids: their callbacks; [] when re-issued for newcomers or emptied."""
        if not chunk.ids:
            return []
        polled = set(chunk.ids)
        chunk.changed.clear()
        self.batch_requests += 1
        poll = asyncio.ensure_future(self._poll(list(polled), self._poll_wait))
        chunk.inflight = [poll]
        while not poll.done():
            changed = asyncio.ensure_future(chunk.changed.wait())
            chunk.inflight = [poll, changed]
            await asyncio.wait({poll, changed}, return_when=asyncio.FIRST_COMPLETED)
            if poll.done():
                changed.cancel()
                break
            chunk.changed.clear()
            if not chunk.ids or chunk.ids - polled:
                await asyncio.sleep(0.02)  # let other newcomers of this moment join the next poll
                if not poll.done():
                    poll.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await poll
                    return []
        return poll.result()

    def _fail(self, chunk: _Chunk, error: BaseException) -> None:
        for job_id in chunk.ids:
            for future in self._waiters.get(job_id, ()):
                if not future.done():
                    future.set_exception(error)

    async def _end(self, chunk: _Chunk) -> None:
        # leave the list first (no await before): a newcomer must not join a chunk that is ending
        with contextlib.suppress(ValueError):
            self._chunks.remove(chunk)
        for task in chunk.inflight:
            task.cancel()
        for task in chunk.inflight:
            with contextlib.suppress(BaseException):
                await task
        chunk.inflight.clear()
        for job_id in list(chunk.ids):
            if self._chunk_of.get(job_id) is chunk:
                del self._chunk_of[job_id]
        chunk.ids.clear()
