"""The emulator's FastAPI app: Mavi's v2 endpoints under ``/serve/api/v2``, the signed upload, and admin.

Build it with :func:`create_app`. It imports nothing from the rest of the provider, by design.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response, StreamingResponse

from airflow_provider_mavi.emulator import envelope, jobs
from airflow_provider_mavi.emulator.admin import admin_router
from airflow_provider_mavi.emulator.gate import API_PREFIX, SIGNED_PREFIX, gate
from airflow_provider_mavi.emulator.state import DOWNLOAD_USD_PER_BYTE, EmulatorState
from airflow_provider_mavi.emulator.store import Asset
from airflow_provider_mavi.emulator.zipstream import iter_zip, zip_size

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import Receive, Scope, Send

    from airflow_provider_mavi.emulator.settings import EmulatorSettings

VIDEO_MODELS = (
    "gemini-2.5-flash-lite",
    "gemini-2.5-flash",
    "gemini-2.5-flash-preview-09-2025",
    "gemini-2.5-flash-lite-preview-09-2025",
)
AUDIO_MODELS = ("whisper-1",)
SIGNED_URL_EXPIRES_IN = 93600
_CHUNK = 1 << 16


class EmulatorApp(FastAPI):
    """FastAPI with the emulator's gate in front (see :mod:`airflow_provider_mavi.emulator.gate`)."""

    emulator: EmulatorState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass HTTP requests through the gate, everything else straight to FastAPI.

        :param scope: the ASGI scope.
        :param receive: the ASGI receive.
        :param send: the ASGI send.
        """
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        await gate(self.emulator, super().__call__, scope, receive, send)


def _state(request: Request) -> EmulatorState:
    """Return the account behind a request.

    :param request: the request.
    """
    app = request.app
    assert isinstance(app, EmulatorApp)
    return app.emulator


def _split_name(name: str | None) -> tuple[str, str]:
    """Split an uploaded file's name into (name without extension, lower-case extension).

    :param name: the client's file name.
    """
    base = Path(name or "file").name or "file"
    stem, dot, ext = base.rpartition(".")
    return (stem, ext.lower()) if dot and stem else (base, "")


async def _json_body(request: Request) -> dict[str, Any]:
    """Return the JSON object body, or an empty dict when the body is not a JSON object.

    :param request: the request.
    """
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _new_upload(state: EmulatorState, filename: str | None) -> Asset:
    """Register a new ``WAITING`` upload.

    :param state: the account.
    :param filename: the client's file name.
    """
    stem, ext = _split_name(filename)
    asset_id = f"re_{state.store.new_digits()}"
    path = state.store.uploads / (f"{asset_id}.{ext}" if ext else asset_id)
    return state.store.add(Asset(asset_id=asset_id, original_filename=stem, extension=ext, path=path))


def _attachment(filename: str) -> str:
    """Return a ``Content-Disposition`` for a download, RFC 5987-encoded when the name needs it.

    :param filename: the download name.
    """
    quoted = quote(filename)
    return (
        f'attachment; filename="{filename}"'
        if quoted == filename
        else f"attachment; filename*=utf-8''{quoted}"
    )


api = APIRouter(prefix=API_PREFIX)


@api.post("/upload")
async def upload(request: Request) -> Response:
    """Multipart upload with field ``file``; answers the ``re_`` id at once, then processes in the background.

    :param request: the request.
    """
    state = _state(request)
    form = await request.form()
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return envelope.error(400, "file cannot be null or empty")
        asset = _new_upload(state, file.filename)
        assert asset.path is not None
        with asset.path.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, file.file, out, _CHUNK)
    finally:
        await form.close()
    asset.file_size = asset.path.stat().st_size
    state.spawn(jobs.process_upload(state, asset))
    return envelope.ok(state.settings.success_code, {"asset_id": asset.asset_id})


@api.post("/upload/signed-url")
async def signed_url(request: Request) -> Response:
    """Reserve an asset and hand out a one-time upload URL served by this emulator.

    :param request: the request.
    """
    state = _state(request)
    name = (await _json_body(request)).get("original_filename")
    if not isinstance(name, str) or not name.strip():
        return envelope.error(400, "original_filename cannot be null or empty")
    if not _split_name(name)[1]:
        return envelope.error(400, envelope.LIMIT_MSG)
    asset = _new_upload(state, name)
    token = secrets.token_urlsafe(32)
    state.signed_uploads[token] = (asset.asset_id, time.monotonic() + SIGNED_URL_EXPIRES_IN)
    url = str(request.base_url).rstrip("/") + SIGNED_PREFIX + token
    data = {"asset_id": asset.asset_id, "signed_url": url, "expires_in": SIGNED_URL_EXPIRES_IN}
    return envelope.ok(state.settings.success_code, data)


async def _receive_signed(request: Request, token: str) -> Response:
    """Store the bytes sent to a signed URL (multipart field ``file`` by POST, or the raw body by PUT).

    :param request: the request.
    :param token: the URL's token.
    """
    state = _state(request)
    asset_id, expires = state.signed_uploads.pop(token, ("", 0.0))
    asset = state.store.get(asset_id) if expires > time.monotonic() else None
    if asset is None or asset.path is None:
        return Response(
            "invalid, expired or already used signed URL", status_code=403, media_type="text/plain"
        )
    if request.method == "PUT":
        with asset.path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
    else:
        form = await request.form()
        try:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                state.signed_uploads[token] = (asset_id, expires)  # still usable
                return Response(
                    "multipart field 'file' is required", status_code=400, media_type="text/plain"
                )
            with asset.path.open("wb") as out:
                await asyncio.to_thread(shutil.copyfileobj, file.file, out, _CHUNK)
        finally:
            await form.close()
    asset.file_size = asset.path.stat().st_size
    state.spawn(jobs.process_upload(state, asset))
    return Response(status_code=200)


@api.get("/{asset_id}/metadata")
async def metadata(asset_id: str, request: Request) -> Response:
    """Metadata of a ``re_`` upload, every frame of an ``im_`` group, or one ``imc_`` frame.

    :param asset_id: the id.
    :param request: the request.
    """
    state = _state(request)
    asset = state.store.get(asset_id)
    if asset is None:
        return envelope.error(400, envelope.NOT_FOUND_MSG, flags=True)
    entries = (
        [c.metadata() for c in state.store.children(asset)]
        if asset_id.startswith("im_")
        else [asset.metadata()]
    )
    return envelope.ok(state.settings.success_code, {"total": len(entries), "resource": entries})


@api.get("/{asset_id}/download")
async def download(asset_id: str, request: Request) -> Response:
    """Stream an asset from disk: the original bytes, a zip of an ``im_`` group's JPEGs, or one JPEG.

    :param asset_id: the id.
    :param request: the request.
    """
    state = _state(request)
    asset = state.store.get(asset_id)
    if asset is None:
        return envelope.error(400, envelope.NOT_FOUND_MSG, flags=True)
    if asset.upload_status != "SUCCESS":
        return envelope.error(400, envelope.LIMIT_MSG, flags=True)
    members = jobs.frame_members(state, asset) if asset_id.startswith("im_") else []
    size = zip_size(members) if asset_id.startswith("im_") else asset.file_size
    cost = size * DOWNLOAD_USD_PER_BYTE
    if not state.can_afford(cost):
        return envelope.error(402, envelope.DOWNLOAD_BALANCE_MSG, flags=True)
    state.stats.spend(cost)
    if asset_id.startswith("im_"):
        headers = {
            "Content-Length": str(size),
            "Content-Disposition": _attachment(asset.filename),
        }
        return StreamingResponse(iter_zip(members), media_type="application/zip", headers=headers)
    assert asset.path is not None
    return FileResponse(asset.path, media_type=asset.content_type, filename=asset.filename)


@api.delete("/{asset_id}")
async def delete(asset_id: str, request: Request) -> Response:
    """Delete an asset and its bytes, irreversibly.

    :param asset_id: the id.
    :param request: the request.
    """
    state = _state(request)
    asset = state.store.get(asset_id)
    if asset is None:
        return envelope.error(400, envelope.NOT_FOUND_MSG, flags=True)
    await asyncio.to_thread(state.store.delete, asset)  # file I/O, not queued behind media work
    return envelope.ok(state.settings.success_code, None)


async def _submit(request: Request, kind: str) -> Response:
    """Validate an async call in the documented order, account for it, and start the job.

    Order: the body (``asset_id``), the webhook, then the asset and the parameters, then the balance.

    :param request: the request.
    :param kind: ``extract_frames``, ``transcribe_video`` or ``transcribe_audio``.
    """
    state = _state(request)
    body = await _json_body(request)
    asset_id = body.get("asset_id")
    if not isinstance(asset_id, str) or not asset_id.strip():
        return envelope.error(400, "asset_id cannot be null or empty")
    model = body.get("model")
    if kind == "transcribe_video" and (model is None or (isinstance(model, str) and not model.strip())):
        return envelope.error(400, "model cannot be null or empty")
    if not state.webhook_url:
        return envelope.error(400, envelope.NO_WEBHOOK_MSG)
    asset = state.store.get(asset_id)
    params = _params(kind, body)
    if asset is None or asset.upload_status != "SUCCESS" or params is None or not asset_id.startswith("re_"):
        return envelope.error(400, envelope.LIMIT_MSG)
    if (kind == "transcribe_audio" and not (asset.has_audio or asset.has_video)) or (
        kind != "transcribe_audio" and not asset.has_video
    ):
        return envelope.error(400, envelope.LIMIT_MSG)
    cost = jobs.job_cost(kind, asset, params)
    if not state.can_afford(cost):
        return envelope.error(402, envelope.BALANCE_MSG)
    state.stats.spend(cost)
    job_id = state.store.new_task_id()
    job = state.stats.add_job(job_id, kind, asset_id, **params)
    state.spawn(jobs.run_job(state, job, asset, params, state.faults.decide_job()))
    return envelope.ok(state.settings.success_code, {"task_id": job_id})


def _params(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """Return the job's parameters, or ``None`` when one is not supported.

    :param kind: the job kind.
    :param body: the request body.
    """
    if kind == "transcribe_video":
        return {"model": body["model"]} if body["model"] in VIDEO_MODELS else None
    if kind == "transcribe_audio":
        model = body.get("model", "whisper-1")
        speaker = body.get("speaker", False)
        if model not in AUDIO_MODELS or not isinstance(speaker, bool):
            return None
        return {"model": model, "speaker": speaker}
    return {}


@api.post("/video/extract-frames")
async def extract_frames(request: Request) -> Response:
    """Start frame extraction; the result comes to the webhook.

    :param request: the request.
    """
    return await _submit(request, "extract_frames")


@api.post("/transcriptions/async-generate-video")
async def generate_video(request: Request) -> Response:
    """Start a visual description; the result comes to the webhook.

    :param request: the request.
    """
    return await _submit(request, "transcribe_video")


@api.post("/transcriptions/async-generate-audio")
async def generate_audio(request: Request) -> Response:
    """Start an audio "transcription" (measured levels); the result comes to the webhook.

    :param request: the request.
    """
    return await _submit(request, "transcribe_audio")


def create_app(settings: EmulatorSettings) -> FastAPI:
    """Build an emulator for one account.

    :param settings: the account's settings.
    """
    state = EmulatorState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.close()

    app = EmulatorApp(
        title="Mavi API emulator", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.emulator = state
    app.include_router(api)
    app.include_router(admin_router())
    app.add_api_route(SIGNED_PREFIX + "{token}", _receive_signed, methods=["POST", "PUT"])
    return app
