"""The run the browser tests look at on the Mavi page (not an example for users): upload a video, then
extract its frames and describe it, two paid jobs waited for through the bridge in the API server."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_mavi.operators.mavi import (
    MaviExtractFramesOperator,
    MaviTranscribeVideoOperator,
    MaviUploadOperator,
)

with DAG(
    "mavi_ui_run",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"video": Param("", type="string"), "out": Param("", type="string")},
):
    upload = MaviUploadOperator(task_id="upload", source="{{ params.video }}", poll_interval=0.5)
    MaviExtractFramesOperator(
        task_id="extract_frames", asset_id=upload.output, video_duration_seconds=upload.output["media"]
    )
    MaviTranscribeVideoOperator(
        task_id="describe", asset_id=upload.output, output_path="{{ params.out }}/transcripts"
    )
