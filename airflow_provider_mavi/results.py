"""Pure helpers that turn Mavi callback payloads into small result types, and Mavi's prices into dollars.

Nothing here does I/O. The callback shapes are those of ``mavi-api.md`` §3 and §5: the success ``code`` is
``200``, ``"200"`` or ``"0000"``; the message key is ``message`` in callbacks and ``msg`` elsewhere;
transcripts nest three ``data`` levels and carry a second, inner ``data.success`` flag.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from airflow_provider_mavi.exceptions import MaviCallbackError

#: Values of the callback's ``code`` that mean success (``mavi-api.md`` §1.1, §8).
SUCCESS_CODES: frozenset[object] = frozenset({200, "200", "0000"})

#: Frame extraction: dollars per second of video (``mavi-api.md`` §3.1).
FRAMES_USD_PER_VIDEO_SECOND = 0.01
#: Video description: dollars per million prompt (input) tokens (``mavi-api.md`` §3.2).
DESCRIPTION_USD_PER_M_INPUT_TOKENS = 0.45
#: Video description: dollars per million output tokens (``mavi-api.md`` §3.2).
DESCRIPTION_USD_PER_M_OUTPUT_TOKENS = 3.75
#: Audio transcription: dollars per second of audio, without and with speaker labels (``mavi-api.md`` §3.3).
AUDIO_USD_PER_SECOND = 0.001
AUDIO_WITH_SPEAKER_USD_PER_SECOND = 0.002
#: Downloads: dollars per GB (10**9 bytes) downloaded (``mavi-api.md`` §2.7).
DOWNLOAD_USD_PER_GB = 0.12

# Dollar figures are rounded to this many decimals: well below a cent, and free of float noise.
_USD_DECIMALS = 6


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
class FramesResult:
    """What an extract-frames callback reports: the ``im_`` group and its ``imc_`` frames, in order."""

    job_id: str
    frames_asset_id: str
    frame_asset_ids: tuple[str, ...]

    @property
    def frame_count(self) -> int:
        """Number of frames Mavi extracted."""
        return len(self.frame_asset_ids)


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


# --------------------------------------------------------------------------------------------- outcome


def _field_error(field: str, problem: str) -> MaviCallbackError:
    return MaviCallbackError(f"Mavi callback field {field!r} {problem}", field=field)


def _require_mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _field_error(field, "is missing or not an object")
    return value


def _message_of(envelope: Mapping[str, Any]) -> str | None:
    for key in ("message", "msg"):
        value = envelope.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def callback_outcome(payload: Mapping[str, Any]) -> tuple[bool, str]:
    """
    Tell whether a callback reports success, and return Mavi's message.

    A callback succeeded when its ``code`` is one of :data:`SUCCESS_CODES`, it is not marked ``failed``,
    and an inner ``data.success`` flag, when present, is not false. The message is the callback's
    ``message`` (or ``msg``); for a failure reported only by the inner flag, the inner ``data.msg``.

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: when the payload is not an object or carries no ``code``.
    """
    envelope = _require_mapping(payload, "(callback body)")
    if "code" not in envelope:
        raise _field_error("code", "is missing")
    code = envelope["code"]
    message = _message_of(envelope)
    known_code = isinstance(code, (int, str)) and not isinstance(code, bool) and code in SUCCESS_CODES
    succeeded = known_code and envelope.get("failed") is not True
    if envelope.get("success") is False:
        succeeded = False
    data = envelope.get("data")
    if isinstance(data, Mapping) and data.get("success") is False:
        succeeded = False
        message = _message_of(data) or message
    if message is None:
        message = "SUCCESS" if succeeded else f"no message (code {code!r})"
    return succeeded, message


def callback_job_id(payload: Mapping[str, Any]) -> str:
    """
    Return the Mavi job id (the callback's ``task_id``).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: when ``task_id`` is missing or not a non-empty string.
    """
    job_id = _require_mapping(payload, "(callback body)").get("task_id")
    if not isinstance(job_id, str) or not job_id:
        raise _field_error("task_id", "is missing or not a string")
    return job_id


# --------------------------------------------------------------------------------------------- parsing


def _require_success(payload: Mapping[str, Any]) -> None:
    succeeded, message = callback_outcome(payload)
    if not succeeded:
        raise MaviCallbackError(f"Mavi reported a failed job: {message}", mavi_message=message)


def parse_frames_callback(payload: Mapping[str, Any]) -> FramesResult:
    """
    Parse a successful extract-frames callback (``data.asset_id``, ``data.asset_ch_ids``).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id = callback_job_id(payload)
    _require_success(payload)
    data = _require_mapping(payload.get("data"), "data")
    frames_asset_id = data.get("asset_id")
    if not isinstance(frames_asset_id, str) or not frames_asset_id:
        raise _field_error("data.asset_id", "is missing or not a string")
    children = data.get("asset_ch_ids")
    if not isinstance(children, list) or not all(isinstance(child, str) and child for child in children):
        raise _field_error("data.asset_ch_ids", "is missing or not a list of ids")
    return FramesResult(job_id=job_id, frames_asset_id=frames_asset_id, frame_asset_ids=tuple(children))


def _optional_number(value: object, field: str) -> float | None:
    return None if value is None else _number(value, field)


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _field_error(field, "is missing or not a finite number")
    return float(value)


def _count(value: object, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise _field_error(field, "is not a non-negative whole number")
    return int(value)


def _segment(item: object, index: int) -> TranscriptSegment:
    field = f"data.data.data[{index}]"
    entry = _require_mapping(item, field)
    start = _number(entry.get("start_time"), f"{field}.start_time")
    end = _number(entry.get("end_time"), f"{field}.end_time")
    text = entry.get("transcript", entry.get("text"))
    if not isinstance(text, str):
        raise _field_error(f"{field}.transcript", "(or .text) is missing or not a string")
    speaker = entry.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise _field_error(f"{field}.speaker", "is not a string")
    return TranscriptSegment(start_time=start, end_time=end, text=text, speaker=speaker)


def parse_transcript_callback(payload: Mapping[str, Any]) -> TranscriptResult:
    """
    Parse a successful transcript callback (``data.data.data[]`` and ``data.data.usage_metadata``).

    Video descriptions name a segment's text ``transcript``, audio transcriptions ``text``; both are read.

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id = callback_job_id(payload)
    _require_success(payload)
    outer = _require_mapping(payload.get("data"), "data")
    inner = _require_mapping(outer.get("data"), "data.data")
    items = inner.get("data")
    if not isinstance(items, list):
        raise _field_error("data.data.data", "is missing or not a list")
    segments = tuple(_segment(item, index) for index, item in enumerate(items))
    raw_usage = inner.get("usage_metadata", {})
    usage_map = _require_mapping(raw_usage if raw_usage is not None else {}, "data.data.usage_metadata")
    model = usage_map.get("model")
    if model is not None and not isinstance(model, str):
        raise _field_error("data.data.usage_metadata.model", "is not a string")
    usage = TranscriptUsage(
        duration=_optional_number(usage_map.get("duration"), "data.data.usage_metadata.duration"),
        model=model,
        prompt_tokens=_count(usage_map.get("prompt_tokens"), "data.data.usage_metadata.prompt_tokens"),
        output_tokens=_count(usage_map.get("output_tokens"), "data.data.usage_metadata.output_tokens"),
    )
    error_rate = _optional_number(inner.get("error_rate"), "data.data.error_rate")
    return TranscriptResult(job_id=job_id, segments=segments, usage=usage, model=model, error_rate=error_rate)


# --------------------------------------------------------------------------------------------- prices


def _usd(value: float) -> float:
    return round(value, _USD_DECIMALS)


def _non_negative(value: float, name: str) -> float:
    if isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def frames_cost_usd(video_seconds: float | None) -> float | None:
    """
    Price of extracting frames from a video: $0.01 per second of video.

    :param video_seconds: the video's duration, or None when it is unknown (the price is then unknown too).
    :return: dollars, or None when the duration is unknown. Never a guess.
    """
    if video_seconds is None:
        return None
    return _usd(_non_negative(video_seconds, "video_seconds") * FRAMES_USD_PER_VIDEO_SECOND)


def video_description_cost_usd(prompt_tokens: int, output_tokens: int) -> float:
    """
    Price of a video description: $0.45 per million input tokens plus $3.75 per million output tokens.

    :param prompt_tokens: input tokens reported in ``usage_metadata.prompt_tokens``.
    :param output_tokens: output tokens reported in ``usage_metadata.output_tokens``.
    """
    prompt = _non_negative(prompt_tokens, "prompt_tokens")
    output = _non_negative(output_tokens, "output_tokens")
    return _usd(
        prompt * DESCRIPTION_USD_PER_M_INPUT_TOKENS / 1_000_000
        + output * DESCRIPTION_USD_PER_M_OUTPUT_TOKENS / 1_000_000
    )


def audio_transcription_cost_usd(seconds: float, speaker: bool) -> float:
    """
    Price of an audio transcription: $0.001 per second, $0.002 per second with speaker labels.

    :param seconds: the media's duration (``usage_metadata.duration`` for audio).
    :param speaker: whether speaker labels were requested.
    """
    rate = AUDIO_WITH_SPEAKER_USD_PER_SECOND if speaker else AUDIO_USD_PER_SECOND
    return _usd(_non_negative(seconds, "seconds") * rate)


def download_cost_usd(n_bytes: int) -> float:
    """
    Price of downloading an asset: $0.12 per GB (counted as 10**9 bytes) downloaded.

    :param n_bytes: bytes downloaded.
    """
    return _usd(_non_negative(n_bytes, "n_bytes") * DOWNLOAD_USD_PER_GB / 1_000_000_000)


# --------------------------------------------------------------------------------------------- outputs


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
