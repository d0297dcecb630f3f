"""Where a job-submitting task remembers its paid job across tries: the task state store and the bridge.

Mavi bills every job, has no cancel and no status endpoint, so a retry must not pay again for a job that can
still deliver. The submitted job is remembered where it survives retries: Airflow 3.3's
``task_state_store`` and, for older Airflow or when the store is absent, the bridge's job record keyed by
``dag_id/run_id/task_id/map_index`` and what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from airflow_provider_mavi.compat import NEVER_EXPIRE
from airflow_provider_mavi.exceptions import MaviBridgeError
from airflow_provider_mavi.hooks.bridge_protocol import TaskRef

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from airflow_provider_mavi.hooks.bridge import MaviBridgeHook

#: task_state_store key holding the submitted job (a JSON object, see :class:`SubmittedJob`).
STATE_KEY = "mavi_job"


def task_ref(context: Context) -> TaskRef:
    """The task instance, as the bridge records it with the job (the Mavi page shows it).

    :param context: the task's context.
    """
    ti = context["ti"]
    map_index = ti.map_index if isinstance(ti.map_index, int) else -1
    return TaskRef(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, map_index=map_index)


def job_key(context: Context) -> str:
    """The identity of this task instance across tries: ``dag_id/run_id/task_id/map_index``.

    :param context: the task's context.
    """
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{ti.map_index}"


@dataclass(frozen=True)
class SubmittedJob:
    """A job this task submitted, as remembered across tries.

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
        """Read a job from the task state store, or None when the value is not one.

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
    """Where a task remembers the job it submitted: the task state store, and the bridge's job record.

    :param context: the task's context (``task_state_store`` is used when present).
    :param bridge: the bridge hook.
    :param operator: the operator, for logging.
    """

    def __init__(self, context: Context, bridge: MaviBridgeHook, operator: BaseOperator) -> None:
        self.store = context.get("task_state_store")
        self.bridge = bridge
        self.key = job_key(context)
        self.task = task_ref(context)
        self.log = operator.log

    def bridge_key(self, fingerprint: str) -> str:
        """The key of the bridge's job record: the task instance and what it asked for.

        :param fingerprint: kind, asset and options of the request.
        """
        return f"{self.key}|{fingerprint}"

    def recorded(
        self, kind: str, asset_id: str, fingerprint: str, callback_timeout: float
    ) -> SubmittedJob | None:
        """The job an earlier try of this task submitted for the same request, if any.

        :param kind: the job kind.
        :param asset_id: the asset.
        :param fingerprint: kind, asset and options of this try.
        :param callback_timeout: seconds a job is waited for, to date a bridge record's deadline.
        :raises MaviBridgeError: when the bridge cannot be asked (nothing is submitted then).
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
        """Remember a job just submitted, in both places; a failure of one is logged, not raised.

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
                job.job_id,
                kind=job.kind,
                asset_id=job.asset_id,
                key=self.bridge_key(job.fingerprint),
                task=self.task,
                deadline=job.deadline,
            )
            stored = True
        except (MaviBridgeError, ValueError) as error:
            self.log.warning("Could not record Mavi job %s in the bridge: %s", job.job_id, error)
        if not stored:
            self.log.error(
                "Mavi job %s is recorded nowhere: if this try fails, the next one submits (and pays) again",
                job.job_id,
            )
