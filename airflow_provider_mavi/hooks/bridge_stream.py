"""The bridge's arrival-ordered list and its named consumers, for event-driven DAGs: plans and hook methods.

``GET /v1/callbacks?after=CURSOR&limit=N&wait=S`` answers, in arrival order, the callbacks stored after a
cursor (each with its own ``cursor``, the ``kind`` of its job when the bridge has a record of it, and whether
it reports an outcome), as soon as there is one or when the wait runs out. A consumer
(``/v1/consumers/{name}``) is a position in that list kept by the bridge, moved only forward: where an event
trigger resumes after a restart. The plans run on either driver of
:class:`~airflow_provider_mavi.hooks.bridge.MaviBridgeHook` (they are its methods through
:class:`BridgeStreamMethods`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_mavi.exceptions import MaviBridgeError
from airflow_provider_mavi.hooks.bridge_plans import call
from airflow_provider_mavi.hooks.bridge_protocol import Plan, Request, capped_wait

if TYPE_CHECKING:
    from airflow_provider_mavi.retry import RetryPolicy

__all__ = [
    "BridgeStreamMethods",
    "Consumer",
    "StreamPage",
    "StreamRecord",
    "check_consumer_name",
]

T = TypeVar("T")
#: The bridge answers at most this many records per page.
MAX_PAGE = 1000
_NAME = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}")
STARTS = ("latest", "earliest")


def check_consumer_name(name: object) -> str:
    """A consumer name, checked before any request: 1 to 200 letters, digits and ``._~-``.

    :param name: the name.
    :raises ValueError: for anything else (it is one path segment, never escaped).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"a consumer name is 1 to 200 letters, digits and ._~- (not starting with '.'), got {name!r}"
        )
    return name


