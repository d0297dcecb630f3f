"""The bridge's read API as pure data: the one request builder behind both sides of ``MaviBridgeHook``.

Nothing here does I/O. Each hook method runs a *plan* (:mod:`.bridge_plans`): a generator that yields steps
and is sent their results back.

- :class:`Request`: one HTTP request; the driver answers with the JSON of a good answer (see
  :func:`read_answer`), or throws the error it maps to.
- :class:`Poll`: wait up to N seconds for one job's callback; the blocking driver sends one long-poll
  ``GET``, the async one joins the event loop's shared batch long-poll.
- :class:`Sleep`: a retry's backoff. :data:`CONNECTION`: the bridge's public URL, from the connection.

The hook has one driver per side (``httpx.Client`` + ``time.sleep``, the loop's ``httpx.AsyncClient`` +
``asyncio.sleep``), so URL building, answer checks, retries (tenacity, through
:class:`~airflow_provider_mavi.retry.RetryPolicy`), the job wait with its final look, and the mapping to
:class:`~airflow_provider_mavi.events.JobEvent` are each written once, here.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from airflow_provider_mavi.events import JobEvent
from airflow_provider_mavi.exceptions import (
    MaviBridgeAuthError,
    MaviBridgeError,
    MaviBridgeUnavailableError,
)
from airflow_provider_mavi.retry import RetryPolicy, parse_retry_after

log = logging.getLogger("airflow_provider_mavi.hooks.bridge")

T = TypeVar("T")

#: Longest wait the bridge holds one request (it caps ``wait`` at 60 s; clients loop).
MAX_SERVER_WAIT = 60.0
#: Longest single wait a job wait asks for, below the cap so a proxy's 60 s idle timeout is not hit.
BRIDGE_WAIT_SECONDS = 55.0
#: The bridge refuses a batch long-poll with more ids.
MAX_BATCH_IDS = 5000
#: The bridge stores job ids of at most this many characters.
MAX_JOB_ID_LENGTH = 200
#: The bridge's own 404 bodies: nothing stored yet, a job it never recorded, a consumer it does not have
#: (any other 404: a wrong URL).
_MISSING = frozenset({"no callback for this job yet", "unknown job", "unknown consumer"})
_BEARER = re.compile(r"(?i)\bbearer\s+\S+")


# ------------------------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Request:
    """One request to the bridge's ``/v1`` API.

    :param method: the HTTP method.
    :param path: the path below the bridge's base URL, ids already escaped.
    :param params: query parameters.
    :param body: a JSON body.
    :param wait: seconds the bridge may hold the request (the read timeout is this plus 15 s).
    :param missing_ok: the bridge's own 404 (nothing stored, unknown job) answers None instead of raising.
    """

    method: str
    path: str
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    wait: float = 0.0
    missing_ok: bool = False

    @property
    def label(self) -> str:
        """``METHOD /path`` for logs (ids only, never a secret)."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Poll:
    """Wait up to ``seconds`` for one job's callback; the result is a :class:`CallbackRecord` or None.

    :param job_id: the job.
    :param seconds: how long, at most 60.
    """

    job_id: str
    seconds: float


@dataclass(frozen=True)
class Sleep:
    """Wait before the next attempt.

    :param seconds: how long.
    """

    seconds: float


class ReadConnection:
    """Step answered with the bridge's public URL; raises when the connection cannot be read or names none."""


CONNECTION = ReadConnection()
Step = Request | Poll | Sleep | ReadConnection
Plan = Generator[Step, Any, T]


class Stepper(Generic[T]):
    """Feeds a plan the results (or errors) of its steps: what the hook's two drivers share.

    :param plan: the plan to run.
    """

    def __init__(self, plan: Plan[T]) -> None:
        self._plan = plan
        self._value: Any = None
        self._error: Exception | None = None
        self.result: T

    def next(self) -> Step | None:
        """The next step to do, or None once the plan has ended (its value is then :attr:`result`)."""
        try:
            step = self._plan.throw(self._error) if self._error else self._plan.send(self._value)
        except StopIteration as stop:
            self.result = stop.value
            return None
        self._value, self._error = None, None
        return step

    def answer(self, value: Any) -> None:
        """The step was done: ``value`` is its result.

        :param value: the result.
        """
        self._value = value

    def fail(self, error: Exception) -> None:
        """The step failed: ``error`` is raised inside the plan, where it stands.

        :param error: the error.
        """
        self._error = error


