"""Storing uploaded bytes so that a failure never leaves half a file, a ghost asset or a spent signed URL.

Bytes go to a ``.part`` file beside the uploads, which is renamed to the asset's file only once the whole
body has arrived. ``POST /upload`` registers the asset only then. A signed URL's grant is taken while its
body is read (a second request to the same URL meanwhile gets 403) and given back when the store fails:
the URL is spent only when its file is really stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import time
from typing import IO, TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response

from airflow_provider_mavi.emulator import jobs
from airflow_provider_mavi.emulator.bodylimit import BodyTooLarge

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from fastapi import Request

    from airflow_provider_mavi.emulator.names import UploadName
    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset

log = logging.getLogger(__name__)
_CHUNK = 1 << 16
SPENT_MSG = "invalid, expired or already used signed URL"


def _part_path(state: EmulatorState) -> Path:
    """Return a fresh ``.part`` path in the uploads folder.

    :param state: the account.
    """
    return state.store.uploads / f".{secrets.token_hex(8)}.part"


def _copy(source: IO[bytes], target: Path) -> None:
    """Copy a file object to ``target`` (blocking).

    :param source: the spooled upload.
    :param target: the ``.part`` file.
    """
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, _CHUNK)


async def _write_stream(chunks: AsyncIterator[bytes], target: Path) -> None:
    """Write a request body as it arrives.

    :param chunks: the body.
    :param target: the ``.part`` file.
    """
    with target.open("wb") as out:
        async for chunk in chunks:
            out.write(chunk)


def _commit(part: Path, asset: Asset) -> None:
    """Move a complete ``.part`` file to the asset's file and record its size.

    :param part: the complete file.
    :param asset: the asset.
    """
    assert asset.path is not None
    os.replace(part, asset.path)
    asset.file_size = asset.path.stat().st_size


async def store_multipart(state: EmulatorState, name: UploadName, file: UploadFile) -> Asset:
    """Store a ``POST /upload`` file and register its asset; nothing is registered if the copy fails.

    :param state: the account.
    :param name: the checked file name.
    :param file: the multipart file (already spooled by the form parser).
    """
    part = _part_path(state)
    try:
        await asyncio.to_thread(_copy, file.file, part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    asset = state.store.create(name.stem, name.extension)
    _commit(part, asset)
    state.spawn(jobs.process_upload(state, asset))
    return asset


def _plain(status: int, msg: str) -> Response:
    """Return a signed-URL answer: plain text, as a storage host answers (not Mavi's envelope).

    :param status: the HTTP status.
    :param msg: the text.
    """
    return PlainTextResponse(msg, status_code=status)


async def _read_signed(request: Request, part: Path) -> Response | None:
    """Write the body sent to a signed URL into ``part``; return an error answer, or ``None`` when stored.

    :param request: the request (multipart POST with field ``file``, or a raw PUT).
    :param part: the ``.part`` file.
    """
    if request.method == "PUT":
        await _write_stream(request.stream(), part)
        return None
    try:
        form = await request.form()
    except HTTPException as exc:  # a malformed multipart body
        return _plain(400, f"malformed multipart body: {exc.detail}")
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return _plain(400, "multipart field 'file' is required")
        await asyncio.to_thread(_copy, file.file, part)
    finally:
        await form.close()
    return None


async def receive_signed(request: Request, token: str) -> Response:
    """Store the bytes sent to a signed URL (multipart field ``file`` by POST, or the raw body by PUT).

    The URL is spent only once the file is stored; any failure before leaves it usable.

    :param request: the request.
    :param token: the URL's token.
    """
    state: EmulatorState = request.app.emulator
    grant = state.signed_uploads.pop(token, None)
    asset = state.store.get(grant[0]) if grant is not None and grant[1] > time.monotonic() else None
    if grant is None or asset is None or asset.path is None:
        return _plain(403, SPENT_MSG)
    part = _part_path(state)
    stored = False
    try:
        refused = await _read_signed(request, part)
        if refused is not None:
            return refused
        _commit(part, asset)
        stored = True
    except BodyTooLarge as exc:
        return _plain(413, exc.msg)
    finally:
        if not stored:
            state.signed_uploads[token] = grant  # still usable
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
    log.info("signed upload stored for asset %s (%d bytes)", asset.asset_id, asset.file_size)
    state.spawn(jobs.process_upload(state, asset))
    return Response(status_code=200)
