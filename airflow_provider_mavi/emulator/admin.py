"""Admin endpoints under ``/_emulator/``: the account webhook, faults and stats (same key as the API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from airflow_provider_mavi.emulator import apidoc, envelope
from airflow_provider_mavi.emulator.faults import ALL_FAULTS, MAXIMA, REQUEST_FAULTS, FaultConfigError
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


_URL = {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]}
_WEBHOOK = apidoc.obj(("url",), url=_URL)
_RULE_STATE = apidoc.obj(("probability", "next", "fired"), probability=apidoc.NUMBER, next=apidoc.INTEGER)
_STATE = {"type": "object", "additionalProperties": _RULE_STATE}


def _option_schema(key: str, default: Any) -> apidoc.Schema:
    """Return the schema of one fault option from its default (and its bound, if any).

    :param key: the option.
    :param default: its default.
    """
    if isinstance(default, bool):
        return apidoc.BOOLEAN
    if isinstance(default, str):
        return apidoc.STRING
    schema: apidoc.Schema = {
        "type": "integer" if key in ("copies", "code", "status") else "number",
        "minimum": 1 if key == "copies" else 0,
    }
    if key in MAXIMA:
        schema["maximum"] = MAXIMA[key]
    return schema


def _fault_schema(name: str) -> apidoc.Schema:
    """Return the schema of one fault's configuration.

    :param name: the fault.
    """
    properties: dict[str, apidoc.Schema] = {
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "next": {"type": "integer", "minimum": 0},
        **{key: _option_schema(key, default) for key, default in ALL_FAULTS[name].items()},
    }
    if name in REQUEST_FAULTS:
        properties["endpoints"] = {
            "anyOf": [apidoc.array(apidoc.STRING), {"type": "null"}],
            "description": "'METHOD /path' names; null or absent: every endpoint",
        }
    if name == "server_error":
        properties["status"] = {"type": "integer", "minimum": 500, "maximum": 599}
    if name == "rate_limit":
        properties["status"] = {"enum": [0, 400, 429]}
    return {"type": "object", "properties": properties, "additionalProperties": False}


_FAULTS = {
    "type": "object",
    "description": "every rule at once; {} clears them",
    "properties": {name: _fault_schema(name) for name in ALL_FAULTS},
    "additionalProperties": False,
}
_STATS = apidoc.obj(
    ("requests", "rate_limited", "jobs", "jobs_by_asset", "callbacks", "callback_answers", "spend_usd"),
    requests={"type": "object"},
    rate_limited={"type": "object"},
    jobs=apidoc.array({"type": "object"}),
    jobs_by_asset={"type": "object"},
    callbacks={"type": "object"},
    callback_answers={"type": "object"},
    spend_usd=apidoc.NUMBER,
)


def admin_router() -> APIRouter:
    """Build the admin routes."""
    router = APIRouter(prefix="/_emulator")

    @router.get("/healthz", **apidoc.admin_route(apidoc.obj(("status",), status={"const": "ok"}), auth=False))
    async def healthz() -> Response:
        """Liveness, without auth."""
        return JSONResponse({"status": "ok"})

    @router.get("/webhook", **apidoc.admin_route(_WEBHOOK))
    async def get_webhook(request: Request) -> Response:
        """Return the account's webhook URL (``null`` when none is set)."""
        state = _account(request)
        if state is None:
            return envelope.error(401, envelope.UNAUTHORIZED_MSG)
        return JSONResponse({"url": state.webhook_url})

    @router.put("/webhook", **apidoc.admin_route(_WEBHOOK, _WEBHOOK))
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

    @router.get("/faults", **apidoc.admin_route(_STATE))
    async def get_faults(request: Request) -> Response:
        """Return the fault rules, with remaining ``next`` counts and how often each fired."""
        state = _account(request)
        if state is None:
            return envelope.error(401, envelope.UNAUTHORIZED_MSG)
        return JSONResponse(state.faults.describe())

    @router.put("/faults", **apidoc.admin_route(_STATE, _FAULTS))
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

    @router.get("/stats", **apidoc.admin_route(_STATS))
    async def stats(request: Request) -> Response:
        """Return requests per endpoint, rate-limit rejections, jobs, callbacks and spend."""
        state = _account(request)
        if state is None:
            return envelope.error(401, envelope.UNAUTHORIZED_MSG)
        return JSONResponse(state.stats.snapshot())

    return router
