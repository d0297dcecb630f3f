"""The bridge's served OpenAPI document (``GET /openapi.json``): valid, every route with its parameters, body
and answers (400/401/404/413 included), no real secret, and real answers of every route conform to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from airflow_provider_mavi.bridge.app import create_app
from airflow_provider_mavi.bridge.settings import BridgeSettings
from airflow_provider_mavi.bridge.testing import BridgeServer

#: (method, path) -> (query parameters, has a JSON body, error statuses besides 503)
OPERATIONS: dict[tuple[str, str], tuple[set[str], bool, set[str]]] = {
    ("post", "/callbacks/{secret}"): (set(), True, {"400", "403", "404", "413"}),
    ("get", "/v1/callbacks/{job_id}"): ({"wait"}, False, {"400", "401", "404"}),
    ("post", "/v1/callbacks/wait"): (set(), True, {"400", "401", "413"}),
    ("get", "/v1/callbacks"): ({"after", "limit", "wait"}, False, {"400", "401"}),
    ("get", "/v1/consumers/{name}"): (set(), False, {"400", "401", "404"}),
    ("post", "/v1/consumers/{name}"): (set(), True, {"400", "401", "413"}),
    ("put", "/v1/consumers/{name}"): (set(), True, {"400", "401", "413"}),
    ("put", "/v1/jobs/{job_id}"): (set(), True, {"400", "401", "413"}),
    ("get", "/v1/jobs/{job_id}"): (set(), False, {"400", "401", "404"}),
    ("get", "/v1/jobs"): ({"key"}, False, {"400", "401"}),
    ("post", "/v1/jobs/{job_id}/abandon"): (set(), False, {"400", "401", "404"}),
    ("post", "/v1/jobs/{job_id}/cost"): (set(), True, {"400", "401", "404", "413"}),
    ("get", "/healthz"): (set(), False, set()),
    ("get", "/metrics"): (set(), False, set()),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BridgeServer, dict[str, Any]]]:
    db = tmp_path_factory.mktemp("openapi") / "bridge.sqlite3"
    with BridgeServer(db_url=f"sqlite:///{db}", max_body=4096, max_wait=1) as bridge:
        answer = httpx.get(f"{bridge.url}/openapi.json")  # no token needed
        assert answer.status_code == 200
        yield bridge, answer.json()


def test_the_document_is_valid_openapi_without_any_secret(served) -> None:
    bridge, doc = served
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    text = json.dumps(doc)
    assert bridge.secret not in text
    assert bridge.token not in text
    assert doc["components"]["securitySchemes"] == {
        "BridgeToken": {"type": "http", "scheme": "bearer", "description": "MAVI_BRIDGE_API_TOKEN"}
    }


def test_every_route_is_documented_with_its_parameters_bodies_and_answers(served) -> None:
    _, doc = served
    app = create_app(BridgeSettings(db_url="sqlite://", callback_secret="s" * 20, api_token="t" * 20))
    routes = {
        (method.lower(), route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
    }
    documented = {(m, p) for p, operations in doc["paths"].items() for m in operations}
    assert documented == routes | {("post", "/callbacks/{secret}")}
    assert documented == set(OPERATIONS)
    for (method, path), (query, has_body, statuses) in OPERATIONS.items():
        operation = doc["paths"][path][method]
        params = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
        in_path = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        assert params == {(n, "path") for n in in_path} | {(n, "query") for n in query}, path
        assert ("requestBody" in operation) == has_body, path
        if has_body:
            assert operation["requestBody"]["content"]["application/json"]["schema"]["required"]
        codes = set(operation["responses"])
        assert codes == {"200", "503", *statuses}, (path, codes)
        secured = path.startswith("/v1/")
        assert ("security" not in operation) == secured, path  # the document's default: the bearer token
        for code, response in operation["responses"].items():
            assert response["description"], (path, code)
            assert response["content"], (path, code)
    assert doc["security"] == [{"BridgeToken": []}]
    job_id = doc["paths"]["/v1/jobs/{job_id}"]["get"]["parameters"][0]["schema"]
    assert (job_id["minLength"], job_id["maxLength"]) == (1, 200)
    listing = {p["name"]: p["schema"] for p in doc["paths"]["/v1/callbacks"]["get"]["parameters"]}
    assert listing["after"] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1, "default": 0}
    assert listing["limit"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    assert listing["wait"]["minimum"] == 0
    name = doc["paths"]["/v1/consumers/{name}"]["get"]["parameters"][0]["schema"]
    assert name["pattern"] == "^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}$"
    put_job = doc["paths"]["/v1/jobs/{job_id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"dag_id", "run_id", "task_id", "map_index", "deadline"} <= set(put_job["properties"])
    assert not [path for path in doc["paths"] if path.startswith("/ui")]  # HTML pages, not the API


def test_the_pages_are_left_out_of_the_document_but_still_refuse_anonymous_requests(served) -> None:
    bridge, doc = served
    assert "/ui/" not in doc["paths"]
    anonymous = httpx.get(f"{bridge.url}/ui/", follow_redirects=False)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("text/html")
    assert httpx.get(f"{bridge.url}/ui/", headers=bridge.headers).status_code == 200


def _resolved(doc: dict[str, Any], schema: Any) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _resolved(doc, doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
        return {k: _resolved(doc, v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_resolved(doc, v) for v in schema]
    return schema


def test_real_answers_conform(served) -> None:
    """One request per route and answer kind; each body validates against the document's schema."""
    bridge, doc = served
    auth = bridge.headers
    base = bridge.url
    calls: list[tuple[str, str, httpx.Response]] = []

    def call(method: str, template: str, url: str, **kwargs: Any) -> httpx.Response:
        answer = httpx.request(method, base + url, timeout=10, **kwargs)
        calls.append((method.lower(), template, answer))
        return answer

    cb = "/callbacks/{secret}"
    assert (
        call("POST", cb, f"/callbacks/{bridge.secret}", json={"task_id": "oa-1", "code": 200}).status_code
        == 200
    )
    call("POST", cb, f"/callbacks/{bridge.secret}", json={"task_id": "oa-1", "code": 200})  # duplicate
    call("POST", cb, f"/callbacks/{bridge.secret}", content=b"{nope")
    call("POST", cb, "/callbacks/wrong-secret-0123456789", json={"task_id": "x"})
    call("POST", cb, f"/callbacks/{bridge.secret}", content=json.dumps({"task_id": "x", "p": "x" * 5000}))
    one = "/v1/callbacks/{job_id}"
    call("GET", one, "/v1/callbacks/oa-1", headers=auth)
    call("GET", one, "/v1/callbacks/missing?wait=0.1", headers=auth)
    call("GET", one, "/v1/callbacks/oa-1?wait=nan", headers=auth)
    call("GET", one, "/v1/callbacks/oa-1")
    wait = "/v1/callbacks/wait"
    call("POST", wait, wait, headers=auth, json={"job_ids": ["oa-1", "none"], "wait": 0})
    call("POST", wait, wait, headers=auth, json={"job_ids": []})
    call("POST", wait, wait, headers=auth, content=b"[" * (9 * 2**20))
    call("POST", wait, wait, json={"job_ids": ["oa-1"]})
    call("GET", "/v1/callbacks", "/v1/callbacks?after=0&limit=5", headers=auth)
    call("GET", "/v1/callbacks", "/v1/callbacks?after=-1", headers=auth)
    call("GET", "/v1/callbacks", "/v1/callbacks", headers={"Authorization": "Bearer wrong"})
    call("GET", "/v1/callbacks", "/v1/callbacks?after=999999&wait=0.1", headers=auth)  # empty after the wait
    call("GET", "/v1/callbacks", "/v1/callbacks?wait=-1", headers=auth)
    consumer = "/v1/consumers/{name}"
    call("GET", consumer, "/v1/consumers/oa-none", headers=auth)
    call("GET", consumer, "/v1/consumers/.hidden", headers=auth)
    call("POST", consumer, "/v1/consumers/oa-c", headers=auth, json={"start": "earliest"})
    call("POST", consumer, "/v1/consumers/oa-c", headers=auth, json={"start": "now"})
    call("POST", consumer, "/v1/consumers/oa-c", headers=auth, content=b"{" * (9 * 2**20))
    call("GET", consumer, "/v1/consumers/oa-c", headers=auth)
    call("PUT", consumer, "/v1/consumers/oa-c", headers=auth, json={"cursor": "1"})
    call("PUT", consumer, "/v1/consumers/oa-c", headers=auth, json={"cursor": str(2**63)})
    call("PUT", consumer, "/v1/consumers/oa-c", headers=auth, content=b" " * (9 * 2**20))
    jobs = "/v1/jobs/{job_id}"
    call(
        "PUT",
        jobs,
        "/v1/jobs/oa-1",
        headers=auth,
        json={"kind": "extract_frames", "asset_id": "re_1", "key": "k"},
    )
    call("PUT", jobs, "/v1/jobs/oa-1", headers=auth, json={"kind": ""})
    call("PUT", jobs, "/v1/jobs/oa-2", headers=auth, content=b" " * (9 * 2**20))
    call("GET", jobs, "/v1/jobs/oa-1", headers=auth)
    call("GET", jobs, "/v1/jobs/none", headers=auth)
    call("GET", jobs, "/v1/jobs/%00", headers=auth)
    call("GET", "/v1/jobs", "/v1/jobs?key=k", headers=auth)
    call("GET", "/v1/jobs", "/v1/jobs", headers=auth)
    call("POST", "/v1/jobs/{job_id}/abandon", "/v1/jobs/oa-1/abandon", headers=auth)
    call("POST", "/v1/jobs/{job_id}/abandon", "/v1/jobs/none/abandon", headers=auth)
    call("POST", "/v1/jobs/{job_id}/abandon", f"/v1/jobs/{'x' * 201}/abandon", headers=auth)
    cost = "/v1/jobs/{job_id}/cost"
    call("POST", cost, "/v1/jobs/oa-1/cost", headers=auth, json={"cost_usd": 0.25})
    call("POST", cost, "/v1/jobs/none/cost", headers=auth, json={"cost_usd": 0.25})
    call("POST", cost, "/v1/jobs/oa-1/cost", headers=auth, json={"cost_usd": -1})
    call("POST", cost, "/v1/jobs/oa-1/cost", headers=auth, content=b" " * (9 * 2**20))
    call(
        "PUT",
        jobs,
        "/v1/jobs/oa-3",
        headers=auth,
        json={
            "kind": "k",
            "asset_id": "a",
            "dag_id": "d",
            "run_id": "r",
            "task_id": "t",
            "map_index": 0,
            "deadline": 2e9,
        },
    )
    call("GET", one, "/v1/callbacks/%01", headers=auth)
    for method, template in OPERATIONS:
        if template.startswith("/v1/"):  # no token: 401
            url = template.replace("{job_id}", "oa-1").replace("{name}", "oa-c")
            call(method.upper(), template, url, json={"job_ids": ["oa-1"]})
    call("GET", "/healthz", "/healthz")
    call("GET", "/metrics", "/metrics")
    seen: set[tuple[str, str, str]] = set()
    for method, template, answer in calls:
        status = str(answer.status_code)
        responses = doc["paths"][template][method]["responses"]
        assert status in responses, (method, template, status, answer.text)
        content = responses[status]["content"]
        media = answer.headers["content-type"].split(";")[0]
        assert media in content, (template, status, media)
        if media == "application/json":
            Draft202012Validator(_resolved(doc, content[media]["schema"])).validate(answer.json())
        seen.add((method, template, status))
    for (method, path), (_, _, statuses) in OPERATIONS.items():
        for status in statuses - {"403"}:  # 403 needs an allow-list, tested in test_operations.py
            assert (method, path, status) in seen, (method, path, status)
