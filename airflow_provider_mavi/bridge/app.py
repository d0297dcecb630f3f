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
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import url as sa_url

from airflow_provider_mavi.bridge import apidoc, errors
from airflow_provider_mavi.bridge.apidoc import JOB_ID, WAIT, param
from airflow_provider_mavi.bridge.checks import (
    CURSOR_MAX,
    InvalidInput,
    check_job_id,
    check_text,
    parse_integer,
    parse_wait,
)
from airflow_provider_mavi.bridge.inbox import CallbackInbox, send_json
from airflow_provider_mavi.bridge.redact import redact_path
from airflow_provider_mavi.bridge.render import JSONBytes, RecordRenderer, dumps
from airflow_provider_mavi.bridge.runtime import Runtime
from airflow_provider_mavi.bridge.store import JOB_ID_MAX, JobSubmission, StoreError
from airflow_provider_mavi.bridge.strict_json import JsonRefused, loads_strict

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from airflow_provider_mavi.bridge.settings import BridgeSettings

log = logging.getLogger("airflow_provider_mavi.bridge")

MAX_BATCH_IDS = 5000
MAX_LIST = 1000
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


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": "missing or wrong bearer token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


def _parse_wait(raw: Any, cap: float) -> float:
    """``wait`` of a query string or a body (see :func:`checks.parse_wait`); ``ValueError`` when invalid."""
    return parse_wait(raw, cap)


def _path_id(job_id: str, request: Request) -> str:
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


