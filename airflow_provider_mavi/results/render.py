"""Transcripts rendered for people and storage: WebVTT (with ``webvtt-py``), SubRip and a JSON document.

Two segment shapes are rendered: the visual description's ``TranscriptSegment`` (``start_time``/``end_time``)
and speech's ``SpeechSegment`` (``start``/``end``); both go through the same cue rules.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from airflow_provider_mavi.results.speech import SpeechSegment
    from airflow_provider_mavi.results.transcripts import TranscriptResult, TranscriptSegment

__all__ = ["speech_to_srt", "speech_to_webvtt", "transcript_to_json", "transcript_to_webvtt"]

#: A cue: start and end in seconds, the text, the speaker (or None).
Cue = tuple[float, float, str, "str | None"]


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


def _timed(cues: Iterable[Cue]) -> list[Cue]:
    """The cues sorted by time; an end not after its start becomes a 1 ms length, so no text is dropped."""
    ordered = sorted(cues, key=lambda cue: (cue[0], cue[1]))
    return [(start, end if end > start else start + 0.001, text, who) for start, end, text, who in ordered]


def _webvtt(cues: Iterable[Cue]) -> str:
    import webvtt

    document = webvtt.WebVTT()
    for index, (start, end, text, speaker) in enumerate(_timed(cues), start=1):
        document.captions.append(
            webvtt.Caption(
                start=_vtt_timestamp(start),
                end=_vtt_timestamp(end),
                text=_vtt_text(text, speaker),
                identifier=str(index),
            )
        )
    return str(document.content)


def transcript_to_webvtt(segments: Sequence[TranscriptSegment]) -> str:
    """
    Render transcript segments as a WebVTT document (with ``webvtt-py``); speakers become voice tags.

    A segment whose end is not after its start is kept with a 1 ms length, so no text is dropped.

    :param segments: the segments, in any order (cues are written sorted by start time).
    """
    return _webvtt((s.start_time, s.end_time, s.text, s.speaker) for s in segments)


def speech_to_webvtt(segments: Sequence[SpeechSegment]) -> str:
    """
    Render speech segments (Whisper, speaker recognition) as WebVTT; speakers become voice tags.

    :param segments: the segments, in any order (cues are written sorted by start time).
    """
    return _webvtt((s.start, s.end, s.text, s.speaker) for s in segments)


def _srt_timestamp(seconds: float) -> str:
    return _vtt_timestamp(seconds).replace(".", ",")


def speech_to_srt(segments: Sequence[SpeechSegment]) -> str:
    """
    Render speech segments as SubRip (``.srt``): numbered cues, ``HH:MM:SS,mmm`` times, the speaker as a
    ``SPEAKER_00:`` prefix. SubRip has no escaping, so the text is kept as it is but for what would end a cue
    early (a blank line) or read as a time line (``-->``).

    :param segments: the segments, in any order (cues are written sorted by start time).
    """
    blocks = []
    for index, (start, end, text, speaker) in enumerate(
        _timed((s.start, s.end, s.text, s.speaker) for s in segments), start=1
    ):
        lines = [line.strip().replace("-->", "->") for line in text.replace("\r\n", "\n").split("\n")]
        body = "\n".join(line for line in lines if line) or " "
        if speaker:
            body = f"{speaker.strip()}: {body}"
        blocks.append(f"{index}\n{_srt_timestamp(start)} --> {_srt_timestamp(end)}\n{body}\n")
    return "\n".join(blocks)


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
