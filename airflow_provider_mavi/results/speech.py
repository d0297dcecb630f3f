"""Whisper transcriptions and pyannote speaker turns (``mavi-api.md`` §3.3, §12.1, §12.2), sync and async.

The sync answers carry ``data.items[]`` and no duration; the callbacks carry ``data.data.data[]`` and
``data.data.usage_metadata.duration``. Whisper names a segment's times ``start_time``/``end_time``, pyannote
``start``/``end``: both become ``start``/``end`` (seconds) here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.results.base import Result
from airflow_provider_mavi.results.callback import (
    any_text,
    number,
    optional_seconds,
    optional_text,
    require_list,
    require_mapping,
    require_text,
    success_data,
)
from airflow_provider_mavi.results.prices import (
    AUDIO_TRANSCRIPTION_PRICE,
    DIARIZATION_PRICE,
    Usage,
    cost_and_note,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "AudioTranscript",
    "Diarization",
    "SpeakerTurn",
    "SpeechSegment",
    "parse_audio_answer",
    "parse_audio_callback",
    "parse_speaker_answer",
    "parse_speaker_callback",
]

NO_DURATION = "the sync answer reports no duration: price it with .with_duration(seconds)"
NO_CALLBACK_DURATION = "the callback reports no usage_metadata.duration"
UNKNOWN_SPEAKER_FLAG = (
    "no segment says whether speaker labels (double price) were asked for: pass speaker= to the parser"
)


@dataclass(frozen=True)
class SpeechSegment:
    """A timed piece of speech.

    :param start: seconds from the start of the media.
    :param end: seconds from the start of the media.
    :param text: what was said.
    :param speaker: the speaker's label (``SPEAKER_00``) or name, None when not labelled.
    """

    start: float
    end: float
    text: str
    speaker: str | None


@dataclass(frozen=True)
class AudioTranscript(Result):
    """A Whisper transcription (``sync-generate-audio`` answer or ``async-generate-audio`` callback).

    :param job_id: the Mavi job id; None for the sync call.
    :param model: e.g. ``whisper-1``.
    :param segments: the segments, in Mavi's order.
    :param duration_seconds: the media's duration (callback ``usage_metadata.duration``); None for sync.
    :param speaker_labels: speaker labels were asked for (from the caller, else from the segments: Mavi
        labels every segment when asked, none otherwise); None when unknown.
    :param cost_usd: $0.001 per second, $0.002 with speaker labels; None when unknown.
    :param cost_note: why ``cost_usd`` is None.
    """

    _derived = ("text",)

    job_id: str | None
    model: str | None
    segments: tuple[SpeechSegment, ...]
    duration_seconds: float | None
    speaker_labels: bool | None
    cost_usd: float | None
    cost_note: str | None

    @property
    def text(self) -> str:
        """The segments' text, joined by spaces."""
        return " ".join(segment.text.strip() for segment in self.segments if segment.text.strip())

    def with_duration(self, seconds: float, speaker: bool | None = None) -> AudioTranscript:
        """The same transcript priced for a media duration known elsewhere (e.g. measured at upload).

        :param seconds: the media's duration.
        :param speaker: speaker labels were asked for (default: :attr:`speaker_labels`).
        """
        labels = self.speaker_labels if speaker is None else speaker
        cost = _audio_cost(seconds, labels, NO_DURATION)
        return dataclasses.replace(self, duration_seconds=seconds, speaker_labels=labels, **cost)


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of audio spoken by one (anonymous) speaker.

    :param start: seconds.
    :param end: seconds.
    :param speaker: e.g. ``SPEAKER_00`` (by voice, not identity).
    """

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Diarization(Result):
    """Who spoke when (``sync-generate-speaker`` answer or ``async-generate-speaker`` callback).

    :param job_id: the Mavi job id; None for the sync call.
    :param model: e.g. ``pyannote``.
    :param segments: the speaker turns, in Mavi's order.
    :param duration_seconds: the media's duration (callback only).
    :param cost_usd: $0.001 per second; None when unknown.
    :param cost_note: why ``cost_usd`` is None.
    """

    _derived = ("speakers",)

    job_id: str | None
    model: str | None
    segments: tuple[SpeakerTurn, ...]
    duration_seconds: float | None
    cost_usd: float | None
    cost_note: str | None

    @property
    def speakers(self) -> tuple[str, ...]:
        """The speaker labels, in order of first appearance."""
        return tuple(dict.fromkeys(turn.speaker for turn in self.segments))

    def with_duration(self, seconds: float) -> Diarization:
        """The same turns priced for a media duration known elsewhere.

        :param seconds: the media's duration.
        """
        cost, note = cost_and_note(DIARIZATION_PRICE, Usage(media_seconds=seconds), NO_DURATION)
        return dataclasses.replace(self, duration_seconds=seconds, cost_usd=cost, cost_note=note)


def _audio_cost(seconds: float | None, speaker: bool | None, missing: str) -> dict[str, Any]:
    if seconds is not None and speaker is None:
        return {"cost_usd": None, "cost_note": UNKNOWN_SPEAKER_FLAG}
    usage = Usage(media_seconds=seconds, speaker=bool(speaker))
    cost, note = cost_and_note(AUDIO_TRANSCRIPTION_PRICE, usage, missing)
    return {"cost_usd": cost, "cost_note": note}


def speech_segment(item: object, field: str) -> SpeechSegment:
    """Read one Whisper-shaped segment (``start_time``, ``end_time``, ``text``, ``speaker``).

    :param item: the segment.
    :param field: its dotted path, e.g. ``data.items[0]``.
    """
    entry = require_mapping(item, field)
    return SpeechSegment(
        start=number(entry.get("start_time"), f"{field}.start_time"),
        end=number(entry.get("end_time"), f"{field}.end_time"),
        text=any_text(entry.get("text"), f"{field}.text"),
        speaker=optional_text(entry.get("speaker"), f"{field}.speaker"),
    )


def _speaker_turn(item: object, field: str) -> SpeakerTurn:
    entry = require_mapping(item, field)
    return SpeakerTurn(
        start=number(entry.get("start"), f"{field}.start"),
        end=number(entry.get("end"), f"{field}.end"),
        speaker=require_text(entry.get("speaker"), f"{field}.speaker"),
    )


def _labels(segments: Sequence[SpeechSegment], speaker: bool | None) -> bool | None:
    if speaker is not None:
        return bool(speaker)
    if not segments:
        return None
    return any(segment.speaker is not None for segment in segments)


def _usage(inner: Mapping[str, Any]) -> tuple[float | None, str | None]:
    raw = inner.get("usage_metadata")
    usage = require_mapping({} if raw is None else raw, "data.data.usage_metadata")
    duration = optional_seconds(usage.get("duration"), "data.data.usage_metadata.duration")
    return duration, optional_text(usage.get("model"), "data.data.usage_metadata.model")


def parse_audio_answer(data: object) -> AudioTranscript:
    """
    Read the answer of ``sync-generate-audio``: ``data.model`` and ``data.items[]`` (no duration: no price).

    :param data: the envelope's ``data``.
    :raises FieldError: naming the missing or malformed field.
    """
    body = require_mapping(data, "data")
    items = require_list(body.get("items"), "data.items")
    segments = tuple(speech_segment(item, f"data.items[{i}]") for i, item in enumerate(items))
    labels = _labels(segments, None)
    return AudioTranscript(
        job_id=None,
        model=optional_text(body.get("model"), "data.model"),
        segments=segments,
        duration_seconds=None,
        speaker_labels=labels,
        **_audio_cost(None, labels, NO_DURATION),
    )


def parse_audio_callback(payload: Mapping[str, Any], *, speaker: bool | None = None) -> AudioTranscript:
    """
    Parse a successful ``async-generate-audio`` callback (``data.data.data[]``, ``usage_metadata``).

    :param payload: the callback body as Mavi sent it.
    :param speaker: speaker labels were asked for (the price doubles); None: read from the segments.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id, outer = success_data(payload)
    inner = require_mapping(outer.get("data"), "data.data")
    items = require_list(inner.get("data"), "data.data.data")
    segments = tuple(speech_segment(item, f"data.data.data[{i}]") for i, item in enumerate(items))
    duration, model = _usage(inner)
    labels = _labels(segments, speaker)
    return AudioTranscript(
        job_id=job_id,
        model=model,
        segments=segments,
        duration_seconds=duration,
        speaker_labels=labels,
        **_audio_cost(duration, labels, NO_CALLBACK_DURATION),
    )


