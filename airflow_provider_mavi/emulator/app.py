"""The emulator's FastAPI app: Mavi's v2 endpoints under ``/serve/api/v2``, the signed upload, and admin.

Build it with :func:`create_app`. It imports nothing from the rest of the provider, by design. Each family
of endpoints has its own router module (``routes_*.py``); this module only puts them together.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_provider_mavi.emulator import (
    envelope,
    routes_assets,
    routes_embeddings,
    routes_stt,
    routes_transcriptions,
    routes_video,
    routes_vlm,
)
from airflow_provider_mavi.emulator.admin import admin_router
from airflow_provider_mavi.emulator.gate import SIGNED_PREFIX, gate
from airflow_provider_mavi.emulator.state import EmulatorState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send

    from airflow_provider_mavi.emulator.settings import EmulatorSettings

log = logging.getLogger(__name__)


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
    """Answer an unknown path or a wrong method in Mavi's error envelope.

    :param request: the request.
    :param exc: the HTTP exception.
    """
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 400
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "Bad Request"
    return envelope.error(status, str(detail))


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
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for module in (routes_video, routes_transcriptions, routes_stt, routes_vlm, routes_embeddings):
        app.include_router(module.router)
    app.include_router(
        routes_assets.router
    )  # last: its "/{asset_id}" paths would shadow nothing, but read last
    app.include_router(admin_router())
    app.add_api_route(SIGNED_PREFIX + "{token}", routes_assets.receive_signed, methods=["POST", "PUT"])
    return app
