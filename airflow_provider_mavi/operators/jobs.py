"""What every job-submitting Mavi operator shares: submit once, wait (deferred or blocking), log the spend.

Submit once (see :mod:`~airflow_provider_mavi.operators.ledger`): a retry re-attaches: a stored successful
callback is used at once, a job still waiting within its deadline is waited for again, and only a job that
failed or timed out is submitted anew. The one window no code can close: Mavi answered the submit but the
task died before recording the job id; the next try then submits again.

The wait itself belongs to :class:`~airflow_provider_mavi.hooks.bridge.MaviBridgeHook`: ``wait_for_job``
in the worker, ``await_for_job`` in :class:`~airflow_provider_mavi.triggers.mavi.MaviJobCallbackTrigger`;
both end in the same :class:`~airflow_provider_mavi.events.JobEvent`, which ``execute_complete`` checks.

An operator built on a catalogue entry (:attr:`MaviJobOperator.endpoint`) is thin: it names the entry, sends
the submit (:meth:`~MaviJobOperator.submit`) with its options (:meth:`~MaviJobOperator.request_options`, part
of the submit-once fingerprint) and, when Mavi has a sync twin of the endpoint, the sync call
(:meth:`~MaviJobOperator.call_sync`). The callback becomes the entry's typed result, priced
(:meth:`~MaviJobOperator.complete`), its unknown price logged once, turned into JSON
(:meth:`~MaviJobOperator.document`) and shaped into the task's result (:meth:`~MaviJobOperator.shape`:
files written, keys pushed).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from airflow_provider_mavi.events import SUCCESS, JobEvent, raise_for_event
from airflow_provider_mavi.exceptions import (
    MaviBridgeAuthError,
    MaviBridgeError,
    MaviBridgeNotConfiguredError,
    MaviWaitError,
)
from airflow_provider_mavi.hooks.task import require_id
from airflow_provider_mavi.operators.answers import AnswerMemory, fingerprint
from airflow_provider_mavi.operators.base import MaviBaseOperator, log_spend
from airflow_provider_mavi.operators.ledger import JobLedger, SubmittedJob
from airflow_provider_mavi.operators.lineage import JobLineage
from airflow_provider_mavi.operators.links import MaviBridgeJobLink, MaviResultsLink, push_job_links
from airflow_provider_mavi.operators.measures import seconds_from
from airflow_provider_mavi.triggers.mavi import MaviJobCallbackTrigger

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context

    from airflow_provider_mavi.endpoints import Endpoint

#: XCom key with the job id, pushed before any wait.
JOB_ID_XCOM_KEY = "job_id"


class PricedResult(Protocol):
    """What the typed results of :mod:`airflow_provider_mavi.results` offer an operator."""

    @property
    def cost_usd(self) -> float | None: ...

    @property
    def cost_note(self) -> str | None: ...

    def to_dict(self) -> dict[str, Any]: ...


class MaviJobOperator(JobLineage, MaviBaseOperator):
    """Base of the operators that submit a paid asynchronous Mavi job and wait for its callback.

    Subclasses set :attr:`endpoint` (then :attr:`job_kind` is its catalogue name) or :attr:`job_kind`, and
    implement :meth:`submit`, :meth:`fingerprint` and :meth:`build_result`.

    :param asset_id: the asset the job works on. (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    :param kwargs: ``mavi_retry_attempts``, ``mavi_retry_delay`` (see :class:`MaviBaseOperator`) and the
        ``BaseOperator`` arguments.
    """

    job_kind: ClassVar[str] = ""
    #: The catalogue entry of the job, whose ``callback`` parses the result (None: override build_result).
    endpoint: ClassVar[Endpoint[str] | None] = None
    #: Said after "cost_usd is null: <why>" when the price is unknown (what the user can do about it).
    cost_hint: ClassVar[str] = ""
    template_fields: Sequence[str] = ("asset_id", "mavi_conn_id")
    #: The field naming the folder the results are written to (its link: ``MaviResultsLink``), if any.
    results_field: ClassVar[str] = "output_path"
    operator_extra_links = (MaviBridgeJobLink(), MaviResultsLink())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass naming its catalogue ``endpoint`` gets that entry's name as :attr:`job_kind`."""
        super().__init_subclass__(**kwargs)
        if cls.endpoint is not None and "job_kind" not in cls.__dict__:
            cls.job_kind = cls.endpoint.name

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
        #: Call Mavi's sync twin of the endpoint instead (set by the operators that have one).
        self.sync = False
        self._waiting_job_id: str | None = None

    # -- to implement ------------------------------------------------------------------------------

    def submit(self, asset_id: str) -> str:
        """Submit the job to Mavi and return its job id (one paid call).

        :param asset_id: the rendered, checked asset id.
        """
        raise NotImplementedError

    def request_options(self) -> dict[str, Any]:
        """The options sent with the asset (JSON values): part of the fingerprint, so a retry asking for other
        options never re-attaches to an older job."""
        return {}

    def fingerprint(self, asset_id: str) -> str:
        """What this try asks for: a retry re-attaches only to a job with the same fingerprint.

        ``<kind>:<asset>``, and a digest of :meth:`request_options` when there are any (a prompt and a list of
        assets would not fit the bridge's key otherwise).

        :param asset_id: the rendered, checked asset id.
        """
        options = self.request_options()
        if not options:
            return f"{self.job_kind}:{asset_id}"
        canonical = json.dumps(options, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return f"{self.job_kind}:{asset_id}:{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"

    def subject(self) -> str:
        """The asset the job is recorded under (the rendered ``asset_id``, checked)."""
        return require_id(self.asset_id, "asset_id")

    def check_request(self) -> None:
        """Check the rendered fields before anything is sent (override to add checks)."""

    def call_sync(self, asset_id: str) -> PricedResult:
        """Call the sync twin of the endpoint and return its typed result (operators with ``sync=True``).

        :param asset_id: the rendered, checked asset id.
        """
        raise NotImplementedError(f"{type(self).__name__} has no sync call")

    def parse(self, payload: Mapping[str, Any]) -> PricedResult:
        """The typed result of a successful callback (default: the entry's parser).

        :param payload: the callback body as Mavi sent it.
        """
        if self.endpoint is None or self.endpoint.callback is None:
            raise NotImplementedError(f"{type(self).__name__} names no endpoint with a callback parser")
        result: PricedResult = self.endpoint.callback(payload)
        return result

    def complete(self, result: PricedResult) -> PricedResult:
        """The result with what the task knows besides the callback, e.g. a media duration to price it by.

        :param result: the parsed result.
        """
        return result

    def document(self, result: PricedResult) -> dict[str, Any]:
        """The whole result as JSON: completed (:meth:`complete`), its unknown price said once in the log.

        :param result: the parsed result (of a callback or a sync answer).
        """
        result = self.complete(result)
        if result.cost_usd is None:
            hint = f" ({self.cost_hint})" if self.cost_hint else ""
            self.log.info("cost_usd is null: %s%s", result.cost_note or "no price is known", hint)
        return result.to_dict()

    def shape(self, context: Context, document: dict[str, Any]) -> dict[str, Any]:
        """The task's result from the whole result (default: all of it; override to write files, push keys).

        :param context: the task's context.
        :param document: :meth:`document`'s value.
        """
        return document

    def returned(self, context: Context, result: dict[str, Any]) -> Any:
        """The task's XCom ``return_value`` (default: the result; override to return e.g. a list to expand
        over, pushing the result under another key).

        :param context: the task's context.
        :param result: the shaped result, already priced and logged.
        """
        return result

    def build_result(self, context: Context, job_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Turn a successful callback into this task's small JSON result (with ``cost_usd``).

        :param context: the task's context.
        :param job_id: the Mavi job id.
        :param payload: the callback body as Mavi sent it.
        """
        return self.shape(context, self.document(self.parse(payload)))

    # -- flow ----------------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Submit once (or re-attach), then wait for the callback; with ``sync``, one sync call instead.

        :param context: the task's context.
        """
        asset_id = self.subject()
        self.check_request()
        if self.sync:
            return self._execute_sync(context, asset_id)
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

    def _execute_sync(self, context: Context, asset_id: str) -> Any:
        """One paid sync call across tries (no bridge, no wait): the answer is kept in the task state store
        as the sync operators keep theirs (:class:`~airflow_provider_mavi.operators.answers.AnswerMemory`), so
        a retry of the same request writes it again instead of paying; the hook never re-sends a call whose
        outcome is unknown."""
        request = {"asset_id": asset_id, **self.request_options()}
        memory = AnswerMemory(context, self, fingerprint(f"{self.job_kind}_sync", request))
        kept = memory.recall()
        outputs = str(getattr(self, "output_path", None) or "")
        result = memory.reusable_result(kept, outputs)
        if result is None:
            document = memory.kept_answer(kept)
            if document is None:
                self.log.info("Calling Mavi's sync %s of %s (no webhook, no bridge)", self.job_kind, asset_id)
                answer = memory.ask(
                    self.job_kind, lambda: self.call_sync(asset_id), kept.get("unknown_outcome")
                )
                document = self.document(answer)
                memory.keep_answer(document)
            result = self.shape(context, document)
            memory.keep_result(result, outputs)
        log_spend(context, result.get("cost_usd"), self)
        return self.returned(context, result)

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
    ) -> Any:
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
        self._record_cost(checked.job_id, result.get("cost_usd"))
        return self.returned(context, result)

    def _record_cost(self, job_id: str, cost_usd: object) -> None:
        """Best effort: the job's price in the bridge's job record (the Mavi page's spend); never fails the
        task, whose paid result is already there."""
        price = (
            float(cost_usd) if isinstance(cost_usd, int | float) and not isinstance(cost_usd, bool) else None
        )
        bridge = self.bridge_hook
        try:
            bridge.record_cost(job_id, price)
        except Exception as error:
            self.log.warning(
                "Could not record the price of Mavi job %s in the bridge: %s", job_id, type(error).__name__
            )
        finally:
            bridge.close()

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


class MediaPricedResult(PricedResult, Protocol):
    """A result priced per second of media, which can be priced for a duration known elsewhere."""

    def with_duration(self, seconds: float) -> Any: ...


class MaviMediaJobOperator(MaviJobOperator):
    """Base of the jobs priced per second of media (speech, speakers): when neither the callback nor a sync
    answer reports the media's duration, the one given here prices it; else ``cost_usd`` is null.

    :param asset_id: the asset the job works on. (templated)
    :param media_duration_seconds: the media's duration in seconds, or the upload's ``media`` XCom
        (``upload.output["media"]``), used only when Mavi does not report it. (templated)
    :param kwargs: the :class:`MaviJobOperator` arguments.
    """

    cost_hint: ClassVar[str] = "pass media_duration_seconds, e.g. the upload's XCom 'media', to price it"
    template_fields: Sequence[str] = ("asset_id", "media_duration_seconds", "mavi_conn_id")

    def __init__(
        self,
        *,
        asset_id: str,
        media_duration_seconds: float | str | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(asset_id=asset_id, **kwargs)
        self.media_duration_seconds = media_duration_seconds

    def check_request(self) -> None:
        """Reject an unreadable duration before paying for anything."""
        seconds_from(self.media_duration_seconds, "media_duration_seconds")

    def complete(self, result: PricedResult) -> PricedResult:
        """Price the result by ``media_duration_seconds`` when Mavi reported no duration (Mavi's figure wins).

        :param result: the parsed result.
        """
        seconds = seconds_from(self.media_duration_seconds, "media_duration_seconds")
        if seconds is None or result.cost_usd is not None:
            return result
        return self.priced_for(result, seconds)  # type: ignore[arg-type]

    def priced_for(self, result: MediaPricedResult, seconds: float) -> PricedResult:
        """The result priced for ``seconds`` of media.

        :param result: the parsed result.
        :param seconds: the media's duration.
        """
        priced: PricedResult = result.with_duration(seconds)
        return priced
