"""
Named positions in the arrival-ordered list (``/v1/consumers/{name}``): an event trigger keeps the cursor of
the last callback it has processed here, so a restarted triggerer resumes where it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_mavi.bridge import apidoc
from airflow_provider_mavi.bridge.apidoc import CONSUMER_NAME, CURSOR_TEXT, param
from airflow_provider_mavi.bridge.checks import InvalidInput, check_consumer_name, parse_cursor
from airflow_provider_mavi.bridge.route_input import read_object, unauthorized

if TYPE_CHECKING:
    from airflow_provider_mavi.bridge.route_input import Token
    from airflow_provider_mavi.bridge.runtime import Runtime

_NAME = (param("name", "path", CONSUMER_NAME),)
_CONSUMER = apidoc.json_answer(apidoc.ref("Consumer"), "the consumer and its cursor")
_START = '{"start": "latest"} or {"start": "earliest"}'
_CURSOR = '{"cursor": "<the list cursor, digits>"}'


def consumer_routes(runtime: Runtime, token: Token) -> APIRouter:
    """
    Build the router of the consumers.

    :param runtime: the bridge's runtime (its store).
    :param token: the read API's bearer token.
    """
    router = APIRouter()

    @router.get(
        "/v1/consumers/{name}",
        **apidoc.route(_CONSUMER, 400, 404, parameters=_NAME, summary="A consumer's position in the list"),
    )
    async def get_consumer(name: str, request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        check_consumer_name(name)
        assert runtime.store is not None
        consumer = await runtime.read(runtime.store.get_consumer, name)
        if consumer is None:
            return JSONResponse({"detail": "unknown consumer"}, status_code=404)
        return JSONResponse(consumer.to_json())

    @router.post(
        "/v1/consumers/{name}",
        **apidoc.route(
            _CONSUMER,
            400,
            413,
            parameters=_NAME,
            body={
                "type": "object",
                "properties": {
                    "start": {
                        "enum": ["latest", "earliest"],
                        "description": "create it after every callback listed so far, or before the first",
                    }
                },
                "required": ["start"],
            },
            summary="Create a consumer (an existing one is returned unchanged)",
        ),
    )
    async def start_consumer(name: str, request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        check_consumer_name(name)
        start = (await read_object(request, _START)).get("start")
        if start not in ("latest", "earliest"):
            raise InvalidInput(f"the body must be {_START}")
        assert runtime.store is not None
        consumer = await runtime.read(runtime.store.start_consumer, name, start == "latest")
        return JSONResponse(consumer.to_json())

    @router.put(
        "/v1/consumers/{name}",
        **apidoc.route(
            _CONSUMER,
            400,
            413,
            parameters=_NAME,
            body={"type": "object", "properties": {"cursor": CURSOR_TEXT}, "required": ["cursor"]},
            summary="Move a consumer forward (never back; a missing one is created there)",
        ),
    )
    async def advance_consumer(name: str, request: Request) -> Response:
        if not token.accepts(request):
            return unauthorized()
        check_consumer_name(name)
        cursor = parse_cursor((await read_object(request, _CURSOR)).get("cursor"))
        assert runtime.store is not None
        consumer = await runtime.read(runtime.store.advance_consumer, name, cursor)
        return JSONResponse(consumer.to_json())

    return router
