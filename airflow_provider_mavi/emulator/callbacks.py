"""Delivery of job results to the account's one webhook, with redelivery and the callback faults.

A delivery is a JSON POST with ``Content-Length``; a 2xx answer within the timeout (10 s by default) counts as
delivered. Anything else is retried with exponential backoff up to the configured number of attempts.
The webhook URL may hold a secret, so it is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_mavi.emulator.settings import EmulatorSettings
    from airflow_provider_mavi.emulator.stats import Stats

log = logging.getLogger(__name__)


class CallbackSender:
    """Sends callbacks for one account.

    :param settings: attempts, backoff and timeout.
    :param stats: where deliveries are counted.
    :param webhook: returns the account's current webhook URL (read at delivery time).
    """

    def __init__(
        self,
        settings: EmulatorSettings,
        stats: Stats,
        webhook: Callable[[], str | None],
    ) -> None:
        """Store the collaborators; the HTTP transport is made on first use, inside the running loop."""
        self._settings = settings
        self._stats = stats
        self._webhook = webhook
        self._transport: httpx.AsyncHTTPTransport | None = None

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None

    async def send(
        self, body: dict[str, Any], job: dict[str, Any], faults: dict[str, dict[str, Any] | None]
    ) -> None:
        """Deliver ``body`` for ``job``, applying the delay, drop and duplicate faults decided for it.

        :param body: the callback JSON.
        :param job: the job's stats record; ``callback`` is set to the outcome.
        :param faults: the job's fault decisions (see ``FaultInjector.decide_job``).
        """
        delay = faults.get("callback_delay")
        if delay is not None:
            await asyncio.sleep(float(delay["seconds"]))
        if faults.get("drop_callback") is not None:
            self._stats.count_callback("dropped")
            job["callback"] = "dropped"
            log.info("callback for job %s dropped (fault)", body.get("task_id"))
            return
        duplicate = faults.get("duplicate_callback")
        copies = max(1, int(duplicate["copies"])) if duplicate is not None else 1
        outcome = "failed"
        for _ in range(copies):
            outcome = await self._deliver(body)
        job["callback"] = outcome

    async def _post(self, url: str, content: bytes) -> int:
        """POST JSON bytes to ``url`` and return the status.

        The request goes straight to the transport: ``httpx.AsyncClient`` would log every request URL at
        INFO, and a webhook URL usually holds the receiver's secret.

        :param url: the webhook URL.
        :param content: the JSON body.
        """
        if self._transport is None:
            self._transport = httpx.AsyncHTTPTransport()
        timeout = self._settings.callback_timeout
        request = httpx.Request(
            "POST",
            url,
            content=content,
            headers={"Content-Type": "application/json", "User-Agent": "mavi-emulator"},
            extensions={"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}},
        )
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response.status_code

    async def _deliver(self, body: dict[str, Any]) -> str:
        """POST ``body`` until a 2xx answer or the attempts run out.

        Returns ``delivered``, ``failed`` or ``no_webhook``.

        :param body: the callback JSON.
        """
        content = json.dumps(body).encode()
        task_id = body.get("task_id")
        delay = self._settings.callback_backoff
        for attempt in range(1, self._settings.callback_attempts + 1):
            url = self._webhook()
            if url is None:
                self._stats.count_callback("dropped")
                log.warning("no webhook set: callback for job %s not sent", task_id)
                return "no_webhook"
            self._stats.count_callback("sent")
            try:
                status: int | str = await asyncio.wait_for(
                    self._post(url, content), timeout=self._settings.callback_timeout
                )
                delivered = 200 <= int(status) < 300
            except (httpx.HTTPError, asyncio.TimeoutError, ValueError) as exc:
                status, delivered = type(exc).__name__, False
            if delivered:
                self._stats.count_callback("delivered", status)
                log.info("callback for job %s delivered (attempt %s)", task_id, attempt)
                return "delivered"
            self._stats.count_callback("failed", status)
            log.info("callback for job %s not accepted: %s (attempt %s)", task_id, status, attempt)
            if attempt < self._settings.callback_attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return "failed"
