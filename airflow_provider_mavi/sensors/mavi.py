"""Sensors of the Mavi provider: a job's callback (for jobs submitted elsewhere) and an asset's readiness.

Both defer by default and reuse the provider's triggers; ``deferrable=False`` pokes from the worker.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.bases.sensor import PokeReturnValue

from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.errors import (
    MaviJobFailedError,
    MaviJobTimeoutError,
    MaviOperatorError,
    MaviWaitError,
)
from airflow_provider_mavi.operators.jobs import (
    DEFER_TIMEOUT_GRACE_SECONDS,
    bridge_client,
    require_id,
    validate_event,
)
from airflow_provider_mavi.operators.upload import asset_ready_outcome
from airflow_provider_mavi.triggers.mavi import (
    MaviAssetReadyTrigger,
    MaviJobCallbackTrigger,
    asset_status,
    event_from_record,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context


class _MaviSensor(BaseSensorOperator):
    template_fields: Sequence[str] = ("mavi_conn_id",)

    def __init__(self, *, mavi_conn_id: str = "mavi_default", deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mavi_conn_id = mavi_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> MaviHook:
        """The hook of ``mavi_conn_id``."""
        return MaviHook(mavi_conn_id=self.mavi_conn_id)

    def _deadline(self) -> float:
        return time.time() + float(self.timeout)


class MaviJobSensor(_MaviSensor):
    """
    Wait for the callback of a Mavi job submitted outside this DAG; returns the callback body.

    :param job_id: the Mavi job id (Mavi's ``task_id``). (templated)
    :param deferrable: wait in the triggerer (default); else poke the bridge every ``poke_interval``.
    :param mavi_conn_id: the ``mavi`` connection with ``bridge_url`` and ``bridge_token``. (templated)
    """

    template_fields: Sequence[str] = ("job_id", "mavi_conn_id")

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id

    def execute(self, context: Context) -> Any:
        """
        Defer on the callback trigger, or poke.

        :param context: the task's context.
        """
        job_id = require_id(self.job_id, "job_id")
        if not self.deferrable:
            return super().execute(context)
        deadline = self._deadline()
        self.defer(
            trigger=MaviJobCallbackTrigger(job_id=job_id, deadline=deadline, mavi_conn_id=self.mavi_conn_id),
            method_name="execute_complete",
            kwargs={"job_id": job_id},
            timeout=timedelta(seconds=float(self.timeout) + DEFER_TIMEOUT_GRACE_SECONDS),
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """
        Ask the bridge once whether the callback is stored.

        :param context: the task's context.
        """
        job_id = require_id(self.job_id, "job_id")
        settings = self.hook.get_settings()
        with bridge_client(settings, self.mavi_conn_id) as client:
            record = client.get_callback(job_id, wait=0)
        if record is None:
            self.log.info("No callback for Mavi job %s yet", job_id)
            return False
        payload = self._outcome(event_from_record(job_id, record), job_id)
        return PokeReturnValue(is_done=True, xcom_value=payload)

    def _outcome(self, event: dict[str, Any], job_id: str) -> Mapping[str, Any]:
        checked = validate_event(event, job_id)
        status = checked["status"]
        if status == "failed":
            raise MaviJobFailedError(job_id, str(checked.get("message") or "no message"))
        if status == "timeout":
            raise MaviJobTimeoutError.from_event(job_id, checked)
        if status == "error":
            raise MaviWaitError(f"Waiting for Mavi job {job_id} failed: {checked.get('message')}")
        self.log.info("Mavi job %s delivered its callback", job_id)
        return dict(checked["payload"])

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, job_id: str | None = None
    ) -> Mapping[str, Any]:
        """
        Return the callback body, or fail clearly.

        :param context: the task's context.
        :param event: the trigger event.
        :param job_id: the job waited for.
        """
        return self._outcome(validate_event(event, job_id), str(job_id or self.job_id))


class MaviAssetReadySensor(_MaviSensor):
    """
    Wait until an asset's ``upload_status`` is ``SUCCESS``; fails on ``FAILED``. Returns the asset id.

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
        """
        Defer on the readiness trigger, or poke.

        :param context: the task's context.
        """
        asset_id = require_id(self.asset_id, "asset_id")
        if not self.deferrable:
            return super().execute(context)
        self.defer(
            trigger=MaviAssetReadyTrigger(
                asset_id=asset_id,
                deadline=self._deadline(),
                mavi_conn_id=self.mavi_conn_id,
                poll_interval=self.poll_interval,
            ),
            method_name="execute_complete",
            kwargs={"asset_id": asset_id},
            timeout=timedelta(seconds=float(self.timeout) + DEFER_TIMEOUT_GRACE_SECONDS),
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """
        Read the metadata once.

        :param context: the task's context.
        """
        asset_id = require_id(self.asset_id, "asset_id")
        status, _ = asset_status(self.hook.get_asset_metadata(asset_id), asset_id)
        self.log.info("Asset %s upload_status: %s", asset_id, status)
        if status == "FAILED":
            raise MaviOperatorError(f"Mavi asset {asset_id} is not usable: upload_status FAILED")
        if status == "SUCCESS":
            return PokeReturnValue(is_done=True, xcom_value=asset_id)
        return False

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, asset_id: str | None = None
    ) -> str:
        """
        Return the ready asset id, or fail clearly.

        :param context: the task's context.
        :param event: the trigger event.
        :param asset_id: the asset waited for.
        """
        return asset_ready_outcome(event, asset_id, self)
