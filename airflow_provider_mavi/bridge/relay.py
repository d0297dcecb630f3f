"""
Best-effort relay of every stored callback to other URLs (other consumers of the same Mavi account).

Runs after the ``200``: a slow or failing relay target never delays or fails the answer to Mavi. Relay is not
durable: a callback still queued when the bridge stops is not relayed (it is in the store, though).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from airflow_provider_mavi.bridge.redact import RedactingFilter
from airflow_provider_mavi.retry import RetryPolicy, log_retry

if TYPE_CHECKING:
    from airflow_provider_mavi.bridge.metrics import BridgeMetrics

log = logging.getLogger(__name__)


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


class _ServerError(Exception):
    """A relay target answered 5xx: worth another try."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.summary = f"HTTP {status}"  # what log_retry shows


def _worth_retrying(error: BaseException) -> bool:
    return isinstance(error, (httpx.HTTPError, _ServerError))


class Relay:
    """
    Forward bodies to ``urls`` from a bounded queue.

    :param urls: where to POST each callback body.
    :param metrics: where to count outcomes.
    :param attempts: tries per URL.
    :param max_queue: callbacks held for relaying before new ones are dropped (and logged).
    """

    def __init__(
        self, urls: tuple[str, ...], metrics: BridgeMetrics, attempts: int = 3, max_queue: int = 10000
    ):
        self._urls = urls
        self._metrics = metrics
        self._attempts = attempts
        self._policy = RetryPolicy(max_attempts=attempts)
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(max_queue)
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        """Start the relay workers in the running loop."""
        if not self._urls:
            return
        self._client = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        logging.getLogger("httpx").addFilter(RedactingFilter(self._urls))  # httpx logs every request URL
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work(), name=f"mavi-bridge-relay-{i}") for i in range(4)]

    async def stop(self) -> None:
        """Stop the workers and close the HTTP client."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def offer(self, body: bytes) -> None:
        """
        Queue a stored body for relaying (never blocks).

        :param body: the callback body as received.
        """
        if not self._urls:
            return
        try:
            self._queue.put_nowait(body)
        except asyncio.QueueFull:
            self._metrics.relayed.labels("dropped").inc()
            log.warning("mavi-bridge: relay queue full; a callback was not relayed (it is stored)")

    async def _work(self) -> None:
        assert self._client is not None
        while True:
            body = await self._queue.get()
            for url in self._urls:
                await self._post(url, body)

    async def _post(self, url: str, body: bytes) -> None:
        retrying = self._policy.aretrying(
            retry_on=_worth_retrying,
            before_sleep=log_retry(log, f"mavi-bridge: relay to {_safe(url)}", self._attempts),
        )
        try:
            response: httpx.Response = await retrying(self._send, url, body)
        except (httpx.HTTPError, _ServerError):
            self._metrics.relayed.labels("failed").inc()
            log.warning("mavi-bridge: relay to %s gave up after %s attempts", _safe(url), self._attempts)
            return
        self._metrics.relayed.labels("ok" if response.is_success else "refused").inc()
        if not response.is_success:
            log.warning("mavi-bridge: relay to %s answered %s", _safe(url), response.status_code)

    async def _send(self, url: str, body: bytes) -> httpx.Response:
        """One POST of the body; a 5xx raises (and is tried again), any other answer is final."""
        assert self._client is not None
        response = await self._client.post(url, content=body, headers={"Content-Type": "application/json"})
        if response.status_code >= 500:
            raise _ServerError(response.status_code)
        return response
