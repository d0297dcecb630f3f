"""
Clients of the bridge's read API, for triggers (async) and blocking operators/sensors.

``AsyncBridgeClient.shared(url, token)`` returns one client per running event loop (never cached across
loops, because ``airflow dags test`` runs each trigger under its own ``asyncio.run``). Its ``wait_for`` joins
every concurrent waiter of the loop into batch long-polls (``POST /v1/callbacks/wait``): the waited ids are
split into chunks (1,000 ids each by default, grown up to the bridge's 5,000 cap once ``max_connections // 2``
polls are open), one long-poll in flight per chunk over the client's shared sockets, and a chunk's poll is
re-issued only when ids join that chunk. A thousand waiting triggers use one long-poll; 10,000 use four.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger(__name__)

MAX_SERVER_WAIT = 60.0
MAX_BATCH_IDS = 5000  # the bridge refuses a batch long-poll with more ids


@dataclass(eq=False)
class _Chunk:
    """
    Some of the waited ids, polled by one long-poll at a time.

    :param ids: the ids this chunk polls.
    :param changed: set when ids join (re-issue the poll) or the chunk empties (end it).
    :param task: the task keeping the chunk's long-poll in flight.
    :param inflight: the poll and the change watch being awaited, cancelled when the task ends.
    """

    ids: set[str] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    inflight: list[asyncio.Future[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CallbackRecord:
    """
    One stored callback as the bridge returns it.

    :param job_id: Mavi's job id (the callback's ``task_id``).
    :param received_at: ISO 8601 UTC time of the first delivery.
    :param deliveries: how many POSTs the bridge accepted for this job.
    :param payload: the callback body as Mavi sent it.
    """

    job_id: str
    received_at: str
    deliveries: int
    payload: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallbackRecord:
        """
        Build a record from the bridge's JSON.

        :param data: ``{job_id, received_at, deliveries, payload}``.
        """
        try:
            return cls(
                job_id=str(data["job_id"]),
                received_at=str(data["received_at"]),
                deliveries=int(data["deliveries"]),
                payload=dict(data["payload"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise BridgeError(f"the bridge returned a malformed record ({err!r})") from None


class BridgeError(Exception):
    """The bridge answered something unexpected."""


class BridgeUnavailableError(BridgeError):
    """The bridge could not be reached, timed out, or answered 5xx: try again later."""


class BridgeAuthError(BridgeError):
    """The bridge refused the token (401)."""


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body))[:200] if isinstance(body, dict) else str(body)[:200]


def _check(response: httpx.Response) -> None:
    if response.status_code == 401:
        raise BridgeAuthError("the bridge refused the token (401): check the connection's bridge_token")
    if response.status_code >= 500:
        raise BridgeUnavailableError(f"the bridge answered {response.status_code}: {_detail(response)}")
    if response.status_code >= 400:
        raise BridgeError(f"the bridge answered {response.status_code}: {_detail(response)}")


def _is_missing(response: httpx.Response) -> bool:
    """True for the bridge's own 404 (nothing stored / unknown job), as opposed to a wrong URL."""
    if response.status_code != 404:
        return False
    detail = _detail(response)
    if detail in ("no callback for this job yet", "unknown job"):
        return True
    raise BridgeError(
        f"404 from {response.request.url.copy_with(query=None)}: is bridge_url right? ({detail})"
    )


def _timeout(wait: float) -> httpx.Timeout:
    return httpx.Timeout(connect=10.0, read=wait + 15.0, write=10.0, pool=30.0)


