"""``/transcriptions/*`` on a ``re_`` asset: visual description, Whisper, diarization, speaker recognition
and summary, sync and async (``mavi-api.md`` §3.2-3.4, §12.1-12.4). Speech-to-text is in ``routes_stt.py``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from airflow_provider_mavi.emulator import analysis, apidoc, describe, facts, frames, prices, transcripts
from airflow_provider_mavi.emulator.gate import API_PREFIX
from airflow_provider_mavi.emulator.routing import boolean, usable_asset
from airflow_provider_mavi.emulator.submit import Endpoint, Prepared, answer_sync, requires, submit_async

if TYPE_CHECKING:
    from starlette.responses import Response

    from airflow_provider_mavi.emulator.speech import SpeechAnalysis
    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset

VIDEO_MODELS = (
    "gemini-2.5-flash-lite",
    "gemini-2.5-flash",
    "gemini-2.5-flash-preview-09-2025",
    "gemini-2.5-flash-lite-preview-09-2025",
)
AUDIO_MODELS = ("whisper-1",)
DIARIZATION_MODEL = "pyannote"
SUMMARY_MODEL = "gemini-2.5-flash"

router = APIRouter(prefix=API_PREFIX + "/transcriptions")
_ASSET = {"asset_id": apidoc.ASSET_ID}
_AUDIO = {**_ASSET, "model": {"type": "string", "default": "whisper-1"}, "speaker": apidoc.BOOLEAN}
_SEGMENT = apidoc.obj(
    ("text", "start_time", "end_time"),
    text=apidoc.STRING,
    start_time=apidoc.NUMBER,
    end_time=apidoc.NUMBER,
    speaker=apidoc.STRING,
)
_TURN = apidoc.obj(("start", "end", "speaker"), start=apidoc.NUMBER, end=apidoc.NUMBER, speaker=apidoc.STRING)


def _video_params(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Accept a ready video and a supported description model.

    :param state: the account.
    :param body: the request body.
    """
    asset = usable_asset(state, body["asset_id"], "video")
    if asset is None or body["model"] not in VIDEO_MODELS:
        return None
    return Prepared([asset], {"model": body["model"]})


