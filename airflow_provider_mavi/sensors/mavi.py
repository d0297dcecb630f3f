"""Sensors of the Mavi provider: a job's callback (for jobs submitted elsewhere) and an asset's readiness.

Both defer by default on the provider's triggers; ``deferrable=False`` pokes from the worker. Either way the
outcome is an event of :mod:`airflow_provider_mavi.events`, turned into the task's result or exception by
the same :func:`~airflow_provider_mavi.events.raise_for_event` the operators use.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.bases.sensor import PokeReturnValue

from airflow_provider_mavi.endpoints import (
    DETECT_SCENES,
    DIARIZE,
    EDIT_VIDEO,
    EXTRACT_FRAMES,
    RECOGNIZE_SPEAKERS,
    SPLIT_VIDEO,
    SUMMARIZE,
    TRANSCRIBE_AUDIO,
    TRANSCRIBE_VIDEO,
)
from airflow_provider_mavi.events import AssetEvent, JobEvent, raise_for_event
from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.hooks.task import MaviTaskMixin, require_id
from airflow_provider_mavi.readiness import asset_status
from airflow_provider_mavi.results import json_ready
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger, MaviJobCallbackTrigger

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context

    from airflow_provider_mavi.endpoints import Endpoint

__all__ = ["JOB_KINDS", "MaviAssetReadySensor", "MaviJobSensor", "check_kind"]

#: The async job kinds :class:`MaviJobSensor` parses, by their catalogue name (the emulator's stats use them).
JOB_KINDS: dict[str, Endpoint[str]] = {
    endpoint.name: endpoint
    for endpoint in (
        EXTRACT_FRAMES,
        TRANSCRIBE_VIDEO,
        TRANSCRIBE_AUDIO,
        DIARIZE,
        RECOGNIZE_SPEAKERS,
        SUMMARIZE,
        DETECT_SCENES,
        SPLIT_VIDEO,
        EDIT_VIDEO,
    )
}


def check_kind(kind: object) -> str | None:
    """``kind`` when it is None or one of :data:`JOB_KINDS`, else a clear error.

    :param kind: the sensor's rendered ``kind``.
    :raises MaviOperatorError: naming the kinds it knows.
    """
    if kind is None or kind == "":
        return None
    if not isinstance(kind, str) or kind not in JOB_KINDS:
        raise MaviOperatorError(f"kind must be one of {', '.join(sorted(JOB_KINDS))} (or None), got {kind!r}")
    return kind


class _MaviSensor(MaviTaskMixin, BaseSensorOperator):
    """Base of the Mavi sensors.

    :param mavi_conn_id: the ``mavi`` connection. (templated)
    :param deferrable: wait in the triggerer (default); else poke every ``poke_interval``.
    :param mavi_retry_attempts: attempts in all for a failed request to Mavi or the bridge (default 3).
    :param mavi_retry_delay: the first backoff between those attempts, in seconds (default 1).
    """

    template_fields: Sequence[str] = ("mavi_conn_id",)

    def __init__(
        self,
        *,
        mavi_conn_id: str = "mavi_default",
        deferrable: bool = True,
        mavi_retry_attempts: int | None = None,
        mavi_retry_delay: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.init_mavi(mavi_conn_id, mavi_retry_attempts, mavi_retry_delay)
        self.deferrable = deferrable

    def _deadline(self) -> float:
        return time.time() + float(self.timeout)


class MaviJobSensor(_MaviSensor):
    """Wait for the callback of a Mavi job submitted outside this DAG; returns the callback body, or with
    ``kind`` its typed result as JSON (the ``to_dict()`` of :mod:`airflow_provider_mavi.results`' type).

    With ``kind`` the callback is parsed as that job's (a malformed one fails with ``MaviCallbackError``
    naming the field) using the parser's defaults: Whisper's price from its segments' speaker labels, scenes
    in frame numbers only, speaker recognition unpriced (the operators take what those need).

    :param job_id: the Mavi job id (Mavi's ``task_id``). (templated)
    :param kind: the job's kind, one of :data:`JOB_KINDS` (``extract_frames``, ``transcribe_video``,
        ``transcribe_audio``, ``diarize``, ``recognize_speakers``, ``summarize``, ``detect_scenes``,
        ``split_video``, ``edit_video``); None returns the raw callback body. (templated)
    :param deferrable: wait in the triggerer (default); else poke the bridge every ``poke_interval``.
    :param mavi_conn_id: the ``mavi`` connection with ``bridge_url`` and ``bridge_token``. (templated)
    """

    template_fields: Sequence[str] = ("job_id", "kind", "mavi_conn_id")

    def __init__(self, *, job_id: str, kind: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        if not (isinstance(kind, str) and "{{" in kind):
            check_kind(kind)  # a literal kind is checked when the DAG is parsed
        self.kind = kind

    def execute(self, context: Context) -> Any:
        """Defer on the callback trigger, or poke.

        :param context: the task's context.
        """
        job_id = require_id(self.job_id, "job_id")
        check_kind(self.kind)
        if not self.deferrable:
            return super().execute(context)
        deadline = self._deadline()
        trigger = MaviJobCallbackTrigger(
            job_id=job_id,
            deadline=deadline,
            **self.trigger_kwargs(),
        )
        self.defer_on(trigger, deadline, job_id=job_id)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Ask the bridge once whether the callback is stored.

        :param context: the task's context.
        """
        job_id = require_id(self.job_id, "job_id")
        with self.bridge_hook as bridge:
            event = bridge.check_job(job_id)
        if event is None:
            self.log.info("No callback for Mavi job %s yet", job_id)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._outcome(event))

    def _outcome(self, event: JobEvent) -> Mapping[str, Any]:
        payload = raise_for_event(event).payload
        assert payload is not None  # a success event carries the callback
        kind = check_kind(self.kind)
        if kind is None:
            return payload
        callback = JOB_KINDS[kind].callback
        assert callback is not None  # every job entry has a parser
        result: dict[str, Any] = json_ready(callback(payload))
        self.log.info("Mavi job %s: parsed as %s", event.job_id, kind)
        return result

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, job_id: str | None = None
    ) -> Mapping[str, Any]:
        """Return the callback body (or its typed result with ``kind``), or fail clearly.

        :param context: the task's context.
        :param event: the trigger event (checked first: :class:`MaviTriggerEventError` if it is not one).
        :param job_id: the job waited for.
        """
        return self._outcome(JobEvent.from_json(event, job_id))


