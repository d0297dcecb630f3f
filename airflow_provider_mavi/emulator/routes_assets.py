"""Asset endpoints: upload (multipart and signed URL), metadata, download and delete (``mavi-api.md`` §2)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response, StreamingResponse

from airflow_provider_mavi.emulator import envelope, jobs
from airflow_provider_mavi.emulator.frames import frame_members
from airflow_provider_mavi.emulator.gate import API_PREFIX, SIGNED_PREFIX
from airflow_provider_mavi.emulator.prices import DOWNLOAD_USD_PER_BYTE
from airflow_provider_mavi.emulator.routing import json_body, state_of
from airflow_provider_mavi.emulator.zipstream import iter_zip, zip_size

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset

SIGNED_URL_EXPIRES_IN = 93600
_CHUNK = 1 << 16


def _split_name(name: str | None) -> tuple[str, str]:
    """Split an uploaded file's name into (name without extension, lower-case extension).

    :param name: the client's file name.
    """
    base = Path(name or "file").name or "file"
    stem, dot, ext = base.rpartition(".")
    return (stem, ext.lower()) if dot and stem else (base, "")


def _new_upload(state: EmulatorState, filename: str | None) -> Asset:
    """Register a new ``WAITING`` upload.

    :param state: the account.
    :param filename: the client's file name.
    """
    stem, ext = _split_name(filename)
    return state.store.create(stem, ext)


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


router = APIRouter(prefix=API_PREFIX)


@router.post("/upload")
async def upload(request: Request) -> Response:
    """Multipart upload with field ``file``; answers the ``re_`` id at once, then processes in the background.

    :param request: the request.
    """
    state = state_of(request)
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


@router.post("/upload/signed-url")
async def signed_url(request: Request) -> Response:
    """Reserve an asset and hand out a one-time upload URL served by this emulator.

    :param request: the request.
    """
    state = state_of(request)
    name = (await json_body(request)).get("original_filename")
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


async def receive_signed(request: Request, token: str) -> Response:
    """Store the bytes sent to a signed URL (multipart field ``file`` by POST, or the raw body by PUT).

    :param request: the request.
    :param token: the URL's token.
    """
    state = state_of(request)
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


@router.get("/{asset_id}/metadata")
async def metadata(asset_id: str, request: Request) -> Response:
    """Metadata of a ``re_`` upload, every frame of an ``im_`` group, or one ``imc_`` frame.

    :param asset_id: the id.
    :param request: the request.
    """
    state = state_of(request)
    asset = state.store.get(asset_id)
    if asset is None:
        return envelope.error(400, envelope.NOT_FOUND_MSG, flags=True)
    entries = (
        [c.metadata() for c in state.store.children(asset)]
        if asset_id.startswith("im_")
        else [asset.metadata()]
    )
    return envelope.ok(state.settings.success_code, {"total": len(entries), "resource": entries})


@router.get("/{asset_id}/download")
async def download(asset_id: str, request: Request) -> Response:
    """Stream an asset from disk: the original bytes, a zip of an ``im_`` group's JPEGs, or one JPEG.

    :param asset_id: the id.
    :param request: the request.
    """
    state = state_of(request)
    asset = state.store.get(asset_id)
    if asset is None:
        return envelope.error(400, envelope.NOT_FOUND_MSG, flags=True)
    if asset.upload_status != "SUCCESS":
        return envelope.error(400, envelope.LIMIT_MSG, flags=True)
    members = frame_members(state, asset) if asset_id.startswith("im_") else []
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


@router.delete("/{asset_id}")
async def delete(asset_id: str, request: Request) -> Response:
    """Delete an asset and its bytes, irreversibly.

    :param asset_id: the id.
    :param request: the request.
    """
    state = state_of(request)
    asset = state.store.get(asset_id)
    if asset is None:
        return envelope.error(400, envelope.NOT_FOUND_MSG, flags=True)
    await asyncio.to_thread(state.store.delete, asset)  # file I/O, not queued behind media work
    return envelope.ok(state.settings.success_code, None)