def parse_speaker_answer(data: object) -> Diarization:
    """
    Read the answer of ``sync-generate-speaker``: ``data.model`` and ``data.items[] {start, end, speaker}``.

    :param data: the envelope's ``data``.
    :raises FieldError: naming the missing or malformed field.
    """
    body = require_mapping(data, "data")
    items = require_list(body.get("items"), "data.items")
    return Diarization(
        job_id=None,
        model=optional_text(body.get("model"), "data.model"),
        segments=tuple(_speaker_turn(item, f"data.items[{i}]") for i, item in enumerate(items)),
        duration_seconds=None,
        cost_usd=None,
        cost_note=NO_DURATION,
    )


def parse_speaker_callback(payload: Mapping[str, Any]) -> Diarization:
    """
    Parse a successful ``async-generate-speaker`` callback (``data.data.data[] {start, end, speaker}``).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id, outer = success_data(payload)
    inner = require_mapping(outer.get("data"), "data.data")
    items = require_list(inner.get("data"), "data.data.data")
    duration, model = _usage(inner)
    cost, note = cost_and_note(DIARIZATION_PRICE, Usage(media_seconds=duration), NO_CALLBACK_DURATION)
    return Diarization(
        job_id=job_id,
        model=model,
        segments=tuple(_speaker_turn(item, f"data.data.data[{i}]") for i, item in enumerate(items)),
        duration_seconds=duration,
        cost_usd=cost,
        cost_note=note,
    )