def _cursor(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(value)
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


@dataclass(frozen=True)
class StreamRecord:
    """One callback of the arrival-ordered list.

    :param cursor: its place in the list (a consumer that processed it moves there).
    :param job_id: Mavi's job id.
    :param kind: the job's kind when the bridge has a record of the job (jobs this provider submitted).
    :param terminal: False for a progress body (the outcome may still replace it).
    :param received_at: ISO 8601 UTC time of the first delivery.
    :param deliveries: how many POSTs the bridge accepted for the job.
    :param payload: the callback body as Mavi sent it.
    """

    cursor: int
    job_id: str
    kind: str | None
    terminal: bool
    received_at: str
    deliveries: int
    payload: dict[str, Any]

    @classmethod
    def from_json(cls, data: object) -> StreamRecord:
        """Read one record of the list.

        :param data: ``{cursor, job_id, kind, terminal, received_at, deliveries, payload}``.
        :raises MaviBridgeError: when a field is missing or of the wrong type.
        """
        try:
            assert isinstance(data, Mapping)
            kind = data.get("kind")
            assert kind is None or isinstance(kind, str)
            payload = data["payload"]
            assert isinstance(payload, Mapping)
            return cls(
                cursor=_cursor(data["cursor"]),
                job_id=str(data["job_id"]),
                kind=kind,
                terminal=bool(data.get("terminal", True)),
                received_at=str(data["received_at"]),
                deliveries=int(data["deliveries"]),
                payload=dict(payload),
            )
        except (AssertionError, KeyError, TypeError, ValueError) as err:
            raise MaviBridgeError(
                f"the bridge's callback list holds a malformed record ({type(err).__name__}): "
                "is the bridge older than this provider?"
            ) from None


@dataclass(frozen=True)
class StreamPage:
    """A page of the list and the cursor to ask after next.

    :param records: the callbacks, in arrival order.
    :param next_cursor: the cursor of the last one (the one asked after, for an empty page).
    """

    records: tuple[StreamRecord, ...]
    next_cursor: int


@dataclass(frozen=True)
class Consumer:
    """A named position in the list, kept by the bridge.

    :param name: the consumer's name.
    :param cursor: the cursor of the last callback it processed.
    """

    name: str
    cursor: int

    @classmethod
    def from_json(cls, data: object) -> Consumer:
        """Read the bridge's ``{name, cursor, ...}``.

        :param data: the answer.
        :raises MaviBridgeError: when it is not one.
        """
        try:
            assert isinstance(data, Mapping)
            return cls(name=str(data["name"]), cursor=_cursor(data["cursor"]))
        except (AssertionError, KeyError, TypeError, ValueError):
            raise MaviBridgeError("the bridge's consumer record is malformed") from None


# ------------------------------------------------------------------------------------------- plans


def list_page(after: int, limit: int, wait: float, policy: RetryPolicy) -> Plan[StreamPage]:
    """One long-poll of the list: the callbacks after ``after``, as soon as there is one.

    :param after: the cursor of the last callback already seen.
    :param limit: the most records (1 to 1,000).
    :param wait: seconds the bridge may hold the request when nothing is there (capped at 60).
    :param policy: the retry policy.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1 to {MAX_PAGE}, got {limit!r}")
    seconds = capped_wait(wait)
    params = {"after": str(_cursor(after)), "limit": limit, "wait": seconds}
    data = yield from call(Request("GET", "/v1/callbacks", params=params, wait=seconds), policy)
    try:
        records = tuple(StreamRecord.from_json(record) for record in data["callbacks"])
        return StreamPage(records, _cursor(data["next"]))
    except (KeyError, TypeError, ValueError):
        raise MaviBridgeError("the bridge's callback list is malformed") from None


def start_consumer(name: str, start: str, policy: RetryPolicy) -> Plan[Consumer]:
    """The consumer's position, creating it first when missing (``latest``: after every callback so far).

    :param name: the consumer's name.
    :param start: ``latest`` or ``earliest``, for a new consumer.
    :param policy: the retry policy.
    """
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")
    request = Request("POST", f"/v1/consumers/{check_consumer_name(name)}", body={"start": start})
    return Consumer.from_json((yield from call(request, policy)))


def advance_consumer(name: str, cursor: int, policy: RetryPolicy) -> Plan[Consumer]:
    """Move the consumer forward to ``cursor`` (the bridge never moves it back).

    :param name: the consumer's name.
    :param cursor: the cursor of the last callback processed.
    :param policy: the retry policy.
    """
    body = {"cursor": str(_cursor(cursor))}
    request = Request("PUT", f"/v1/consumers/{check_consumer_name(name)}", body=body)
    return Consumer.from_json((yield from call(request, policy)))


def get_consumer(name: str, policy: RetryPolicy) -> Plan[Consumer | None]:
    """The consumer's position, or None when the bridge has none of that name.

    :param name: the consumer's name.
    :param policy: the retry policy.
    """
    request = Request("GET", f"/v1/consumers/{check_consumer_name(name)}", missing_ok=True)
    data = yield from call(request, policy)
    return None if data is None else Consumer.from_json(data)


class BridgeStreamMethods:
    """The list and consumer methods of :class:`~airflow_provider_mavi.hooks.bridge.MaviBridgeHook`."""

    retry_policy: RetryPolicy

    def _run(self, plan: Plan[T]) -> T:
        raise NotImplementedError

    async def _arun(self, plan: Plan[T]) -> T:
        raise NotImplementedError

    def list_page(self, after: int = 0, limit: int = 100, wait: float = 0) -> StreamPage:
        """The callbacks after ``after`` in arrival order, waiting up to ``wait`` s for one (one long-poll).

        :param after: the cursor of the last callback already seen (0: the start).
        :param limit: the most records (1 to 1,000).
        :param wait: seconds the bridge may hold the request (at most 60).
        """
        return self._run(list_page(after, limit, wait, self.retry_policy))

    async def alist_page(self, after: int = 0, limit: int = 100, wait: float = 0) -> StreamPage:
        """Async twin of :meth:`list_page`.

        :param after: the cursor of the last callback already seen.
        :param limit: the most records.
        :param wait: seconds the bridge may hold the request.
        """
        return await self._arun(list_page(after, limit, wait, self.retry_policy))

    def start_consumer(self, name: str, start: str = "latest") -> Consumer:
        """The consumer's position; a new consumer starts at ``latest`` (now) or ``earliest``.

        :param name: the consumer's name.
        :param start: where a new consumer starts.
        """
        return self._run(start_consumer(name, start, self.retry_policy))

    async def astart_consumer(self, name: str, start: str = "latest") -> Consumer:
        """Async twin of :meth:`start_consumer`.

        :param name: the consumer's name.
        :param start: where a new consumer starts.
        """
        return await self._arun(start_consumer(name, start, self.retry_policy))

    def advance_consumer(self, name: str, cursor: int) -> Consumer:
        """Move the consumer forward to ``cursor`` (never back).

        :param name: the consumer's name.
        :param cursor: the cursor of the last callback processed.
        """
        return self._run(advance_consumer(name, cursor, self.retry_policy))

    async def aadvance_consumer(self, name: str, cursor: int) -> Consumer:
        """Async twin of :meth:`advance_consumer`.

        :param name: the consumer's name.
        :param cursor: the cursor of the last callback processed.
        """
        return await self._arun(advance_consumer(name, cursor, self.retry_policy))

    def get_consumer(self, name: str) -> Consumer | None:
        """The consumer's position, or None.

        :param name: the consumer's name.
        """
        return self._run(get_consumer(name, self.retry_policy))

    async def aget_consumer(self, name: str) -> Consumer | None:
        """Async twin of :meth:`get_consumer`.

        :param name: the consumer's name.
        """
        return await self._arun(get_consumer(name, self.retry_policy))
