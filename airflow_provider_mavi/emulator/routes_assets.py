"""Asset endpoints: upload (multipart and signed URL), metadata, download and delete (``mavi-api.md`` §2)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response, StreamingResponse

from airflow_provider_mavi.emulator import apidoc, envelope, names
from airflow_provider_mavi.emulator.frames import frame_members
from airflow_provider_mavi.emulator.gate import API_PREFIX, SIGNED_PREFIX
from airflow_provider_mavi.emulator.names import BadName
from airflow_provider_mavi.emulator.prices import DOWNLOAD_USD_PER_BYTE
from airflow_provider_mavi.emulator.routing import json_body, state_of
from airflow_provider_mavi.emulator.uploads import receive_signed, store_multipart
from airflow_provider_mavi.emulator.zipstream import iter_zip, zip_size

log = logging.getLogger(__name__)
SIGNED_URL_EXPIRES_IN = 93600


def _bad_name(field: str, exc: BadName) -> Response:
    """Answer a refused file name: blank is ``<field> cannot be null or empty``, else Mavi's generic 400.

    :param field: ``file`` or ``original_filename``.
    :param exc: why the name was refused (logged, not sent: Mavi's answer is generic).
    """
    log.info("upload refused: %s", exc.reason)
    if exc.blank:
        return envelope.error(400, f"{field} cannot be null or empty")
    return envelope.error(400, envelope.LIMIT_MSG)


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
_MULTIPART = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": apidoc.obj(("file",), file={"type": "string", "format": "binary"}),
            }
        },
    }
}
_SIGNED = apidoc.obj(
    ("asset_id", "signed_url", "expires_in"),
    asset_id=apidoc.STRING,
    signed_url={"type": "string", "format": "uri"},
    expires_in=apidoc.INTEGER,
)
_METADATA = apidoc.obj(("total", "resource"), total=apidoc.INTEGER, resource=apidoc.array(apidoc.ASSET_ENTRY))
_FILE = {
    "description": "the bytes (a zip of JPEGs for an `im_` group), with `Content-Disposition`",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


@router.post(
    "/upload",
    response_model=None,
    openapi_extra=_MULTIPART,
    responses={
        200: apidoc.json_answer(apidoc.ok(apidoc.obj(("asset_id",), asset_id=apidoc.STRING))),
        **apidoc.errors(*apidoc.API_ERRORS),
    },
)
async def upload(request: Request) -> Response:
    """Multipart upload with field ``file``; answers the ``re_`` id at once, then processes in the background.

    :param request: the request.
    """
    state = state_of(request)
    form = await request.form()  # a malformed body raises HTTPException(400): the app answers the envelope
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return envelope.error(400, "file cannot be null or empty")
        try:
            name = names.parse(file.filename)
        except BadName as exc:
            return _bad_name("file", exc)
        asset = await store_multipart(state, name, file)
    finally:
        await form.close()
    return envelope.ok(state.settings.success_code, {"asset_id": asset.asset_id})


@router.post(
    "/upload/signed-url",
    response_model=None,
    openapi_extra=apidoc.json_body(
        ("original_filename",), {"original_filename": {"type": "string", "description": "with its extension"}}
    ),
    responses={200: apidoc.json_answer(apidoc.ok(_SIGNED)), **apidoc.errors(*apidoc.API_ERRORS)},
)
async def signed_url(request: Request) -> Response:
    """Reserve an asset and hand out a one-time upload URL served by this emulator.

    :param request: the request.
    """
    state = state_of(request)
    raw = (await json_body(request)).get("original_filename")
    try:
        name = names.parse(raw if isinstance(raw, str) else None)
    except BadName as exc:
        return _bad_name("original_filename", exc)
    if not name.extension:
        return envelope.error(400, envelope.LIMIT_MSG)  # documented: the name must include the extension
    asset = state.store.create(name.stem, name.extension)
    token = secrets.token_urlsafe(32)
    state.signed_uploads[token] = (asset.asset_id, time.monotonic() + SIGNED_URL_EXPIRES_IN)
    url = str(request.base_url).rstrip("/") + SIGNED_PREFIX + token
    data = {"asset_id": asset.asset_id, "signed_url": url, "expires_in": SIGNED_URL_EXPIRES_IN}
    return envelope.ok(state.settings.success_code, data)


@router.get(
    "/{asset_id}/metadata",
    response_model=None,
    responses={200: apidoc.json_answer(apidoc.ok(_METADATA)), **apidoc.errors(*apidoc.API_ERRORS)},
)
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


@router.get(
    "/{asset_id}/download",
    response_model=None,
    responses={200: _FILE, **apidoc.errors(*apidoc.API_ERRORS, 402)},
)
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


@router.delete(
    "/{asset_id}",
    response_model=None,
    responses={200: apidoc.json_answer(apidoc.ok({"type": "null"})), **apidoc.errors(*apidoc.API_ERRORS)},
)
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


async def signed_upload(request: Request, token: str) -> Response:
    """Take the bytes sent to a signed URL (routed by the app for POST and PUT, see ``uploads.py``).

    :param request: the request.
    :param token: the URL's token.
    """
    return await receive_signed(request, token)