class AsyncBridgeClient:
    """
    Async client of one bridge; get the loop's shared instance with :meth:`shared`.

    :param base_url: the bridge's base URL (``http://bridge:8787``, or ``.../mavi`` for the plugin).
    :param token: the bearer token (``MAVI_BRIDGE_API_TOKEN``).
    :param max_connections: sockets this client may open at once; half of them (at least one) is the number
        of batch long-polls kept open before chunks grow past ``batch_size``, the rest stay free for other
        requests.
    :param poll_wait: seconds each batch long-poll asks the bridge to wait (capped at 60 by the bridge).
    :param batch_size: ids a chunk (one long-poll) takes before another chunk is started (1 to 5,000).
    """

    _per_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], Any]]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        max_connections: int = 8,
        poll_wait: float = 50.0,
        batch_size: int = 1000,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_IDS:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_IDS}, not {batch_size!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections!r}")
        self.base_url = base_url.rstrip("/")
        self._batch_size = batch_size
        self._max_polls = max(1, max_connections // 2)
        self._token = token
        self._poll_wait = min(poll_wait, MAX_SERVER_WAIT)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            timeout=_timeout(0),
        )
        self._waiters: dict[str, list[asyncio.Future[CallbackRecord]]] = {}
        self._chunks: list[_Chunk] = []
        self._chunk_of: dict[str, _Chunk] = {}
        self.batch_requests = 0  # how many batch long-polls were sent (for tests and benchmarks)

    def __repr__(self) -> str:
        return f"AsyncBridgeClient(base_url={self.base_url!r})"

    @classmethod
    def shared(cls, base_url: str, token: str) -> AsyncBridgeClient:
        """
        Return the running loop's client for ``base_url`` and ``token`` (created on first use).

        :param base_url: the bridge's base URL.
        :param token: the bearer token.
        """
        loop = asyncio.get_running_loop()
        clients = cls._per_loop.setdefault(loop, {})
        key = (base_url.rstrip("/"), token)
        client = clients.get(key)
        if client is None:
            client = clients[key] = cls(base_url, token)
        return client

    async def aclose(self) -> None:
        """Stop the batch polls and close the sockets."""
        tasks = [chunk.task for chunk in self._chunks if chunk.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._http.aclose()
        with contextlib.suppress(RuntimeError):
            clients = self._per_loop.get(asyncio.get_running_loop(), {})
            clients.pop((self.base_url, self._token), None)

    async def _request(self, method: str, path: str, *, wait: float = 0, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, timeout=_timeout(wait), **kwargs)
        except httpx.HTTPError as err:
            raise BridgeUnavailableError(
                f"cannot reach the bridge at {self.base_url}: {type(err).__name__}"
            ) from None

    async def get_callback(self, job_id: str, wait: float = 0) -> CallbackRecord | None:
        """
        Return the job's callback, waiting up to ``wait`` seconds (one request, at most 60 s), or ``None``.

        :param job_id: Mavi's job id.
        :param wait: seconds the bridge may hold the request.
        """
        wait = min(max(wait, 0.0), MAX_SERVER_WAIT)
        response = await self._request("GET", f"/v1/callbacks/{job_id}", params={"wait": wait}, wait=wait)
        if _is_missing(response):
            return None
        _check(response)
        return CallbackRecord.from_json(response.json())

    async def wait_many(self, job_ids: Sequence[str], wait: float) -> list[CallbackRecord]:
        """
        One batch long-poll: the stored callbacks among ``job_ids``, as soon as at least one is there.

        :param job_ids: Mavi's job ids (at most 5,000).
        :param wait: seconds the bridge may hold the request (capped at 60 s).
        """
        wait = min(max(wait, 0.0), MAX_SERVER_WAIT)
        self.batch_requests += 1
        response = await self._request(
            "POST", "/v1/callbacks/wait", json={"job_ids": list(job_ids), "wait": wait}, wait=wait
        )
        _check(response)
        return [CallbackRecord.from_json(r) for r in response.json()["callbacks"]]

    async def wait_for(self, job_id: str, timeout: float) -> CallbackRecord | None:
        """
        Wait up to ``timeout`` seconds for the job's callback; ``None`` when it did not come in time.

        Every concurrent ``wait_for`` of this client shares the batch long-polls of its chunks (one poll per
        chunk of ids, see the module docstring), so every waiter is polled however many wait. Transient
        bridge errors are retried with backoff until the timeout; a refused token raises
        :class:`BridgeAuthError`.

        :param job_id: Mavi's job id.
        :param timeout: seconds to wait in all.
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
                self._poll_chunk(chunk), name="mavi-bridge-wait"
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

    async def _poll_chunk(self, chunk: _Chunk) -> None:
        try:
            await self._poll_chunk_loop(chunk)
        finally:
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

    async def _poll_chunk_loop(self, chunk: _Chunk) -> None:
        """Keep one long-poll in flight for the chunk's ids, re-issued when ids join it."""
        backoff = 0.5
        while chunk.ids:
            ids = list(chunk.ids)
            polled = set(ids)
            chunk.changed.clear()
            poll = asyncio.ensure_future(self.wait_many(ids, self._poll_wait))
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
                        with contextlib.suppress(asyncio.CancelledError, BridgeError):
                            await poll
                    break
            if poll.cancelled():
                continue
            error = poll.exception()
            if isinstance(error, BridgeAuthError) or (
                error is not None and not isinstance(error, BridgeError)
            ):
                for job_id in chunk.ids:
                    for future in self._waiters.get(job_id, ()):
                        if not future.done():
                            future.set_exception(error)
                return
            if error is not None:
                log.warning("mavi bridge wait failed (%s); retrying in %.1f s", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            for record in poll.result():
                # drop the id now, so the next poll does not ask for it again before its waiters run
                for future in self._waiters.pop(record.job_id, ()):
                    if not future.done():
                        future.set_result(record)
                self._forget(record.job_id)

    async def put_job(self, job_id: str, *, kind: str, asset_id: str, key: str | None = None) -> None:
        """
        Record a submitted job.

        :param job_id: Mavi's job id.
        :param kind: ``extract_frames``, ``transcribe_video`` or ``transcribe_audio``.
        :param asset_id: the asset the job works on.
        :param key: an idempotency key (for example DAG, task, run) to find the job again after a retry.
        """
        response = await self._request(
            "PUT", f"/v1/jobs/{job_id}", json={"kind": kind, "asset_id": asset_id, "key": key}
        )
        _check(response)

    async def find_job(self, key: str) -> dict[str, Any] | None:
        """
        Return the newest job recorded under ``key``, or ``None``.

        :param key: the idempotency key given to :meth:`put_job`.
        """
        response = await self._request("GET", "/v1/jobs", params={"key": key})
        _check(response)
        jobs = response.json()["jobs"]
        return dict(jobs[0]) if jobs else None

    async def abandon_job(self, job_id: str) -> None:
        """
        Tell the bridge nobody waits for this job any more (unknown jobs are ignored).

        :param job_id: Mavi's job id.
        """
        response = await self._request("POST", f"/v1/jobs/{job_id}/abandon")
        if not _is_missing(response):
            _check(response)

    async def list_callbacks(self, after: str = "0", limit: int = 100) -> tuple[list[CallbackRecord], str]:
        """
        Return callbacks in arrival order after a cursor, and the next cursor.

        :param after: the cursor returned by the previous call (``"0"`` to start).
        :param limit: the most records to return (at most 1,000).
        """
        response = await self._request("GET", "/v1/callbacks", params={"after": after, "limit": limit})
        _check(response)
        body = response.json()
        return [CallbackRecord.from_json(r) for r in body["callbacks"]], str(body["next"])


class BridgeClient:
    """
    Blocking client of the bridge (``httpx.Client``), for operators and sensors that do not defer.

    :param base_url: the bridge's base URL.
    :param token: the bearer token.
    :param timeout: the longest single request in seconds (a long-poll holds up to 60 s).
    """

    def __init__(self, base_url: str, token: str, timeout: float = 75) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def __repr__(self) -> str:
        return f"BridgeClient(base_url={self.base_url!r})"

    def __enter__(self) -> BridgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the sockets."""
        self._http.close()

    def _request(self, method: str, path: str, *, wait: float = 0, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, timeout=_timeout(wait), **kwargs)
        except httpx.HTTPError as err:
            raise BridgeUnavailableError(
                f"cannot reach the bridge at {self.base_url}: {type(err).__name__}"
            ) from None

    def get_callback(self, job_id: str, wait: float = 0) -> CallbackRecord | None:
        """
        Return the job's callback, waiting up to ``wait`` seconds (capped at 60 s); else ``None``.

        :param job_id: Mavi's job id.
        :param wait: seconds the bridge may hold the request.
        """
        wait = min(max(wait, 0.0), MAX_SERVER_WAIT)
        response = self._request("GET", f"/v1/callbacks/{job_id}", params={"wait": wait}, wait=wait)
        if _is_missing(response):
            return None
        _check(response)
        return CallbackRecord.from_json(response.json())

    def wait_for(self, job_id: str, timeout: float) -> CallbackRecord | None:
        """
        Long-poll until the job's callback is there or ``timeout`` seconds pass (then ``None``).

        :param job_id: Mavi's job id.
        :param timeout: seconds to wait in all.
        """
        import time

        deadline = time.monotonic() + max(timeout, 0.0)
        backoff = 0.5
        while True:
            remaining = deadline - time.monotonic()
            try:
                record = self.get_callback(job_id, wait=max(min(remaining, MAX_SERVER_WAIT), 0.0))
            except BridgeUnavailableError as err:
                if deadline - time.monotonic() <= backoff:
                    raise
                log.warning("mavi bridge wait failed (%s); retrying in %.1f s", err, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if record is not None or deadline - time.monotonic() <= 0:
                return record

    def put_job(self, job_id: str, *, kind: str, asset_id: str, key: str | None = None) -> None:
        """
        Record a submitted job.

        :param job_id: Mavi's job id.
        :param kind: ``extract_frames``, ``transcribe_video`` or ``transcribe_audio``.
        :param asset_id: the asset the job works on.
        :param key: an idempotency key to find the job again after a retry.
        """
        _check(
            self._request("PUT", f"/v1/jobs/{job_id}", json={"kind": kind, "asset_id": asset_id, "key": key})
        )

    def find_job(self, key: str) -> dict[str, Any] | None:
        """
        Return the newest job recorded under ``key``, or ``None``.

        :param key: the idempotency key given to :meth:`put_job`.
        """
        response = self._request("GET", "/v1/jobs", params={"key": key})
        _check(response)
        jobs = response.json()["jobs"]
        return dict(jobs[0]) if jobs else None

    def abandon_job(self, job_id: str) -> None:
        """
        Tell the bridge nobody waits for this job any more (unknown jobs are ignored).

        :param job_id: Mavi's job id.
        """
        response = self._request("POST", f"/v1/jobs/{job_id}/abandon")
        if not _is_missing(response):
            _check(response)

    def list_callbacks(self, after: str = "0", limit: int = 100) -> tuple[list[CallbackRecord], str]:
        """
        Return callbacks in arrival order after a cursor, and the next cursor.

        :param after: the cursor returned by the previous call (``"0"`` to start).
        :param limit: the most records to return (at most 1,000).
        """
        response = self._request("GET", "/v1/callbacks", params={"after": after, "limit": limit})
        _check(response)
        body = response.json()
        return [CallbackRecord.from_json(r) for r in body["callbacks"]], str(body["next"])
