"""
Framework-level answers of the bridge: every error is ``{"detail": ...}`` JSON, never a bare 500 page.

Input a route refuses (:class:`~airflow_provider_mavi.bridge.checks.InvalidInput`) is a 400, a read-API body
over its limit a 413, a store that cannot be reached a 503 (clients retry), and a bug a 500 that says nothing
about the request (uvicorn still logs the traceback). An unknown path is a 404, a known path with another
method a 405 whose ``Allow`` names every method of that path.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from airflow_provider_mavi.bridge.checks import InvalidInput
from airflow_provider_mavi.bridge.store import StoreError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

log = logging.getLogger("airflow_provider_mavi.bridge")

#: Largest JSON body of the read API (a batch of 5,000 ids of 200 escaped characters fits).
MAX_API_BODY = 8 * 2**20


class BodyTooLarge(Exception):
    """A read-API body over :data:`MAX_API_BODY`."""


#: Errors that mean the store cannot be reached or used right now, not that the request was wrong.
STORE_DOWN: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    StoreError,
)


def allowed_methods(request: Request) -> list[str]:
    """
    The methods of every route at the request's path (Starlette's own ``Allow`` names only one route's).

    A concrete path comes before a templated one, as in OpenAPI: ``/v1/callbacks/wait`` is not
    ``/v1/callbacks/{job_id}``.

    :param request: the request.
    """
    path, root = request.scope.get("path", ""), request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    routes = [r for r in request.app.routes if isinstance(r, APIRoute) and r.path_regex.fullmatch(path)]
    concrete = [r for r in routes if not r.param_convertors]
    return sorted({method for route in concrete or routes for method in route.methods})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=headers)


async def _invalid(_request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": str(exc)}, status_code=400)


async def _too_large(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"detail": f"body larger than {MAX_API_BODY} bytes"}, status_code=413)


async def _disconnected(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"detail": "the client went away before its body was read"}, status_code=400)


async def _store_down(request: Request, exc: Exception) -> Response:
    log.error("mavi-bridge: the store failed during %s (%s)", request.method, type(exc).__name__)
    return JSONResponse({"detail": "store unavailable, retry later"}, status_code=503)


async def _crash(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"detail": "internal error of the bridge (see its log)"}, status_code=500)


def install(app: FastAPI) -> None:
    """
    Register the bridge's error answers on ``app``.

    :param app: the bridge app.
    """
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(InvalidInput, _invalid)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(ClientDisconnect, _disconnected)
    for error in STORE_DOWN:
        app.add_exception_handler(error, _store_down)
    app.add_exception_handler(Exception, _crash)
