"""MaviExtractFramesOperator: extract frames from a video asset (paid: $0.01 per second of video)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_mavi.operators.jobs import MaviJobOperator
from airflow_provider_mavi.operators.measures import seconds_from
from airflow_provider_mavi.results import frames_cost_usd, parse_frames_callback

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context

#: XCom key with the ``im_`` frame group id, so ``extract.output["frames_asset_id"]`` feeds a download.
FRAMES_ASSET_XCOM_KEY = "frames_asset_id"


class MaviExtractFramesOperator(MaviJobOperator):
    """
    Extract frames from a video asset and wait for Mavi's callback.

    Returns ``{job_id, frames_asset_id, frame_asset_ids, frame_count, cost_usd}`` and pushes
    ``frames_asset_id`` under its own XCom key. The price needs the video's duration: pass it, or the
    upload's ``media`` XCom (``upload.output["media"]``); without it ``cost_usd`` is null.

    :param asset_id: the ``re_`` video asset. (templated)
    :param video_duration_seconds: the video's duration in seconds, for the price. (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    job_kind: ClassVar[str] = "extract_frames"
    template_fields: Sequence[str] = ("asset_id", "video_duration_seconds", "mavi_conn_id")

    def __init__(
        self,
        *,
        asset_id: str,
        video_duration_seconds: float | str | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(asset_id=asset_id, **kwargs)
        self.video_duration_seconds = video_duration_seconds

    def check_request(self) -> None:
        """Reject an unreadable duration before paying for the job."""
        seconds_from(self.video_duration_seconds, "video_duration_seconds")

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /video/extract-frames``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.extract_frames(asset_id)

    def build_result(self, context: Context, job_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """
        Parse the frames callback, price it, push ``frames_asset_id``.

        :param context: the task's context.
        :param job_id: the Mavi job id.
        :param payload: the callback body as Mavi sent it.
        """
        result = parse_frames_callback(payload)
        seconds = seconds_from(self.video_duration_seconds, "video_duration_seconds")
        cost = frames_cost_usd(seconds)
        if cost is None:
            self.log.info(
                "cost_usd is null: the video's duration is unknown (pass video_duration_seconds, e.g. "
                "the upload's XCom 'media'); Mavi bills $0.01 per second of video"
            )
        self.log.info("Mavi job %s: %d frames in %s", job_id, result.frame_count, result.frames_asset_id)
        context["ti"].xcom_push(key=FRAMES_ASSET_XCOM_KEY, value=result.frames_asset_id)
        return {
            "job_id": job_id,
            "frames_asset_id": result.frames_asset_id,
            "frame_asset_ids": list(result.frame_asset_ids),
            "frame_count": result.frame_count,
            "cost_usd": cost,
        }
