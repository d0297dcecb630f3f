"""Triggers of the Mavi provider: wait for a job's callback through the bridge, or for an asset to be ready;
and (``MaviCallbackEventTrigger``, from :mod:`.events`) schedule DAGs on the callbacks of any job.

Both carry an absolute deadline (epoch seconds, computed by the operator before it defers) so a triggerer
restart does not reset it, take only JSON primitives (the retry settings as ``RetryPolicy.to_json()``),
resolve the connection asynchronously inside ``run()`` and yield exactly one event
(:mod:`airflow_provider_mavi.events`). The job wait is :meth:`MaviBridgeHook.await_for_job`: the waiting
triggers of one event loop share its batch long-polls, so 10,000 waits cost a handful of sockets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mavi.events import AssetEvent, Reason, describe_error
from airflow_provider_mavi.exceptions import MaviAuthenticationError, MaviNotFoundError
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.readiness import ReadinessWatch
from airflow_provider_mavi.retry import RetryPolicy, log_retry
from airflow_provider_mavi.triggers.events import MaviCallbackEventTrigger

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

__all__ = ["MaviAssetReadyTrigger", "MaviCallbackEventTrigger", "MaviJobCallbackTrigger"]

log = logging.getLogger(__name__)


class MaviJobCallbackTrigger(BaseTrigger):
    """Wait until the bridge holds the callback of one Mavi job, or until the deadline.

    Yields exactly one :class:`~airflow_provider_mavi.events.JobEvent`: ``success`` (with the callback
    ``payload``), ``failed`` (Mavi's message), ``timeout`` (nothing stored by the deadline) or ``error`` (the
    token refused, the connection unusable, unexpected errors repeated). The bridge being unreachable or
    restarting is waited out until the deadline, and one last look is taken then: the callback is stored
    durably there, so a trigger re-created after a restart still finds it.

    :param job_id: the Mavi job id (Mavi's ``task_id``).
    :param deadline: when to give up, epoch seconds (absolute, so restarts do not extend it).
    :param mavi_conn_id: the ``mavi`` connection holding ``bridge_url`` and ``bridge_token``.
    :param max_consecutive_errors: unexpected errors tolerated in a row before the ``error`` event.
    :param retry_policy: the task's retry settings, ``RetryPolicy.to_json()`` (None: the defaults).
    """

    def __init__(
        self,
        *,
        job_id: str,
        deadline: float,
        mavi_conn_id: str = "mavi_default",
        max_consecutive_errors: int = 5,
        retry_policy: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.deadline = float(deadline)
        self.mavi_conn_id = mavi_conn_id
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.retry_policy = RetryPolicy.from_json(retry_policy).to_json()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the JSON-only kwargs that re-create this trigger."""
        return (
            "airflow_provider_mavi.triggers.mavi.MaviJobCallbackTrigger",
            {
                "job_id": self.job_id,
                "deadline": self.deadline,
                "mavi_conn_id": self.mavi_conn_id,
                "max_consecutive_errors": self.max_consecutive_errors,
                "retry_policy": self.retry_policy,
            },
        )

    @property
    def hook(self) -> MaviBridgeHook:
        """The bridge hook of the connection, retrying as the task's settings say."""
        return MaviBridgeHook(
            self.mavi_conn_id,
            retry_policy=RetryPolicy.from_json(self.retry_policy),
            max_wait_errors=self.max_consecutive_errors,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait for the callback; yield one event."""
        self.log.info(
            "Waiting for the callback of Mavi job %s until %s",
            self.job_id,
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.deadline)),
        )
        event = await self.hook.await_for_job(self.job_id, self.deadline)
        self.log.info("Mavi job %s: %s", self.job_id, event.status)
        yield TriggerEvent(event.to_json())

    async def on_kill(self) -> None:
        """Tell the bridge nobody waits for this job any more (best effort: Mavi has no cancel)."""
        try:
            await asyncio.wait_for(self.hook.aabandon_job(self.job_id), timeout=10)
            self.log.info("Mavi job %s marked abandoned in the bridge", self.job_id)
        except Exception as error:
            self.log.warning("Could not mark Mavi job %s abandoned: %s", self.job_id, type(error).__name__)


class MaviAssetReadyTrigger(BaseTrigger):
    """Poll an asset's metadata until it is ready (``SUCCESS``) or ``FAILED``, or until the deadline.

    Readiness is :func:`airflow_provider_mavi.readiness.asset_status` (an ``im_`` frame group is ready when
    every frame is). Yields one :class:`~airflow_provider_mavi.events.AssetEvent`: ``success`` (with the
    ``metadata`` entry), ``failed`` (``FAILED``, or the asset does not exist), ``timeout`` or ``error`` (the
    key is refused, or reads failed too many times in a row). Polls grow apart (``readiness.poll_delay``:
    capped, jittered) and never come faster than the connection's ``max_requests_per_second``.

    :param asset_id: the asset to watch (``re_``, ``im_`` or ``imc_``).
    :param deadline: when to give up, epoch seconds.
    :param mavi_conn_id: the ``mavi`` connection.
    :param poll_interval: seconds before the second metadata read (later ones grow, capped).
    :param max_consecutive_errors: failed reads tolerated in a row before the ``error`` event.
    :param retry_policy: the task's retry settings, ``RetryPolicy.to_json()`` (None: the defaults).
    """

    def __init__(
        self,
        *,
        asset_id: str,
        deadline: float,
        mavi_conn_id: str = "mavi_default",
        poll_interval: float = 5.0,
        max_consecutive_errors: int = 5,
        retry_policy: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.asset_id = asset_id
        self.deadline = float(deadline)
        self.mavi_conn_id = mavi_conn_id
        self.poll_interval = float(poll_interval)
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.retry_policy = RetryPolicy.from_json(retry_policy).to_json()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the JSON-only kwargs that re-create this trigger."""
        return (
            "airflow_provider_mavi.triggers.mavi.MaviAssetReadyTrigger",
            {
                "asset_id": self.asset_id,
                "deadline": self.deadline,
                "mavi_conn_id": self.mavi_conn_id,
                "poll_interval": self.poll_interval,
                "max_consecutive_errors": self.max_consecutive_errors,
                "retry_policy": self.retry_policy,
            },
        )

    @property
    def hook(self) -> MaviHook:
        """The Mavi hook of the connection, retrying as the task's settings say."""
        return MaviHook(mavi_conn_id=self.mavi_conn_id, retry_policy=RetryPolicy.from_json(self.retry_policy))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the asset is ready, failed, or the deadline passes; yield one event."""
        event = await self._wait(self.hook)
        self.log.info("Asset %s: %s", self.asset_id, event.status)
        yield TriggerEvent(event.to_json())

    async def _wait(self, hook: MaviHook) -> AssetEvent:
        try:
            settings = await hook.aget_settings()
        except Exception as error:
            message = f"cannot read connection {self.mavi_conn_id!r}: {describe_error(error)}"
            return AssetEvent.error(self.asset_id, message, reason=Reason.CONNECTION)
        watch = ReadinessWatch(
            self.asset_id, self.deadline, self.poll_interval, settings.max_requests_per_second
        )
        read = RetryPolicy.from_json(self.retry_policy).aretrying(
            retry_on=lambda error: not isinstance(error, (MaviAuthenticationError, MaviNotFoundError)),
            attempts=self.max_consecutive_errors,
            deadline=self.deadline,
            before_sleep=log_retry(log, f"reading the metadata of {self.asset_id}"),
        )
        last = None
        while True:
            try:
                entries: list[dict[str, Any]] = await read(hook.aget_asset_metadata, self.asset_id)
            except Exception as error:
                return AssetEvent.from_error(self.asset_id, error, deadline=self.deadline, now=time.time())
            status = watch.observe(entries)
            if status.status != last:
                self.log.info("Asset %s upload_status: %s", self.asset_id, status.status)
                last = status.status
            now = time.time()
            event = AssetEvent.from_status(status, deadline=self.deadline, now=now)
            if event is not None:
                return event
            delay = watch.next_delay(now)
            await asyncio.sleep(delay or 0.0)
