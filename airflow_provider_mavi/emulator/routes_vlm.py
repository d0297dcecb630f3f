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

from airflow_provider_mavi.emulator import (
    apidoc,
    describe,
    envelope,
    facts,
    jobs,
    prices,
    scenes,
    speech,
    vlm,
)
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


_USAGE = apidoc.obj(
    ("input_tokens", "output_tokens", "total_tokens"),
    input_tokens=apidoc.INTEGER,
    output_tokens=apidoc.INTEGER,
    total_tokens=apidoc.INTEGER,
)
_COMPLETION = apidoc.obj(
    ("id", "object", "model", "created_at", "status", "choices"),
    id=apidoc.STRING,
    object={"const": "completion"},
    model=apidoc.STRING,
    created_at=apidoc.INTEGER,
    status={"const": "completed"},
    choices=apidoc.array(apidoc.obj(("text", "index"), text=apidoc.STRING, index=apidoc.INTEGER)),
    usage=_USAGE,
    meta=apidoc.obj(("provider", "provider_model"), provider=apidoc.STRING, provider_model=apidoc.STRING),
)
_NOVA = apidoc.obj(
    ("id", "object", "created", "model", "choices", "usage"),
    id=apidoc.STRING,
    object={"const": "chat.completion"},
    created=apidoc.INTEGER,
    model=apidoc.STRING,
    choices=apidoc.array(
        apidoc.obj(
            ("index", "message", "finish_reason"),
            index=apidoc.INTEGER,
            message=apidoc.obj(("role", "content"), role=apidoc.STRING, content=apidoc.STRING),
            finish_reason={"enum": ["stop", "length", "tool_calls"]},
        )
    ),
    usage=apidoc.obj(
        ("prompt_tokens", "output_token", "total_tokens"),
        prompt_tokens=apidoc.INTEGER,
        output_token=apidoc.INTEGER,
        total_tokens=apidoc.INTEGER,
    ),
)
_ERRORED = apidoc.obj(
    ("id", "object", "model", "created_at", "status", "error", "choices"),
    id=apidoc.STRING,
    object={"const": "completion"},
    model={"type": ["string", "null"]},
    created_at=apidoc.INTEGER,
    status={"const": "errored"},
    error=apidoc.obj(("code", "message"), code=apidoc.INTEGER, message=apidoc.STRING),
    choices={"type": "array", "maxItems": 0},
)
_CONTENT_ITEM = apidoc.obj(
    ("type",),
    type={"enum": ["text", "input_file", "video_url"]},
    text=apidoc.STRING,
    file_uri=apidoc.STRING,
    mime_type=apidoc.STRING,
    video_url={"anyOf": [apidoc.STRING, apidoc.obj(("url",), url=apidoc.STRING)]},
)
_MESSAGE = apidoc.obj(
    ("role", "content"),
    role={"enum": ["system", "user", "assistant"]},
    content={"anyOf": [apidoc.STRING, apidoc.array(_CONTENT_ITEM)]},
)
_ROUTE: dict[str, Any] = {
    "response_model": None,
    "description": "Sync, not in Mavi's envelope: a completion in the provider's shape, or HTTP 200 with "
    '`status: "errored"` for a request it cannot answer. The gate\'s refusals (401, rate limit, 413) are '
    "Mavi envelopes.",
    "openapi_extra": apidoc.json_body(
        ("model", "messages"),
        {
            "model": {
                "type": "string",
                "description": "`<provider>:<model>`, e.g. `gemini:gemini-2.5-flash`",
            },
            "messages": apidoc.array(_MESSAGE),
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "max_tokens": {"type": "integer", "minimum": 1},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1},
            "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2},
            "presence_penalty": {"type": "number", "minimum": -2, "maximum": 2},
            "n": {"type": "integer", "minimum": 1},
            "stream": apidoc.BOOLEAN,
            "stop": {"anyOf": [apidoc.STRING, apidoc.array(apidoc.STRING), {"type": "null"}]},
            "extra_body": {"type": "object"},
        },
    ),
    "responses": {
        200: apidoc.json_answer(
            {"anyOf": [_COMPLETION, _NOVA, _ERRORED]}, "a completion, or an errored answer"
        ),
        **apidoc.errors(*apidoc.API_ERRORS),
    },
}


@router.post("/chat/completions", **_ROUTE)
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
