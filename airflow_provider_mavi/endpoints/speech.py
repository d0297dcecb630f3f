"""Sync speech calls (``mavi-api.md`` §3.3, §3.4, §12.1, §12.2, §12.8): Whisper, pyannote, speech-to-text.

They are paid and answer with the result, so they follow the submit rule (``creates=True``): a timeout or a
5xx after the request was sent is never repeated (the work may have been done and billed); 429, the
ambiguous 400 and a connection that failed before sending are. They need no webhook and no bridge.

Speech-to-text has one path and two providers whose options and answers differ (ElevenLabs: seconds;
AssemblyAI: milliseconds), so it has one entry per provider; :func:`speech_to_text_endpoint` picks it. Exactly
one audio source is taken: Mavi documents the priority ``asset_id`` > ``url`` > ``source_url`` for several,
but a request holding several is refused here, because which one was meant is ambiguous.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_mavi.endpoints.base import Endpoint, Kind, answer
from airflow_provider_mavi.endpoints.checks import (
    check_asset_id,
    check_choice,
    check_flag,
    check_number,
    check_options,
    check_text,
    check_texts,
    check_url,
    check_whole,
)
from airflow_provider_mavi.endpoints.jobs import asset_body, audio_transcription_body
from airflow_provider_mavi.endpoints.models import STT_PROVIDERS
from airflow_provider_mavi.results import (
    AudioTranscript,
    Diarization,
    SpeechToText,
    parse_assemblyai_answer,
    parse_audio_answer,
    parse_elevenlabs_answer,
    parse_speaker_answer,
)
from airflow_provider_mavi.results.prices import (
    ASSEMBLYAI_PRICE,
    AUDIO_TRANSCRIPTION_PRICE,
    DIARIZATION_PRICE,
    ELEVENLABS_PRICE,
)

__all__ = [
    "ASSEMBLYAI_OPTIONS",
    "DIARIZE_SYNC",
    "ELEVENLABS_OPTIONS",
    "SPEECH_TO_TEXT_ASSEMBLYAI",
    "SPEECH_TO_TEXT_ELEVENLABS",
    "TRANSCRIBE_AUDIO_SYNC",
    "speech_to_text_endpoint",
]

_SOURCES = ("asset_id", "url", "source_url")


def _text(value: Any, name: str) -> str:
    return check_text(value, name)


def _speakers(value: Any, name: str) -> int:
    return check_whole(value, name, minimum=1)


def _fraction(value: Any, name: str) -> float:
    return check_number(value, name, 0.0, 1.0)


def _millis(value: Any, name: str) -> int:
    return check_whole(value, name, minimum=0)


def _choices(*allowed: str) -> Any:
    return lambda value, name: check_choice(value, allowed, name)


def _custom_spelling(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"{name} must be a list of objects (the item shape is AssemblyAI's), got {value!r}")
    return value


#: ElevenLabs options (§12.8), each with its check.
ELEVENLABS_OPTIONS: dict[str, Any] = {
    "language_code": _text,
    "model_id": _text,
    "diarize": check_flag,
    "timestamps_granularity": _choices("none", "segment", "word"),
    "tag_audio_events": check_flag,
    "num_speakers": _speakers,
    "file_format": _text,
    "source_lang": _text,
    "target_lang": _text,
}

_ASSEMBLYAI_SWITCHES = (
    "punctuate", "format_text", "speaker_labels", "language_detection", "disfluencies", "sentiment_analysis",
    "entity_detection", "auto_highlights", "content_safety", "iab_categories", "auto_chapters",
    "summarization", "redact_pii", "redact_pii_audio", "filter_profanity", "multichannel", "custom_topics",
)  # fmt: skip

#: AssemblyAI options (§12.8), each with its check.
ASSEMBLYAI_OPTIONS: dict[str, Any] = {
    "language_code": _text,
    **dict.fromkeys(_ASSEMBLYAI_SWITCHES, check_flag),
    "speakers_expected": _speakers,
    "language_confidence_threshold": _fraction,
    "speech_threshold": _fraction,
    "speech_model": _text,
    "summary_model": _choices("informative", "conversational"),
    "summary_type": _choices("bullets", "bullets_verbose", "headline", "paragraph", "gist"),
    "redact_pii_policies": check_texts,
    "redact_pii_sub": _choices("hash", "entity_name"),
    "redact_pii_audio_quality": _choices("mp3", "wav"),
    "word_boost": check_texts,
    "boost_param": _choices("low", "default", "high"),
    "custom_spelling": _custom_spelling,
    "topics": check_texts,
    "audio_start_from": _millis,
    "audio_end_at": _millis,
    "webhook_url": check_url,  # AssemblyAI's own webhook, not Mavi's
}


def _source(asset_id: str | None, url: str | None, source_url: str | None) -> dict[str, str]:
    given = [
        name for name, value in zip(_SOURCES, (asset_id, url, source_url), strict=True) if value is not None
    ]
    if not given:
        raise ValueError(
            "speech-to-text needs one audio source: asset_id (an uploaded asset), url (a public audio URL) "
            "or source_url (a gs:// path or a public http(s) URL)"
        )
    if len(given) > 1:
        raise ValueError(
            f"speech-to-text takes exactly one audio source, got {' and '.join(given)}: Mavi would "
            "silently use the first by its priority asset_id > url > source_url, so the request is refused "
            "as ambiguous"
        )
    if asset_id is not None:
        return {"asset_id": check_asset_id(asset_id)}
    if url is not None:
        return {"url": check_url(url, "url")}
    return {"source_url": check_url(source_url, "source_url", schemes=("gs", "https", "http"))}


def _stt_body(provider: str, options: dict[str, Any], source: dict[str, str]) -> dict[str, Any]:
    table = ELEVENLABS_OPTIONS if provider == "elevenlabs" else ASSEMBLYAI_OPTIONS
    checked = check_options(options, table, f"speech-to-text with {provider}")
    start, end = checked.get("audio_start_from"), checked.get("audio_end_at")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"audio_end_at ({end} ms) must be after audio_start_from ({start} ms)")
    return {"provider": provider, **source, **checked}


def elevenlabs_body(
    asset_id: str | None = None, url: str | None = None, source_url: str | None = None, **options: Any
) -> dict[str, Any]:
    """The body of speech-to-text with ElevenLabs (Scribe).

    :param asset_id: an uploaded audio or video asset (Mavi signs its URL).
    :param url: a public audio URL.
    :param source_url: a ``gs://`` path (signed by Mavi) or a public http(s) URL.
    :param options: :data:`ELEVENLABS_OPTIONS`; None leaves an option out (ElevenLabs' default).
    """
    return _stt_body("elevenlabs", options, _source(asset_id, url, source_url))


def assemblyai_body(
    asset_id: str | None = None, url: str | None = None, source_url: str | None = None, **options: Any
) -> dict[str, Any]:
    """The body of speech-to-text with AssemblyAI (Universal-2).

    :param asset_id: an uploaded audio or video asset (Mavi signs its URL).
    :param url: a public audio URL.
    :param source_url: a ``gs://`` path (signed by Mavi) or a public http(s) URL.
    :param options: :data:`ASSEMBLYAI_OPTIONS`; None leaves an option out (AssemblyAI's default).
    """
    return _stt_body("assemblyai", options, _source(asset_id, url, source_url))


TRANSCRIBE_AUDIO_SYNC: Endpoint[AudioTranscript] = Endpoint(
    "transcribe_audio_sync", "POST", "/transcriptions/sync-generate-audio", Kind.CALL, creates=True,
    bucket="Sync Generate Audio Transcription", price=AUDIO_TRANSCRIPTION_PRICE,
    parse=answer(parse_audio_answer), body=audio_transcription_body,
)  # fmt: skip
DIARIZE_SYNC: Endpoint[Diarization] = Endpoint(
    "diarize_sync", "POST", "/transcriptions/sync-generate-speaker", Kind.CALL, creates=True,
    bucket="Sync Generate Speaker", price=DIARIZATION_PRICE, parse=answer(parse_speaker_answer),
    body=asset_body,
)  # fmt: skip
# Not listed by name in the rate-limit table: its "Standard APIs" tier (1 QPS) covers "Transcription" (§12.8).
SPEECH_TO_TEXT_ELEVENLABS: Endpoint[SpeechToText] = Endpoint(
    "speech_to_text_elevenlabs", "POST", "/transcriptions/speech-to-text", Kind.CALL, creates=True,
    bucket="Transcription", price=ELEVENLABS_PRICE, parse=answer(parse_elevenlabs_answer),
    body=elevenlabs_body,
)  # fmt: skip
SPEECH_TO_TEXT_ASSEMBLYAI: Endpoint[SpeechToText] = Endpoint(
    "speech_to_text_assemblyai", "POST", "/transcriptions/speech-to-text", Kind.CALL, creates=True,
    bucket="Transcription", price=ASSEMBLYAI_PRICE, parse=answer(parse_assemblyai_answer),
    body=assemblyai_body,
)  # fmt: skip


def speech_to_text_endpoint(provider: str) -> Endpoint[SpeechToText]:
    """The speech-to-text entry of a provider.

    :param provider: ``elevenlabs`` or ``assemblyai``.
    """
    check_choice(provider, STT_PROVIDERS, "provider")
    return SPEECH_TO_TEXT_ELEVENLABS if provider == "elevenlabs" else SPEECH_TO_TEXT_ASSEMBLYAI
