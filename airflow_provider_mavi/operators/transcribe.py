"""MaviTranscribeVideoOperator: describe what is on screen, timed (paid by tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.endpoints import DEFAULT_VIDEO_MODEL, SUPPORTED_VIDEO_MODELS
from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.operators.jobs import MaviJobOperator
from airflow_provider_mavi.paths import check_output_location, ensure_directory
from airflow_provider_mavi.results import (
    parse_transcript_callback,
    transcript_to_json,
    transcript_to_webvtt,
    video_description_cost_usd,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context


class MaviTranscribeVideoOperator(MaviJobOperator):
    """
    Generate Mavi's timed visual description of a video and wait for the callback.

    Returns ``{job_id, model, segments, usage, cost_usd}``. With ``output_path`` (a directory, local or any
    ``ObjectStoragePath`` such as ``s3://bucket/transcripts/``) the full result is written there as
    ``<job_id>.json`` and ``<job_id>.vtt`` and the XCom keeps only a summary:
    ``{job_id, model, segment_count, usage, cost_usd, json_path, vtt_path}``. ``output_path`` is checked
    before the job is submitted (:func:`airflow_provider_mavi.paths.check_output_location`): a missing bucket
    or a location that cannot be written fails the task with nothing paid.

    :param asset_id: the ``re_`` video asset. (templated)
    :param model: one of Mavi's supported models. (templated)
    :param output_path: a directory for the JSON and WebVTT documents. (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    job_kind: ClassVar[str] = "transcribe_video"
    template_fields: Sequence[str] = ("asset_id", "model", "output_path", "mavi_conn_id")

    def __init__(
        self,
        *,
        asset_id: str,
        model: str = DEFAULT_VIDEO_MODEL,
        output_path: str | ObjectStoragePath | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(asset_id=asset_id, **kwargs)
        self.model = model
        self.output_path = output_path

    def check_request(self) -> None:
        """Reject an unsupported model, or an ``output_path`` that cannot be written, before paying."""
        if self.model not in SUPPORTED_VIDEO_MODELS:
            raise MaviOperatorError(
                f"model {self.model!r} is not supported by Mavi; "
                f"use one of {', '.join(SUPPORTED_VIDEO_MODELS)}"
            )
        if self.output_path not in (None, ""):
            check_output_location(self.output_path, "output_path", "nothing was submitted")

    def fingerprint(self, asset_id: str) -> str:
        """The model is part of what was asked."""
        return f"{self.job_kind}:{asset_id}:{self.model}"

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /transcriptions/async-generate-video``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.transcribe_video(asset_id, model=self.model)

    def build_result(self, context: Context, job_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """
        Parse the transcript, price it by tokens, and write the documents when asked.

        :param context: the task's context.
        :param job_id: the Mavi job id.
        :param payload: the callback body as Mavi sent it.
        """
        result = parse_transcript_callback(payload)
        cost = video_description_cost_usd(result.usage.prompt_tokens, result.usage.output_tokens)
        model = result.model or self.model
        self.log.info(
            "Mavi job %s: %d segments, %d prompt + %d output tokens",
            job_id,
            len(result.segments),
            result.usage.prompt_tokens,
            result.usage.output_tokens,
        )
        summary: dict[str, Any] = {
            "job_id": job_id,
            "model": model,
            "usage": result.usage.to_dict(),
            "cost_usd": cost,
        }
        if self.output_path in (None, ""):
            return {**summary, "segments": result.segments_as_dicts()}
        directory = ensure_directory(ObjectStoragePath(str(self.output_path)))  # paths stay as given
        json_path = directory / f"{job_id}.json"
        vtt_path = directory / f"{job_id}.vtt"
        json_path.write_text(transcript_to_json(result, cost_usd=cost), encoding="utf-8")
        vtt_path.write_text(transcript_to_webvtt(result.segments), encoding="utf-8")
        self.log.info("Wrote the transcript of Mavi job %s to %s and %s", job_id, json_path, vtt_path)
        return {
            **summary,
            "segment_count": len(result.segments),
            "json_path": str(json_path),
            "vtt_path": str(vtt_path),
        }
