"""Admin endpoints under ``/_emulator/``: the account webhook, faults and stats (same key as the API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from airflow_provider_mavi.emulator import envelope
from airflow_provider_mavi.emulator.faults import FaultConfigError
from airflow_provider_mavi.emulator.gate import authorized

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.state import EmulatorState


def _account(request: Request) -> EmulatorState | None:
    """Return the account if the request carries its key, else ``None``.

    :param request: the request.
    """
    state: EmulatorState = request.app.emulator
    return state if authorized(request.scope, state.settings.api_key) else None


async def _body(request: Request) -> Any:
    """Return the parsed JSON body, or ``None`` when it is not JSON.

    :param request: the request.
    """
    try:
        return await request.json()
    except ValueError:
        return None


def admin_router() -> APIRouter:
    """Build the admin routes."""
    router = APIRouter(prefix="/_emulator")

    @router.get("/healthz")
    async def healthz() -> Response:
        """Liveness, without auth."""
        return JSONResponse({"status": "ok"})

    @router.get("/webhook")
    async def get_webhook(request: Request) -> Response:
        """Return the account's webhook URL (``null`` when none is set)."""
        state = _account(request)
        if state is None:
            return envelope.error(401, envelope.UNAUTHORIZED_MSG)
        return JSONResponse({"url": state.webhook_url})

    @router.put("/webhook")
    async def put_webhook(request: Request) -> Response:
        """Set (``{"url": "http(s)://..."}``) or clear (``{"url": null}``) the account's one webhook."""
        state = _account(request)
        if state is None:
            return envelope.error(401, envelope.UNAUTHORIZED_MSG)
        body = await _body(request)
        if not isinstance(body, dict) or "url" not in body:
            return envelope.error(400, 'body must be {"url": "http(s)://..."} or {"url": null}')
        url = body["url"]
        if url is not None and (
            not isinstance(url, str)
            or urlsplit(url).scheme not in ("http", "https")
            or not urlsplit(url).netloc
        ):
            return envelope.error(400, "url must be an absolute http(s) URL")
        state.webhook_url = url
        return JSONResponse({"url": url})

    @router.get("/faults")
    async def get_faults(request: Request) -> Response:
        """Return the fault rules, with remaining ``next`` counts and how often each fired."""
        state = _account(request)
        if state is None:
            return envelope.error(401, envelope.UNAUTHORIZED_MSG)
        return JSONResponse(state.faults.describe())

    @router.put("/faults")
    async def put_faults(request: Request) -> Response:
        """Replace every fault rule (``{}`` clears them); an invalid body changes nothing."""
        state = _account(request)
        if state is None:
            return envelope.error(401, envelope.UNAUTHORIZED_MSG)
        try:
            state.faults.configure(await _body(request))
        except FaultConfigError as exc:
            return envelope.error(400, str(exc))
        return JSONResponse(state.faults.describe())

    @router.get("/stats")
    async def stats(request: Request) -> Response:
        """Return requests per endpoint, rate-limit rejections, jobs, callbacks and spend."""
        state = _account(request)
        if state is None:
            return envelope.error(401, envelope.UNAUTHORIZED_MSG)
        return JSONResponse(state.stats.snapshot())

    return router
