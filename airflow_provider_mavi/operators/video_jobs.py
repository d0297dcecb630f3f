"""Video jobs that cut or combine: scene detection (``/video/clip``), split and edit (no published prices)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.endpoints import DETECT_SCENES, EDIT_VIDEO, SPLIT_VIDEO, edit_body
from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.operators.jobs import MaviJobOperator
from airflow_provider_mavi.operators.measures import fps_from, whole_from
from airflow_provider_mavi.results import Scenes, parse_scenes_callback

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context


#: XCom key of the split's full result (its return value is the list of segment ids).
SPLIT_XCOM_KEY = "split"
#: XCom key of an edit's new asset id, so ``edit.output["asset_id"]`` feeds a download.
ASSET_ID_XCOM_KEY = "asset_id"


class MaviDetectScenesOperator(MaviJobOperator):
    """
    Find the scene cuts of a video (``/video/clip``, by webhook through the bridge).

    Returns ``{job_id, scenes: [{start_frame, end_frame, start_seconds, end_seconds}], exec_time_seconds,
    fps, cost_usd, cost_note}``. Mavi reports INCLUSIVE FRAME NUMBERS (from 0) and no frame rate anywhere, so
    the seconds (``start_frame / fps`` to ``(end_frame + 1) / fps``) are given only when you pass the video's
    ``fps``; without it they are null and ``fps`` is null: never guessed. Mavi publishes no price for it.

    :param asset_id: the ``re_`` video asset. (templated)
    :param fps: the video's frame rate: a number, or a mapping with ``fps`` (e.g. a probe task's XCom).
        (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    endpoint = DETECT_SCENES
    template_fields: Sequence[str] = ("asset_id", "fps", "mavi_conn_id")

    def __init__(self, *, asset_id: str, fps: float | str | Mapping[str, Any] | None = None, **kwargs: Any):
        super().__init__(asset_id=asset_id, **kwargs)
        self.fps = fps

    def check_request(self) -> None:
        """Reject an unreadable frame rate before paying for anything."""
        fps_from(self.fps)

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /video/clip``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.detect_scenes(asset_id)

    def parse(self, payload: Mapping[str, Any]) -> Scenes:
        """
        Parse the callback; with an fps, each scene also in seconds.

        :param payload: the callback body as Mavi sent it.
        """
        fps = fps_from(self.fps)
        scenes = parse_scenes_callback(payload, fps=fps)
        self.log.info(
            "Mavi job %s: %d scenes%s",
            scenes.job_id,
            len(scenes.scenes),
            f" at {fps:g} fps" if fps is not None else " (frame numbers only: no fps given, none guessed)",
        )
        return scenes


def _ids(value: object) -> list[str] | object:
    """A rendered list of ids: mapped outputs arrive as a lazy sequence, which is read into a list."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        return value
    return list(value)


class MaviSplitVideoOperator(MaviJobOperator):
    """
    Split a video into segment videos, each a new ``re_`` asset (``/video/split``, by webhook).

    **Returns the list of the segments' asset ids, in order**, so the next task maps over it directly:
    ``MaviTranscribeAudioOperator.partial(task_id=...).expand(asset_id=split.output)`` (Airflow sizes a
    mapping by the upstream's ``return_value`` only). The full result, ``{job_id, segments: [{asset_id,
    original_filename, extension, file_size, upload_status, create_time, modify_time}], cost_usd, cost_note,
    asset_ids}``, is pushed under the XCom key ``split``. Segments are ordered by the index in their
    ``segment_video_<id>_<index>`` names. Mavi publishes no price (the segments are billed as storage).

    :param asset_id: the ``re_`` video asset. (templated)
    :param segment_seconds: the length of each segment, whole seconds >= 1. NOT in Mavi's docs (only its
        official examples send it): sent only when given; without it Mavi splits by its own criteria.
        (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    endpoint = SPLIT_VIDEO
    template_fields: Sequence[str] = ("asset_id", "segment_seconds", "mavi_conn_id")

    def __init__(self, *, asset_id: str, segment_seconds: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(asset_id=asset_id, **kwargs)
        self.segment_seconds = segment_seconds

    def check_request(self) -> None:
        """Reject a segment length that is not a whole number of seconds >= 1 before paying."""
        whole_from(self.segment_seconds, "segment_seconds")

    def request_options(self) -> dict[str, Any]:
        """The segment length changes the result."""
        return {"segment_seconds": whole_from(self.segment_seconds, "segment_seconds")}

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /video/split``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.split_video(
            asset_id, segment_seconds=whole_from(self.segment_seconds, "segment_seconds")
        )

    def returned(self, context: Context, result: dict[str, Any]) -> list[str]:
        """
        Push the full result under ``split``; return the segment ids to expand over.

        :param context: the task's context.
        :param result: the split's result.
        """
        self.log.info(
            "Mavi split into %d segments: %s", len(result["asset_ids"]), ", ".join(result["asset_ids"])
        )
        context["ti"].xcom_push(key=SPLIT_XCOM_KEY, value=result)
        return list(result["asset_ids"])


class MaviEditVideoOperator(MaviJobOperator):
    """
    Edit videos into one new video (``/video/edit``, by webhook through the bridge).

    Returns ``{job_id, asset: {asset_id, original_filename, extension, file_size, upload_status, create_time,
    modify_time}, cost_usd, cost_note, asset_id}`` and pushes the new video's id under the XCom key
    ``asset_id`` (``edit.output["asset_id"]`` feeds a download). The request is checked before anything is
    sent: a non-empty list of ids, ``landscape`` or ``portrait``, a prompt of 1 to 500 characters. Mavi
    publishes no price (the new video is billed as storage).

    :param asset_ids: the ``re_`` videos to combine, in order (a list; a mapped task's output works too).
        (templated)
    :param orientation: ``landscape`` (16:9) or ``portrait`` (9:16). (templated)
    :param user_prompt: the editing instructions, at most 500 characters, English recommended. (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    endpoint = EDIT_VIDEO
    template_fields: Sequence[str] = ("asset_ids", "orientation", "user_prompt", "mavi_conn_id")

    def __init__(
        self, *, asset_ids: Sequence[str] | str, orientation: str, user_prompt: str, **kwargs: Any
    ) -> None:
        super().__init__(asset_id="", **kwargs)
        self.asset_ids = asset_ids
        self.orientation = orientation
        self.user_prompt = user_prompt

    def request_options(self) -> dict[str, Any]:
        """Every input, the orientation and the prompt change the result."""
        return self._body()

    def _body(self) -> dict[str, Any]:
        self.asset_ids = _ids(self.asset_ids)  # type: ignore[assignment]  # read a lazy sequence once
        try:
            return edit_body(self.asset_ids, self.orientation, self.user_prompt)
        except ValueError as error:
            raise MaviOperatorError(f"{error}: nothing was submitted") from None

    def subject(self) -> str:
        """The job is recorded under its first input (the fingerprint covers them all)."""
        return str(self._body()["asset_ids"][0])

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /video/edit``.

        :param asset_id: the first input (every input is sent).
        """
        body = self._body()
        return self.hook.edit_video(body["asset_ids"], body["orientation"], body["user_prompt"])

    def shape(self, context: Context, document: dict[str, Any]) -> dict[str, Any]:
        """
        The edit's result; its new asset id also under the XCom key ``asset_id``.

        :param context: the task's context.
        :param document: the edit's result as JSON.
        """
        context["ti"].xcom_push(key=ASSET_ID_XCOM_KEY, value=document["asset_id"])
        self.log.info("Mavi edited the videos into %s", document["asset_id"])
        return document
