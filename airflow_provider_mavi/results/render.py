"""Transcripts rendered for people and storage: WebVTT (with ``webvtt-py``) and a JSON document."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_mavi.results.transcripts import TranscriptResult, TranscriptSegment

__all__ = ["transcript_to_json", "transcript_to_webvtt"]


def _vtt_timestamp(seconds: float) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _vtt_text(text: str, speaker: str | None) -> str:
    # Cue text may not hold "-->" or a blank line, and &, < and > must be escaped.
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    body = "\n".join(html.escape(line, quote=False).replace("--&gt;", "-&gt;") for line in lines if line)
    if speaker:
        voice = html.escape(speaker, quote=False).replace(">", "")
        body = f"<v {voice}>{body}"
    return body or " "


def transcript_to_webvtt(segments: Sequence[TranscriptSegment]) -> str:
    """
    Render transcript segments as a WebVTT document (with ``webvtt-py``); speakers become voice tags.

    A segment whose end is not after its start is kept with a 1 ms length, so no text is dropped.

    :param segments: the segments, in any order (cues are written sorted by start time).
    """
    import webvtt

    document = webvtt.WebVTT()
    for index, segment in enumerate(sorted(segments, key=lambda s: (s.start_time, s.end_time)), start=1):
        end = segment.end_time if segment.end_time > segment.start_time else segment.start_time + 0.001
        document.captions.append(
            webvtt.Caption(
                start=_vtt_timestamp(segment.start_time),
                end=_vtt_timestamp(end),
                text=_vtt_text(segment.text, segment.speaker),
                identifier=str(index),
            )
        )
    return str(document.content)


def transcript_to_json(result: TranscriptResult, *, cost_usd: float | None) -> str:
    """
    Render a transcript result as a JSON document (the full result, for storage next to the WebVTT).

    :param result: the parsed transcript.
    :param cost_usd: the job's price, or None when unknown.
    """
    document = {
        "job_id": result.job_id,
        "model": result.model,
        "segments": result.segments_as_dicts(),
        "usage": result.usage.to_dict(),
        "error_rate": result.error_rate,
        "cost_usd": cost_usd,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
