"""Timed words grouped into caption segments, and segments written as WebVTT and SubRip (pure but the writer).

Segments are dicts ``{start, end, text, speaker}`` in seconds. WebVTT comes from
:func:`~airflow_provider_mavi.results.transcript_to_webvtt` (``webvtt-py``; speakers as voice tags). SubRip is
written here: ``webvtt-py`` can write it, but only from cue text it strips of anything that looks like a tag
(``Tom <3 Jerry`` would lose ``<3 Jerry``), and SubRip is plain text, so cues are written as they are, with
no speaker (it has no voice tags; the JSON and the WebVTT keep them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.results import TranscriptSegment, transcript_to_webvtt

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from airflow.sdk import ObjectStoragePath

__all__ = ["MAX_SEGMENT_SECONDS", "PAUSE_SECONDS", "segments_from_words", "segments_to_srt", "write_captions"]

#: A pause longer than this between two words starts a new segment.
PAUSE_SECONDS = 1.0
#: A segment never runs longer than this (a caption stays readable).
MAX_SEGMENT_SECONDS = 10.0
_SENTENCE_END = (".", "?", "!", "\u3002", "\uff1f", "\uff01")  # and the CJK full stops


def segments_from_words(words: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Group timed words into segments: a new one at a change of speaker, after a sentence's end, after a
    pause over :data:`PAUSE_SECONDS`, or before a segment would run over :data:`MAX_SEGMENT_SECONDS`.

    Spacing items (ElevenLabs' ``type: spacing``) and blank words are skipped; words are joined by a space.

    :param words: ``{text, start, end, speaker, type}`` in seconds, in order.
    """
    segments: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for word in words:
        text = str(word.get("text") or "").strip()
        if word.get("type") == "spacing" or not text:
            continue
        start, end, speaker = float(word["start"]), float(word["end"]), word.get("speaker")
        if current is not None and (
            speaker != current["speaker"]
            or start - current["end"] > PAUSE_SECONDS
            or end - current["start"] > MAX_SEGMENT_SECONDS
            or current["text"].endswith(_SENTENCE_END)
        ):
            segments.append(current)
            current = None
        if current is None:
            current = {"start": start, "end": end, "text": text, "speaker": speaker}
        else:
            current["end"] = max(current["end"], end)
            current["text"] = f"{current['text']} {text}"
    if current is not None:
        segments.append(current)
    return segments


def _srt_timestamp(seconds: float) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def segments_to_srt(segments: Sequence[Mapping[str, Any]]) -> str:
    """Render segments as SubRip: numbered cues sorted by start, text as it is (no blank line, no ``-->``).

    :param segments: ``{start, end, text}`` in seconds; an end not after its start gets 1 ms.
    """
    blocks = []
    ordered = sorted(segments, key=lambda s: (float(s["start"]), float(s["end"])))
    for index, segment in enumerate(ordered, start=1):
        start, end = float(segment["start"]), float(segment["end"])
        end = end if end > start else start + 0.001
        text = str(segment.get("text") or "").replace("\r\n", "\n").replace("\r", "\n")
        lines = [line.strip().replace("-->", "->") for line in text.split("\n") if line.strip()] or ["…"]
        blocks.append(f"{index}\n{_srt_timestamp(start)} --> {_srt_timestamp(end)}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def write_captions(
    directory: ObjectStoragePath, stem: str, segments: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """Write ``<stem>.vtt`` and ``<stem>.srt`` into ``directory``; return ``{vtt_path, srt_path}``.

    :param directory: an existing directory (local or object storage).
    :param stem: the file name without suffix.
    :param segments: ``{start, end, text, speaker}`` in seconds.
    """
    cues = [
        TranscriptSegment(float(s["start"]), float(s["end"]), str(s.get("text") or ""), s.get("speaker"))
        for s in segments
    ]
    vtt_path, srt_path = directory / f"{stem}.vtt", directory / f"{stem}.srt"
    vtt_path.write_text(transcript_to_webvtt(cues), encoding="utf-8")
    srt_path.write_text(segments_to_srt(segments), encoding="utf-8")
    return {"vtt_path": str(vtt_path), "srt_path": str(srt_path)}