@dataclass(frozen=True)
class TaskRef:
    """The Airflow task instance that submitted a job, recorded with it (the bridge's Mavi page shows it).

    :param dag_id: the DAG.
    :param run_id: the DAG run.
    :param task_id: the Airflow task (not Mavi's ``task_id``).
    :param map_index: the map index (``-1`` when not mapped).
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    def to_json(self) -> dict[str, Any]:
        """The fields of ``PUT /v1/jobs/{job_id}`` that name the task."""
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
        }


@dataclass(frozen=True)
class CallbackRecord:
    """One stored callback as the bridge returns it.

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
    def from_json(cls, data: object) -> CallbackRecord:
        """Build a record from the bridge's JSON ``{job_id, received_at, deliveries, payload}``.

        :param data: one record.
        :raises MaviBridgeError: when a field is missing or of the wrong type.
        """
        try:
            assert isinstance(data, Mapping)
            return cls(
                job_id=str(data["job_id"]),
                received_at=str(data["received_at"]),
                deliveries=int(data["deliveries"]),
                payload=dict(data["payload"]),
            )
        except (AssertionError, KeyError, TypeError, ValueError) as err:
            raise MaviBridgeError(f"the bridge returned a malformed record ({type(err).__name__})") from None

    def event(self, job_id: str, bridge_url: str | None = None) -> JobEvent:
        """The event this callback ends a wait with.

        :param job_id: the job waited for.
        :param bridge_url: the bridge it was read from, without credentials.
        """
        return JobEvent.from_callback(
            job_id,
            self.payload,
            received_at=self.received_at,
            deliveries=self.deliveries,
            bridge_url=bridge_url,
        )


# ------------------------------------------------------------------------------------ ids and URLs


def job_segment(job_id: object) -> str:
    """The job id as ONE escaped path segment; refuses an id that cannot be one, before any request.

    :param job_id: a Mavi job id.
    :raises ValueError: for a non-string, empty, ``.`` or ``..`` id, one over 200 characters, or one with
        ``/``, ``\\``, control characters or lone surrogates (a proxy or server could read those as another
        path: another route of the same host, with the bearer token).
    """
    check_job_id(job_id)
    return quote(str(job_id), safe="")