def _audio_params(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Accept a ready audio or video asset, ``model`` (default ``whisper-1``) and ``speaker`` (a boolean).

    :param state: the account.
    :param body: the request body.
    """
    asset = usable_asset(state, body["asset_id"], "media")
    model = body.get("model") or AUDIO_MODELS[0]
    speaker = boolean(body, "speaker")
    if asset is None or model not in AUDIO_MODELS or speaker is None:
        return None
    rate = prices.AUDIO_SPEAKER_USD_PER_SECOND if speaker else prices.AUDIO_USD_PER_SECOND
    return Prepared([asset], {"model": model, "speaker": speaker}, prices.per_second(asset.duration, rate))


def _media_only(rate_per_second: float) -> Any:
    """Return a check that accepts a ready audio or video asset, priced per second of media.

    :param rate_per_second: dollars per second.
    """

    def prepare(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
        """Accept the asset; the price follows its probed duration.

        :param state: the account.
        :param body: the request body.
        """
        asset = usable_asset(state, body["asset_id"], "media")
        return (
            None
            if asset is None
            else Prepared([asset], {}, prices.per_second(asset.duration, rate_per_second))
        )

    return prepare


async def _speech(state: EmulatorState, asset: Asset) -> SpeechAnalysis | None:
    """Measure an asset's audio in the worker pool (``None`` when it has no audio track).

    :param state: the account.
    :param asset: the asset.
    """
    assert asset.path is not None
    return await state.run_blocking(analysis.speech_or_none, asset.path)


def _seconds(asset: Asset, measured: SpeechAnalysis | None) -> float:
    """Return the media length to report: the probed duration, else the decoded audio's.

    :param asset: the asset.
    :param measured: the analysis, if any.
    """
    return asset.duration or (measured.duration if measured is not None else 0.0)


def _inner(data: dict[str, Any], measured: SpeechAnalysis | None) -> dict[str, Any]:
    """Wrap a speech result in the callback's ``data``: ``{data, msg, success}``.

    :param data: the result (``data.data``).
    :param measured: the analysis (``None``: no audio track, said in ``msg``).
    """
    msg = transcripts.AUDIO_MSG if measured is not None else transcripts.NO_AUDIO_MSG
    return {"data": data, "msg": msg, "success": True}


async def _audio_async(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Whisper callback ``data``: speech turns, ``speaker`` null unless asked, media seconds.

    :param state: the account.
    :param job: the job's record.
    :param assets: the asset.
    :param params: the accepted parameters.
    """
    (asset,) = assets
    measured = await _speech(state, asset)
    items = transcripts.whisper_items(measured, params["speaker"], callback=True)
    usage = transcripts.usage(_seconds(asset, measured), params["model"])
    return _inner({"data": items, "usage_metadata": usage}, measured)


async def _audio_sync(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Whisper sync ``data``: ``{model, items}``, ``speaker`` only when asked.

    :param state: the account.
    :param job: the job's record.
    :param assets: the asset.
    :param params: the accepted parameters.
    """
    measured = await _speech(state, assets[0])
    return {
        "model": params["model"],
        "items": transcripts.whisper_items(measured, params["speaker"], callback=False),
    }


async def _speaker_async(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Diarization callback ``data``: pyannote turns and ``usage_metadata``.

    :param state: the account.
    :param job: the job's record.
    :param assets: the asset.
    :param params: the accepted parameters.
    """
    (asset,) = assets
    measured = await _speech(state, asset)
    usage = transcripts.usage(_seconds(asset, measured), DIARIZATION_MODEL)
    return _inner({"data": transcripts.pyannote_items(measured), "usage_metadata": usage}, measured)


async def _speaker_sync(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Diarization sync ``data``: ``{model: pyannote, items}``.

    :param state: the account.
    :param job: the job's record.
    :param assets: the asset.
    :param params: the accepted parameters.
    """
    measured = await _speech(state, assets[0])
    return {"model": DIARIZATION_MODEL, "items": transcripts.pyannote_items(measured)}


async def _multi_speaker(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Speaker recognition callback ``data``: anonymous turns, no faces, ``usage_metadata`` as a list.

    :param state: the account.
    :param job: the job's record.
    :param assets: the asset.
    :param params: the accepted parameters.
    """
    started = time.monotonic()
    measured = await _speech(state, assets[0])
    usage = [transcripts.usage(time.monotonic() - started, DIARIZATION_MODEL)]
    data = {
        "audio_transcription": transcripts.multi_speaker_items(measured),
        "faces": [],
        "usage_metadata": usage,
    }
    return _inner(data, measured)


async def _summary(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Summary callback ``data``: the summary of the measurements and ``usage``.

    :param state: the account.
    :param job: the job's record.
    :param assets: the asset.
    :param params: the accepted parameters.
    """
    (asset,) = assets
    assert asset.path is not None
    started = time.monotonic()
    scan = (
        await state.run_blocking(analysis.video, asset.path, state.settings.frame_interval)
        if asset.has_video
        else None
    )
    measured = await _speech(state, asset)
    found = facts.gather(scan, measured, state.settings.segment_seconds)
    summary = facts.summary_text(found)
    prompt = describe.prompt_text(scan.measures) if scan is not None else describe.PROMPT
    usage = {
        "duration": round(time.monotonic() - started, 3),
        "model": SUMMARY_MODEL,
        "output_tokens": describe.count_tokens(summary),
        "prompt_tokens": describe.count_tokens(prompt),
    }
    return {"data": {"summary": summary, "usage": usage}, "msg": describe.SUMMARY_MSG, "success": True}


ASYNC_VIDEO = Endpoint(
    "transcribe_video", requires("asset_id", "model"), _video_params, frames.describe_video
)
ASYNC_AUDIO = Endpoint("transcribe_audio", requires("asset_id"), _audio_params, _audio_async)
SYNC_AUDIO = Endpoint("transcribe_audio_sync", requires("asset_id"), _audio_params, _audio_sync)
_DIARIZE = _media_only(prices.DIARIZATION_USD_PER_SECOND)
ASYNC_SPEAKER = Endpoint("diarize", requires("asset_id"), _DIARIZE, _speaker_async)
SYNC_SPEAKER = Endpoint("diarize_sync", requires("asset_id"), _DIARIZE, _speaker_sync)
MULTI_SPEAKER = Endpoint(
    "recognize_speakers",
    requires("asset_id"),
    _media_only(prices.MULTI_SPEAKER_USD_PER_MINUTE / 60),
    _multi_speaker,
)
SUMMARY = Endpoint("summarize", requires("asset_id"), _media_only(0.0), _summary)


@router.post(
    "/async-generate-video",
    **apidoc.task_route(ASYNC_VIDEO, {**_ASSET, "model": {"enum": list(VIDEO_MODELS)}}),
)
async def generate_video(request: Request) -> Response:
    """Start a visual description; the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, ASYNC_VIDEO)


@router.post("/async-generate-audio", **apidoc.task_route(ASYNC_AUDIO, _AUDIO))
async def generate_audio(request: Request) -> Response:
    """Start a Whisper-shaped transcription of measured voice activity; the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, ASYNC_AUDIO)


@router.post(
    "/sync-generate-audio",
    **apidoc.json_route(
        SYNC_AUDIO, _AUDIO, apidoc.obj(("model", "items"), model=apidoc.STRING, items=apidoc.array(_SEGMENT))
    ),
)
async def generate_audio_sync(request: Request) -> Response:
    """Answer a Whisper-shaped transcription of measured voice activity.

    :param request: the request.
    """
    return await answer_sync(request, SYNC_AUDIO)


@router.post("/async-generate-speaker", **apidoc.task_route(ASYNC_SPEAKER, _ASSET))
async def generate_speaker(request: Request) -> Response:
    """Start a pyannote-shaped diarization; the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, ASYNC_SPEAKER)


@router.post(
    "/sync-generate-speaker",
    **apidoc.json_route(
        SYNC_SPEAKER, _ASSET, apidoc.obj(("model", "items"), model=apidoc.STRING, items=apidoc.array(_TURN))
    ),
)
async def generate_speaker_sync(request: Request) -> Response:
    """Answer a pyannote-shaped diarization.

    :param request: the request.
    """
    return await answer_sync(request, SYNC_SPEAKER)


@router.post("/async-generate-multi-speaker", **apidoc.task_route(MULTI_SPEAKER, _ASSET))
async def generate_multi_speaker(request: Request) -> Response:
    """Start speaker recognition (no faces: the emulator detects none); the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, MULTI_SPEAKER)


@router.post("/async-summary", **apidoc.task_route(SUMMARY, _ASSET))
async def summary(request: Request) -> Response:
    """Start a summary built from measurements; the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, SUMMARY)
