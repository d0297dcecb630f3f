"""Example: an event-driven DAG. Download the frames of every successful frame extraction of the account.

Mavi sends every job's callback to the account's one webhook, the bridge, whoever submitted the job: this
provider's operators, a script, the Mavi console, another team's deployment. This DAG is scheduled on the
Asset ``mavi://callbacks/frames``, whose watcher is a ``MaviCallbackEventTrigger``: each successful
extract-frames callback the bridge receives becomes one asset event, and the scheduler starts a run. Each run
downloads and unpacks the frames of the ``im_`` group of every callback that triggered it (callbacks that
arrive together may share one run) into ``<output>/<job id>/frames/``.

``output`` defaults to ``$MAVI_ON_CALLBACK_OUTPUT``, else ``$AIRFLOW_HOME/mavi/callbacks``: a local directory
or an object storage URL. The bridge keeps the trigger's position (consumer ``mavi_on_callback``), so
callbacks that arrive while the triggerer is down start their runs once it is back; see the README,
"Event-driven DAGs", for the delivery rules.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pendulum
from airflow.sdk import Asset, AssetWatcher, Param, dag, task

from airflow_provider_mavi.asset_uris import callbacks_uri
from airflow_provider_mavi.callback_events import CallbackEvent
from airflow_provider_mavi.operators.mavi import MaviDownloadAssetOperator
from airflow_provider_mavi.paths import safe_segment, storage_path
from airflow_provider_mavi.triggers.mavi import MaviCallbackEventTrigger

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = os.environ.get("MAVI_ON_CALLBACK_OUTPUT") or os.path.join(
    os.environ.get("AIRFLOW_HOME", "~/airflow"), "mavi", "callbacks"
)

FRAME_CALLBACKS = Asset(
    uri=callbacks_uri("frames"),
    name="mavi_frame_callbacks",
    group="mavi",
    watchers=[
        AssetWatcher(
            name="mavi_frame_callbacks_watcher",
            trigger=MaviCallbackEventTrigger(
                consumer="mavi_on_callback", kinds=["extract_frames"], status="success"
            ),
        )
    ],
)


@dag(
    dag_id="mavi_on_callback",
    schedule=[FRAME_CALLBACKS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["mavi", "example"],
    doc_md=__doc__,
    params={
        "output": Param(
            DEFAULT_OUTPUT, type="string", minLength=1, description="Local directory or object storage URL."
        )
    },
)
def mavi_on_callback() -> None:
    """Download the frames of every successful extract-frames callback that triggered this run."""

    @task
    def frame_groups(
        triggering_asset_events: Any = None, params: dict[str, Any] | None = None
    ) -> list[dict[str, str]]:
        """One download per callback of this run: its ``im_`` group and where its frames go.

        :param triggering_asset_events: the asset events that started the run (injected by Airflow).
        :param params: the DAG params (injected by Airflow).
        """
        if triggering_asset_events is None or params is None:
            raise RuntimeError("frame_groups runs inside a DAG run, which gives it its triggering events")
        downloads = []
        for asset_event in triggering_asset_events[FRAME_CALLBACKS]:
            event = CallbackEvent.from_asset_event(asset_event)
            frames = (event.result or {}).get("frames_asset_id")
            if not frames:
                raise ValueError(f"the callback of Mavi job {event.job_id} names no frame group: {event}")
            target = storage_path(params["output"]) / safe_segment(event.job_id, "job") / "frames"
            log.info("Mavi job %s (%s): frames %s -> %s", event.job_id, event.kind_from, frames, target)
            downloads.append({"asset_id": frames, "destination": str(target)})
        return downloads

    MaviDownloadAssetOperator.partial(task_id="download_frames", extract=True).expand_kwargs(frame_groups())


mavi_on_callback()
