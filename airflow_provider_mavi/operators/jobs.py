"""What every job-submitting Mavi operator shares: submit once, wait (deferred or blocking), log the spend.

Submit once: Mavi bills every job, has no cancel and no status endpoint, so a retry must not pay again for a
job that can still deliver. The submitted job is remembered where it survives retries: Airflow 3.3's
``task_state_store`` and, for older Airflow or when the store is absent, the bridge's job record keyed by
``dag_id/run_id/task_id/map_index``. A retry re-attaches: a stored successful callback is used at once, a
job still waiting within its deadline is waited for again, and only a job that failed or timed out is
submitted anew. The one window no code can close: Mavi answered the submit but the task died before
recording the job id; the next try then submits again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_mavi.bridge.client import (
    BridgeAuthError,
    BridgeClient,
    BridgeError,
    BridgeUnavailableError,
)
from airflow_provider_mavi.hooks.mavi import MaviConnectionSettings, MaviHook
from airflow_provider_mavi.operators.errors import (
    MaviBridgeNotConfiguredError,
    MaviJobFailedError,
    MaviJobTimeoutError,
    MaviOperatorError,
    MaviTriggerEventError,
    MaviWaitError,
)
from airflow_provider_mavi.triggers.mavi import (
    BRIDGE_WAIT_SECONDS,
    EVENT_STATUSES,
    MaviJobCallbackTrigger,
    event_from_record,
    public_url,
    timeout_event,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

try:  # Airflow >= 3.3
    from airflow.sdk.execution_time.context import NEVER_EXPIRE as _NEVER_EXPIRE

    NEVER_EXPIRE: timedelta | None = _NEVER_EXPIRE
except ImportError:  # pragma: no cover - older Airflow has no task state store at all
    NEVER_EXPIRE = None

#: task_state_store key holding the submitted job (a JSON object, see :class:`SubmittedJob`).
STATE_KEY = "mavi_job"
#: XCom key with the job id, pushed before any wait.
JOB_ID_XCOM_KEY = "job_id"
#: XCom key with each task's price in dollars (null when unknown); summed for the run's spend.
COST_XCOM_KEY = "mavi_cost_usd"
#: How long past the trigger's own deadline Airflow's defer timeout fires, as a backstop only.
DEFER_TIMEOUT_GRACE_SECONDS = 300


def require_id(value: object, name: str) -> str:
    """
    Return a rendered id field, or fail before anything is sent.

    :param value: the rendered value.
    :param name: the field's name, for the message.
    """
    if not isinstance(value, str) or not value.strip():
        raise MaviOperatorError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def job_key(context: Context) -> str:
    """
    The identity of this task instance across tries: ``dag_id/run_id/task_id/map_index``.

    :param context: the task's context.
    """
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{ti.map_index}"


@dataclass(frozen=True)
class SubmittedJob:
    """
    A job this task submitted, as remembered across tries.

    :param job_id: Mavi's job id.
    :param kind: what was asked (``extract_frames``, ``transcribe_video``...).
    :param asset_id: the asset it was asked for.
    :param fingerprint: kind, asset and options; a try asking for something else does not re-attach.
    :param deadline: epoch seconds after which its callback is no longer awaited.
    """

    job_id: str
    kind: str
    asset_id: str
    fingerprint: str
    deadline: float

    @classmethod
    def from_state(cls, value: object) -> SubmittedJob | None:
        """
        Read a job from the task state store, or None when the value is not one.

        :param value: what the store returned.
        """
        if not isinstance(value, Mapping):
            return None
        try:
            return cls(
                job_id=str(value["job_id"]),
                kind=str(value["kind"]),
                asset_id=str(value["asset_id"]),
                fingerprint=str(value["fingerprint"]),
                deadline=float(value["deadline"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _epoch(iso: object) -> float | None:
    if not isinstance(iso, str):
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp()


class JobLedger:
    """
    Where a task remembers the job it submitted: the task state store, and the bridge's job record.

    :param context: the task's context (``task_state_store`` is used when present).
    :param bridge: a blocking bridge client.
    :param bridge_url: the bridge's URL, for messages (credentials are stripped).
    :param operator: the operator, for logging.
    """

    def __init__(
        self, context: Context, bridge: BridgeClient, bridge_url: str | None, operator: BaseOperator
    ) -> None:
        self.store = context.get("task_state_store")
        self.bridge = bridge
        self.bridge_url = bridge_url
        self.key = job_key(context)
        self.log = operator.log

    def bridge_key(self, fingerprint: str) -> str:
        """
        The key of the bridge's job record: the task instance and what it asked for.

        :param fingerprint: kind, asset and options of the request.
        """
        return f"{self.key}|{fingerprint}"

    def recorded(
        self, kind: str, asset_id: str, fingerprint: str, callback_timeout: float
    ) -> SubmittedJob | None:
        """
        The job an earlier try of this task submitted for the same request, if any.

        :param kind: the job kind.
        :param asset_id: the asset.
        :param fingerprint: kind, asset and options of this try.
        :param callback_timeout: seconds a job is waited for, to date a bridge record's deadline.
        :raises BridgeError: when the bridge cannot be asked (nothing is submitted then).
        """
        if self.store is not None:
            job = SubmittedJob.from_state(self.store.get(STATE_KEY))
            if job is not None and job.fingerprint == fingerprint:
                return job
            if job is not None:
                self.log.info(
                    "An earlier try submitted Mavi job %s for another request; not re-used", job.job_id
                )
        record = self.bridge.find_job(self.bridge_key(fingerprint))
        if not record or record.get("kind") != kind or record.get("asset_id") != asset_id:
            return None
        submitted = _epoch(record.get("submitted_at"))
        deadline = (submitted if submitted is not None else 0.0) + callback_timeout
        return SubmittedJob(
            job_id=str(record["job_id"]),
            kind=kind,
            asset_id=asset_id,
            fingerprint=fingerprint,
            deadline=deadline,
        )

    def record(self, job: SubmittedJob) -> None:
        """
        Remember a job just submitted, in both places; a failure of one is logged, not raised.

        :param job: the job.
        """
        stored = False
        if self.store is not None:
            try:
                self.store.set(STATE_KEY, asdict(job), retention=NEVER_EXPIRE)
                stored = True
            except Exception as error:
                self.log.warning(
                    "Could not record Mavi job %s in the task state store: %s", job.job_id, error
                )
        try:
            self.bridge.put_job(
                job.job_id, kind=job.kind, asset_id=job.asset_id, key=self.bridge_key(job.fingerprint)
            )
            stored = True
        except BridgeError as error:
            self.log.warning("Could not record Mavi job %s in the bridge: %s", job.job_id, error)
        if not stored:
            self.log.error(
                "Mavi job %s is recorded nowhere: if this try fails, the next one submits (and pays) again",
                job.job_id,
            )


def validate_event(event: object, job_id: str | None) -> dict[str, Any]:
    """
    Check a trigger event before acting on it (house style rule 5).

    :param event: what the trigger (or the blocking wait) produced.
    :param job_id: the job this task waited for, when known.
    :raises MaviTriggerEventError: for anything this provider's triggers do not emit.
    """
    if not isinstance(event, Mapping):
        raise MaviTriggerEventError(f"The trigger event is not an object: {type(event).__name__}")
    status = event.get("status")
    if status not in EVENT_STATUSES:
        raise MaviTriggerEventError(f"The trigger event has an unknown status {status!r}")
    if job_id is not None and event.get("job_id") != job_id:
        raise MaviTriggerEventError(
            f"The trigger event is for job {event.get('job_id')!r}, this task waited for {job_id!r}"
        )
    if status == "success" and not isinstance(event.get("payload"), Mapping):
        raise MaviTriggerEventError(f"The success event of Mavi job {job_id} carries no callback payload")
    return dict(event)


def log_spend(context: Context, cost_usd: float | None, operator: BaseOperator) -> None:
    """
    Push this task's price (XCom ``mavi_cost_usd``) and log the DAG run's running spend.

    :param context: the task's context.
    :param cost_usd: this task's price, None when unknown.
    :param operator: the operator, for logging.
    """
    ti = context["ti"]
    ti.xcom_push(key=COST_XCOM_KEY, value=cost_usd)
    try:
        task_ids = list(context["dag"].task_ids)
        values = ti.xcom_pull(task_ids=task_ids, key=COST_XCOM_KEY)
    except Exception as error:  # the spend is informative: never fail a paid task over it
        operator.log.warning("Could not sum the run's Mavi spend: %s", error)
        return
    values = values if isinstance(values, list) else [values]
    known = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    unknown = sum(1 for v in values if v is None)
    operator.log.info(
        "Mavi spend of this task: %s; of this DAG run so far: $%.4f over %d priced task(s)%s",
        "unknown" if cost_usd is None else f"${cost_usd:.4f}",
        sum(known),
        len(known),
        f" (and {unknown} task(s) without a known price)" if unknown else "",
    )


class MaviBaseOperator(BaseOperator):
    """
    Base of the Mavi operators: the connection and a cached hook.

    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    template_fields: Sequence[str] = ("mavi_conn_id",)

    def __init__(self, *, mavi_conn_id: str = "mavi_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mavi_conn_id = mavi_conn_id

    @cached_property
    def hook(self) -> MaviHook:
        """The hook of ``mavi_conn_id``."""
        return MaviHook(mavi_conn_id=self.mavi_conn_id)


def bridge_client(settings: MaviConnectionSettings, conn_id: str) -> BridgeClient:
    """
    A blocking bridge client for the connection, or a clear error when it names no bridge.

    :param settings: the connection's settings.
    :param conn_id: the connection id, for the message.
    """
    if not settings.bridge_url or not settings.bridge_token:
        raise MaviBridgeNotConfiguredError(
            f"Connection {conn_id!r} has no bridge_url or no bridge_token in its extras. Mavi delivers job "
            "results only to the account's webhook, which the bridge receives: nothing was submitted."
        )
    return BridgeClient(settings.bridge_url, settings.bridge_token)


class MaviJobOperator(MaviBaseOperator):
    """
    Base of the operators that submit a paid asynchronous Mavi job and wait for its callback.

    Subclasses set :attr:`job_kind` and implement :meth:`submit`, :meth:`fingerprint` and
    :meth:`build_result`.

    :param asset_id: the asset the job works on. (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    job_kind: ClassVar[str] = ""
    template_fields: Sequence[str] = ("asset_id", "mavi_conn_id")

    def __init__(
        self,
        *,
        asset_id: str,
        callback_timeout: float = 3600,
        deferrable: bool = True,
        mavi_conn_id: str = "mavi_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(mavi_conn_id=mavi_conn_id, **kwargs)
        if not callback_timeout or callback_timeout <= 0:
            raise ValueError(f"callback_timeout must be > 0 seconds, got {callback_timeout!r}")
        self.asset_id = asset_id
        self.callback_timeout = float(callback_timeout)
        self.deferrable = deferrable
        self._waiting_job_id: str | None = None
        self._bridge_for_kill: BridgeClient | None = None

    # -- to implement ------------------------------------------------------------------------------

    def submit(self, asset_id: str) -> str:
        """
        Submit the job to Mavi and return its job id (one paid call).

        :param asset_id: the rendered, checked asset id.
        """
        raise NotImplementedError

    def fingerprint(self, asset_id: str) -> str:
        """
        What this try asks for: a retry re-attaches only to a job with the same fingerprint.

        :param asset_id: the rendered, checked asset id.
        """
        return f"{self.job_kind}:{asset_id}"

    def check_request(self) -> None:
        """Check the rendered fields before anything is sent (override to add checks)."""

    def build_result(self, context: Context, job_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """
        Turn a successful callback into this task's small JSON result (with ``cost_usd``).

        :param context: the task's context.
        :param job_id: the Mavi job id.
        :param payload: the callback body as Mavi sent it.
        """
        raise NotImplementedError

    # -- flow ----------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """
        Submit once (or re-attach), then wait for the callback.

        :param context: the task's context.
        """
        asset_id = require_id(self.asset_id, "asset_id")
        self.check_request()
        settings = self.hook.get_settings()
        with bridge_client(settings, self.mavi_conn_id) as bridge:
            ledger = JobLedger(context, bridge, settings.bridge_url, self)
            started = self._start(ledger, asset_id)
            if isinstance(started, dict):
                context["ti"].xcom_push(key=JOB_ID_XCOM_KEY, value=started["job_id"])
                return self.execute_complete(context, started, job_id=started["job_id"])
            job = started
            context["ti"].xcom_push(key=JOB_ID_XCOM_KEY, value=job.job_id)
            remaining = job.deadline - time.time()
            if self.deferrable:
                self.log.info("Deferring until the callback of Mavi job %s arrives", job.job_id)
                self.defer(
                    trigger=MaviJobCallbackTrigger(
                        job_id=job.job_id, deadline=job.deadline, mavi_conn_id=self.mavi_conn_id
                    ),
                    method_name="execute_complete",
                    kwargs={"job_id": job.job_id},
                    timeout=timedelta(seconds=max(remaining, 0) + DEFER_TIMEOUT_GRACE_SECONDS),
                )
            self.log.info("Waiting in the worker for the callback of Mavi job %s", job.job_id)
            event = self._wait_blocking(bridge, job, settings.bridge_url)
        return self.execute_complete(context, event, job_id=job.job_id)

    def _start(self, ledger: JobLedger, asset_id: str) -> SubmittedJob | dict[str, Any]:
        fingerprint = self.fingerprint(asset_id)
        try:
            prior = ledger.recorded(self.job_kind, asset_id, fingerprint, self.callback_timeout)
            record = ledger.bridge.get_callback(prior.job_id, wait=0) if prior is not None else None
        except BridgeAuthError as error:
            raise MaviWaitError(
                f"The bridge refused the bridge_token of {self.mavi_conn_id!r}: {error}"
            ) from error
        except BridgeError as error:
            raise MaviWaitError(
                f"The bridge at {public_url(ledger.bridge_url)} cannot be reached ({error}). Nothing was "
                "submitted: a paid job's callback could not be received now."
            ) from error
        if prior is not None:
            if record is not None:
                event = event_from_record(prior.job_id, record)
                if event["status"] == "success":
                    self.log.info(
                        "Mavi job %s (submitted by an earlier try) already delivered; "
                        "using it, nothing submitted",
                        prior.job_id,
                    )
                    return event
                self.log.warning(
                    "Mavi job %s (submitted by an earlier try) ended %s: %s; submitting a new job",
                    prior.job_id,
                    event["status"],
                    event.get("message"),
                )
            elif time.time() < prior.deadline:
                self.log.info(
                    "Re-attaching to Mavi job %s submitted by an earlier try; nothing submitted", prior.job_id
                )
                return prior
            else:
                self.log.warning(
                    "Mavi job %s (submitted by an earlier try) timed out with no callback; "
                    "submitting a new job",
                    prior.job_id,
                )
        job_id = self.submit(asset_id)
        self.log.info("Submitted Mavi job %s (%s of %s)", job_id, self.job_kind, asset_id)
        job = SubmittedJob(
            job_id=job_id,
            kind=self.job_kind,
            asset_id=asset_id,
            fingerprint=fingerprint,
            deadline=time.time() + self.callback_timeout,
        )
        ledger.record(job)
        return job

    def _wait_blocking(
        self, bridge: BridgeClient, job: SubmittedJob, bridge_url: str | None
    ) -> dict[str, Any]:
        self._waiting_job_id = job.job_id
        self._bridge_for_kill = bridge
        backoff = 1.0
        warned: set[str] = set()
        while True:
            remaining = job.deadline - time.time()
            try:
                if remaining <= 0:
                    record = bridge.get_callback(job.job_id, wait=0)
                    if record is None:
                        return timeout_event(job.job_id, job.deadline, bridge_url)
                else:
                    record = bridge.wait_for(job.job_id, timeout=min(remaining, BRIDGE_WAIT_SECONDS))
            except BridgeAuthError:
                return {
                    "status": "error",
                    "job_id": job.job_id,
                    "message": f"the bridge at {public_url(bridge_url)} refused the bridge_token (401)",
                }
            except BridgeUnavailableError as error:
                if remaining <= 0:
                    event = timeout_event(job.job_id, job.deadline, bridge_url)
                    event["message"] += f" (and the last look failed: {error})"
                    return event
                if str(error) not in warned:
                    warned.add(str(error))
                    self.log.warning("The bridge is unreachable, retrying until the deadline: %s", error)
                time.sleep(min(backoff, max(remaining, 0)))
                backoff = min(backoff * 2, 30.0)
                continue
            if record is not None:
                return event_from_record(job.job_id, record)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, job_id: str | None = None
    ) -> dict[str, Any]:
        """
        Act on the end of the wait: the result, or a clear failure.

        :param context: the task's context.
        :param event: the trigger event.
        :param job_id: the job waited for.
        """
        checked = validate_event(event, job_id)
        job = str(checked["job_id"]) if checked.get("job_id") is not None else str(job_id)
        status = checked["status"]
        self.log.info("Mavi job %s: %s", job, status)
        if status == "failed":
            raise MaviJobFailedError(job, str(checked.get("message") or "no message"))
        if status == "timeout":
            raise MaviJobTimeoutError.from_event(job, checked)
        if status == "error":
            raise MaviWaitError(
                f"Waiting for Mavi job {job} failed: {checked.get('message')}. The job may still deliver: "
                "a retry of this task re-attaches to it instead of submitting again."
            )
        result = self.build_result(context, job, checked["payload"])
        log_spend(context, result.get("cost_usd"), self)
        return result

    def on_kill(self) -> None:
        """Best effort: tell the bridge nobody waits for the job any more (Mavi has no cancel)."""
        if self._waiting_job_id is None or self._bridge_for_kill is None:
            return
        try:
            self._bridge_for_kill.abandon_job(self._waiting_job_id)
        except Exception as error:
            self.log.warning(
                "Could not mark Mavi job %s abandoned: %s", self._waiting_job_id, type(error).__name__
            )
