"""Example: one video through Mavi, from upload to frames and a timestamped transcript on disk.

upload -> extract frames -> download the frames zip and unpack it
       -> transcribe the video (JSON + WebVTT written under the output)
       -> contact sheet: the frames in a grid with their times, each row's descriptions under it
       -> summary: frame count, segment count, paths and what the run cost

Params (give them with ``airflow dags test mavi_video_pipeline -c '{"video": "..."}'`` or when triggering):

- ``video``: a local path or an object storage URL (``s3://bucket/key.mp4``, ``s3://aws_default@bucket/key.mp4``
  to name the Airflow connection, ``gs://...``, ``file:///...``). A file that is provably not a video (text,
  a document, an image, undecodable) is refused before it is uploaded.
- ``model``: the video description model (one of Mavi's supported models).
- ``output``: where the results go, a local directory or an object storage URL. Each run writes under
  ``<output>/<run id>/``: ``frames/*.jpg``, ``transcript/<job id>.json`` and ``.vtt``, ``contact_sheet.jpg``
  and ``summary.json``. It is checked before anything is paid for: a bucket that does not exist (buckets are
  never created) or a location that cannot be written fails the ``plan`` task.

The frames and the transcript are published as Airflow Assets (``mavi_video_frames`` and
``mavi_video_transcript``) whose events carry the paths, so other DAGs can be scheduled on them.
Everything Mavi-specific comes from the ``mavi_default`` connection (API key, base URL, bridge URL and token).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

from airflow_provider_mavi.contact_sheet import (
    ContactSheetError,
    read_transcript_segments,
    write_contact_sheet,
)
from airflow_provider_mavi.endpoints import DEFAULT_VIDEO_MODEL, SUPPORTED_VIDEO_MODELS
from airflow_provider_mavi.operators.mavi import (
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviTranscribeVideoOperator,
    MaviUploadOperator,
)
from airflow_provider_mavi.paths import (
    check_output_location,
    ensure_directory,
    missing_bucket,
    safe_segment,
    storage_path,
)

log = logging.getLogger(__name__)

FRAMES = Asset(name="mavi_video_frames", group="mavi")
TRANSCRIPT = Asset(name="mavi_video_transcript", group="mavi")

DEFAULT_OUTPUT = os.path.join(os.environ.get("AIRFLOW_HOME", "~/airflow"), "mavi", "results")


def safe_name(text: str) -> str:
    """Make ``text`` safe as one path segment (see :func:`safe_segment`).

    :param text: the text to clean.
    """
    return safe_segment(text, "run")


@dag(
    dag_id="mavi_video_pipeline",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    tags=["mavi", "example"],
    doc_md=__doc__,
    params={
        "video": Param(
            "sample.mp4",
            type="string",
            minLength=1,
            description="Local path or object storage URL of the video.",
        ),
        "model": Param(
            DEFAULT_VIDEO_MODEL, enum=list(SUPPORTED_VIDEO_MODELS), description="Video description model."
        ),
        "output": Param(
            DEFAULT_OUTPUT, type="string", minLength=1, description="Local directory or object storage URL."
        ),
    },
)
def mavi_video_pipeline() -> None:
    """Upload one video, extract its frames, describe it, and put frames and transcript under ``output``."""

    @task(multiple_outputs=True)
    def plan(params: dict[str, Any] | None = None, run_id: str | None = None) -> dict[str, str]:
        """Resolve the video and this run's output locations (normalised, so every task sees the same).

        :param params: the DAG params (injected by Airflow).
        :param run_id: this run's id (injected by Airflow).
        """
        if params is None or run_id is None:
            raise RuntimeError("plan runs inside a DAG run, which gives it params and run_id")
        video = storage_path(params["video"])
        if not video.is_file():
            why = missing_bucket(video)
            detail = f": {why}" if why else ""
            raise FileNotFoundError(f"video {video} does not exist (param 'video'){detail}")
        run_dir = storage_path(params["output"]) / safe_name(run_id)
        # before anything is paid for: a missing bucket or a read-only folder fails here; no bucket is made
        check_output_location(run_dir, "output", "nothing was uploaded or submitted")
        ensure_directory(run_dir)
        locations = {
            "video": str(video),
            "run_dir": str(run_dir),
            "frames_dir": str(run_dir / "frames"),
            "transcript": str(run_dir / "transcript"),
        }
        log.info("video %s; results under %s", locations["video"], locations["run_dir"])
        return locations

    # XComArgs are resolved when each task runs; typed Any as the operators take the resolved values.
    where: Any = plan()
    upload = MaviUploadOperator(task_id="upload", source=where["video"], media_type="video")
    uploaded: Any = upload.output  # the re_ asset id; its XCom key "media" holds size and duration
    frames = MaviExtractFramesOperator(
        task_id="extract_frames", asset_id=uploaded, video_duration_seconds=uploaded["media"]
    )
    framed: Any = frames.output  # the result; its XCom key "frames_asset_id" holds the im_ zip id
    transcript = MaviTranscribeVideoOperator(
        task_id="transcribe_video",
        asset_id=uploaded,
        model="{{ params.model }}",
        output_path=where["transcript"],
    )
    download = MaviDownloadAssetOperator(
        task_id="download_frames",
        asset_id=framed["frames_asset_id"],
        destination=where["frames_dir"],
        extract=True,
    )
    described: Any = transcript.output
    downloaded: Any = download.output

    @task
    def contact_sheet(
        where: dict[str, str], transcript: dict[str, Any], media: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Write ``contact_sheet.jpg`` next to the frames: the frames in a grid, each with its time, and
        under each row the descriptions of its time. A sheet that cannot be made (no readable frame) is
        logged and reported in ``summary.json``; it does not fail the run, whose results are already paid.

        :param where: the run's locations from ``plan``.
        :param transcript: the transcription result (its ``json_path`` holds the description segments).
        :param media: the upload's ``media`` XCom (the video's duration, to check the frame times by).
        """
        title = f"{storage_path(where['video']).name}: frames and {transcript.get('model')} descriptions"
        try:
            return write_contact_sheet(
                where["frames_dir"],
                storage_path(where["run_dir"]) / "contact_sheet.jpg",
                descriptions=read_transcript_segments(transcript["json_path"]),
                duration_seconds=(media or {}).get("duration_seconds"),
                title=title,
            )
        except ContactSheetError as exc:
            log.error("no contact sheet: %s", exc)
            return {"path": None, "error": str(exc)}

    sheet: Any = contact_sheet(where, described, uploaded["media"])
    downloaded >> sheet

    @task(outlets=[FRAMES, TRANSCRIPT])
    def summary(
        where: dict[str, str],
        frames: dict[str, Any],
        transcript: dict[str, Any],
        download: dict[str, Any],
        sheet: dict[str, Any],
    ) -> dict[str, Any]:
        """Count what landed, add up the cost, write ``summary.json`` and publish the two assets.

        :param where: the run's locations from ``plan``.
        :param frames: the extract-frames result.
        :param transcript: the transcription result.
        :param download: the download result.
        :param sheet: the contact sheet's result (``path`` is None when none could be made).
        """
        frames_dir = storage_path(where["frames_dir"])
        frame_files = sorted(p for p in frames_dir.iterdir() if p.name.lower().endswith((".jpg", ".jpeg")))
        costs = {
            "extract_frames": frames.get("cost_usd"),
            "transcribe_video": transcript.get("cost_usd"),
            "download_frames": download.get("cost_usd"),
        }
        known = [c for c in costs.values() if c is not None]
        total = round(sum(known), 6) if len(known) == len(costs) else None
        result = {
            "video": where["video"],
            "run_dir": where["run_dir"],
            "frames_dir": str(frames_dir),
            "frame_count": len(frame_files),
            "transcript_json": transcript.get("json_path"),
            "transcript_vtt": transcript.get("vtt_path"),
            "segment_count": transcript.get("segment_count"),
            "contact_sheet": sheet.get("path"),
            "contact_sheet_error": sheet.get("error"),
            "model": transcript.get("model"),
            "frames_job_id": frames.get("job_id"),
            "transcript_job_id": transcript.get("job_id"),
            "cost_usd": {**costs, "total": total},
        }
        (storage_path(where["run_dir"]) / "summary.json").write_text(json.dumps(result, indent=2))
        log.info("frames: %s JPEGs in %s", result["frame_count"], result["frames_dir"])
        log.info(
            "transcript: %s segments in %s and %s",
            result["segment_count"],
            result["transcript_json"],
            result["transcript_vtt"],
        )
        log.info("contact sheet: %s", result["contact_sheet"] or f"none ({result['contact_sheet_error']})")
        unknown = sorted(name for name, cost in costs.items() if cost is None)
        if unknown:
            log.info("cost: unknown, no price for %s (see those tasks' logs for why)", ", ".join(unknown))
        else:
            log.info(
                "cost: $%.4f (extract frames $%s, video description $%s, frames download $%s)",
                total,
                costs["extract_frames"],
                costs["transcribe_video"],
                costs["download_frames"],
            )
        events = get_current_context()["outlet_events"]
        events[FRAMES].extra = {"path": result["frames_dir"], "frame_count": result["frame_count"]}
        events[TRANSCRIPT].extra = {
            "json": result["transcript_json"],
            "vtt": result["transcript_vtt"],
            "segment_count": result["segment_count"],
        }
        return result

    summary(where, framed, described, downloaded, sheet)


mavi_video_pipeline()
