"""A DAG of the reliability tests (``tests/e2e/test_outages.py``), not an example for users.

``reliability_extract_in_worker`` uploads a video and extracts its frames, waiting for the callback in the
worker (``deferrable=False``): the test SIGKILLs the worker during that wait, right after the submit, and runs
the task again in the same DAG run, as Airflow's retry of a lost task would.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_mavi.operators.mavi import MaviExtractFramesOperator, MaviUploadOperator

with DAG(
    "reliability_extract_in_worker",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"video": Param("", type="string")},
):
    uploaded = MaviUploadOperator(task_id="upload", source="{{ params.video }}", poll_interval=0.5)
    MaviExtractFramesOperator(
        task_id="extract_frames",
        asset_id=uploaded.output,
        video_duration_seconds=uploaded.output["media"],
        deferrable=False,
        callback_timeout=300,
    )
