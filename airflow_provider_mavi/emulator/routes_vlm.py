"""``POST /vu/chat/completions`` (sync): the answer is built from measurements of the video the request
points at, which the emulator fetches (``fetch.py``). Answers are never in the Mavi envelope (§12.9).
"""

from __future__ import annotations

import shutil
import time
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from airflow_provider_mavi.emulator import describe, envelope, facts, jobs, prices, scenes, speech, vlm
from airflow_provider_mavi.emulator.audio import NoAudioTrack
from airflow_provider_mavi.emulator.fetch import FetchError, obtain
from airflow_provider_mavi.emulator.gate import API_PREFIX
from airflow_provider_mavi.emulator.media import MediaError
from airflow_provider_mavi.emulator.routing import state_of

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.responses import Response

    from airflow_provider_mavi.emulator.state import EmulatorState

router = APIRouter(prefix=API_PREFIX + "/vu")


def _measure(state: EmulatorState, reference: str, scratch: Path) -> tuple[facts.Facts, str]:
    """Fetch a video, measure it and remove it (blocking); return the facts and the measurement text.

    :param state: the account.
    :param reference: an http(s) URL or a base64 data URI.
    :param scratch: a folder for the download (removed).
    :raises FetchError: when it cannot be had.
    :raises MediaError: when it is not decodable media.
    """
    try:
        path = obtain(
            reference,
            scratch / "video",
            max_bytes=state.settings.fetch_max_bytes,
            timeout=state.settings.fetch_timeout,
        )
        try:
            scan: scenes.VideoScan | None = scenes.scan_video(path, state.settings.frame_interval)
        except MediaError:
            scan = None  # audio only, or not media: the speech analysis decides
        try:
            measured: speech.SpeechAnalysis | None = speech.analyse_file(path)
        except NoAudioTrack:
            measured = None
        if scan is None and measured is None:
            raise MediaError("no decodable audio or video")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = describe.prompt_text(scan.measures) if scan is not None else describe.PROMPT
    return facts.gather(scan, measured, state.settings.segment_seconds), text


async def _answer(state: EmulatorState, body: Any, ids: tuple[str, int]) -> dict[str, Any]:
    """Check, measure and answer; a paid call is recorded once the request is valid.

    :param state: the account.
    :param body: the parsed JSON body (``None`` when it was not JSON).
    :param ids: the answer's UUID and time.
    :raises VlmError: for an errored answer.
    """
    request = vlm.parse(body)
    if not state.can_afford(0.0):
        raise vlm.VlmError(402, envelope.BALANCE_MSG)
    job = state.stats.add_job(ids[0].replace("-", ""), "vlm_chat", None, model=request.full_model)
    found, read = None, ""
    try:
        if request.video is not None:
            scratch = state.store.root / "work" / job["job_id"]
            try:
                found, read = await state.run_blocking(_measure, state, request.video, scratch)
            except FetchError as exc:
                raise vlm.VlmError(400, f"The video could not be fetched: {exc}") from exc
            except (MediaError, OSError) as exc:
                raise vlm.VlmError(400, f"The video could not be decoded: {exc}") from exc
        text, cut = vlm.answer(request, found, fence=state.settings.vlm_json_fence)
    except vlm.VlmError:
        jobs.finish(job, "failed")
        raise
    tokens = vlm.usage_tokens(request, found, read, text)
    state.charge(job, prices.vlm_cost(request.model, *tokens))
    jobs.finish(job, "succeeded")
    return vlm.completed(request, text, cut, tokens, ids)


@router.post("/chat/completions")
async def chat_completions(request: Request) -> Response:
    """Answer a VLM chat request, or an errored answer (HTTP 200).

    :param request: the request.
    """
    state = state_of(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    ids = (str(uuid.UUID(int=state.store.new_task_id_int(), version=4)), int(time.time()))
    try:
        return JSONResponse(await _answer(state, body, ids))
    except vlm.VlmError as exc:
        model = body.get("model") if isinstance(body, dict) else None
        return JSONResponse(vlm.errored(model, exc, ids))
