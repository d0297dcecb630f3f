"""
The bridge's FastAPI app: the callback inbox Mavi posts to, the read API triggers long-poll, the pages.

``create_app(settings)`` builds it; ``mavi-bridge serve`` runs it under uvicorn, and the Airflow plugin mounts
the same app at ``/mavi`` in the API server. Nothing here imports Airflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import url as sa_url

from airflow_provider_mavi.bridge import apidoc, errors
from airflow_provider_mavi.bridge.inbox import CallbackInbox, send_json
from airflow_provider_mavi.bridge.redact import redact_path
from airflow_provider_mavi.bridge.route_input import Token
from airflow_provider_mavi.bridge.routes_callbacks import callback_routes
from airflow_provider_mavi.bridge.routes_consumers import consumer_routes
from airflow_provider_mavi.bridge.routes_jobs import job_routes
from airflow_provider_mavi.bridge.runtime import Runtime
from airflow_provider_mavi.bridge.store import StoreError
from airflow_provider_mavi.bridge.ui import TokenSessions, UiAuth, ui_router

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from airflow_provider_mavi.bridge.settings import BridgeSettings

log = logging.getLogger("airflow_provider_mavi.bridge")

OPENAPI_PATH = "/openapi.json"


class _Gate:
    """
    Outer ASGI layer: starts the runtime on first use and redacts the callback secret from ``scope["path"]``
    before the response starts, so access logs that read the scope (uvicorn's, Airflow's) never see it.
    """

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.inbox = CallbackInbox(runtime)
        self.noop = runtime.settings.noop_endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inbox = _INBOX_PATH.match(_relative(scope))
        if inbox is not None and scope.get("method") != "POST":
            if inbox.group(1) == "callbacks":
                await send_json(send, 405, {"detail": "Method Not Allowed"}, [(b"allow", b"POST")])
                return
            inbox = None
        if not self.runtime.started:
            try:
                await self.runtime.ensure_started()
            except Exception as err:
                log.error("mavi-bridge: cannot open the store (%s)", type(err).__name__)
                await JSONResponse({"detail": "store unavailable"}, status_code=503)(scope, receive, send)
                return
        path = scope.get("path", "")
        redacted = redact_path(path)
        if redacted == path:
            await self.app(scope, receive, send)
            return
        app: Any = self.app
        if inbox is not None and (inbox.group(1) == "callbacks" or self.noop):
            secret, store = inbox.group(2), inbox.group(1) == "callbacks"

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                await self.inbox(scope, receive, send, secret, store=store)

        def _redact() -> None:
            scope["path"] = redact_path(scope.get("path", ""))
            if "raw_path" in scope and isinstance(scope["raw_path"], bytes | bytearray):
                scope["raw_path"] = redact_path(scope["raw_path"].decode("latin-1")).encode("latin-1")

        async def redacting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                _redact()
            await send(message)

        try:
            await app(scope, receive, redacting_send)
        finally:
            _redact()


_INBOX_PATH = re.compile(r"^/(callbacks|_noop)/([^/]+)$")


def _relative(scope: Scope) -> str:
    """The path inside this app (a mounted app's scope still holds the mount prefix)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def create_app(settings: BridgeSettings, *, ui_auth: UiAuth | None = None) -> FastAPI:
    """
    Build the bridge app; refuses (``BridgeConfigError``) without a callback secret and an API token.

    The routes live by what they serve: ``routes_callbacks.py``, ``routes_consumers.py``, ``routes_jobs.py``
    and the pages' ``ui/``; health and metrics are here.

    :param settings: the bridge's settings (see :class:`BridgeSettings`).
    :param ui_auth: who may see the pages under ``/ui``; default: the API token, as a bearer header or
        through the login form (the Airflow plugin passes Airflow's login).
    """
    settings = settings.checked(require_secrets=True)
    runtime = Runtime(settings)
    assert settings.callback_secret is not None
    assert settings.api_token is not None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await runtime.ensure_started()
        except Exception as err:
            where = sa_url.make_url(settings.db_url).render_as_string(hide_password=True)
            log.error("mavi-bridge: cannot open the store %s: %s: %s", where, type(err).__name__, err)
            raise StoreError(f"cannot open the store {where} ({type(err).__name__})") from None
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Mavi webhook bridge",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_PATH,
        # no 307 to the path without its trailing slash: an id ending in '/' or '%2F' would reach another job
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    errors.install(app)
    token = Token(settings.api_token)
    app.include_router(callback_routes(runtime, token))
    app.include_router(consumer_routes(runtime, token))
    app.include_router(job_routes(runtime, token))
    app.include_router(ui_router(runtime, ui_auth or TokenSessions(settings.api_token)))

    health = {
        "type": "object",
        "properties": {
            "status": {"enum": ["ok", "error"]},
            "store": {"enum": ["ok", "unreachable"]},
            "open_waits": {"type": "integer", "minimum": 0},
        },
        "required": ["status", "store"],
    }

    @app.get(
        "/healthz",
        **apidoc.route(
            apidoc.json_answer(health, "the store answers"),
            public=True,
            summary="Liveness, with a store check",
            answers={
                503: apidoc.json_answer(
                    {"anyOf": [health, apidoc.ref("Error")]},
                    "the store does not answer (or cannot be opened)",
                )
            },
        ),
    )
    async def healthz() -> Response:
        assert runtime.store is not None
        try:
            await asyncio.wait_for(runtime.read(runtime.store.ping), 5)
        except Exception as err:
            log.warning("mavi-bridge: health check failed (%s)", type(err).__name__)
            return JSONResponse({"status": "error", "store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok", "open_waits": runtime.hub.open_waits})

    @app.get(
        "/metrics",
        **apidoc.route(
            {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}},
            public=True,
            summary="Prometheus metrics",
        ),
    )
    async def metrics() -> Response:
        return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.openapi = lambda: apidoc.document(app)  # type: ignore[method-assign]
    app.add_middleware(_GateMiddleware, runtime=runtime)
    return app


class _GateMiddleware(_Gate):
    """:class:`_Gate` in the shape ``add_middleware`` expects."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app, runtime)
