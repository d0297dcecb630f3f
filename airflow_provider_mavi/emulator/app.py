"""The emulator's FastAPI app: Mavi's v2 endpoints under ``/serve/api/v2``, the signed upload, and admin.

Build it with :func:`create_app`. It imports nothing from the rest of the provider, by design. Each family
of endpoints has its own router module (``routes_*.py``); this module only puts them together.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from airflow_provider_mavi.emulator import (
    apidoc,
    envelope,
    routes_assets,
    routes_embeddings,
    routes_stt,
    routes_transcriptions,
    routes_video,
    routes_vlm,
)
from airflow_provider_mavi.emulator.admin import admin_router
from airflow_provider_mavi.emulator.bodylimit import BodyTooLarge
from airflow_provider_mavi.emulator.gate import SIGNED_PREFIX, endpoint_of, gate, too_large
from airflow_provider_mavi.emulator.state import EmulatorState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send

    from airflow_provider_mavi.emulator.settings import EmulatorSettings

log = logging.getLogger(__name__)
#: Where the OpenAPI document of every route is served (no key needed).
OPENAPI_PATH = "/openapi.json"


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


async def _http_error(request: Request, exc: Exception) -> Response:
    """Answer a framework error in Mavi's error envelope: unknown path (404), wrong method (405), a body
    that cannot be parsed (400, e.g. malformed multipart).

    :param request: the request.
    :param exc: the HTTP exception.
    """
    if not isinstance(exc, StarletteHTTPException):
        return envelope.error(400, "Bad Request", flags=True)
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
    return envelope.error(exc.status_code, str(exc.detail), flags=True, headers=headers)


def _allowed(request: Request) -> list[str]:
    """Return the methods of the routes at this path (Starlette's own ``Allow`` names one route's).

    As in OpenAPI, a concrete path comes before a templated one: ``/upload`` is not ``/{asset_id}``.

    :param request: the request.
    """
    path = request.url.path
    routes = [r for r in request.app.routes if isinstance(r, APIRoute) and r.path_regex.fullmatch(path)]
    concrete = [r for r in routes if not r.param_convertors]
    return sorted({method for route in concrete or routes for method in route.methods})


async def _invalid(request: Request, exc: Exception) -> Response:
    """Answer a request FastAPI could not validate with a 400 envelope naming the field (Mavi has no 422).

    :param request: the request.
    :param exc: the validation error.
    """
    problems = exc.errors() if isinstance(exc, RequestValidationError) else []
    where = "; ".join(
        f"{'.'.join(str(part) for part in problem.get('loc', ()))}: {problem.get('msg', '')}"
        for problem in problems
    )
    return envelope.error(400, f"Invalid request: {where or exc}", flags=True)


async def _too_large(request: Request, exc: Exception) -> Response:
    """Answer a body that passed its cap while it was read (chunked): 413.

    :param request: the request.
    :param exc: the :class:`BodyTooLarge`.
    """
    assert isinstance(exc, BodyTooLarge)
    return too_large(endpoint_of(request.method, request.url.path), exc)


async def _disconnected(request: Request, exc: Exception) -> Response:
    """Answer (to nobody) a client that left while its body was read; nothing was stored.

    :param request: the request.
    :param exc: the disconnect.
    """
    return envelope.error(400, "The client disconnected before the body was read", flags=True)


async def _crash(request: Request, exc: Exception) -> Response:
    """Answer an emulator bug in Mavi's 500 envelope (uvicorn still logs the traceback).

    :param request: the request.
    :param exc: the exception.
    """
    return envelope.error(500, "Internal Server Error", flags=True)


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
        title="Mavi API emulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_PATH,
        lifespan=lifespan,
    )
    app.emulator = state
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(ClientDisconnect, _disconnected)
    app.add_exception_handler(Exception, _crash)
    for module in (routes_video, routes_transcriptions, routes_stt, routes_vlm, routes_embeddings):
        app.include_router(module.router)
    app.include_router(
        routes_assets.router
    )  # last: its "/{asset_id}" paths would shadow nothing, but read last
    app.include_router(admin_router())
    for method, body in (("POST", "multipart/form-data"), ("PUT", "application/octet-stream")):
        app.add_api_route(
            SIGNED_PREFIX + "{token}",
            routes_assets.signed_upload,
            methods=[method],
            name=f"signed_upload_{method.lower()}",
            **apidoc.signed_route(body),
        )
    app.openapi = lambda: apidoc.document(app)  # type: ignore[method-assign]
    return app
