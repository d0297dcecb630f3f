"""Transcript callbacks (``mavi-api.md`` §3.2, §3.3): timed segments under three levels of ``data``, and
``usage_metadata``. Video descriptions name a segment's text ``transcript``, audio transcriptions ``text``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_mavi.results.callback import (
    count,
    field_error,
    number,
    optional_number,
    require_mapping,
    success_data,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["TranscriptResult", "TranscriptSegment", "TranscriptUsage", "parse_transcript_callback"]


class TranscriptSegment(NamedTuple):
    """One timed segment of a transcript (a visual description or spoken text)."""

    start_time: float
    end_time: float
    text: str
    speaker: str | None


@dataclass(frozen=True)
class TranscriptUsage:
    """``usage_metadata`` of a transcript callback; missing token counts are 0, a missing duration is None."""

    duration: float | None
    model: str | None
    prompt_tokens: int
    output_tokens: int

    def to_dict(self) -> dict[str, Any]:
        """Return the usage as a JSON-ready dict."""
        return {
            "duration": self.duration,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
        }


@dataclass(frozen=True)
class TranscriptResult:
    """What a transcript callback (video description or audio transcription) reports."""

    job_id: str
    segments: tuple[TranscriptSegment, ...]
    usage: TranscriptUsage
    model: str | None
    error_rate: float | None = None

    def segments_as_dicts(self) -> list[dict[str, Any]]:
        """Return the segments as JSON-ready dicts."""
        return [segment._asdict() for segment in self.segments]


def _segment(item: object, index: int) -> TranscriptSegment:
    field = f"data.data.data[{index}]"
    entry = require_mapping(item, field)
    start = number(entry.get("start_time"), f"{field}.start_time")
    end = number(entry.get("end_time"), f"{field}.end_time")
    text = entry.get("transcript", entry.get("text"))
    if not isinstance(text, str):
        raise field_error(f"{field}.transcript", "(or .text) is missing or not a string")
    speaker = entry.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise field_error(f"{field}.speaker", "is not a string")
    return TranscriptSegment(start_time=start, end_time=end, text=text, speaker=speaker)


def parse_transcript_callback(payload: Mapping[str, Any]) -> TranscriptResult:
    """
    Parse a successful transcript callback (``data.data.data[]`` and ``data.data.usage_metadata``).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id, outer = success_data(payload)
    inner = require_mapping(outer.get("data"), "data.data")
    items = inner.get("data")
    if not isinstance(items, list):
        raise field_error("data.data.data", "is missing or not a list")
    segments = tuple(_segment(item, index) for index, item in enumerate(items))
    raw_usage = inner.get("usage_metadata", {})
    usage_map = require_mapping(raw_usage if raw_usage is not None else {}, "data.data.usage_metadata")
    model = usage_map.get("model")
    if model is not None and not isinstance(model, str):
        raise field_error("data.data.usage_metadata.model", "is not a string")
    usage = TranscriptUsage(
        duration=optional_number(usage_map.get("duration"), "data.data.usage_metadata.duration"),
        model=model,
        prompt_tokens=count(usage_map.get("prompt_tokens"), "data.data.usage_metadata.prompt_tokens"),
        output_tokens=count(usage_map.get("output_tokens"), "data.data.usage_metadata.output_tokens"),
    )
    error_rate = optional_number(inner.get("error_rate"), "data.data.error_rate")
    return TranscriptResult(job_id=job_id, segments=segments, usage=usage, model=model, error_rate=error_rate)
