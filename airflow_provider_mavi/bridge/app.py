"""
The bridge's FastAPI app: the callback inbox Mavi posts to, and the read API triggers long-poll.

``create_app(settings)`` builds it; ``mavi-bridge serve`` runs it under uvicorn, and the Airflow plugin mounts
the same app at ``/mavi`` in the API server. Nothing here imports Airflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import url as sa_url

from airflow_provider_mavi.bridge import job_body
from airflow_provider_mavi.bridge.inbox import CallbackInbox
from airflow_provider_mavi.bridge.redact import redact_path
from airflow_provider_mavi.bridge.runtime import Runtime
from airflow_provider_mavi.bridge.store import JOB_ID_MAX, JobSubmission, StoreError
from airflow_provider_mavi.bridge.store.schema import CONSUMER_NAME_MAX
from airflow_provider_mavi.bridge.ui import TokenSessions, UiAuth, ui_router

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from airflow_provider_mavi.bridge.settings import BridgeSettings

log = logging.getLogger("airflow_provider_mavi.bridge")

MAX_BATCH_IDS = 5000
MAX_LIST = 1000


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
        inbox = _INBOX_PATH.match(_relative(scope)) if scope.get("method") == "POST" else None
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


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": "missing or wrong bearer token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=400)


_CONSUMER_NAME = re.compile(rf"[A-Za-z0-9_~-][A-Za-z0-9._~-]{{0,{CONSUMER_NAME_MAX - 1}}}")
_CONSUMER_RULE = (
    f"a consumer name is 1 to {CONSUMER_NAME_MAX} letters, digits and ._~- (not starting with '.')"
)
_CURSOR_MAX = 2**63 - 1


async def _json_object(request: Request) -> Any:
    """The request's JSON body, or None when it is not JSON."""
    try:
        return await request.json()
    except ValueError:
        return None


def _parse_wait(raw: Any, cap: float) -> float:
    if raw is None or raw == "":
        return 0.0
    if isinstance(raw, bool):
        raise ValueError
    value = float(raw)
    if value != value or value < 0:  # NaN or negative
        raise ValueError
    return min(value, cap)


