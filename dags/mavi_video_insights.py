"""Example: a video cut into segments, each one heard, cut into scenes and asked about, then one report.

upload -> split into segments -> per segment (mapped with ``.expand()``):
              download the segment and measure it (duration, frame rate)
              speech with speaker labels (Whisper, JSON + WebVTT + SubRip)
              scene cuts (frame numbers, in seconds with the measured frame rate)
              a VLM question with a JSON schema, about the downloaded segment
       -> summary of the whole video
       -> frames of the whole video, downloaded (for the contact sheet)
       -> report: ``report.json`` and ``report.md`` (with ``contact_sheet.jpg``) joining it all

Params (``airflow dags test mavi_video_insights -c '{"video": "..."}'`` or when triggering):

- ``video``: a local path or an object storage URL.
- ``output``: where the results go; each run writes under ``<output>/<run id>/``.
- ``segment_seconds``: the length of each segment (sent as the undocumented ``segment_seconds`` field
  that Mavi's own examples send); empty: Mavi chooses.
- ``vlm_model``: the VLM asked about each segment: a ``nova:`` model, since the segment is sent inline
  (base64) and only Nova takes a video that way (Gemini wants a URL Mavi can fetch).
- ``question``: what the VLM is asked; the answer follows :data:`SEGMENT_SCHEMA`.

Everything Mavi-specific comes from the ``mavi_default`` connection (API key, base URL, bridge URL and token).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_mavi.contact_sheet import ContactSheetError, write_contact_sheet
from airflow_provider_mavi.insights import build_report, render_markdown, speech_for_sheet
from airflow_provider_mavi.media import probe_duration_seconds
from airflow_provider_mavi.operators.mavi import (
    MaviDetectScenesOperator,
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviSplitVideoOperator,
    MaviSummarizeVideoOperator,
    MaviTranscribeAudioOperator,
    MaviUploadOperator,
    MaviVideoChatOperator,
)
from airflow_provider_mavi.paths import safe_segment, storage_path

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = os.path.join(os.environ.get("AIRFLOW_HOME", "~/airflow"), "mavi", "insights")
DEFAULT_VLM = "nova:us.amazon.nova-lite-v1:0"
DEFAULT_QUESTION = (
    "Describe this video segment for an index: what happens, its main colours, how much it moves, and "
    "its mood. Answer in JSON."
)
#: The shape every segment's answer must have (checked before the call, validated on the answer).
SEGMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "description": "What happens, in one or two sentences."},
        "colours": {"type": "array", "items": {"type": "string"}, "description": "The main colours."},
        "motion": {"type": "string", "description": "How much moves: still, some, a lot."},
        "mood": {"type": "string", "description": "The segment's mood."},
    },
    "required": ["summary", "colours", "motion", "mood"],
}


def listed(values: Sequence[Any]) -> list[Any]:
    """A mapped task's results as a list, read by index (iterating reads one past the end, which logs).

    :param values: the results of every mapped instance, in map index order.
    """
    return [values[index] for index in range(len(values))]


@task
def measure(download: dict[str, Any]) -> dict[str, Any]:
    """Measure a downloaded segment: its duration (MP4 header) and frame rate (PyAV, when installed).

    Mavi reports neither; without a frame rate the scenes stay in frame numbers (never a guessed rate).

    :param download: the segment's download result (``asset_id``, ``paths``, ``bytes``, ``cost_usd``).
    """
    asset_id, path = download["asset_id"], download["paths"][0]
    fps = None
    try:
        import av  # PyAV: the emulator's extra; optional for a user's Airflow

        with av.open(storage_path(path).path) as container:
            rate = container.streams.video[0].average_rate
            fps = float(rate) if rate else None
    except ImportError:
        log.info("PyAV is not installed: scenes of %s stay in frame numbers", asset_id)
    except Exception as exc:  # an unreadable file: say so, keep the rest of the report
        log.warning("could not read the frame rate of %s: %s", path, exc)
    return {
        "asset_id": asset_id,
        "path": path,
        "bytes": download["bytes"],
        "duration_seconds": probe_duration_seconds(storage_path(path)),
        "fps": fps,
        "download_cost_usd": download["cost_usd"],
    }


@dag(
    dag_id="mavi_video_insights",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,
    tags=["mavi", "example"],
    doc_md=__doc__,
    params={
        "video": Param(
            "sample.mp4", type="string", minLength=1, description="Local path or URL of the video."
        ),
        "output": Param(
            DEFAULT_OUTPUT, type="string", minLength=1, description="Local directory or object storage URL."
        ),
        "segment_seconds": Param(
            None, type=["null", "integer"], minimum=1, description="Seconds per segment; empty: Mavi chooses."
        ),
        "vlm_model": Param(DEFAULT_VLM, type="string", pattern="^nova:", description="A nova: VLM model."),
        "question": Param(DEFAULT_QUESTION, type="string", minLength=1, description="Asked of each segment."),
    },
)
def mavi_video_insights() -> None:
    """Split a video into segments, hear, cut and question each one, summarise the whole, report."""

    @task(multiple_outputs=True)
    def plan(params: dict[str, Any] | None = None, run_id: str | None = None) -> dict[str, str]:
        """Resolve the video and this run's output folders (created here, so every task sees them).

        :param params: the DAG params (injected by Airflow).
        :param run_id: this run's id (injected by Airflow).
        """
        if params is None or run_id is None:
            raise RuntimeError("plan runs inside a DAG run, which gives it params and run_id")
        video = storage_path(params["video"])
        if not video.exists():
            raise FileNotFoundError(f"video {video} does not exist (param 'video')")
        run_dir = storage_path(params["output"]) / safe_segment(run_id, "run")
        where = {"video": str(video), "run_dir": str(run_dir)}
        for name in ("segments", "speech", "frames"):
            (run_dir / name).mkdir(parents=True, exist_ok=True)
            where[f"{name}_dir"] = f"{run_dir / name}/"
        log.info("video %s; results under %s", video, run_dir)
        return where

    where: Any = plan()
    upload = MaviUploadOperator(task_id="upload", source=where["video"])
    video: Any = upload.output  # the re_ asset id; XCom "media" holds its size and measured duration
    split = MaviSplitVideoOperator(
        task_id="split", asset_id=video, segment_seconds="{{ params.segment_seconds }}"
    )
    segments: Any = split.output  # the segment ids, in order: what every per-segment task maps over
    split_result: Any = segments["split"]  # XCom "split": the job id and every segment's record

    downloads = MaviDownloadAssetOperator.partial(
        task_id="download_segment", destination=where["segments_dir"]
    ).expand(asset_id=segments)
    measured: Any = measure.expand(download=downloads.output)
    speech = MaviTranscribeAudioOperator.partial(
        task_id="speech", speaker=True, output_path=where["speech_dir"]
    ).expand(asset_id=segments)
    scenes = MaviDetectScenesOperator.partial(task_id="scenes").expand_kwargs(
        measured.map(lambda m: {"asset_id": m["asset_id"], "fps": m["fps"]})
    )
    answers = MaviVideoChatOperator.partial(
        task_id="ask",
        model="{{ params.vlm_model }}",
        prompt="{{ params.question }}",
        response_schema=SEGMENT_SCHEMA,
    ).expand(video=measured.map(lambda m: m["path"]))
    summary = MaviSummarizeVideoOperator(task_id="summary", asset_id=video)
    frames = MaviExtractFramesOperator(
        task_id="extract_frames", asset_id=video, video_duration_seconds=video["media"]
    )
    framed: Any = frames.output  # its XCom "frames_asset_id" holds the im_ zip id
    frames_download = MaviDownloadAssetOperator(
        task_id="download_frames",
        asset_id=framed["frames_asset_id"],
        destination=where["frames_dir"],
        extract=True,
    )

    @task
    def report(
        where: dict[str, str],
        media: dict[str, Any],
        split: dict[str, Any],
        measured: list[dict[str, Any]],
        speech: list[dict[str, Any]],
        scenes: list[dict[str, Any]],
        answers: list[dict[str, Any]],
        summary: dict[str, Any],
        frames: dict[str, Any],
        frames_download: dict[str, Any],
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Join every result into ``report.json`` and ``report.md`` (and ``contact_sheet.jpg``).

        Every list is in segment order (the mapped tasks' map indexes follow the split's order).

        :param where: the run's locations from ``plan``.
        :param media: the upload's ``media`` XCom (the video's duration).
        :param split: the split's full result (XCom ``split``).
        :param measured: each segment's file, duration and frame rate.
        :param speech: each segment's transcription (its JSON file holds the turns).
        :param scenes: each segment's scenes.
        :param answers: each segment's VLM answer.
        :param summary: the whole video's summary.
        :param frames: the whole video's frame extraction.
        :param frames_download: where its frames landed.
        :param params: the DAG params (injected by Airflow).
        """
        run_dir = storage_path(where["run_dir"])
        heard = listed(speech)
        turns = [
            json.loads(storage_path(part["json_path"]).read_text(encoding="utf-8"))["segments"]
            for part in heard
        ]
        document = build_report(
            video=where["video"],
            media=media,
            split=split,
            measured=listed(measured),
            speech=heard,
            turns=turns,
            scenes=listed(scenes),
            answers=listed(answers),
            summary=summary,
            frames=frames,
            frames_download=frames_download,
            vlm_model=(params or {}).get("vlm_model"),
        )
        try:
            sheet = write_contact_sheet(
                where["frames_dir"],
                run_dir / "contact_sheet.jpg",
                descriptions=[
                    {"start": s["start_seconds"], "end": s["end_seconds"], "text": s["answer"]["summary"]}
                    for s in document["segments"]
                    if s["start_seconds"] is not None and s["answer"]
                ],
                speech=speech_for_sheet(document),
                duration_seconds=document["duration_seconds"],
                title=f"{storage_path(where['video']).name}: frames, speech per segment, VLM answers",
            )
            document["contact_sheet"], document["contact_sheet_error"] = sheet["path"], None
        except ContactSheetError as exc:  # the report stands without its picture
            log.error("no contact sheet: %s", exc)
            document["contact_sheet"], document["contact_sheet_error"] = None, str(exc)
        document["report_json"] = str(run_dir / "report.json")
        document["report_md"] = str(run_dir / "report.md")
        (run_dir / "report.md").write_text(render_markdown(document), encoding="utf-8")
        (run_dir / "report.json").write_text(
            json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        log.info("report: %s and %s", document["report_json"], document["report_md"])
        return {key: document[key] for key in ("report_json", "report_md", "contact_sheet", "cost_usd")}

    # XComArgs resolve when the report runs (typed Any: the task takes the resolved values).
    heard: Any = speech.output
    cut: Any = scenes.output
    answered: Any = answers.output
    summarised: Any = summary.output
    downloaded: Any = frames_download.output
    report(
        where=where,
        media=video["media"],
        split=split_result,
        measured=measured,
        speech=heard,
        scenes=cut,
        answers=answered,
        summary=summarised,
        frames=framed,
        frames_download=downloaded,
    )


mavi_video_insights()