def check_job_id(job_id: object) -> str:
    """Return ``job_id`` when it can name a job on the bridge; raise a clear ValueError otherwise.

    :param job_id: a Mavi job id.
    """
    if not isinstance(job_id, str) or not job_id:
        raise ValueError(f"A Mavi job id must be a non-empty string, got {job_id!r}")
    if len(job_id) > MAX_JOB_ID_LENGTH:
        raise ValueError(f"A Mavi job id has at most {MAX_JOB_ID_LENGTH} characters, got {len(job_id)}")
    if job_id in (".", ".."):
        raise ValueError(f"{job_id!r} is not a Mavi job id")
    bad = next((c for c in job_id if c in "/\\" or unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise ValueError(f"A Mavi job id cannot contain {bad!r}: got {job_id!r}")
    return job_id


def public_url(url: str | None) -> str:
    """``url`` without user info, query or fragment: safe to show in logs, errors and events.

    :param url: a configured URL, possibly carrying credentials.
    """
    if not url:
        return "(no bridge_url set)"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def capped_wait(seconds: float) -> float:
    """A long-poll's wait, 0 to 60 s.

    :param seconds: the wait asked for.
    """
    return min(max(float(seconds), 0.0), MAX_SERVER_WAIT)


# ------------------------------------------------------------------------------------------ answers


def read_answer(
    request: Request,
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    url: str,
    token: str | None,
) -> Any:
    """The JSON of a good answer (None for the bridge's own 404 when ``missing_ok``); raise for any other.

    The answer body reaches a message only as the bridge's own ``detail`` string, scrubbed of the token and
    of anything after ``Bearer``: a proxy that echoes the request's headers cannot leak the token.

    :param request: the request answered.
    :param status: the HTTP status.
    :param headers: the answer's headers.
    :param content: the answer's body.
    :param url: the bridge's public URL, for messages.
    :param token: the bearer token, scrubbed from anything shown.
    """
    if status == 401:
        raise MaviBridgeAuthError(
            f"the bridge at {url} refused the token (401): check the connection's bridge_token", status=401
        )
    detail = _detail(content, headers.get("content-type"), token)
    if status == 404:
        if request.missing_ok and detail in _MISSING:
            return None
        raise MaviBridgeError(f"404 from {url}{request.path}: is bridge_url right? ({detail})", status=404)
    if status >= 500 or status == 429:
        raise MaviBridgeUnavailableError(
            f"the bridge at {url} answered {status} to {request.label}: {detail}",
            status=status,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    if status >= 400:
        raise MaviBridgeError(
            f"the bridge at {url} answered {status} to {request.label}: {detail}", status=status
        )
    try:
        return json.loads(content)
    except ValueError:
        raise MaviBridgeError(
            f"the bridge at {url} answered {request.label} with something not JSON"
        ) from None


def _detail(content: bytes, content_type: str | None, token: str | None) -> str:
    """The bridge's ``detail`` string, scrubbed; never the rest of a body (a proxy's page, echoed headers)."""
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if isinstance(body, Mapping) and isinstance(body.get("detail"), str):
        text = body["detail"]
        if token:
            text = text.replace(token, "***")
        text = _BEARER.sub("Bearer ***", text)
        return text if len(text) <= 200 else text[:197] + "..."
    kind = (content_type or "no content type").split(";")[0].strip()
    return f"a {kind} body of {len(content)} bytes, not shown"


def unreachable(error: BaseException, url: str) -> MaviBridgeUnavailableError:
    """The error of a request that got no answer (refused, DNS, TLS, timeout, dropped).

    :param error: the transport error.
    :param url: the bridge's public URL.
    """
    return MaviBridgeUnavailableError(f"cannot reach the bridge at {url}: {type(error).__name__}")


def is_transient(error: BaseException) -> bool:
    """True for what the bridge being down or restarting looks like: wait and try again.

    :param error: the error of a request.
    """
    return isinstance(error, MaviBridgeUnavailableError)


# -------------------------------------------------------------------------------------------- plans


def one(step: Step) -> Plan[Any]:
    """A plan of one step: its result.

    :param step: the step.
    """
    return (yield step)


def retried(policy: RetryPolicy, attempt: Callable[[], Plan[T]], **settings: Any) -> Plan[T]:
    """Run ``attempt`` again as the policy says (tenacity decides; the driver sleeps).

    The first attempt runs bare, and tenacity's objects are made only once it fails, with that failure as
    their first attempt: most calls never fail, and 10,000 waiting triggers then hold no retry state.

    :param policy: the retry policy.
    :param attempt: makes a fresh plan for each attempt.
    :param settings: ``retry_on``, ``attempts``, ``deadline``, ``before_sleep``, ``clock`` of
        :meth:`RetryPolicy.retrying`; ``retry_on`` never sees a ``GeneratorExit`` or a cancellation.
    """
    try:
        return (yield from attempt())
    except Exception as error:
        failed: Exception | None = error
    retry_on: Callable[[BaseException], bool] = settings.pop("retry_on", is_transient)
    sleeps: list[float] = []
    retrying = policy.retrying(
        retry_on=lambda error: isinstance(error, Exception) and retry_on(error),
        sleep=sleeps.append,
        **settings,
    )
    for state in retrying:
        if sleeps:
            yield Sleep(sleeps.pop())
        with state:
            if failed is not None:  # the bare first attempt's failure, for tenacity to decide on
                first, failed = failed, None
                raise first
            return (yield from attempt())
    raise AssertionError("tenacity ends with a result or an error")  # pragma: no cover
