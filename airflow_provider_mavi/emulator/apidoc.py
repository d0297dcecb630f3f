"""The emulator's served OpenAPI document (``GET /openapi.json``): bodies, parameters and every answer.

Handlers read raw requests on purpose (Mavi validates in its own order, with its own messages, which pydantic
models would replace by 422s), so each route declares what it takes and answers here, next to nothing else:
the route decorators call :func:`json_route` and friends, and :func:`document` finishes the document (the
key as a security scheme, the shared envelope schemas, no 422 that the emulator never sends). The required
fields of a processing endpoint come from its :class:`~airflow_provider_mavi.emulator.submit.Endpoint`, the
same declaration that produces ``<field> cannot be null or empty``. The tests check the document against
the answers (``tests/integration/emulator/test_schema_fuzz.py``, ``test_openapi.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi

if TYPE_CHECKING:
    from fastapi import FastAPI

    from airflow_provider_mavi.emulator.submit import Endpoint

Schema = dict[str, Any]

ERROR = "MaviError"
SECURITY = "MaviKey"
_REF = {"$ref": f"#/components/schemas/{ERROR}"}
_ERROR_SCHEMA: Schema = {
    "type": "object",
    "description": "Mavi's error envelope: HTTP status and `code` match, `data` is null. Asset, download "
    "and framework errors (malformed body, unknown path, wrong method, too large) add "
    "`success: false, failed: true`.",
    "properties": {
        "code": {"type": "integer"},
        "msg": {"type": "string"},
        "data": {"type": "null"},
        "success": {"const": False},
        "failed": {"const": True},
    },
    "required": ["code", "msg", "data"],
}
_WHY: dict[int | str, str] = {
    400: "invalid input: `<field> cannot be null or empty`, `Request has exceeded the limit.` (an unknown, "
    "unready or unsupported value, or the rate limit in the 400 style), `Asset not found`, a malformed body",
    401: "missing or wrong key: `Unauthorized`",
    402: "insufficient balance",
    413: "request body over the emulator's cap (`--max-upload-bytes`, `--max-body-bytes`)",
    429: "rate limit, in the 429 style (`--rate-limit-style 429`)",
    "5XX": "an injected `server_error` fault (never an answer to input)",
}

#: What every route under ``/serve/api/v2`` may answer besides its own: bad input, the key, the body cap,
#: the rate limit (both styles) and an injected server error.
API_ERRORS: tuple[int | str, ...] = (400, 401, 413, 429, "5XX")

STRING: Schema = {"type": "string"}
NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
ASSET_ID: Schema = {"type": "string", "pattern": r"\S", "description": "an uploaded asset id, `re_<digits>`"}
TASK: Schema = {
    "type": "object",
    "properties": {"task_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
    "required": ["task_id"],
}
ASSET_ENTRY: Schema = {
    "type": "object",
    "properties": {
        "extension": STRING,
        "asset_id": STRING,
        "original_filename": STRING,
        "file_size": {"type": "string", "pattern": "^[0-9]+$"},
        "upload_status": {"enum": ["WAITING", "UPLOADING", "SUCCESS", "FAILED"]},
        "create_time": {"type": "string", "pattern": "^[0-9]+$"},
        "modify_time": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "required": [
        "extension",
        "asset_id",
        "original_filename",
        "file_size",
        "upload_status",
        "create_time",
        "modify_time",
    ],
}


def array(items: Schema) -> Schema:
    """Return an array schema.

    :param items: the items' schema.
    """
    return {"type": "array", "items": items}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    """Return an object schema (more properties allowed).

    :param required: the required properties.
    :param properties: the properties' schemas.
    """
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def ok(data: Schema) -> Schema:
    """Return Mavi's success envelope around ``data``.

    :param data: the ``data`` schema.
    """
    return obj(
        ("code", "msg", "data", "success", "failed"),
        code={"anyOf": [{"const": 200}, {"const": "0000"}]},
        msg=STRING,
        data=data,
        success={"const": True},
        failed={"const": False},
    )


def errors(*statuses: int | str) -> dict[int | str, Any]:
    """Return error responses in Mavi's envelope.

    :param statuses: the statuses.
    """
    return {
        status: {"description": _WHY[status], "content": {"application/json": {"schema": _REF}}}
        for status in statuses
    }


def json_answer(schema: Schema, description: str = "success") -> dict[str, Any]:
    """Return a JSON 200 response.

    :param schema: the body's schema.
    :param description: what it is.
    """
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(required: tuple[str, ...], properties: dict[str, Schema]) -> dict[str, Any]:
    """Return a required JSON request body.

    :param required: the required fields.
    :param properties: every field the emulator reads.
    """
    missing = set(required) - set(properties)
    if missing:
        raise ValueError(f"required fields without a schema: {sorted(missing)}")
    schema = obj(required, **properties)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def required_of(endpoint: Endpoint) -> tuple[str, ...]:
    """Return the fields an endpoint refuses as ``<field> cannot be null or empty``.

    :param endpoint: the endpoint.
    """
    return tuple(getattr(endpoint.missing, "names", ()))


def json_route(
    endpoint: Endpoint, properties: dict[str, Schema], data: Schema, *, paid: bool = True
) -> dict[str, Any]:
    """Return the route arguments of a Mavi-enveloped JSON endpoint.

    :param endpoint: its declaration (the required fields come from it).
    :param properties: every body field the emulator reads, with its type.
    :param data: the success answer's ``data``.
    :param paid: whether it can answer 402.
    """
    statuses = (*API_ERRORS, 402) if paid else API_ERRORS
    return {
        "openapi_extra": json_body(required_of(endpoint), properties),
        "responses": {200: json_answer(ok(data)), **errors(*statuses)},
        "response_model": None,
    }


def task_route(endpoint: Endpoint, properties: dict[str, Schema]) -> dict[str, Any]:
    """Return the route arguments of an async endpoint: ``data.task_id`` now, the result at the webhook.

    :param endpoint: its declaration.
    :param properties: every body field the emulator reads.
    """
    args = json_route(endpoint, properties, TASK)
    args["description"] = (
        "Async: answers `data.task_id`; the result is POSTed to the account's webhook. "
        "No webhook set: 400 `An async request requires at least one webhook.`"
    )
    return args


def admin_route(answer: Schema, body: Schema | None = None, *, auth: bool = True) -> dict[str, Any]:
    """Return the route arguments of an admin endpoint (answers are plain JSON, not the envelope).

    :param answer: the 200 body's schema.
    :param body: the JSON request body's schema, if any.
    :param auth: whether the key is required.
    """
    extra: dict[str, Any] = {}
    if body is not None:
        extra["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if not auth:
        extra["security"] = []
    statuses = (400, 413) + ((401,) if auth else ())
    return {
        "openapi_extra": extra,
        "responses": {200: json_answer(answer), **errors(*statuses)},
        "response_model": None,
    }


def signed_route(media_type: str) -> dict[str, Any]:
    """Return the route arguments of the signed upload URL (a storage host: no key, plain-text errors).

    :param media_type: ``multipart/form-data`` (POST, field ``file``) or ``application/octet-stream`` (PUT).
    """
    binary = {"type": "string", "format": "binary"}
    schema = obj(("file",), file=binary) if media_type == "multipart/form-data" else binary
    text = {"text/plain": {"schema": STRING}}
    return {
        "openapi_extra": {
            "security": [],
            "requestBody": {"required": True, "content": {media_type: {"schema": schema}}},
        },
        "responses": {
            200: {"description": "stored; the URL is spent", "content": {}},
            400: {"description": "no multipart field `file`, or a malformed body", "content": text},
            403: {"description": "unknown, expired or spent URL", "content": text},
            413: {"description": "over `--max-upload-bytes`; the URL stays usable", "content": text},
        },
        "response_model": None,
        "description": "The signed URL handed out by `POST /upload/signed-url`. It stands for a storage "
        "host, not Mavi: no key, plain-text errors. It is spent only once the file is stored.",
    }


def _tidy(responses: dict[str, Any]) -> None:
    """Drop what FastAPI adds but the emulator never answers: 422, and an empty JSON body beside real ones.

    :param responses: an operation's responses.
    """
    responses.pop("422", None)
    for response in responses.values():
        content = response.get("content")
        if content is not None and content.get("application/json", {}).get("schema") == {}:
            del content["application/json"]
        if content == {}:
            del response["content"]


def document(app: FastAPI) -> dict[str, Any]:
    """Build the OpenAPI document of the app's routes (cached on the app).

    :param app: the emulator app.
    """
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title="Mavi API emulator",
        version="2",
        description=(
            "The Mavi v2 API as the emulator serves it, under `/serve/api/v2`; the signed upload URL; the "
            "admin endpoints under `/_emulator`. Every route but the signed URL and the health check needs "
            "`Authorization: <key>` (the raw key, no `Bearer`). An unknown path answers 404 and a wrong "
            "method 405, both in the error envelope."
        ),
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)  # the emulator answers 400 in Mavi's envelope, never FastAPI's 422
    schemas[ERROR] = _ERROR_SCHEMA
    components["securitySchemes"] = {
        SECURITY: {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "the account's key, raw (no `Bearer ` prefix)",
        }
    }
    doc["security"] = [{SECURITY: []}]
    components["responses"] = {
        "NotFound": {
            "description": "unknown path (any method)",
            "content": {"application/json": {"schema": _REF}},
        },
        "MethodNotAllowed": {
            "description": "a known path with another method",
            "content": {"application/json": {"schema": _REF}},
        },
    }
    for operations in doc["paths"].values():
        for operation in operations.values():
            _tidy(operation.get("responses", {}))
    app.openapi_schema = doc
    return doc
