"""
The bridge's served OpenAPI document (``GET /openapi.json``): every route, parameter, body and answer.

The handlers read raw requests (the intake for speed, the read API to answer ``400 {"detail"}`` in its own
words rather than FastAPI's 422), so each route declares here what it takes and answers: the route decorators
of the ``routes_*.py`` modules call :func:`route`, and :func:`document` finishes the document (the bearer
token as a security scheme, the shared schemas, the callback inbox that the app serves before FastAPI's
routing; the HTML pages under ``/ui`` are left out). The callback route is documented with a ``{secret}`` path
parameter, never a real secret. The schemas say exactly what the checks of ``checks.py`` and ``job_body.py``
accept, so a fuzzer can tell a refusal from a bug
(``tests/integration/bridge/test_schema_fuzz.py``, ``test_openapi.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi

from airflow_provider_mavi.bridge.store.records import JOB_ABANDONED, JOB_DELIVERED, JOB_ID_MAX, JOB_WAITING
from airflow_provider_mavi.bridge.store.schema import CONSUMER_NAME_MAX

if TYPE_CHECKING:
    from fastapi import FastAPI

Schema = dict[str, Any]

TOKEN = "BridgeToken"  # noqa: S105 (the security scheme's name)
CALLBACK_PATH = "/callbacks/{secret}"
#: Control characters (Unicode category Cc), which no id or name may hold.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_X = "/\\\\" + _CONTROL  # what no job id holds


def ref(name: str) -> Schema:
    """
    Return a reference to a shared schema.

    :param name: a key of :data:`SCHEMAS`.
    """
    return {"$ref": f"#/components/schemas/{name}"}


#: A job id: 1 to 200 characters, not ``.`` or ``..``, no ``/``, ``\\`` or control characters (the bridge
#: hook's rule; lone surrogates are refused too, which a pattern cannot say).
JOB_ID: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": JOB_ID_MAX,
    # not "." or "..": starts with a non-dot, or one dot and a non-dot, or two dots and more
    "pattern": rf"^(?:[^{_X}.][^{_X}]*|\.[^{_X}.][^{_X}]*|\.\.[^{_X}]+)$",
    "description": "Mavi's job id (a callback's `task_id`): 1 to 200 characters, not `.` or `..`, "
    "without `/`, `\\`, control characters or lone surrogates",
}
WAIT: Schema = {
    "type": "number",
    "minimum": 0,
    "description": "seconds to wait for a callback (cut to `MAVI_BRIDGE_MAX_WAIT`, 60 s by default; "
    "0 or absent: look once). Not a number, negative or not finite: 400",
}


def name_text(max_length: int, what: str) -> Schema:
    """
    Return the schema of a name (a kind, an asset id): no control characters.

    :param max_length: its column's length.
    :param what: its description.
    """
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": rf"^[^{_CONTROL}]+$",
        "description": f"{what}: 1 to {max_length} characters, no control characters",
    }


ERROR_SCHEMA: Schema = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "what was wrong, for people"}},
    "required": ["detail"],
}
RECORD_SCHEMA: Schema = {
    "type": "object",
    "description": "A stored callback: the first terminal body Mavi posted for the job, as it sent it.",
    "properties": {
        "job_id": {"type": "string"},
        "received_at": {"type": "string", "format": "date-time", "description": "first delivery, UTC"},
        "deliveries": {"type": "integer", "minimum": 1, "description": "accepted POSTs for the job"},
        "payload": {"type": "object", "description": "the callback body"},
        "unreadable": {
            "type": "object",
            "description": "only for a stored body that cannot be served as JSON (stored by an older "
            "bridge): why, and the stored bytes as text; `payload` is then just `{task_id}`",
            "properties": {"reason": {"type": "string"}, "body": {"type": "string"}},
            "required": ["reason", "body"],
        },
    },
    "required": ["job_id", "received_at", "deliveries", "payload"],
}
LISTED_SCHEMA: Schema = {
    "allOf": [
        ref("Callback"),
        {
            "type": "object",
            "properties": {
                "cursor": {"type": "string", "pattern": "^[0-9]+$", "description": "this record's cursor"},
                "kind": {
                    "type": ["string", "null"],
                    "description": "the kind of the job the bridge has a record of, else null",
                },
                "terminal": {"type": "boolean", "description": "false for a progress body"},
            },
            "required": ["cursor", "kind", "terminal"],
        },
    ],
    "description": "A stored callback in the arrival-ordered list",
}
_OPTIONAL_TEXT: Schema = {"type": ["string", "null"]}
JOB_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "job_id": {"type": "string"},
        "kind": {"type": "string"},
        "asset_id": {"type": "string"},
        "key": _OPTIONAL_TEXT,
        "state": {"enum": [JOB_WAITING, JOB_DELIVERED, JOB_ABANDONED]},
        "submitted_at": {"type": "string", "format": "date-time"},
        "dag_id": _OPTIONAL_TEXT,
        "run_id": _OPTIONAL_TEXT,
        "task_id": {"type": ["string", "null"], "description": "the Airflow task (not Mavi's)"},
        "map_index": {"type": ["integer", "null"]},
        "deadline": {"type": ["string", "null"], "format": "date-time"},
        "cost_usd": {"type": ["number", "null"], "description": "its price once its task recorded it"},
    },
    "required": [
        "job_id",
        "kind",
        "asset_id",
        "key",
        "state",
        "submitted_at",
        "dag_id",
        "run_id",
        "task_id",
        "map_index",
        "deadline",
        "cost_usd",
    ],
}
#: A list cursor in a body: digits (a string, as the list gives it), 0 to 2^63-1.
CURSOR_TEXT: Schema = {
    "type": "string",
    "pattern": "^[0-9]{1,19}$",
    "description": "a list cursor (`next` or a record's `cursor`): digits, 0 to 2^63-1",
}
CONSUMER_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "cursor": {"type": "string", "pattern": "^[0-9]+$", "description": "the last callback it processed"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
    "required": ["name", "cursor", "created_at", "updated_at"],
}
#: A consumer name (``checks.CONSUMER_NAME``).
CONSUMER_NAME: Schema = {
    "type": "string",
    "pattern": rf"^[A-Za-z0-9_~-][A-Za-z0-9._~-]{{0,{CONSUMER_NAME_MAX - 1}}}$",
    "description": f"1 to {CONSUMER_NAME_MAX} letters, digits and `._~-`, not starting with `.`",
}
ACK_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "job_id": {"type": "string"},
        "deliveries": {"type": "integer", "minimum": 0, "description": "accepted POSTs for the job so far"},
        "duplicate": {"type": "boolean", "description": "the identical body was already stored"},
    },
    "required": ["job_id", "deliveries", "duplicate"],
}
SCHEMAS = {
    "Error": ERROR_SCHEMA,
    "Callback": RECORD_SCHEMA,
    "ListedCallback": LISTED_SCHEMA,
    "Job": JOB_SCHEMA,
    "Consumer": CONSUMER_SCHEMA,
    "Acknowledgement": ACK_SCHEMA,
}

_WHY: dict[int, str] = {
    400: "invalid input; `detail` says which value and why",
    401: "missing or wrong bearer token",
    403: "the sender's address is outside `MAVI_BRIDGE_ALLOWED_NETWORKS`",
    404: "nothing there (`detail` says what)",
    413: "body over the limit (`MAVI_BRIDGE_MAX_BODY` for callbacks, 8 MiB for the read API)",
    503: "the store is unavailable; retry later",
}


def errors(*statuses: int) -> dict[int, Any]:
    """
    Return ``{"detail": ...}`` error responses.

    :param statuses: the statuses.
    """
    return {
        status: {"description": _WHY[status], "content": {"application/json": {"schema": ref("Error")}}}
        for status in statuses
    }


def json_answer(schema: Schema, description: str) -> dict[str, Any]:
    """
    Return a JSON 200 response.

    :param schema: the body's schema.
    :param description: what it is.
    """
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def param(name: str, where: str, schema: Schema, *, required: bool = False) -> dict[str, Any]:
    """
    Return a parameter.

    :param name: its name.
    :param where: ``path`` or ``query``.
    :param schema: its schema.
    :param required: whether it must be given (path parameters always are).
    """
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


def json_body(schema: Schema) -> dict[str, Any]:
    """
    Return a required JSON request body.

    :param schema: its schema.
    """
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def route(
    answer: dict[str, Any],
    *statuses: int,
    parameters: tuple[dict[str, Any], ...] = (),
    body: Schema | None = None,
    public: bool = False,
    summary: str | None = None,
    answers: dict[int, Any] | None = None,
) -> dict[str, Any]:
    """
    Return a route's decorator arguments: what it takes and answers.

    :param answer: the 200 response.
    :param statuses: its error statuses besides 401 (added unless ``public``) and 503.
    :param parameters: its path and query parameters.
    :param body: its JSON body's schema.
    :param public: needs no token.
    :param summary: a one-line summary.
    :param answers: responses that replace the usual ones (by status).
    """
    extra: dict[str, Any] = {}
    if parameters:
        extra["parameters"] = list(parameters)
    if body is not None:
        extra["requestBody"] = json_body(body)
    if public:
        extra["security"] = []
    codes = sorted({*statuses, 503} | (set() if public else {401}))
    args: dict[str, Any] = {
        "openapi_extra": extra,
        "responses": {200: answer, **errors(*codes), **(answers or {})},
        "response_model": None,
    }
    if summary:
        args["summary"] = summary
    return args


CALLBACK_OPERATION: dict[str, Any] = {
    "summary": "Receive a Mavi callback (the URL registered in the Mavi console)",
    "description": "Authenticated by the secret in the path (constant-time; a wrong one is 404 and stores "
    "nothing). The body is stored as sent, once it is strict JSON: UTF-8, no `NaN`/`Infinity`, no number "
    "a double or a signed 64-bit integer cannot hold, no key twice, at most 64 levels deep, no lone "
    "surrogate, an object whose `task_id` is a job id without spaces around it. 200 only once committed; "
    "an identical repeat is 200 with `duplicate: true`. The answer is read by the fast path, not FastAPI.",
    "operationId": "receive_callback",
    "security": [],
    "parameters": [
        param("secret", "path", {"type": "string", "description": "the callback secret (never shown)"})
    ],
    "requestBody": json_body(
        {
            "type": "object",
            "properties": {
                "task_id": {
                    "allOf": [JOB_ID, {"pattern": r"^\S(?:.*\S)?$"}],
                    "description": "Mavi's job id (see `job_id`), without spaces around it",
                }
            },
            "required": ["task_id"],
            "description": "Mavi's callback, any other fields as Mavi sends them (see mavi-api.md)",
        }
    ),
    "responses": {
        "200": json_answer(ref("Acknowledgement"), "stored (or counted, for an identical repeat)"),
        **{str(k): v for k, v in errors(400, 403, 404, 413, 503).items()},
    },
}


def _tidy(operation: dict[str, Any]) -> None:
    """Drop what FastAPI adds but the bridge never answers (422), and a repeated parameter (keep the last)."""
    responses = operation.get("responses", {})
    responses.pop("422", None)
    params = operation.get("parameters")
    if params:
        unique = {(p["name"], p["in"]): p for p in params}
        operation["parameters"] = list(unique.values())


def document(app: FastAPI) -> dict[str, Any]:
    """
    Build the OpenAPI document of the bridge (cached on the app).

    :param app: the bridge app.
    """
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title="Mavi webhook bridge",
        version="1",
        description=(
            "The durable inbox of Mavi's webhook callbacks, and the read API that deferred Airflow tasks "
            "long-poll. "
            "`/v1/...` needs `Authorization: Bearer <MAVI_BRIDGE_API_TOKEN>` (401 otherwise). Every error "
            'is `{"detail": ...}`: an unknown path 404, a wrong method 405, a bug 500 (never an answer to '
            "input)."
        ),
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(SCHEMAS)
    components["securitySchemes"] = {
        TOKEN: {"type": "http", "scheme": "bearer", "description": "MAVI_BRIDGE_API_TOKEN"}
    }
    doc["security"] = [{TOKEN: []}]
    doc.setdefault("paths", {})[CALLBACK_PATH] = {"post": CALLBACK_OPERATION}
    for operations in doc["paths"].values():
        for operation in operations.values():
            _tidy(operation)
    app.openapi_schema = doc
    return doc
