"""Mavi's results as small types: callbacks and answers parsed, prices in dollars, transcripts rendered.

Pure (no I/O). One module per payload shape (``frames``, ``transcripts``, ``speech``, ``recognition``,
``summary``, ``video``, ``stt``, ``chat``, ``embeddings``), the field readers they share (``callback``), the
result base with ``to_dict()`` (``base``), the price rules (``prices``, ``vlm_models``) and the renderers
(``render``). Import from here: these names are the public surface.
"""

from __future__ import annotations

from airflow_provider_mavi.results.base import Result, json_ready
from airflow_provider_mavi.results.callback import FieldError, callback_job_id, callback_outcome, success_data
from airflow_provider_mavi.results.chat import (
    ChatAnswer,
    ChatAnswerError,
    ChatUsage,
    parse_chat_answer,
    strip_json_fence,
)
from airflow_provider_mavi.results.embeddings import Embeddings, parse_text_embeddings, parse_video_embedding
from airflow_provider_mavi.results.frames import FramesResult, parse_frames_callback
from airflow_provider_mavi.results.prices import (
    Free,
    PerGigabyte,
    PerMediaSecond,
    PerToken,
    Price,
    TieredPerToken,
    TokenTier,
    Unknown,
    Usage,
    audio_transcription_cost_usd,
    cost_and_note,
    download_cost_usd,
    frames_cost_usd,
    video_description_cost_usd,
)
from airflow_provider_mavi.results.recognition import Face, SpeakerRecognition, parse_multi_speaker_callback
from airflow_provider_mavi.results.render import transcript_to_json, transcript_to_webvtt
from airflow_provider_mavi.results.speech import (
    AudioTranscript,
    Diarization,
    SpeakerTurn,
    SpeechSegment,
    parse_audio_answer,
    parse_audio_callback,
    parse_speaker_answer,
    parse_speaker_callback,
)
from airflow_provider_mavi.results.stt import (
    SpeechToText,
    Word,
    parse_assemblyai_answer,
    parse_elevenlabs_answer,
)
from airflow_provider_mavi.results.summary import TokenUsage, VideoSummary, parse_summary_callback
from airflow_provider_mavi.results.transcripts import (
    TranscriptResult,
    TranscriptSegment,
    TranscriptUsage,
    parse_transcript_callback,
)
from airflow_provider_mavi.results.video import (
    AssetRecord,
    EditedVideo,
    Scene,
    Scenes,
    SplitVideo,
    parse_edit_callback,
    parse_scenes_callback,
    parse_split_callback,
)
from airflow_provider_mavi.results.vlm_models import VLM_MODEL_PRICES, VLM_PROVIDERS, vlm_price

__all__ = [
    "VLM_MODEL_PRICES",
    "VLM_PROVIDERS",
    "AssetRecord",
    "AudioTranscript",
    "ChatAnswer",
    "ChatAnswerError",
    "ChatUsage",
    "Diarization",
    "EditedVideo",
    "Embeddings",
    "Face",
    "FieldError",
    "FramesResult",
    "Free",
    "PerGigabyte",
    "PerMediaSecond",
    "PerToken",
    "Price",
    "Result",
    "Scene",
    "Scenes",
    "SpeakerRecognition",
    "SpeakerTurn",
    "SpeechSegment",
    "SpeechToText",
    "SplitVideo",
    "TieredPerToken",
    "TokenTier",
    "TokenUsage",
    "TranscriptResult",
    "TranscriptSegment",
    "TranscriptUsage",
    "Unknown",
    "Usage",
    "VideoSummary",
    "Word",
    "audio_transcription_cost_usd",
    "callback_job_id",
    "callback_outcome",
    "cost_and_note",
    "download_cost_usd",
    "frames_cost_usd",
    "json_ready",
    "parse_assemblyai_answer",
    "parse_audio_answer",
    "parse_audio_callback",
    "parse_chat_answer",
    "parse_edit_callback",
    "parse_elevenlabs_answer",
    "parse_frames_callback",
    "parse_multi_speaker_callback",
    "parse_scenes_callback",
    "parse_speaker_answer",
    "parse_speaker_callback",
    "parse_split_callback",
    "parse_summary_callback",
    "parse_text_embeddings",
    "parse_transcript_callback",
    "parse_video_embedding",
    "strip_json_fence",
    "success_data",
    "transcript_to_json",
    "transcript_to_webvtt",
    "video_description_cost_usd",
    "vlm_price",
]
