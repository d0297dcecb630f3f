"""
What every ``/v1`` route reads from its request, in one place: the bearer token, a job id from the path, a
strict JSON body, and whether the client went away during a long-poll.

Pure checks of the values live in ``checks.py`` and ``strict_json.py``; this module only reads requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from fastapi.responses import JSONResponse

from airflow_provider_mavi.bridge import errors
from airflow_provider_mavi.bridge.checks import InvalidInput, check_job_id
from airflow_provider_mavi.bridge.strict_json import JsonRefused, loads_strict

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import Request
    from starlette.types import Receive


class Token:
    """
    The read API's bearer token, compared in constant time.

    :param token: ``MAVI_BRIDGE_API_TOKEN``.
    """

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def accepts(self, request: Request) -> bool:
        """
        Tell whether the request carries ``Authorization: Bearer <token>``.

        :param request: the request.
        """
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self._token)


def unauthorized() -> JSONResponse:
    """The 401 answer of a request without the token."""
    return JSONResponse(
        {"detail": "missing or wrong bearer token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


def path_id(job_id: str, request: Request) -> str:
    """
    Check a job id from the path; one that is not UTF-8 (Starlette reads it as U+FFFD) is refused too.

    :param job_id: the decoded path parameter.
    :param request: the request, for its raw path.
    """
    if "\ufffd" in job_id:
        try:
            unquote_to_bytes(request.scope.get("raw_path", b"").decode("latin-1")).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the path is not valid UTF-8 once percent-decoded") from None
    return check_job_id(job_id)


async def read_json(request: Request) -> Any:
    """
    The request's body as strict JSON (``InvalidInput`` saying why not), read up to
    :data:`errors.MAX_API_BODY` bytes (``BodyTooLarge`` beyond).

    :param request: the request.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > errors.MAX_API_BODY:
        raise errors.BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > errors.MAX_API_BODY:
            raise errors.BodyTooLarge
        chunks.append(chunk)
    try:
        return loads_strict(b"".join(chunks))
    except JsonRefused as refused:
        raise InvalidInput(refused.message) from None


async def read_object(request: Request, shape: str) -> dict[str, Any]:
    """
    The request's strict JSON body, which must be an object.

    :param request: the request.
    :param shape: the expected body, for the message (``{"start": ...}``).
    """
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidInput(f"the body must be {shape}")
    return body


async def _watch_disconnect(receive: Receive, event: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            event.set()
            return


@contextlib.asynccontextmanager
async def disconnect_watch(request: Request) -> AsyncIterator[asyncio.Event]:
    """
    Yield an event set when the client goes away, so a long-poll ends early (its body must be read first).

    :param request: the request.
    """
    disconnected = asyncio.Event()
    watcher = asyncio.get_running_loop().create_task(_watch_disconnect(request.receive, disconnected))
    try:
        yield disconnected
    finally:
        watcher.cancel()