async def _read_json(request: Request) -> Any:
    """
    The request's body as strict JSON (``InvalidInput`` saying why not), read up to
    :data:`errors.MAX_API_BODY` bytes (``BodyTooLarge`` beyond).
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


async def _watch_disconnect(receive: Receive, event: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            event.set()
            return


def create_app(settings: BridgeSettings) -> FastAPI:
    """
    Build the bridge app; refuses (``BridgeConfigError``) without a callback secret and an API token.

    :param settings: the bridge's settings (see :class:`BridgeSettings`).
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
        openapi_url=OPENAPI_PATH,
        # no 307 to the path without its trailing slash: an id ending in '/' or '%2F' would reach another job
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    errors.install(app)
    render = RecordRenderer(runtime.metrics.unreadable)

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token)

    job_param = param("job_id", "path", JOB_ID)
    record = apidoc.json_answer(apidoc.ref("Callback"), "the stored callback")
    job = apidoc.json_answer(apidoc.ref("Job"), "the recorded job")
    callbacks = {"type": "array", "items": apidoc.ref("Callback")}

    @app.get(
        "/v1/callbacks/{job_id}",
        **apidoc.route(
            record,
            400,
            404,
            parameters=(job_param, param("wait", "query", WAIT)),
            summary="One job's callback",
        ),
    )
    async def get_callback(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        _path_id(job_id, request)
        wait = _parse_wait(request.query_params.get("wait"), settings.max_wait)
        disconnected = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(_watch_disconnect(request.receive, disconnected))
        try:
            records = await runtime.wait_for_records([job_id], wait, disconnected)
        finally:
            watcher.cancel()
        if not records:
            return JSONResponse({"detail": "no callback for this job yet"}, status_code=404)
        return JSONBytes(render.record(records[0]))

    @app.post(
        "/v1/callbacks/wait",
        **apidoc.route(
            apidoc.json_answer(
                {"type": "object", "properties": {"callbacks": callbacks}, "required": ["callbacks"]},
                "every stored callback among the ids (empty when none came in time)",
            ),
            400,
            413,
            body={
                "type": "object",
                "properties": {
                    "job_ids": {"type": "array", "items": JOB_ID, "minItems": 1, "maxItems": MAX_BATCH_IDS},
                    "wait": WAIT,
                },
                "required": ["job_ids"],
            },
            summary="Wait for any of many jobs' callbacks",
        ),
    )
    async def wait_many(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        body = await _read_json(request)
        if not isinstance(body, dict):
            raise InvalidInput('the body must be {"job_ids": [...], "wait": seconds}')
        job_ids = body.get("job_ids")
        if not isinstance(job_ids, list) or not job_ids or len(job_ids) > MAX_BATCH_IDS:
            raise InvalidInput(f"job_ids must be a list of 1 to {MAX_BATCH_IDS} job ids")
        for index, job_id in enumerate(job_ids):
            check_job_id(job_id, f"job_ids[{index}]")
        wait = body.get("wait")
        if isinstance(wait, str) or ("wait" in body and wait is None):  # a JSON number, if given
            raise InvalidInput("wait must be a finite number of seconds >= 0")
        wait = _parse_wait(wait, settings.max_wait)
        disconnected = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(_watch_disconnect(request.receive, disconnected))
        try:
            records = await runtime.wait_for_records(job_ids, wait, disconnected)
        finally:
            watcher.cancel()
        return JSONBytes(b'{"callbacks":' + render.records(records) + b"}")

    @app.get(
        "/v1/callbacks",
        **apidoc.route(
            apidoc.json_answer(
                {
                    "type": "object",
                    "properties": {
                        "callbacks": callbacks,
                        "next": {"type": "string", "pattern": "^[0-9]+$", "description": "the next `after`"},
                    },
                    "required": ["callbacks", "next"],
                },
                "callbacks in arrival order after the cursor",
            ),
            400,
            parameters=(
                param(
                    "after", "query", {"type": "integer", "minimum": 0, "maximum": CURSOR_MAX, "default": 0}
                ),
                param(
                    "limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIST, "default": 100}
                ),
            ),
            summary="Callbacks in arrival order",
        ),
    )
    async def list_callbacks(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        after = parse_integer(request.query_params.get("after"), "after", 0, 0, CURSOR_MAX)
        limit = parse_integer(request.query_params.get("limit"), "limit", 100, 1, MAX_LIST)
        assert runtime.store is not None
        records, cursor = await runtime.read(runtime.store.list_callbacks, after, limit)
        return JSONBytes(b'{"callbacks":' + render.records(records) + b',"next":' + dumps(str(cursor)) + b"}")

    @app.put(
        "/v1/jobs/{job_id}",
        **apidoc.route(
            job,
            400,
            413,
            parameters=(job_param,),
            body={
                "type": "object",
                "properties": {
                    "kind": apidoc.name_text(64, "what was submitted (`extract_frames`, ...)"),
                    "asset_id": apidoc.name_text(JOB_ID_MAX, "the asset the job works on"),
                    "key": {
                        "type": ["string", "null"],
                        "minLength": 1,
                        "maxLength": 1000,
                        "pattern": "^[^\\x00]+$",
                        "description": "the caller's idempotency key (no NUL), or null",
                    },
                },
                "required": ["kind", "asset_id"],
            },
            summary="Record a submitted job (a repeat updates it)",
        ),
    )
    async def put_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        _path_id(job_id, request)
        body = await _read_json(request)
        if not isinstance(body, dict):
            raise InvalidInput('the body must be {"kind": ..., "asset_id": ..., "key": ...}')
        kind = check_text(body.get("kind"), "kind", 64, names=True)
        asset_id = check_text(body.get("asset_id"), "asset_id", JOB_ID_MAX, names=True)
        key = body.get("key")
        if key is not None and not isinstance(key, str):
            raise InvalidInput("key must be a string (at most 1000 characters) or null")
        if key is not None:
            key = check_text(key, "key", 1000)
        assert runtime.store is not None
        submitted = JobSubmission(job_id, kind=kind, asset_id=asset_id, key=key)
        return JSONResponse((await runtime.read(runtime.store.put_job, submitted)).to_json())

    @app.get(
        "/v1/jobs/{job_id}", **apidoc.route(job, 400, 404, parameters=(job_param,), summary="A recorded job")
    )
    async def get_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        _path_id(job_id, request)
        assert runtime.store is not None
        found = await runtime.read(runtime.store.get_job, job_id)
        if found is None:
            return JSONResponse({"detail": "unknown job"}, status_code=404)
        return JSONResponse(found.to_json())

    @app.get(
        "/v1/jobs",
        **apidoc.route(
            apidoc.json_answer(
                {
                    "type": "object",
                    "properties": {"jobs": {"type": "array", "items": apidoc.ref("Job")}},
                    "required": ["jobs"],
                },
                "the jobs recorded under the key, newest first (at most 100)",
            ),
            400,
            parameters=(
                param(
                    "key",
                    "query",
                    {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": "^[^\\x00]+$"},
                    required=True,
                ),
            ),
            summary="Jobs recorded under an idempotency key",
        ),
    )
    async def find_jobs(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        raw = request.query_params.get("key")
        if raw is None:
            raise InvalidInput("key is required")
        key = check_text(raw, "key", 1000)
        assert runtime.store is not None
        jobs = await runtime.read(runtime.store.find_jobs, key)
        return JSONResponse({"jobs": [j.to_json() for j in jobs]})

    @app.post(
        "/v1/jobs/{job_id}/abandon",
        **apidoc.route(job, 400, 404, parameters=(job_param,), summary="Mark a job as no longer waited for"),
    )
    async def abandon_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        _path_id(job_id, request)
        assert runtime.store is not None
        found = await runtime.read(runtime.store.abandon_job, job_id)
        if found is None:
            return JSONResponse({"detail": "unknown job"}, status_code=404)
        return JSONResponse(found.to_json())

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
