"""
The read API of stored callbacks: one job's (``GET /v1/callbacks/{job_id}``), a batched wait
(``POST /v1/callbacks/wait``) and the arrival-ordered list (``GET /v1/callbacks``), each a long-poll.

The intake itself (``POST /callbacks/{secret}``) is served before FastAPI's routing (``inbox.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_mavi.bridge import apidoc
from airflow_provider_mavi.bridge.apidoc import JOB_ID, WAIT, param
from airflow_provider_mavi.bridge.checks import (
    CURSOR_MAX,
    InvalidInput,
    check_job_id,
    parse_integer,
    parse_wait,
)
from airflow_provider_mavi.bridge.render import JSONBytes, RecordRenderer, dumps
from airflow_provider_mavi.bridge.route_input import (
    disconnect_watch,
    path_id,
    read_object,
    unauthorized,
)

if TYPE_CHECKING:
    from airflow_provider_mavi.bridge.route_input import Token
    from airflow_provider_mavi.bridge.runtime import Runtime

#: The most job ids of one batched wait.
MAX_BATCH_IDS = 5000
#: The most records of one page of the list.
MAX_LIST = 1000

_CALLBACKS = {"type": "array", "items": apidoc.ref("Callback")}
_LIST_ANSWER = {
    "type": "object",
    "properties": {
        "callbacks": {"type": "array", "items": apidoc.ref("ListedCallback")},
        "next": {"type": "string", "pattern": "^[0-9]+$", "description": "the next `after`"},
    },
    "required": ["callbacks", "next"],
}


def callback_routes(runtime: Runtime, token: Token) -> APIRouter:
    """
    Build the router of the callbacks' read API.

    :param runtime: the bridge's runtime (store, waiters, metrics, settings).
    :param token: the read API's bearer token.
    """
    router = APIRouter()
    render = RecordRenderer(runtime.metrics.unreadable)
    max_wait = runtime.settings.max_wait

    @router.get(
        "/v1/callbacks/{job_id}",
        **apidoc.route(
            apidoc.json_answer(apidoc.ref("Callback"), "the stored callback"),
            400,
            404,
            parameters=(param("job_id", "path", JOB_ID), param("wait", "query", WAIT)),
            summary="One job's callback",
        ),
    )
    async def get_callback(job_id: str, request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        path_id(job_id, request)
        wait = parse_wait(request.query_params.get("wait"), max_wait)
        async with disconnect_watch(request) as disconnected:
            records = await runtime.wait_for_records([job_id], wait, disconnected)
        if not records:
            return JSONResponse({"detail": "no callback for this job yet"}, status_code=404)
        return JSONBytes(render.record(records[0]))

    @router.post(
        "/v1/callbacks/wait",
        **apidoc.route(
            apidoc.json_answer(
                {"type": "object", "properties": {"callbacks": _CALLBACKS}, "required": ["callbacks"]},
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
        if not token.accepts(request):
            return unauthorized()
        body = await read_object(request, '{"job_ids": [...], "wait": seconds}')
        job_ids = body.get("job_ids")
        if not isinstance(job_ids, list) or not job_ids or len(job_ids) > MAX_BATCH_IDS:
            raise InvalidInput(f"job_ids must be a list of 1 to {MAX_BATCH_IDS} job ids")
        for index, job_id in enumerate(job_ids):
            check_job_id(job_id, f"job_ids[{index}]")
        raw_wait = body.get("wait")
        if isinstance(raw_wait, str) or ("wait" in body and raw_wait is None):  # a JSON number, if given
            raise InvalidInput("wait must be a finite number of seconds >= 0")
        wait = parse_wait(raw_wait, max_wait)
        async with disconnect_watch(request) as disconnected:
            records = await runtime.wait_for_records(job_ids, wait, disconnected)
        return JSONBytes(b'{"callbacks":' + render.records(records) + b"}")

    @router.get(
        "/v1/callbacks",
        **apidoc.route(
            apidoc.json_answer(
                _LIST_ANSWER,
                "callbacks in arrival order after the cursor (empty when none came within the wait)",
            ),
            400,
            parameters=(
                param(
                    "after", "query", {"type": "integer", "minimum": 0, "maximum": CURSOR_MAX, "default": 0}
                ),
                param(
                    "limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIST, "default": 100}
                ),
                param("wait", "query", WAIT),
            ),
            summary="Callbacks in arrival order (a long-poll with `wait`)",
        ),
    )
    async def list_callbacks(request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        after = parse_integer(request.query_params.get("after"), "after", 0, 0, CURSOR_MAX)
        limit = parse_integer(request.query_params.get("limit"), "limit", 100, 1, MAX_LIST)
        wait = parse_wait(request.query_params.get("wait"), max_wait)
        assert runtime.store is not None
        store = runtime.store
        async with disconnect_watch(request) as disconnected:
            records, cursor = await runtime.wait_for_list(after, limit, wait, disconnected)
        kinds = await runtime.read(store.job_kinds, [r.job_id for r in records]) if records else {}
        page = render.listed(records, kinds)
        return JSONBytes(b'{"callbacks":' + page + b',"next":' + dumps(str(cursor)) + b"}")

    return router
