"""Example: process a date-partitioned archive of videos through Mavi, one day per run, safe to re-run.

Source layout: ``<root>/YYYY-MM-DD/*.mp4`` (a local directory or an object storage URL such as
``s3://aws_default@bucket/videos``; the output is checked writable, and a missing bucket is an error,
before anything is paid for). Each daily run takes
the videos of its day and, for each one, in a mapped task group: upload -> extract frames and download them ->
transcribe (JSON + WebVTT) -> record. Results land under ``<output>/YYYY-MM-DD/<video>/``::

    frames/*.jpg   transcript/<job id>.json   transcript/<job id>.vtt   result.json

``result.json`` is written last: a video whose ``result.json`` exists is skipped, so re-running a day (a
retried backfill, ``--reprocess-behavior completed``) never submits a paid Mavi job again. Every Mavi task
runs in the Airflow pool ``mavi_api``, sized to the account's requests per second
(``airflow pools set mavi_api 1 "Mavi account: 1 request/s"``); deferred tasks do not hold a slot while they
wait for their callback.

Settings, first found wins: the run's params (``--dag-run-conf '{"root": ..., "output": ...}'``), the Airflow
Variables ``mavi_backfill_root`` / ``mavi_backfill_output``, then ``$AIRFLOW_HOME/mavi/incoming`` and
``$AIRFLOW_HOME/mavi/results``. The day is the run's logical date (the start of its daily interval), or the
``day`` param when given.

Backfill a range of days (the scheduler runs them)::

    airflow backfill create --dag-id mavi_backfill_historical --from-date 2026-01-01 --to-date 2026-01-31
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any

import pendulum
from airflow.sdk import (
    Param,
    Variable,
    dag,
    get_current_context,
    task,
    task_group,
)

from airflow_provider_mavi.compat import CronDataIntervalTimetable  # airflow.sdk on >= 3.2, core on 3.1
from airflow_provider_mavi.endpoints import DEFAULT_VIDEO_MODEL, SUPPORTED_VIDEO_MODELS
from airflow_provider_mavi.operators.mavi import (
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviTranscribeVideoOperator,
    MaviUploadOperator,
)
from airflow_provider_mavi.paths import check_output_location, missing_bucket, safe_segment, storage_path

log = logging.getLogger(__name__)

MARKER = "result.json"
VIDEO_SUFFIXES = (".mp4",)


def safe_name(text: str) -> str:
    """Make ``text`` safe as one path segment (see :func:`safe_segment`).

    :param text: the text to clean.
    """
    return safe_segment(text, "video")


def result_folder(stem: str) -> str:
    """Name a video's result folder: its stem, or when the stem needs cleaning, the cleaned stem and a hash.

    The name depends on that video alone, so it is the same on every run whatever else the day holds, and
    two stems that clean to the same text (``a b`` and ``a_b``) never share a folder.

    :param stem: the video's file name without its extension.
    """
    cleaned = safe_name(stem)
    if cleaned == stem:
        return stem
    return f"{cleaned}-{hashlib.sha256(stem.encode()).hexdigest()[:8]}"


def deployment_number(name: str) -> int | None:
    """A whole number > 0 from the environment variable ``name``, read when the file is parsed.

    :param name: the variable (``MAVI_BACKFILL_...``).
    :return: the number, or None when the variable is unset or empty.
    :raises ValueError: when it is set to anything but a whole number > 0, naming the variable.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number > 0, got {raw!r}")
    return int(raw)


#: The pool every Mavi task runs in: it bounds how many Mavi tasks hold a worker slot at once.
POOL = os.environ.get("MAVI_BACKFILL_POOL", "").strip() or "mavi_api"
#: Running or queued tasks per day (Airflow's default 16). How many days run at once is the backfill's own
#: ``airflow backfill create --max-active-runs`` (Airflow's default 10); scheduled runs, 3 at most.
MAX_ACTIVE_TASKS = deployment_number("MAVI_BACKFILL_MAX_ACTIVE_TASKS") or 16
#: Instances of each Mavi task at once over all days, deferred ones included (None: no limit).
MAX_ACTIVE_TIS_PER_TASK = deployment_number("MAVI_BACKFILL_MAX_ACTIVE_TIS_PER_TASK")
#: The scheduler's order among ready tasks: ``upstream`` finishes the videos already started first, so every
#: endpoint has work at once; Airflow's default ``downstream`` would start every upload first.
WEIGHT_RULE = os.environ.get("MAVI_BACKFILL_WEIGHT_RULE", "").strip() or "upstream"
if WEIGHT_RULE not in ("upstream", "downstream", "absolute"):
    raise ValueError(
        f"MAVI_BACKFILL_WEIGHT_RULE must be upstream, downstream or absolute, got {WEIGHT_RULE!r}"
    )
MAVI_TASK_ARGS: dict[str, Any] = {"pool": POOL, "max_active_tis_per_dag": MAX_ACTIVE_TIS_PER_TASK}


def setting(params: dict[str, Any], name: str, default_leaf: str) -> str:
    """Read a location: the run's param, else the Airflow Variable ``mavi_backfill_<name>``, else a default.

    :param params: the run's params.
    :param name: ``root`` or ``output``.
    :param default_leaf: the default's folder under ``$AIRFLOW_HOME/mavi``.
    """
    if params.get(name):
        return str(params[name])
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    return str(Variable.get(f"mavi_backfill_{name}", default=os.path.join(home, "mavi", default_leaf)))


