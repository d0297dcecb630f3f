"""Async jobs (``mavi-api.md`` §3, §12): a submit answered with a ``task_id``, the result by webhook.

Every job creates paid work, so ``creates=True``: a submit is repeated only when Mavi certainly created
nothing (429, the ambiguous 400, a connection that failed before sending), never after a timeout or a 5xx.
Buckets are the names of Mavi's rate-limit table (§6), one 1 QPS bucket each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.endpoints.base import Endpoint, Kind, job_id
from airflow_provider_mavi.endpoints.checks import (
    check_asset_id,
    check_asset_ids,
    check_choice,
    check_flag,
    check_text,
    check_whole,
)
from airflow_provider_mavi.endpoints.models import AUDIO_MODEL, DEFAULT_VIDEO_MODEL, check_video_model
from airflow_provider_mavi.results import (
    parse_audio_callback,
    parse_edit_callback,
    parse_frames_callback,
    parse_multi_speaker_callback,
    parse_scenes_callback,
    parse_speaker_callback,
    parse_split_callback,
    parse_summary_callback,
    parse_transcript_callback,
)
from airflow_provider_mavi.results.prices import (
    AUDIO_TRANSCRIPTION_PRICE,
    DIARIZATION_PRICE,
    EDIT_PRICE,
    FRAMES_PRICE,
    SCENES_PRICE,
    SPEAKER_RECOGNITION_PRICE,
    SPLIT_PRICE,
    SUMMARY_PRICE,
    VIDEO_DESCRIPTION_PRICE,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DETECT_SCENES",
    "DIARIZE",
    "EDIT_VIDEO",
    "EXTRACT_FRAMES",
    "ORIENTATIONS",
    "RECOGNIZE_SPEAKERS",
    "SPLIT_VIDEO",
    "SUMMARIZE",
    "TRANSCRIBE_AUDIO",
    "TRANSCRIBE_VIDEO",
    "USER_PROMPT_MAX",
    "asset_body",
    "audio_transcription_body",
    "edit_body",
    "split_body",
    "video_description_body",
]

#: ``/video/edit``'s orientations (§12.7): 16:9 and 9:16.
ORIENTATIONS: tuple[str, ...] = ("landscape", "portrait")
#: ``/video/edit``'s ``user_prompt`` limit, in characters (§12.7).
USER_PROMPT_MAX = 500


def asset_body(asset_id: str) -> dict[str, Any]:
    """The body ``{"asset_id": ...}`` that most processing endpoints take.

    :param asset_id: the asset to process.
    """
    return {"asset_id": check_asset_id(asset_id)}


def video_description_body(asset_id: str, model: str = DEFAULT_VIDEO_MODEL) -> dict[str, Any]:
    """The body of an async video description; an undocumented model is refused.

    :param asset_id: the video asset.
    :param model: one of :data:`~airflow_provider_mavi.endpoints.models.SUPPORTED_VIDEO_MODELS`.
    """
    return {"asset_id": check_asset_id(asset_id), "model": check_video_model(model)}


def audio_transcription_body(asset_id: str, speaker: bool = False) -> dict[str, Any]:
    """The body of a Whisper transcription, sync or async (``model`` is always ``whisper-1``, the only one).

    :param asset_id: the audio or video asset.
    :param speaker: label speakers (doubles the price); True or False only.
    """
    return {
        "asset_id": check_asset_id(asset_id),
        "model": AUDIO_MODEL,
        "speaker": check_flag(speaker, "speaker"),
    }


def split_body(asset_id: str, segment_seconds: int | None = None) -> dict[str, Any]:
    """The body of ``/video/split``. ``segment_seconds`` is not in Mavi's docs (only the official examples
    send it, UNVERIFIED), so it is sent only when given; without it Mavi splits by its own criteria.

    :param asset_id: the video asset.
    :param segment_seconds: the length of each segment in whole seconds (>= 1), or None.
    """
    body: dict[str, Any] = {"asset_id": check_asset_id(asset_id)}
    if segment_seconds is not None:
        body["segment_seconds"] = check_whole(segment_seconds, "segment_seconds", minimum=1)
    return body


def edit_body(asset_ids: Sequence[str], orientation: str, user_prompt: str) -> dict[str, Any]:
    """The body of ``/video/edit``.

    :param asset_ids: the video assets to combine, in order (a non-empty list; no maximum is documented).
    :param orientation: ``landscape`` (16:9) or ``portrait`` (9:16).
    :param user_prompt: the editing instructions, at most 500 characters (English recommended).
    """
    return {
        "asset_ids": check_asset_ids(asset_ids),
        "orientation": check_choice(orientation, ORIENTATIONS, "orientation"),
        "user_prompt": check_text(user_prompt, "user_prompt", max_length=USER_PROMPT_MAX),
    }


EXTRACT_FRAMES: Endpoint[str] = Endpoint(
    "extract_frames", "POST", "/video/extract-frames", Kind.JOB, creates=True, bucket="Extract Video Frames",
    price=FRAMES_PRICE, parse=job_id, body=asset_body, callback=parse_frames_callback,
)  # fmt: skip
TRANSCRIBE_VIDEO: Endpoint[str] = Endpoint(
    "transcribe_video", "POST", "/transcriptions/async-generate-video", Kind.JOB, creates=True,
    bucket="Async Generate Video Description", price=VIDEO_DESCRIPTION_PRICE, parse=job_id,
    body=video_description_body, callback=parse_transcript_callback,
)  # fmt: skip
TRANSCRIBE_AUDIO: Endpoint[str] = Endpoint(
    "transcribe_audio", "POST", "/transcriptions/async-generate-audio", Kind.JOB, creates=True,
    bucket="Async Generate Audio Transcription", price=AUDIO_TRANSCRIPTION_PRICE, parse=job_id,
    body=audio_transcription_body, callback=parse_audio_callback,
)  # fmt: skip
DIARIZE: Endpoint[str] = Endpoint(
    "diarize", "POST", "/transcriptions/async-generate-speaker", Kind.JOB, creates=True,
    bucket="Async Generate Speaker", price=DIARIZATION_PRICE, parse=job_id, body=asset_body,
    callback=parse_speaker_callback,
)  # fmt: skip
RECOGNIZE_SPEAKERS: Endpoint[str] = Endpoint(
    "recognize_speakers", "POST", "/transcriptions/async-generate-multi-speaker", Kind.JOB, creates=True,
    bucket="Speaker Recognition", price=SPEAKER_RECOGNITION_PRICE, parse=job_id, body=asset_body,
    callback=parse_multi_speaker_callback,
)  # fmt: skip
SUMMARIZE: Endpoint[str] = Endpoint(
    "summarize", "POST", "/transcriptions/async-summary", Kind.JOB, creates=True,
    bucket="Async Generate Summary", price=SUMMARY_PRICE, parse=job_id, body=asset_body,
    callback=parse_summary_callback,
)  # fmt: skip
DETECT_SCENES: Endpoint[str] = Endpoint(
    "detect_scenes", "POST", "/video/clip", Kind.JOB, creates=True, bucket="Scene Detection",
    price=SCENES_PRICE, parse=job_id, body=asset_body, callback=parse_scenes_callback,
)  # fmt: skip
SPLIT_VIDEO: Endpoint[str] = Endpoint(
    "split_video", "POST", "/video/split", Kind.JOB, creates=True, bucket="Split Video",
    price=SPLIT_PRICE, parse=job_id, body=split_body, callback=parse_split_callback,
)  # fmt: skip
EDIT_VIDEO: Endpoint[str] = Endpoint(
    "edit_video", "POST", "/video/edit", Kind.JOB, creates=True, bucket="Edit Video",
    price=EDIT_PRICE, parse=job_id, body=edit_body, callback=parse_edit_callback,
)  # fmt: skip
