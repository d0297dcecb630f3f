"""Mavi's results as small types: callback payloads parsed, prices turned into dollars, transcripts rendered.

Pure (no I/O). One module per callback shape (``frames``, ``transcripts``; issue 11 adds one per new shape),
the field readers they share (``callback``), the price rules (``prices``) and the renderers (``render``).
Import from here: these names are the public surface.
"""

from __future__ import annotations

from airflow_provider_mavi.results.callback import callback_job_id, callback_outcome, success_data
from airflow_provider_mavi.results.frames import FramesResult, parse_frames_callback
from airflow_provider_mavi.results.prices import (
    Free,
    PerGigabyte,
    PerMediaSecond,
    PerToken,
    Price,
    Unknown,
    Usage,
    audio_transcription_cost_usd,
    download_cost_usd,
    frames_cost_usd,
    video_description_cost_usd,
)
from airflow_provider_mavi.results.render import transcript_to_json, transcript_to_webvtt
from airflow_provider_mavi.results.transcripts import (
    TranscriptResult,
    TranscriptSegment,
    TranscriptUsage,
    parse_transcript_callback,
)

__all__ = [
    "FramesResult",
    "Free",
    "PerGigabyte",
    "PerMediaSecond",
    "PerToken",
    "Price",
    "TranscriptResult",
    "TranscriptSegment",
    "TranscriptUsage",
    "Unknown",
    "Usage",
    "audio_transcription_cost_usd",
    "callback_job_id",
    "callback_outcome",
    "download_cost_usd",
    "frames_cost_usd",
    "parse_frames_callback",
    "parse_transcript_callback",
    "success_data",
    "transcript_to_json",
    "transcript_to_webvtt",
    "video_description_cost_usd",
]
