"""Following the bridge's arrival-ordered list for one named consumer, and Airflow 3.3's ack-mode producer.

:class:`CallbackFollower` is what both ways of running
:class:`~airflow_provider_mavi.triggers.events.MaviCallbackEventTrigger` share: the consumer's position read
from the bridge (created at ``latest`` or ``earliest`` the first time), long-polled pages after it, and
forward-only commits of the position. The bridge being unreachable, restarting or refusing the token is
waited out (one warning per retry, backoff capped at the policy's ``max_delay``): an event trigger has no
deadline and must not end.

:class:`CallbackProducer` (Airflow >= 3.3) is the broker side of the trigger's shared stream in ack mode:
the triggerer calls :meth:`CallbackProducer.advance` only with callbacks whose asset events are persisted in
the metadata database, and only then does the consumer move past them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.callback_events import CallbackEvent
from airflow_provider_mavi.compat import HAS_SHARED_STREAMS, SharedStreamProducer
from airflow_provider_mavi.exceptions import MaviError
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.retry import RetryPolicy, log_retry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    from airflow.triggers.shared_stream import AdvanceItem

    from airflow_provider_mavi.hooks.bridge_stream import StreamRecord

#: Airflow >= 3.3: shared streams with an ack channel; 3.1/3.2 run the trigger's own run().
HAS_ACK_MODE = HAS_SHARED_STREAMS

__all__ = ["HAS_ACK_MODE", "CallbackFollower", "CallbackProducer"]

log = logging.getLogger(__name__)


def _transient(error: BaseException) -> bool:
    return isinstance(error, MaviError)


class CallbackFollower:
    """One consumer's walk along the bridge's list.

    :param mavi_conn_id: the ``mavi`` connection (its ``bridge_url`` and ``bridge_token``).
    :param consumer: the consumer's name (its position is kept by the bridge).
    :param start: where a new consumer starts: ``latest`` (callbacks from now on) or ``earliest``.
    :param page_size: records per page (1 to 1,000).
    :param retry_policy: the backoff between attempts (attempts themselves are unbounded here).
    """

    def __init__(
        self, mavi_conn_id: str, consumer: str, start: str, page_size: int, retry_policy: RetryPolicy
    ) -> None:
        self.consumer = consumer
        self.start = start
        self.page_size = page_size
        self.policy = retry_policy
        # one attempt per request: the unbounded retries are this class's own
        self.hook = MaviBridgeHook(mavi_conn_id, retry_policy=retry_policy.with_attempts(1))
        self.position: int | None = None  # the last cursor read (ahead of the committed one)
        self.committed: int | None = None
        self.wanted: int | None = None  # the furthest cursor safe to commit

    async def _retried(self, label: str, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        retrying = self.policy.aretrying(
            retry_on=_transient, attempts=None, before_sleep=log_retry(log, f"{label} ({self.consumer})")
        )
        return await retrying(call, *args)

    async def open(self) -> int:
        """Read the consumer's position from the bridge (created the first time): where reading resumes."""
        consumer = await self._retried(
            "bridge POST /v1/consumers", self.hook.astart_consumer, self.consumer, self.start
        )
        self.position = self.committed = consumer.cursor
        log.info("Mavi callback consumer %s resumes after cursor %s", self.consumer, consumer.cursor)
        return int(consumer.cursor)

    async def next_page(self, wait: float) -> Sequence[StreamRecord]:
        """The callbacks after the position read so far, as soon as there is one (or none after ``wait``).

        :param wait: seconds the bridge may hold the request (at most 60).
        """
        if self.position is None:
            await self.open()
        after = int(self.position or 0)
        page = await self._retried(
            "bridge GET /v1/callbacks", self.hook.alist_page, after, self.page_size, wait
        )
        self.position = max(after, page.next_cursor)
        return list(page.records)

    async def commit(self, cursor: int) -> bool:
        """Move the consumer forward to ``cursor`` (never back); a failure is logged and retried by the next
        commit or :meth:`flush` (commits are cumulative: a later one covers it).

        :param cursor: the cursor of the last callback whose events are safe.
        """
        self.wanted = max(cursor, self.wanted or 0)
        return await self.flush()

    async def flush(self) -> bool:
        """Commit the furthest safe cursor if the bridge does not have it yet; False when that failed."""
        if self.wanted is None or (self.committed is not None and self.wanted <= self.committed):
            return True
        try:
            consumer = await self.hook.aadvance_consumer(self.consumer, self.wanted)
        except MaviError as error:
            log.warning(
                "Could not move Mavi callback consumer %s to cursor %s (%s); retried with the next commit",
                self.consumer,
                self.wanted,
                getattr(error, "summary", None) or type(error).__name__,
            )
            return False
        self.committed = max(consumer.cursor, self.wanted)
        return True

    async def aclose(self) -> None:
        """Close the event loop's sockets to the bridge (best effort)."""
        try:
            await self.hook.aclose()
        except Exception as error:
            log.debug("closing the bridge client: %s", type(error).__name__)


def event_of(record: StreamRecord) -> CallbackEvent | None:
    """The event of a record, or None for a progress body (not an outcome: it never fires).

    :param record: one record of the list.
    """
    return CallbackEvent.from_record(record) if record.terminal else None


class CallbackProducer(SharedStreamProducer):
    """The bridge side of the trigger's shared stream in ack mode (Airflow >= 3.3).

    Raw events are the JSON of :class:`~airflow_provider_mavi.callback_events.CallbackEvent`, each with its
    cursor as the broker payload. :meth:`advance` commits the cursor of the last event of a batch whose
    subscribers all resolved it cleanly (their asset events persisted); after an unclean one (a persist
    never confirmed) it commits nothing more, so the next stream re-reads from there.

    :param follower: the consumer's walk.
    :param poll_wait: seconds each long-poll asks the bridge to hold it.
    """

    def __init__(self, follower: CallbackFollower, poll_wait: float) -> None:
        self.follower = follower
        self.poll_wait = poll_wait
        self.blocked_at: int | None = None

    async def open_stream(self) -> AsyncIterator[tuple[Any, Any]]:
        """Yield ``(event JSON, cursor)`` for every outcome callback after the consumer, forever."""
        await self.follower.open()
        while True:
            for record in await self.follower.next_page(self.poll_wait):
                event = event_of(record)
                if event is not None:
                    yield event.to_json(), record.cursor
            await self.follower.flush()

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        """Commit the cursor of the leading cleanly resolved events of one batch.

        :param batch: resolved events in order, each with its cursor and outcome.
        """
        cursor: int | None = None
        for item in batch:
            if self.blocked_at is not None:
                return
            if not item.outcome.is_clean:
                self.blocked_at = int(item.broker_payload)
                log.warning(
                    "Mavi callback at cursor %s was not confirmed persisted (%s); consumer %s stays before "
                    "it and this stream commits nothing more (a restart re-reads from there)",
                    item.broker_payload,
                    item.outcome,
                    self.follower.consumer,
                )
                break
            cursor = int(item.broker_payload)
        if cursor is not None:
            await self.follower.commit(cursor)

    async def aclose(self) -> None:
        """Release the bridge client."""
        await self.follower.aclose()
