"""DAGs the operator room's integration tests run with `airflow dags test` (not examples for users)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.operators.mavi import (
    MaviDetectScenesOperator,
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviSplitVideoOperator,
    MaviTranscribeAudioOperator,
    MaviTranscribeVideoOperator,
    MaviUploadOperator,
)

START = datetime(2026, 1, 1)


class LoseFirstTry:
    """On its first try the worker is 'lost' right after the submit (before any wait), when the run asks."""

    def execute(self, context: Any) -> Any:
        params = context["params"]
        if params.get("hide_state_store"):
            context = {key: value for key, value in context.items() if key != "task_state_store"}
        if params.get("lose_first_try") and context["ti"].try_number == 1:
            with contextlib.suppress(TaskDeferred):
                super().execute(context)  # type: ignore[misc]
            raise RuntimeError("worker lost after the submit (staged by the test)")
        return super().execute(context)  # type: ignore[misc]


class LostAfterSubmit(LoseFirstTry, MaviExtractFramesOperator):
    """Extract frames, losing the first try after the submit."""


class SplitLostAfterSubmit(LoseFirstTry, MaviSplitVideoOperator):
    """Split, losing the first try after the submit."""


with DAG(
    "mavi_ops_pipeline",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"video": Param("", type="string"), "out": Param("", type="string")},
):
    upload = MaviUploadOperator(task_id="upload", source="{{ params.video }}", poll_interval=0.5)
    frames = MaviExtractFramesOperator(
        task_id="extract", asset_id=upload.output, video_duration_seconds=upload.output["media"]
    )
    describe = MaviTranscribeVideoOperator(
        task_id="transcribe", asset_id=upload.output, output_path="{{ params.out }}/transcripts"
    )
    download = MaviDownloadAssetOperator(
        task_id="download",
        asset_id=frames.output["frames_asset_id"],
        destination="{{ params.out }}/frames",
        extract=True,
    )
    frames >> describe


for dag_id, callback_timeout in (("mavi_ops_extract", 600.0), ("mavi_ops_extract_short", 4.0)):
    with DAG(
        dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        params={
            "video": Param("", type="string"),
            "lose_first_try": Param(False, type="boolean"),
            "hide_state_store": Param(False, type="boolean"),
        },
    ):
        uploaded = MaviUploadOperator(task_id="upload", source="{{ params.video }}", poll_interval=0.5)
        LostAfterSubmit(
            task_id="extract",
            asset_id=uploaded.output,
            video_duration_seconds=uploaded.output["media"],
            callback_timeout=callback_timeout,
            retries=1,
            retry_delay=timedelta(seconds=0),
        )


with DAG(
    "mavi_ops_split_expand",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"video": Param("", type="string"), "lose_first_try": Param(False, type="boolean")},
):
    whole = MaviUploadOperator(task_id="upload", source="{{ params.video }}", poll_interval=0.5)
    split = SplitLostAfterSubmit(
        task_id="split",
        asset_id=whole.output,
        segment_seconds="{{ 2 }}",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    # The split's return value is the list of segment ids: mapped over directly.
    MaviDetectScenesOperator.partial(task_id="scenes", fps=10).expand(asset_id=split.output)
    MaviTranscribeAudioOperator.partial(task_id="speech", speaker=True).expand(asset_id=split.output)