async def _watch_disconnect(receive: Receive, event: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            event.set()
            return


def create_app(settings: BridgeSettings, *, ui_auth: UiAuth | None = None) -> FastAPI:
    """
    Build the bridge app; refuses (``BridgeConfigError``) without a callback secret and an API token.

    :param settings: the bridge's settings (see :class:`BridgeSettings`).
    :param ui_auth: who may see the pages under ``/ui``; default: the API token, as a bearer header or
        through the login form (the Airflow plugin passes Airflow's login).
    """
    settings = settings.checked(require_secrets=True)
    runtime = Runtime(settings)
    assert settings.callback_secret is not None
    assert settings.api_token is not None
    token = settings.api_token.encode()

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
        openapi_url=None,
    )
    app.state.runtime = runtime

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token)

    @app.get("/v1/callbacks/{job_id}")
    async def get_callback(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            wait = _parse_wait(request.query_params.get("wait"), settings.max_wait)
        except ValueError:
            return _bad("wait must be a number of seconds >= 0")
        disconnected = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(_watch_disconnect(request.receive, disconnected))
        try:
            records = await runtime.wait_for_records([job_id], wait, disconnected)
        finally:
            watcher.cancel()
        if not records:
            return JSONResponse({"detail": "no callback for this job yet"}, status_code=404)
        return JSONResponse(records[0].to_json())

    @app.post("/v1/callbacks/wait")
    async def wait_many(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return _bad("the body is not JSON")
        if not isinstance(body, dict):
            return _bad('the body must be {"job_ids": [...], "wait": seconds}')
        job_ids = body.get("job_ids")
        if (
            not isinstance(job_ids, list)
            or not job_ids
            or len(job_ids) > MAX_BATCH_IDS
            or not all(isinstance(j, str) and 0 < len(j) <= JOB_ID_MAX for j in job_ids)
        ):
            return _bad(f"job_ids must be a list of 1 to {MAX_BATCH_IDS} non-empty strings")
        try:
            wait = _parse_wait(body.get("wait"), settings.max_wait)
        except (TypeError, ValueError):
            return _bad("wait must be a number of seconds >= 0")
        disconnected = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(_watch_disconnect(request.receive, disconnected))
        try:
            records = await runtime.wait_for_records(job_ids, wait, disconnected)
        finally:
            watcher.cancel()
        return JSONResponse({"callbacks": [r.to_json() for r in records]})

    @app.get("/v1/callbacks")
    async def list_callbacks(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            after = int(request.query_params.get("after") or 0)
            limit = int(request.query_params.get("limit") or 100)
        except ValueError:
            return _bad("after and limit must be integers")
        if after < 0 or not 1 <= limit <= MAX_LIST:
            return _bad(f"after must be >= 0 and limit between 1 and {MAX_LIST}")
        try:
            wait = _parse_wait(request.query_params.get("wait"), settings.max_wait)
        except ValueError:
            return _bad("wait must be a number of seconds >= 0")
        assert runtime.store is not None
        store = runtime.store
        disconnected = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(_watch_disconnect(request.receive, disconnected))
        try:
            records, cursor = await runtime.wait_for_list(after, limit, wait, disconnected)
        finally:
            watcher.cancel()
        kinds = await runtime.read(store.job_kinds, [r.job_id for r in records]) if records else {}
        page = [
            {**r.to_json(), "cursor": str(r.seq), "kind": kinds.get(r.job_id), "terminal": r.terminal}
            for r in records
        ]
        return JSONResponse({"callbacks": page, "next": str(cursor)})

    @app.get("/v1/consumers/{name}")
    async def get_consumer(name: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        if not _CONSUMER_NAME.fullmatch(name):
            return _bad(_CONSUMER_RULE)
        assert runtime.store is not None
        consumer = await runtime.read(runtime.store.get_consumer, name)
        if consumer is None:
            return JSONResponse({"detail": "unknown consumer"}, status_code=404)
        return JSONResponse(consumer.to_json())

    @app.post("/v1/consumers/{name}")
    async def start_consumer(name: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        if not _CONSUMER_NAME.fullmatch(name):
            return _bad(_CONSUMER_RULE)
        body = await _json_object(request)
        start = body.get("start") if isinstance(body, dict) else None
        if start not in ("latest", "earliest"):
            return _bad('the body must be {"start": "latest"} or {"start": "earliest"}')
        assert runtime.store is not None
        consumer = await runtime.read(runtime.store.start_consumer, name, start == "latest")
        return JSONResponse(consumer.to_json())

    @app.put("/v1/consumers/{name}")
    async def advance_consumer(name: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        if not _CONSUMER_NAME.fullmatch(name):
            return _bad(_CONSUMER_RULE)
        body = await _json_object(request)
        raw = body.get("cursor") if isinstance(body, dict) else None
        cursor = int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else None
        if cursor is None or cursor > _CURSOR_MAX:
            return _bad('the body must be {"cursor": "<the list cursor, digits>"}')
        assert runtime.store is not None
        consumer = await runtime.read(runtime.store.advance_consumer, name, cursor)
        return JSONResponse(consumer.to_json())

    @app.put("/v1/jobs/{job_id}")
    async def put_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return _bad("the body is not JSON")
        if not isinstance(body, dict):
            return _bad('the body must be {"kind": ..., "asset_id": ..., "key": ...}')
        kind, asset_id, key = body.get("kind"), body.get("asset_id"), body.get("key")
        if not isinstance(kind, str) or not kind or len(kind) > 64:
            return _bad("kind must be a non-empty string (at most 64 characters)")
        if not isinstance(asset_id, str) or not asset_id or len(asset_id) > JOB_ID_MAX:
            return _bad(f"asset_id must be a non-empty string (at most {JOB_ID_MAX} characters)")
        if key is not None and (not isinstance(key, str) or len(key) > 1000):
            return _bad("key must be a string (at most 1000 characters) or null")
        if len(job_id) > JOB_ID_MAX:
            return _bad(f"job_id must be at most {JOB_ID_MAX} characters")
        try:
            task = job_body.task_fields(body)
        except ValueError as err:
            return _bad(str(err))
        assert runtime.store is not None
        submitted = JobSubmission(job_id, kind=kind, asset_id=asset_id, key=key, **task)
        return JSONResponse((await runtime.read(runtime.store.put_job, submitted)).to_json())

    @app.get("/v1/jobs/{job_id}")
    async def get_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        assert runtime.store is not None
        job = await runtime.read(runtime.store.get_job, job_id)
        if job is None:
            return JSONResponse({"detail": "unknown job"}, status_code=404)
        return JSONResponse(job.to_json())

    @app.get("/v1/jobs")
    async def find_jobs(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        key = request.query_params.get("key")
        if not key:
            return _bad("key is required")
        assert runtime.store is not None
        jobs = await runtime.read(runtime.store.find_jobs, key)
        return JSONResponse({"jobs": [job.to_json() for job in jobs]})

    @app.post("/v1/jobs/{job_id}/abandon")
    async def abandon_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        assert runtime.store is not None
        job = await runtime.read(runtime.store.abandon_job, job_id)
        if job is None:
            return JSONResponse({"detail": "unknown job"}, status_code=404)
        return JSONResponse(job.to_json())

    @app.post("/v1/jobs/{job_id}/cost")
    async def record_cost(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return _bad("the body is not JSON")
        try:
            cost = job_body.cost_usd(body)
        except ValueError as err:
            return _bad(str(err))
        assert runtime.store is not None
        job = await runtime.read(runtime.store.record_cost, job_id, cost)
        if job is None:
            return JSONResponse({"detail": "unknown job"}, status_code=404)
        return JSONResponse(job.to_json())

    @app.get("/healthz")
    async def healthz() -> Response:
        assert runtime.store is not None
        try:
            await asyncio.wait_for(runtime.read(runtime.store.ping), 5)
        except Exception as err:
            log.warning("mavi-bridge: health check failed (%s)", type(err).__name__)
            return JSONResponse({"status": "error", "store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok", "open_waits": runtime.hub.open_waits})

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.include_router(ui_router(runtime, ui_auth or TokenSessions(settings.api_token)))
    app.add_middleware(_GateMiddleware, runtime=runtime)
    return app


class _GateMiddleware(_Gate):
    """:class:`_Gate` in the shape ``add_middleware`` expects."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app, runtime)
