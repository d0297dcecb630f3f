"""``POST /transcriptions/speech-to-text`` (sync): ElevenLabs or AssemblyAI shapes (``mavi-api.md`` §12.8).

The source is, in the documented priority, ``asset_id`` > ``url`` > ``source_url``. URLs are fetched by the
emulator (``fetch.py``); ``gs://`` paths cannot be signed here and are refused. Words are stand-ins: one
``[speech]`` per measured turn of voice activity.
"""

from __future__ import annotations

import shutil
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from airflow_provider_mavi.emulator import analysis, apidoc, prices, transcripts
from airflow_provider_mavi.emulator.fetch import FetchError, is_http_url, obtain
from airflow_provider_mavi.emulator.gate import API_PREFIX
from airflow_provider_mavi.emulator.routing import Rejected, boolean, is_blank, number, usable_asset
from airflow_provider_mavi.emulator.submit import Endpoint, Prepared, answer_sync

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.responses import Response

    from airflow_provider_mavi.emulator.speech import SpeechAnalysis
    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset

PROVIDERS = {
    "elevenlabs": prices.ELEVENLABS_USD_PER_HOUR / 3600,
    "assemblyai": prices.ASSEMBLYAI_USD_PER_HOUR / 3600,
}
GRANULARITIES = ("none", "segment", "word")
SOURCE_MISSING = "One of asset_id, url or source_url is required"

router = APIRouter(prefix=API_PREFIX + "/transcriptions")


def _missing(body: dict[str, Any]) -> str | None:
    """Step 1: one source must be given.

    :param body: the request body.
    """
    return SOURCE_MISSING if all(is_blank(body.get(k)) for k in ("asset_id", "url", "source_url")) else None


