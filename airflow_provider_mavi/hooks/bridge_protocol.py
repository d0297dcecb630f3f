"""The bridge's read API as pure data: the one request builder behind both sides of ``MaviBridgeHook``.

Nothing here does I/O. Each hook method runs a *plan*: a generator that yields steps and is sent their
results back.

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
import time
import unicodedata
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from airflow_provider_mavi.events import JobEvent, Reason, describe_error
from airflow_provider_mavi.exceptions import (
    MaviBridgeAuthError,
    MaviBridgeError,
    MaviBridgeUnavailableError,
)
from airflow_provider_mavi.retry import RetryPolicy, log_retry, parse_retry_after

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
#: The bridge's own 404 bodies: nothing stored yet, or a job it never recorded (any other 404: a wrong URL).
_MISSING = frozenset({"no callback for this job yet", "unknown job"})
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

    :param policy: the retry policy.
    :param attempt: makes a fresh plan for each attempt.
    :param settings: ``retry_on``, ``attempts``, ``deadline``, ``before_sleep``, ``clock`` of
        :meth:`RetryPolicy.retrying`; ``retry_on`` never sees a ``GeneratorExit`` or a cancellation.
    """
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
            return (yield from attempt())
    raise AssertionError("tenacity ends with a result or an error")  # pragma: no cover


def call(request: Request, policy: RetryPolicy) -> Plan[Any]:
    """One request, transient errors retried by the policy.

    :param request: the request.
    :param policy: the retry policy.
    """
    before_sleep = log_retry(log, f"bridge {request.label}", policy.max_attempts)
    return (yield from retried(policy, lambda: one(request), before_sleep=before_sleep))


def get_callback_request(job_id: str, wait: float) -> Request:
    """``GET /v1/callbacks/{job_id}?wait=S`` (None when nothing is stored when the wait runs out).

    :param job_id: the job.
    :param wait: seconds the bridge may hold it (capped at 60).
    """
    seconds = capped_wait(wait)
    path = f"/v1/callbacks/{job_segment(job_id)}"
    return Request("GET", path, params={"wait": seconds}, wait=seconds, missing_ok=True)


def get_callback(job_id: str, wait: float, policy: RetryPolicy) -> Plan[CallbackRecord | None]:
    """The job's callback, waiting up to ``wait`` seconds (one long-poll), or None.

    :param job_id: the job.
    :param wait: seconds the bridge may hold the request.
    :param policy: the retry policy.
    """
    data = yield from call(get_callback_request(job_id, wait), policy)
    return None if data is None else CallbackRecord.from_json(data)


def wait_many(job_ids: Sequence[str], wait: float, policy: RetryPolicy) -> Plan[list[CallbackRecord]]:
    """One batch long-poll: the stored callbacks among ``job_ids``, as soon as at least one is there.

    :param job_ids: the jobs (1 to 5,000).
    :param wait: seconds the bridge may hold the request (capped at 60).
    :param policy: the retry policy.
    """
    ids = [check_job_id(job_id) for job_id in job_ids]
    if not 1 <= len(ids) <= MAX_BATCH_IDS:
        raise ValueError(f"A batch wait takes 1 to {MAX_BATCH_IDS} job ids, got {len(ids)}")
    seconds = capped_wait(wait)
    request = Request("POST", "/v1/callbacks/wait", body={"job_ids": ids, "wait": seconds}, wait=seconds)
    data = yield from call(request, policy)
    try:
        records = data["callbacks"]
        assert isinstance(records, list)
    except (AssertionError, KeyError, TypeError):
        raise MaviBridgeError("the bridge's batch wait answered without a list of callbacks") from None
    return [CallbackRecord.from_json(record) for record in records]


def put_job(job_id: str, kind: str, asset_id: str, key: str | None, policy: RetryPolicy) -> Plan[None]:
    """Record a submitted job (``PUT /v1/jobs/{job_id}``).

    :param job_id: the job.
    :param kind: ``extract_frames``, ``transcribe_video`` or ``transcribe_audio``.
    :param asset_id: the asset it works on.
    :param key: an idempotency key, to find the job again after a retry.
    :param policy: the retry policy.
    """
    body = {"kind": kind, "asset_id": asset_id, "key": key}
    yield from call(Request("PUT", f"/v1/jobs/{job_segment(job_id)}", body=body), policy)


def find_job(key: str, policy: RetryPolicy) -> Plan[dict[str, Any] | None]:
    """The newest job recorded under ``key``, or None.

    :param key: the idempotency key given to :func:`put_job`.
    :param policy: the retry policy.
    """
    data = yield from call(Request("GET", "/v1/jobs", params={"key": key}), policy)
    try:
        jobs = data["jobs"]
        return dict(jobs[0]) if jobs else None
    except (KeyError, TypeError, ValueError, IndexError):
        raise MaviBridgeError("the bridge's job list is malformed") from None


def abandon_job(job_id: str, policy: RetryPolicy) -> Plan[None]:
    """Tell the bridge nobody waits for the job any more (an unknown job is ignored).

    :param job_id: the job.
    :param policy: the retry policy.
    """
    request = Request("POST", f"/v1/jobs/{job_segment(job_id)}/abandon", missing_ok=True)
    yield from call(request, policy)


