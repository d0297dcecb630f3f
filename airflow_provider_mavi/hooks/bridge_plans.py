"""What each method of ``MaviBridgeHook`` does, as a plan (pure; see :mod:`.bridge_protocol` for the steps).

Every plan here is run by either of the hook's two drivers, so a behaviour is written once: one request
with its retries (:func:`call`), the reads and writes of the bridge's ``/v1`` API, and THE job wait
(:func:`wait_for_job`) that blocking operators and triggers share.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.events import JobEvent, Reason, describe_error
from airflow_provider_mavi.exceptions import MaviBridgeAuthError, MaviBridgeError
from airflow_provider_mavi.hooks.bridge_protocol import (
    BRIDGE_WAIT_SECONDS,
    CONNECTION,
    MAX_BATCH_IDS,
    CallbackRecord,
    Plan,
    Poll,
    Request,
    TaskRef,
    capped_wait,
    check_job_id,
    is_transient,
    job_segment,
    log,
    one,
    retried,
)
from airflow_provider_mavi.retry import RetryPolicy, log_retry

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


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
    before_sleep = log_retry(log, "bridge POST /v1/callbacks/wait", policy.max_attempts)
    return (yield from retried(policy, lambda: poll_batch(ids, wait), before_sleep=before_sleep))


def poll_batch(job_ids: list[str], wait: float) -> Plan[list[CallbackRecord]]:
    """One batch long-poll of ids already checked, tried once (the loop's shared polls retry on their own).

    :param job_ids: checked job ids (1 to 5,000).
    :param wait: seconds the bridge may hold the request (capped at 60).
    """
    seconds = capped_wait(wait)
    data = yield Request(
        "POST", "/v1/callbacks/wait", body={"job_ids": job_ids, "wait": seconds}, wait=seconds
    )
    try:
        records = data["callbacks"]
        assert isinstance(records, list)
    except (AssertionError, KeyError, TypeError):
        raise MaviBridgeError("the bridge's batch wait answered without a list of callbacks") from None
    return [CallbackRecord.from_json(record) for record in records]


def put_job(
    job_id: str,
    kind: str,
    asset_id: str,
    key: str | None,
    policy: RetryPolicy,
    task: TaskRef | None = None,
    deadline: float | None = None,
) -> Plan[None]:
    """Record a submitted job (``PUT /v1/jobs/{job_id}``).

    :param job_id: the job.
    :param kind: ``extract_frames``, ``transcribe_video`` or ``transcribe_audio``.
    :param asset_id: the asset it works on.
    :param key: an idempotency key, to find the job again after a retry.
    :param policy: the retry policy.
    :param task: the Airflow task instance that submitted it.
    :param deadline: epoch seconds after which its callback is no longer waited for.
    """
    body = {"kind": kind, "asset_id": asset_id, "key": key, "deadline": deadline}
    body.update(task.to_json() if task is not None else {})
    yield from call(Request("PUT", f"/v1/jobs/{job_segment(job_id)}", body=body), policy)


def record_cost(job_id: str, cost_usd: float | None, policy: RetryPolicy) -> Plan[None]:
    """Record a finished job's price (``POST /v1/jobs/{job_id}/cost``); an unknown job is ignored.

    :param job_id: the job.
    :param cost_usd: dollars, None when the price cannot be known.
    :param policy: the retry policy.
    """
    body = {"cost_usd": cost_usd}
    request = Request("POST", f"/v1/jobs/{job_segment(job_id)}/cost", body=body, missing_ok=True)
    yield from call(request, policy)


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
