"""``MaviCallbackEventTrigger``: schedule DAGs on Mavi's callbacks, whoever submitted the job.

Mavi's webhook is account-wide, so the bridge stores the callback of every job of the account: jobs this
provider's operators submitted, jobs of scripts, of the console, of other teams. This event trigger (an
``AssetWatcher``'s trigger) follows the bridge's arrival-ordered list with long-polls and fires one event per
callback its filter matches (:mod:`airflow_provider_mavi.callback_events`).

**Where it resumes.** The position is a named consumer cursor kept by the bridge (``consumer``), next to the
callbacks it indexes: it survives a triggerer restart, a new triggerer host and an Airflow database reset,
and works on Airflow 3.1 to 3.3. The consumer moves forward only once the events before it are safe:

- Airflow >= 3.3: the trigger is a shared stream in *ack mode*
  (:class:`~airflow_provider_mavi.triggers.callback_stream.CallbackProducer`). The triggerer reports when the
  asset events derived from a callback are persisted in its metadata database; only then does the consumer
  move past it. A callback fired but not yet persisted when the triggerer dies is read again after the
  restart: none is lost.
- Airflow 3.1/3.2 (no ack channel): :meth:`MaviCallbackEventTrigger.run` moves the consumer past a callback
  ``persist_grace`` seconds (default 10) after firing it, well past the triggerer's next sync (about 1 s) that
  persists it. A triggerer that dies in those seconds fires it again after the restart.

**Delivery rules.** A callback stored while no triggerer runs fires after the restart (the consumer has not
moved). Each job's callback is one record of the list (duplicate POSTs only count ``deliveries``), so it
fires once. After a crash in the window between firing a callback and moving the consumer past it (ack
mode: persisted, not yet committed, about a second; 3.1/3.2: ``persist_grace``), it fires once more: at
most one duplicate per callback. Triggers given the same connection and ``consumer`` share one position (on
3.3 one stream, committed only once all have handled a callback); give each watcher its own ``consumer``.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_mavi.callback_events import CallbackEvent, CallbackFilter
from airflow_provider_mavi.hooks.bridge_stream import MAX_PAGE, STARTS, check_consumer_name
from airflow_provider_mavi.retry import RetryPolicy
from airflow_provider_mavi.triggers.callback_stream import CallbackFollower, CallbackProducer, event_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Hashable, Iterable, Mapping

__all__ = ["MaviCallbackEventTrigger"]

#: The longest single long-poll: below the bridge's 60 s cap and a proxy's usual 60 s idle timeout.
MAX_POLL_WAIT = 55.0


class MaviCallbackEventTrigger(BaseEventTrigger):
    """Fire one event per Mavi callback the bridge receives that matches the filters.

    The event is :class:`~airflow_provider_mavi.callback_events.CallbackEvent` as JSON: ``job_id``, ``kind``
    (and ``kind_from``), ``status`` (``success`` / ``failed``), ``message``, ``result`` (the small parsed
    result, e.g. ``frames_asset_id``), ``result_error``, ``received_at``, ``deliveries``, ``cursor``. Airflow
    puts it in the asset event's extra under ``payload``; read it with
    ``CallbackEvent.from_asset_event(event)``.

    :param consumer: the name of the position the bridge keeps for this trigger (letters, digits, ``._~-``):
        one per watcher; renaming it starts over from ``start``.
    :param mavi_conn_id: the ``mavi`` connection holding ``bridge_url`` and ``bridge_token``.
    :param kinds: job kinds that fire (``extract_frames``, ``transcribe_video``...); None: any, including
        jobs of unknown kind.
    :param status: ``success`` or ``failed``; None: both.
    :param job_id_prefix: only job ids starting with it fire.
    :param start: where a consumer the bridge does not know yet starts: ``latest`` (callbacks from now on) or
        ``earliest`` (every callback the bridge still holds).
    :param poll_wait: seconds each long-poll asks the bridge to hold it (at most 55).
    :param page_size: callbacks read per request (1 to 1,000).
    :param persist_grace: Airflow 3.1/3.2 only: seconds between firing a callback and moving past it.
    :param retry_policy: the backoff of the retries when the bridge cannot be reached,
        ``RetryPolicy.to_json()`` (retries never end: an event trigger has no deadline).
    """

    def __init__(
        self,
        *,
        consumer: str,
        mavi_conn_id: str = "mavi_default",
        kinds: Iterable[str] | None = None,
        status: str | None = None,
        job_id_prefix: str | None = None,
        start: str = "latest",
        poll_wait: float = 50.0,
        page_size: int = 100,
        persist_grace: float = 10.0,
        retry_policy: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.consumer = check_consumer_name(consumer)
        self.filter = CallbackFilter.checked(kinds, status, job_id_prefix)
        if start not in STARTS:
            raise ValueError(f"start must be 'latest' or 'earliest', got {start!r}")
        if not 0 < float(poll_wait) <= MAX_POLL_WAIT:
            raise ValueError(
                f"poll_wait must be more than 0 and at most {MAX_POLL_WAIT} s, got {poll_wait!r}"
            )
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE}, got {page_size!r}")
        if not 0 <= float(persist_grace) <= 3600:
            raise ValueError(f"persist_grace must be 0 to 3600 s, got {persist_grace!r}")
        self.mavi_conn_id = mavi_conn_id
        self.start = start
        self.poll_wait = float(poll_wait)
        self.page_size = page_size
        self.persist_grace = float(persist_grace)
        self.retry_policy = RetryPolicy.from_json(retry_policy).to_json()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the JSON-only kwargs that re-create this trigger."""
        return (
            "airflow_provider_mavi.triggers.mavi.MaviCallbackEventTrigger",
            {
                "consumer": self.consumer,
                "mavi_conn_id": self.mavi_conn_id,
                "kinds": list(self.filter.kinds) if self.filter.kinds is not None else None,
                "status": self.filter.status,
                "job_id_prefix": self.filter.job_id_prefix,
                "start": self.start,
                "poll_wait": self.poll_wait,
                "page_size": self.page_size,
                "persist_grace": self.persist_grace,
                "retry_policy": self.retry_policy,
            },
        )

    def follower(self) -> CallbackFollower:
        """The consumer's walk along the bridge's list."""
        policy = RetryPolicy.from_json(self.retry_policy)
        return CallbackFollower(self.mavi_conn_id, self.consumer, self.start, self.page_size, policy)

    # -- Airflow 3.1 / 3.2 (and any triggerer without shared streams) ------------------------------------

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Follow the list; fire matching callbacks; move the consumer ``persist_grace`` s after each."""
        follower = self.follower()
        await follower.open()
        self.log.info(
            "Following the bridge's callbacks as consumer %s (kinds %s, status %s, job ids %s*)",
            self.consumer,
            self.filter.kinds or "any",
            self.filter.status or "any",
            self.filter.job_id_prefix or "",
        )
        handled: deque[tuple[int, float]] = deque()  # (cursor, when it was handled), in list order
        try:
            while True:
                wait = self.poll_wait
                if handled:
                    wait = max(0.1, min(wait, handled[0][1] + self.persist_grace - time.monotonic()))
                for record in await follower.next_page(wait):
                    event = event_of(record)
                    if event is not None and self.filter.matches(event):
                        self.log.info("Mavi job %s (%s): %s", event.job_id, event.kind, event.status)
                        yield TriggerEvent(event.to_json())
                    handled.append((record.cursor, time.monotonic()))
                safe: int | None = None
                while handled and handled[0][1] + self.persist_grace <= time.monotonic():
                    safe = handled.popleft()[0]
                if safe is not None:
                    await follower.commit(safe)
        finally:
            await follower.aclose()

    # -- Airflow >= 3.3: a shared stream in ack mode -----------------------------------------------------

    def shared_stream_key(self) -> Hashable | None:
        """One stream per connection and consumer: triggers sharing a consumer share its position."""
        return ("airflow_provider_mavi.callbacks", self.mavi_conn_id, self.consumer)

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> CallbackProducer:
        """The bridge side of the stream: the triggerer calls its ``advance`` once events are persisted.

        :param kwargs: the kwargs of one trigger of the group.
        """
        trigger = cls(**kwargs)
        return CallbackProducer(trigger.follower(), trigger.poll_wait)

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """This trigger's events from the stream: the callbacks its filter matches.

        :param shared_stream: the stream's raw events (``CallbackEvent`` JSON).
        """
        async for raw in shared_stream:
            event = CallbackEvent.from_json(raw)
            if self.filter.matches(event):
                self.log.info("Mavi job %s (%s): %s", event.job_id, event.kind, event.status)
                yield TriggerEvent(raw)
