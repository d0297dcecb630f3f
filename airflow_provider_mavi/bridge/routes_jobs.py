"""
The jobs the operators record: ``PUT/GET /v1/jobs/{job_id}``, ``GET /v1/jobs?key=``,
``POST /v1/jobs/{job_id}/abandon`` and ``POST /v1/jobs/{job_id}/cost`` (the price, once known).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_mavi.bridge import apidoc, job_body
from airflow_provider_mavi.bridge.apidoc import JOB_ID, param
from airflow_provider_mavi.bridge.checks import InvalidInput, check_text
from airflow_provider_mavi.bridge.route_input import path_id, read_json, read_object, unauthorized
from airflow_provider_mavi.bridge.store import JOB_ID_MAX, JobSubmission
from airflow_provider_mavi.bridge.store.schema import AIRFLOW_ID_MAX

if TYPE_CHECKING:
    from airflow_provider_mavi.bridge.route_input import Token
    from airflow_provider_mavi.bridge.runtime import Runtime
    from airflow_provider_mavi.bridge.store import StoredJob

_JOB_PARAM = param("job_id", "path", JOB_ID)
_JOB = apidoc.json_answer(apidoc.ref("Job"), "the recorded job")
_KEY: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 1000,
    "pattern": "^[^\\x00]+$",
}


def _airflow_id(what: str) -> dict[str, Any]:
    schema = apidoc.name_text(AIRFLOW_ID_MAX, what)
    return {**schema, "type": ["string", "null"], "description": f"{schema['description']}, or null"}


_PUT_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": apidoc.name_text(64, "what was submitted (`extract_frames`, ...)"),
        "asset_id": apidoc.name_text(JOB_ID_MAX, "the asset the job works on"),
        "key": {
            **_KEY,
            "type": ["string", "null"],
            "description": "the caller's idempotency key (no NUL), or null",
        },
        "dag_id": _airflow_id("the Airflow DAG that submitted it"),
        "run_id": _airflow_id("that DAG run"),
        "task_id": _airflow_id("that Airflow task (not Mavi's job id)"),
        "map_index": {
            "type": ["integer", "null"],
            "minimum": -1,
            "maximum": job_body.MAP_INDEX_MAX,
            "description": "that task's map index (-1: not mapped), or null",
        },
        "deadline": {
            "type": ["number", "null"],
            "exclusiveMinimum": 0,
            "maximum": job_body.DEADLINE_MAX,
            "description": "epoch seconds after which the task no longer waits, or null",
        },
    },
    "required": ["kind", "asset_id"],
}
_COST_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "cost_usd": {
            "type": ["number", "null"],
            "minimum": 0,
            "maximum": job_body.MAX_COST_USD,
            "description": "the job's price in dollars, or null when it cannot be known",
        }
    },
    "required": ["cost_usd"],
}


def _job_or_404(found: StoredJob | None) -> Response:
    if found is None:
        return JSONResponse({"detail": "unknown job"}, status_code=404)
    return JSONResponse(found.to_json())


def job_routes(runtime: Runtime, token: Token) -> APIRouter:
    """
    Build the router of the jobs.

    :param runtime: the bridge's runtime (its store).
    :param token: the read API's bearer token.
    """
    router = APIRouter()

    @router.put(
        "/v1/jobs/{job_id}",
        **apidoc.route(
            _JOB,
            400,
            413,
            parameters=(_JOB_PARAM,),
            body=_PUT_BODY,
            summary="Record a submitted job (a repeat updates it)",
        ),
    )
    async def put_job(job_id: str, request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        path_id(job_id, request)
        body = await read_object(request, '{"kind": ..., "asset_id": ..., "key": ...}')
        kind = check_text(body.get("kind"), "kind", 64, names=True)
        asset_id = check_text(body.get("asset_id"), "asset_id", JOB_ID_MAX, names=True)
        key = body.get("key")
        if key is not None and not isinstance(key, str):
            raise InvalidInput("key must be a string (at most 1000 characters) or null")
        if key is not None:
            key = check_text(key, "key", 1000)
        task = job_body.task_fields(body)
        assert runtime.store is not None
        submitted = JobSubmission(job_id, kind=kind, asset_id=asset_id, key=key, **task)
        return JSONResponse((await runtime.read(runtime.store.put_job, submitted)).to_json())

    @router.get(
        "/v1/jobs/{job_id}",
        **apidoc.route(_JOB, 400, 404, parameters=(_JOB_PARAM,), summary="A recorded job"),
    )
    async def get_job(job_id: str, request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        path_id(job_id, request)
        assert runtime.store is not None
        return _job_or_404(await runtime.read(runtime.store.get_job, job_id))

    @router.get(
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
            parameters=(param("key", "query", _KEY, required=True),),
            summary="Jobs recorded under an idempotency key",
        ),
    )
    async def find_jobs(request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        raw = request.query_params.get("key")
        if raw is None:
            raise InvalidInput("key is required")
        key = check_text(raw, "key", 1000)
        assert runtime.store is not None
        jobs = await runtime.read(runtime.store.find_jobs, key)
        return JSONResponse({"jobs": [j.to_json() for j in jobs]})

    @router.post(
        "/v1/jobs/{job_id}/abandon",
        **apidoc.route(
            _JOB, 400, 404, parameters=(_JOB_PARAM,), summary="Mark a job as no longer waited for"
        ),
    )
    async def abandon_job(job_id: str, request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        path_id(job_id, request)
        assert runtime.store is not None
        return _job_or_404(await runtime.read(runtime.store.abandon_job, job_id))

    @router.post(
        "/v1/jobs/{job_id}/cost",
        **apidoc.route(
            _JOB,
            400,
            404,
            413,
            parameters=(_JOB_PARAM,),
            body=_COST_BODY,
            summary="Record a job's price once its task knows it",
        ),
    )
    async def record_cost(job_id: str, request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        path_id(job_id, request)
        cost = job_body.cost_usd(await read_json(request))
        assert runtime.store is not None
        return _job_or_404(await runtime.read(runtime.store.record_cost, job_id, cost))

    return router