class MaviAssetReadySensor(_MaviSensor):
    """Wait until an asset is ready (``upload_status`` ``SUCCESS``); fail on ``FAILED``; return the asset id.

    :param asset_id: the asset. (templated)
    :param poll_interval: seconds between metadata reads in the triggerer (never faster than the rate limit).
    :param deferrable: wait in the triggerer (default); else poke every ``poke_interval``.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    template_fields: Sequence[str] = ("asset_id", "mavi_conn_id")

    def __init__(self, *, asset_id: str, poll_interval: float = 5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asset_id = asset_id
        self.poll_interval = float(poll_interval)

    def execute(self, context: Context) -> Any:
        """Defer on the readiness trigger, or poke.

        :param context: the task's context.
        """
        asset_id = require_id(self.asset_id, "asset_id")
        if not self.deferrable:
            return super().execute(context)
        deadline = self._deadline()
        trigger = MaviAssetReadyTrigger(
            asset_id=asset_id,
            deadline=deadline,
            poll_interval=self.poll_interval,
            **self.trigger_kwargs(),
        )
        self.defer_on(trigger, deadline, asset_id=asset_id)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Read the metadata once.

        :param context: the task's context.
        """
        asset_id = require_id(self.asset_id, "asset_id")
        status = asset_status(self.hook.get_asset_metadata(asset_id), asset_id)
        self.log.info("Asset %s upload_status: %s", asset_id, status.status)
        event = AssetEvent.from_status(status, deadline=float("inf"), now=time.time())
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=raise_for_event(event).asset_id)

    execute_complete = MaviTaskMixin.asset_ready  # the asset id once the trigger saw it ready
