"""A DAG of the sync operators for `airflow dags test` (not an example for users): no bridge anywhere."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider_mavi.operators.mavi import (
    MaviEmbedTextOperator,
    MaviEmbedVideoOperator,
    MaviSpeechToTextOperator,
    MaviUploadOperator,
    MaviVideoChatOperator,
)


class OutputFailsOnce(MaviSpeechToTextOperator):
    """Speech to text whose output store fails on the first try, after Mavi answered (staged by the test)."""

    def execute(self, context: Any) -> Any:
        self._first_try = context["ti"].try_number == 1
        return super().execute(context)

    def write(self, request: Any, answer: Any) -> dict[str, Any]:
        if self._first_try:
            raise OSError("the output store is unavailable (staged by the test)")
        return super().write(request, answer)


with DAG(
    "mavi_sync_no_bridge",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"video": Param("", type="string"), "out": Param("", type="string")},
):
    upload = MaviUploadOperator(task_id="upload", source="{{ params.video }}", poll_interval=0.5)
    OutputFailsOnce(
        task_id="speech",
        asset_id=upload.output,
        output_path="{{ params.out }}/speech",
        audio_duration_seconds=upload.output["media"],
        diarize=True,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    MaviVideoChatOperator(
        task_id="chat",
        model="nova:us.amazon.nova-lite-v1:0",
        video="{{ params.video }}",  # a local file: sent inline to Nova
        prompt="How many scenes does this video have?",
        response_schema={
            "type": "object",
            "properties": {"scene_count": {"type": "integer"}},
            "required": ["scene_count"],
        },
        output_path="{{ params.out }}/chat/{{ run_id }}.json",
    )
    MaviEmbedVideoOperator(
        task_id="embed_video", asset_id=upload.output, output_path="{{ params.out }}/video.npy"
    )
    MaviEmbedTextOperator(
        task_id="embed_text",
        texts=["a red square", "a blue circle"],
        dimensionality=32,
        output_path="{{ params.out }}/texts.parquet",
    )