def list_callbacks(after: str, limit: int, policy: RetryPolicy) -> Plan[tuple[list[CallbackRecord], str]]:
    """Callbacks in arrival order after a cursor, and the next cursor.

    :param after: the cursor of the previous call (``"0"`` to start).
    :param limit: the most records to return (at most 1,000).
    :param policy: the retry policy.
    """
    data = yield from call(Request("GET", "/v1/callbacks", params={"after": after, "limit": limit}), policy)
    try:
        return [CallbackRecord.from_json(r) for r in data["callbacks"]], str(data["next"])
    except (KeyError, TypeError):
        raise MaviBridgeError("the bridge's callback list is malformed") from None


def check_job(job_id: str, policy: RetryPolicy) -> Plan[JobEvent | None]:
    """One look: the event the job's stored callback ends a wait with, or None when nothing is stored.

    :param job_id: the job.
    :param policy: the retry policy.
    """
    url = yield CONNECTION
    record = yield from get_callback(job_id, 0, policy)
    return None if record is None else record.event(job_id, url)


def poll_until(job_id: str, deadline: float, clock: Callable[[], float]) -> Plan[CallbackRecord | None]:
    """Long-poll until the callback is there (the record) or the deadline passes (None).

    :param job_id: the job.
    :param deadline: epoch seconds.
    :param clock: the clock the deadline is read with.
    """
    while (remaining := deadline - clock()) > 0:
        record = yield Poll(job_id, min(remaining, BRIDGE_WAIT_SECONDS))
        if record is not None:
            return record
    return None


def wait_for(
    job_id: str, timeout: float, policy: RetryPolicy, clock: Callable[[], float] = time.time
) -> Plan[CallbackRecord | None]:
    """Wait up to ``timeout`` seconds for the callback (None when it did not come); the bridge being
    unreachable is retried until then, and if it failed meanwhile one last look decides (raising if the bridge
    still cannot be asked).

    :param job_id: the job.
    :param timeout: seconds to wait in all.
    :param policy: the retry policy.
    :param clock: the clock.
    """
    check_job_id(job_id)
    deadline = clock() + max(timeout, 0.0)
    log_it = log_retry(log, f"waiting for Mavi job {job_id}")
    failed: list[int] = []

    def before_sleep(state: Any) -> None:
        failed.append(state.attempt_number)
        log_it(state)

    record = yield from retried(
        policy,
        lambda: poll_until(job_id, deadline, clock),
        attempts=None,
        deadline=deadline,
        clock=clock,
        before_sleep=before_sleep,
    )
    if record is None and failed:
        record = yield from get_callback(job_id, 0, policy.with_attempts(1))
    return record


def wait_for_job(
    job_id: str,
    deadline: float,
    policy: RetryPolicy,
    *,
    conn_id: str,
    max_errors: int = 5,
    clock: Callable[[], float] = time.time,
) -> Plan[JobEvent]:
    """THE wait for a job's callback, blocking or in a trigger: it always ends in one :class:`JobEvent`.

    - A stored callback ends it (``success``, ``failed``, or ``error`` when it is malformed).
    - The bridge down or restarting (:func:`is_transient`) is waited out with the policy's backoff until the
      deadline. Other errors are retried up to ``max_errors`` attempts in a row, then end it as ``error``;
      a refused token ends it at once.
    - At the deadline one last look is taken, so a callback stored while nobody waited (a triggerer
      restart, a late start, an outage) is still found; else ``timeout``, with why the look failed if it did.

    :param job_id: the job.
    :param deadline: epoch seconds (absolute, so a restart does not extend it).
    :param policy: the retry policy.
    :param conn_id: the connection, for messages.
    :param max_errors: attempts in a row allowed for errors other than the bridge being unreachable.
    :param clock: the clock the deadline is read with.
    """
    check_job_id(job_id)
    try:
        url: str = yield CONNECTION
    except Exception as error:
        message = f"cannot use connection {conn_id!r} to reach the bridge: {describe_error(error)}"
        return JobEvent.error(job_id, message, reason=Reason.CONNECTION, deadline=deadline)

    def refused() -> JobEvent:
        message = f"the bridge at {url} refused the bridge_token of connection {conn_id!r} (401)"
        return JobEvent.error(job_id, message, reason=Reason.TOKEN_REFUSED, bridge_url=url, deadline=deadline)

    record: CallbackRecord | None = None
    try:
        record = yield from retried(
            policy,
            lambda: poll_until(job_id, deadline, clock),
            retry_on=lambda error: not isinstance(error, MaviBridgeAuthError),
            attempts=lambda error: None if is_transient(error) else max_errors,
            deadline=deadline,
            clock=clock,
            before_sleep=log_retry(log, f"waiting for Mavi job {job_id} at {url}"),
        )
    except MaviBridgeAuthError:
        return refused()
    except Exception as error:
        if clock() < deadline:  # not the deadline: errors other than an outage, too many in a row
            message = (
                f"{max_errors} errors in a row reading the bridge at {url}, the last: {describe_error(error)}"
            )
            return JobEvent.error(
                job_id,
                message,
                reason=Reason.REPEATED_ERRORS,
                bridge_url=url,
                deadline=deadline,
                last_error=describe_error(error),
            )
    if record is not None:
        return record.event(job_id, url)
    try:  # the final look
        record = yield from get_callback(job_id, 0, policy.with_attempts(1))
    except MaviBridgeAuthError:
        return refused()
    except Exception as error:
        return JobEvent.timeout(job_id, deadline=deadline, bridge_url=url, last_error=describe_error(error))
    if record is not None:
        return record.event(job_id, url)
    return JobEvent.timeout(job_id, deadline=deadline, bridge_url=url)