def _options(provider: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """Check the options the emulator uses (others are accepted and ignored), else ``None``.

    :param provider: ``elevenlabs`` or ``assemblyai``.
    :param body: the request body.
    """
    language = body.get("language_code")
    if language is not None and not isinstance(language, str):
        return None
    if provider == "elevenlabs":
        diarize = boolean(body, "diarize")
        granularity = body.get("timestamps_granularity") or "word"
        if diarize is None or granularity not in GRANULARITIES:
            return None
        return {"language_code": language, "diarize": diarize, "timestamps_granularity": granularity}
    labels = boolean(body, "speaker_labels")
    start = body.get("audio_start_from")
    end = body.get("audio_end_at")
    start_ms = 0.0 if start is None else number(start, low=0, high=10**10)
    end_ms = None if end is None else number(end, low=0, high=10**10)
    if labels is None or start_ms is None or (end is not None and (end_ms is None or end_ms <= start_ms)):
        return None
    return {
        "language_code": language,
        "speaker_labels": labels,
        "audio_start_from": start_ms,
        "audio_end_at": end_ms,
    }


def _prepare(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Step 3: a known provider, a usable source in priority order, valid options.

    :param state: the account.
    :param body: the request body.
    """
    provider = body.get("provider") or "elevenlabs"
    if not isinstance(provider, str) or provider not in PROVIDERS:  # a list or an object is no provider
        return None
    options = _options(provider, body)
    if options is None:
        return None
    params: dict[str, Any] = {"provider": provider, **options}
    if not is_blank(body.get("asset_id")):
        asset = usable_asset(state, body["asset_id"], "media")
        if asset is None:
            return None
        return Prepared([asset], params, prices.per_second(asset.duration, PROVIDERS[provider]))
    url = body.get("url") if not is_blank(body.get("url")) else body.get("source_url")
    if not is_http_url(url):
        return None  # includes gs:// paths, which only the real service can sign
    return Prepared([], {**params, "source": "url"}, 0.0, private={"url": url})


async def _work(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Measure the source's voice activity and answer in the provider's shape.

    :param state: the account.
    :param job: the job's record.
    :param assets: the asset, or none for a URL source.
    :param params: the accepted options.
    """
    scratch = state.store.root / "work" / job["job_id"]
    try:
        if assets:
            assert assets[0].path is not None
            path: Path = assets[0].path
            audio_url = f"{state.root_url}{API_PREFIX}/{assets[0].asset_id}/download"
        else:
            audio_url = params["url"]
            try:
                path = await state.run_blocking(
                    lambda: obtain(
                        audio_url,
                        scratch / "source",
                        max_bytes=state.settings.fetch_max_bytes,
                        timeout=state.settings.fetch_timeout,
                    )
                )
            except FetchError as exc:
                raise Rejected(400, f"The audio could not be fetched: {exc}") from exc
        measured: SpeechAnalysis | None = await state.run_blocking(analysis.speech_or_none, path)
    finally:
        if not assets:
            shutil.rmtree(scratch, ignore_errors=True)
    seconds = (assets[0].duration if assets else None) or (measured.duration if measured else 0.0)
    if not assets:
        state.charge(job, prices.per_second(seconds, PROVIDERS[params["provider"]]))
    turns = list(measured.turns) if measured is not None else []
    if params["provider"] == "elevenlabs":
        return transcripts.elevenlabs(
            turns,
            language_code=params["language_code"],
            diarize=params["diarize"],
            granularity=params["timestamps_granularity"],
        )
    start = params["audio_start_from"] / 1000
    end = None if params["audio_end_at"] is None else params["audio_end_at"] / 1000
    return transcripts.assemblyai(
        transcripts.trimmed(turns, start, end),
        transcript_id=str(uuid.UUID(hex=job["job_id"])),
        audio_url=audio_url,
        audio_seconds=seconds,
        language_code=params["language_code"],
        speaker_labels=params["speaker_labels"],
    )


SPEECH_TO_TEXT = Endpoint("speech_to_text", _missing, _prepare, _work)
_NULLABLE_STRING = {"type": ["string", "null"]}
_ELEVENLABS = apidoc.obj(
    ("language_code", "language_probability", "text", "words"),
    language_code=apidoc.STRING,
    language_probability=apidoc.NUMBER,
    text=apidoc.STRING,
    words=apidoc.array(
        apidoc.obj(
            ("text", "start", "end", "type"),
            text=apidoc.STRING,
            start=apidoc.NUMBER,
            end=apidoc.NUMBER,
            type={"enum": ["word", "spacing"]},
            speaker_id=apidoc.STRING,
        )
    ),
)
_ASSEMBLYAI = apidoc.obj(
    ("id", "status", "language_code", "audio_url", "audio_duration", "text", "words"),
    id=apidoc.STRING,
    status={"const": "completed"},
    language_code=_NULLABLE_STRING,
    audio_url=apidoc.STRING,
    audio_duration=apidoc.INTEGER,
    text=apidoc.STRING,
    words=apidoc.array(
        apidoc.obj(
            ("text", "start", "end", "confidence"),
            text=apidoc.STRING,
            start=apidoc.INTEGER,
            end=apidoc.INTEGER,
            confidence=apidoc.NUMBER,
            speaker=_NULLABLE_STRING,
        )
    ),
    utterances={"type": ["array", "null"]},
)
_ROUTE = apidoc.json_route(
    SPEECH_TO_TEXT,
    {
        "provider": {"enum": list(PROVIDERS), "default": "elevenlabs"},
        "asset_id": apidoc.ASSET_ID,
        "url": {"type": "string", "description": "a public http(s) URL"},
        "source_url": {"type": "string", "description": "an http(s) URL (gs:// is refused here)"},
        "language_code": apidoc.STRING,
        "model_id": apidoc.STRING,
        "diarize": apidoc.BOOLEAN,
        "timestamps_granularity": {"enum": list(GRANULARITIES)},
        "num_speakers": apidoc.INTEGER,
        "speaker_labels": apidoc.BOOLEAN,
        "audio_start_from": {"type": "number", "minimum": 0, "description": "milliseconds"},
        "audio_end_at": {"type": "number", "minimum": 0, "description": "milliseconds"},
    },
    {"anyOf": [_ELEVENLABS, _ASSEMBLYAI]},
)
_ROUTE["openapi_extra"]["requestBody"]["content"]["application/json"]["schema"]["anyOf"] = [
    {"required": [name]} for name in ("asset_id", "url", "source_url")
]


@router.post("/speech-to-text", **_ROUTE)
async def speech_to_text(request: Request) -> Response:
    """Answer a third-party-shaped transcription of measured voice activity.

    :param request: the request.
    """
    return await answer_sync(request, SPEECH_TO_TEXT)
