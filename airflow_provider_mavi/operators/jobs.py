"""What every job-submitting Mavi operator shares: submit once, wait (deferred or blocking), log the spend.

Submit once (see :mod:`~airflow_provider_mavi.operators.ledger`): a retry re-attaches: a stored successful
callback is used at once, a job still waiting within its deadline is waited for again, and only a job that
failed or timed out is submitted anew. The one window no code can close: Mavi answered the submit but the
task died before recording the job id; the next try then submits again.

The wait itself belongs to :class:`~airflow_provider_mavi.hooks.bridge.MaviBridgeHook`: ``wait_for_job``
in the worker, ``await_for_job`` in :class:`~airflow_provider_mavi.triggers.mavi.MaviJobCallbackTrigger`;
both end in the same :class:`~airflow_provider_mavi.events.JobEvent`, which ``execute_complete`` checks.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_mavi.events import SUCCESS, JobEvent, raise_for_event
from airflow_provider_mavi.exceptions import (
    MaviBridgeAuthError,
    MaviBridgeError,
    MaviBridgeNotConfiguredError,
    MaviWaitError,
)
from airflow_provider_mavi.hooks.task import require_id
from airflow_provider_mavi.operators.base import MaviBaseOperator, log_spend
from airflow_provider_mavi.operators.ledger import JobLedger, SubmittedJob
from airflow_provider_mavi.operators.lineage import JobLineage
from airflow_provider_mavi.operators.links import MaviBridgeJobLink, MaviResultsLink, push_job_links
from airflow_provider_mavi.triggers.mavi import MaviJobCallbackTrigger

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context

#: XCom key with the job id, pushed before any wait.
JOB_ID_XCOM_KEY = "job_id"


class MaviJobOperator(JobLineage, MaviBaseOperator):
    """Base of the operators that submit a paid asynchronous Mavi job and wait for its callback.

    Subclasses set :attr:`job_kind` and implement :meth:`submit`, :meth:`fingerprint` and
    :meth:`build_result`.

    :param asset_id: the asset the job works on. (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    :param kwargs: ``mavi_retry_attempts``, ``mavi_retry_delay`` (see :class:`MaviBaseOperator`) and the
        ``BaseOperator`` arguments.
    """

    job_kind: ClassVar[str] = ""
    template_fields: Sequence[str] = ("asset_id", "mavi_conn_id")
    #: The field naming the folder the results are written to (its link: ``MaviResultsLink``), if any.
    results_field: ClassVar[str] = "output_path"
    operator_extra_links = (MaviBridgeJobLink(), MaviResultsLink())

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

    # -- to implement ------------------------------------------------------------------------------

    def submit(self, asset_id: str) -> str:
        """Submit the job to Mavi and return its job id (one paid call).

        :param asset_id: the rendered, checked asset id.
        """
        raise NotImplementedError

    def fingerprint(self, asset_id: str) -> str:
        """What this try asks for: a retry re-attaches only to a job with the same fingerprint.

        :param asset_id: the rendered, checked asset id.
        """
        return f"{self.job_kind}:{asset_id}"

    def check_request(self) -> None:
        """Check the rendered fields before anything is sent (override to add checks)."""

    def build_result(self, context: Context, job_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Turn a successful callback into this task's small JSON result (with ``cost_usd``).

        :param context: the task's context.
        :param job_id: the Mavi job id.
        :param payload: the callback body as Mavi sent it.
        """
        raise NotImplementedError

    # -- flow ----------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """Submit once (or re-attach), then wait for the callback.

        :param context: the task's context.
        """
        asset_id = require_id(self.asset_id, "asset_id")
        self.check_request()
        bridge = self.bridge_hook
        try:
            bridge.get_settings()
        except MaviBridgeNotConfiguredError as error:
            raise MaviBridgeNotConfiguredError(f"{error}: nothing was submitted.") from None
        try:
            started = self._start(JobLedger(context, bridge, self), asset_id)
            job_id = started.job_id
            context["ti"].xcom_push(key=JOB_ID_XCOM_KEY, value=job_id)
            self.note_lineage("job_id", job_id)
            results = getattr(self, self.results_field, None)
            push_job_links(context, bridge.get_settings().pages_url, job_id, results, self.log)
            if isinstance(started, JobEvent):
                return self.execute_complete(context, started.to_json(), job_id=job_id)
            if self.deferrable:
                self.log.info("Deferring until the callback of Mavi job %s arrives", job_id)
                trigger = MaviJobCallbackTrigger(
                    job_id=job_id,
                    deadline=started.deadline,
                    **self.trigger_kwargs(),
                )
                self.defer_on(trigger, started.deadline, job_id=job_id)
            self.log.info("Waiting in the worker for the callback of Mavi job %s", job_id)
            self._waiting_job_id = job_id
            event = bridge.wait_for_job(job_id, started.deadline)
        finally:
            bridge.close()
        return self.execute_complete(context, event.to_json(), job_id=job_id)

    def _start(self, ledger: JobLedger, asset_id: str) -> SubmittedJob | JobEvent:
        """The job to wait for (an earlier try's, or a new one), or the event of one that already ended."""
        fingerprint = self.fingerprint(asset_id)
        try:
            prior = ledger.recorded(self.job_kind, asset_id, fingerprint, self.callback_timeout)
            event = ledger.bridge.check_job(prior.job_id) if prior is not None else None
        except MaviBridgeAuthError as error:
            raise MaviWaitError(
                f"The bridge refused the bridge_token of {self.mavi_conn_id!r}: {error}"
            ) from error
        except MaviBridgeError as error:
            raise MaviWaitError(
                f"The bridge at {ledger.bridge.get_settings().public_url} cannot be reached ({error}). "
                "Nothing was submitted: a paid job's callback could not be received now."
            ) from error
        if prior is not None:
            if event is not None and event.status == SUCCESS:
                self.log.info(
                    "Mavi job %s (submitted by an earlier try) already delivered; using it, "
                    "nothing submitted",
                    prior.job_id,
                )
                return event
            if event is not None:
                self.log.warning(
                    "Mavi job %s (submitted by an earlier try) ended %s: %s; submitting a new job",
                    prior.job_id,
                    event.status,
                    event.message,
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

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, job_id: str | None = None
    ) -> dict[str, Any]:
        """Act on the end of the wait: the result, or a clear failure.

        :param context: the task's context.
        :param event: the trigger event (checked first: :class:`MaviTriggerEventError` if it is not one).
        :param job_id: the job waited for.
        """
        checked = JobEvent.from_json(event, job_id)
        self.log.info("Mavi job %s: %s", checked.job_id, checked.status)
        self.note_lineage("job_id", checked.job_id)
        raise_for_event(checked)
        assert checked.payload is not None  # a success event carries the callback (from_json checks it)
        result = self.build_result(context, checked.job_id, checked.payload)
        self.note_lineage("return_value", result)
        log_spend(context, result.get("cost_usd"), self)
        return result

    def on_kill(self) -> None:
        """Best effort: tell the bridge nobody waits for the job any more (Mavi has no cancel)."""
        if self._waiting_job_id is None:
            return
        try:
            self.bridge_hook.abandon_job(self._waiting_job_id)
        except Exception as error:
            self.log.warning(
                "Could not mark Mavi job %s abandoned: %s", self._waiting_job_id, type(error).__name__
            )
