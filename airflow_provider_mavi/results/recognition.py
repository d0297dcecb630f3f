"""Multimodal speaker recognition (``async-generate-multi-speaker``, ``mavi-api.md`` §12.3): named speech
segments, the faces found, and ``usage_metadata`` as an ARRAY (one entry per model used).

The usage's ``duration`` is processing time, not the media's length, so the price ($0.1 per minute of media)
is known only when the caller gives the media's duration (``media_seconds``); never from processing time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.results.base import Result
from airflow_provider_mavi.results.callback import (
    optional_seconds,
    optional_text,
    require_list,
    require_mapping,
    require_text,
    success_data,
)
from airflow_provider_mavi.results.prices import SPEAKER_RECOGNITION_PRICE, Usage, cost_and_note
from airflow_provider_mavi.results.speech import SpeechSegment, speech_segment

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Face", "SpeakerRecognition", "parse_multi_speaker_callback"]

NO_MEDIA_DURATION = (
    "the callback reports processing time, not the media's duration: price it with .with_duration(seconds)"
)


@dataclass(frozen=True)
class Face:
    """A face found in the video, and where Mavi stored its image.

    :param face_id: Mavi's id of the face.
    :param name: the identified name, if any.
    :param protocol: storage protocol of the image, e.g. ``gs``.
    :param bucket: the image's bucket.
    :param blob: the image's object path (``GET /download?bucket=&blob=`` may fetch it: UNVERIFIED).
    """

    face_id: str
    name: str | None
    protocol: str | None
    bucket: str | None
    blob: str | None


@dataclass(frozen=True)
class SpeakerRecognition(Result):
    """What a multi-speaker callback reports.

    :param job_id: the Mavi job id.
    :param segments: speech segments with the speaker's name (``audio_transcription[]``).
    :param faces: the faces found (``faces[]``).
    :param usage: the ``usage_metadata[]`` entries as sent (only ``duration`` is documented).
    :param processing_seconds: the sum of the entries' ``duration`` (processing time), None when none has one.
    :param media_seconds: the media's duration when the caller gave it.
    :param cost_usd: $0.1 per minute of media; None unless ``media_seconds`` is known.
    :param cost_note: why ``cost_usd`` is None.
    """

    _derived = ("speakers", "text")

    job_id: str
    segments: tuple[SpeechSegment, ...]
    faces: tuple[Face, ...]
    usage: tuple[Mapping[str, Any], ...]
    processing_seconds: float | None
    media_seconds: float | None
    cost_usd: float | None
    cost_note: str | None

    @property
    def speakers(self) -> tuple[str, ...]:
        """The speakers' names, in order of first appearance."""
        return tuple(dict.fromkeys(s.speaker for s in self.segments if s.speaker is not None))

    @property
    def text(self) -> str:
        """The segments' text, joined by spaces."""
        return " ".join(segment.text.strip() for segment in self.segments if segment.text.strip())

    def with_duration(self, seconds: float) -> SpeakerRecognition:
        """The same result priced for the media's duration (e.g. measured at upload).

        :param seconds: the media's duration.
        """
        cost, note = cost_and_note(SPEAKER_RECOGNITION_PRICE, Usage(media_seconds=seconds), NO_MEDIA_DURATION)
        return dataclasses.replace(self, media_seconds=seconds, cost_usd=cost, cost_note=note)


def _face(item: object, field: str) -> Face:
    entry = require_mapping(item, field)
    return Face(
        face_id=require_text(entry.get("face_id"), f"{field}.face_id"),
        name=optional_text(entry.get("name"), f"{field}.name"),
        protocol=optional_text(entry.get("face_file_protocol"), f"{field}.face_file_protocol"),
        bucket=optional_text(entry.get("face_file_bucket"), f"{field}.face_file_bucket"),
        blob=optional_text(entry.get("face_file_blob"), f"{field}.face_file_blob"),
    )


def _usage_entries(raw: object) -> tuple[Mapping[str, Any], ...]:
    if raw is None:
        return ()
    if isinstance(raw, dict):  # the object form of the other endpoints: read as one entry
        raw = [raw]
    entries = require_list(raw, "data.data.usage_metadata")
    return tuple(require_mapping(e, f"data.data.usage_metadata[{i}]") for i, e in enumerate(entries))


def parse_multi_speaker_callback(
    payload: Mapping[str, Any], *, media_seconds: float | None = None
) -> SpeakerRecognition:
    """
    Parse a successful ``async-generate-multi-speaker`` callback.

    :param payload: the callback body as Mavi sent it.
    :param media_seconds: the media's duration, when known elsewhere (the price needs it).
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id, outer = success_data(payload)
    inner = require_mapping(outer.get("data"), "data.data")
    items = require_list(inner.get("audio_transcription"), "data.data.audio_transcription")
    raw_faces = inner.get("faces")
    faces = require_list([] if raw_faces is None else raw_faces, "data.data.faces")
    usage = _usage_entries(inner.get("usage_metadata"))
    durations = [
        optional_seconds(entry.get("duration"), f"data.data.usage_metadata[{i}].duration")
        for i, entry in enumerate(usage)
    ]
    known = [d for d in durations if d is not None]
    cost, note = cost_and_note(
        SPEAKER_RECOGNITION_PRICE, Usage(media_seconds=media_seconds), NO_MEDIA_DURATION
    )
    return SpeakerRecognition(
        job_id=job_id,
        segments=tuple(
            speech_segment(item, f"data.data.audio_transcription[{i}]") for i, item in enumerate(items)
        ),
        faces=tuple(_face(item, f"data.data.faces[{i}]") for i, item in enumerate(faces)),
        usage=tuple(dict(entry) for entry in usage),
        processing_seconds=sum(known) if known else None,
        media_seconds=media_seconds,
        cost_usd=cost,
        cost_note=note,
    )