@dag(
    dag_id="mavi_backfill_historical",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    max_active_tasks=MAX_ACTIVE_TASKS,
    default_args={"weight_rule": WEIGHT_RULE},
    tags=["mavi", "example", "backfill"],
    doc_md=__doc__,
    params={
        "root": Param(None, type=["null", "string"], description="Source root holding YYYY-MM-DD/*.mp4."),
        "output": Param(None, type=["null", "string"], description="Where results go (local or URL)."),
        "model": Param(
            DEFAULT_VIDEO_MODEL, enum=list(SUPPORTED_VIDEO_MODELS), description="Video description model."
        ),
        "day": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="Process this day instead of the run's logical date.",
        ),
    },
)
def mavi_backfill_historical() -> None:
    """One run per day: every video of the day through Mavi, skipping videos already done."""

    @task
    def find_videos() -> list[dict[str, str]]:
        """List the day's videos and keep those without results; log every skipped one."""
        context = get_current_context()
        params = context["params"]
        when = context.get("logical_date") or context["dag_run"].run_after
        day = params.get("day") or pendulum.instance(when).in_timezone("UTC").format("YYYY-MM-DD")
        source = storage_path(setting(params, "root", "incoming")) / day
        output = storage_path(setting(params, "output", "results")) / day
        why = missing_bucket(source)
        if why is not None:
            raise FileNotFoundError(f"root {source} cannot be read: {why}")
        if not source.exists():
            log.info("no folder %s: nothing to do for %s", source, day)
            return []
        videos = sorted(p for p in source.iterdir() if p.name.lower().endswith(VIDEO_SUFFIXES))
        todo: list[dict[str, str]] = []
        for video in videos:
            name = result_folder(video.stem)
            out_dir = output / name
            if (out_dir / MARKER).exists():
                log.info("skip %s: results already in %s", video.name, out_dir)
                continue
            todo.append(
                {
                    "video": str(video),
                    "out_dir": str(out_dir),
                    "frames_dir": str(out_dir / "frames"),
                    "transcript": str(out_dir / "transcript"),
                }
            )
        if todo:  # before anything is paid for: the results must have somewhere to go
            check_output_location(output, "output", "nothing was uploaded or submitted")
        log.info(
            "%s: %d videos, %d to process, %d already done",
            day,
            len(videos),
            len(todo),
            len(videos) - len(todo),
        )
        return todo

    @task
    def record(
        video: str, out_dir: str, frames: dict[str, Any], transcript: dict[str, Any], download: dict[str, Any]
    ) -> dict[str, Any]:
        """Write ``result.json`` last, so the video counts as done only when everything landed.

        :param video: the source video.
        :param out_dir: the video's result folder.
        :param frames: the extract-frames result.
        :param transcript: the transcription result.
        :param download: the frames download result.
        """
        costs: dict[str, float | None] = {
            "extract_frames": frames.get("cost_usd"),
            "transcribe_video": transcript.get("cost_usd"),
            "download_frames": download.get("cost_usd"),
        }
        known = [c for c in costs.values() if c is not None]
        costs["total"] = round(sum(known), 6) if len(known) == 3 else None
        result = {
            "video": video,
            "frames_dir": str(storage_path(out_dir) / "frames"),
            "frame_count": len(download.get("paths") or []),
            "transcript_json": transcript.get("json_path"),
            "transcript_vtt": transcript.get("vtt_path"),
            "segment_count": transcript.get("segment_count"),
            "frames_job_id": frames.get("job_id"),
            "transcript_job_id": transcript.get("job_id"),
            "cost_usd": costs,
            "finished_at": pendulum.now("UTC").isoformat(),
        }
        marker = storage_path(out_dir) / MARKER
        partial = storage_path(out_dir) / (MARKER + ".partial")
        partial.write_text(json.dumps(result, indent=2))
        partial.rename(marker)
        log.info(
            "%s done: %s frames, %s segments, cost %s",
            video,
            result["frame_count"],
            result["segment_count"],
            costs["total"],
        )
        return result

    @task_group
    def process_video(video: str, out_dir: str, frames_dir: str, transcript: str) -> None:
        """One video: upload, frames, description, download, record.

        :param video: the source video.
        :param out_dir: the video's result folder.
        :param frames_dir: where the JPEGs go.
        :param transcript: the folder for the transcript's JSON and WebVTT.
        """
        # XComArgs are resolved when each task runs; typed Any because the operators take the resolved values.
        upload = MaviUploadOperator(task_id="upload", source=video, media_type="video", **MAVI_TASK_ARGS)
        uploaded: Any = upload.output  # the re_ asset id; its XCom key "media" holds size and duration
        frames = MaviExtractFramesOperator(
            task_id="extract_frames",
            asset_id=uploaded,
            video_duration_seconds=uploaded["media"],
            **MAVI_TASK_ARGS,
        )
        framed: Any = frames.output  # the result; its XCom key "frames_asset_id" holds the im_ zip id
        transcribe = MaviTranscribeVideoOperator(
            task_id="transcribe_video",
            asset_id=uploaded,
            model="{{ params.model }}",
            output_path=transcript,
            **MAVI_TASK_ARGS,
        )
        download = MaviDownloadAssetOperator(
            task_id="download_frames",
            asset_id=framed["frames_asset_id"],
            destination=frames_dir,
            extract=True,
            **MAVI_TASK_ARGS,
        )
        described: Any = transcribe.output
        downloaded: Any = download.output
        record(video, out_dir, framed, described, downloaded)

    process_video.expand_kwargs(find_videos())


mavi_backfill_historical()
