"""The served OpenAPI document (``GET /openapi.json``) is valid, lists every route with its parameters and
body fields, and describes the answers real requests get (checked with jsonschema on real flows)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from airflow_provider_mavi.emulator.testing import CallbackReceiver, EmulatorServer

KEY = "sk-mavi-openapi-0123456789"
AUTH = {"Authorization": KEY}
API = "/serve/api/v2"
#: The documented request fields of every Mavi endpoint (mavi-api.md), required ones first.
BODIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "/upload/signed-url": (("original_filename",), ()),
    "/video/extract-frames": (("asset_id",), ()),
    "/video/clip": (("asset_id",), ()),
    "/video/split": (("asset_id",), ("segment_seconds",)),
    "/video/edit": (("asset_ids", "orientation", "user_prompt"), ()),
    "/transcriptions/async-generate-video": (("asset_id", "model"), ()),
    "/transcriptions/async-generate-audio": (("asset_id",), ("model", "speaker")),
    "/transcriptions/sync-generate-audio": (("asset_id",), ("model", "speaker")),
    "/transcriptions/async-generate-speaker": (("asset_id",), ()),
    "/transcriptions/sync-generate-speaker": (("asset_id",), ()),
    "/transcriptions/async-generate-multi-speaker": (("asset_id",), ()),
    "/transcriptions/async-summary": (("asset_id",), ()),
    "/transcriptions/speech-to-text": (
        (),
        ("provider", "asset_id", "url", "source_url", "language_code", "diarize", "timestamps_granularity"),
    ),
    "/vu/chat/completions": (("model", "messages"), ("temperature", "max_tokens", "stream", "extra_body")),
    "/embeddings/video": (("asset_id", "model"), ()),
    "/embeddings/text": (("input", "model"), ("dimensionality",)),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with (
        CallbackReceiver() as receiver,
        EmulatorServer(
            api_key=KEY, webhook_url=receiver.url, qps=1e6, data_dir=tmp_path_factory.mktemp("openapi")
        ) as server,
    ):
        answer = httpx.get(server.root_url + "/openapi.json")  # no key needed
        assert answer.status_code == 200
        yield server, answer.json(), receiver


def test_the_document_is_valid_openapi(served):
    _, doc, _ = served
    validate(doc)
    assert doc["openapi"].startswith("3.1")


def test_every_route_is_documented(served):
    server, doc, _ = served
    routes = {
        (method.lower(), route.path)
        for route in server.app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    documented = {(method, path) for path, operations in doc["paths"].items() for method in operations}
    assert routes == documented
    assert len(documented) == 28


def test_bodies_list_their_fields_with_types(served):
    _, doc, _ = served
    for path, (required, optional) in BODIES.items():
        body = doc["paths"][API + path]["post"]["requestBody"]
        assert body["required"] is True
        schema = body["content"]["application/json"]["schema"]
        assert set(required) | set(optional) <= set(schema["properties"]), path
        assert tuple(schema.get("required", ())) == required, path
        assert all("type" in s or "enum" in s or "anyOf" in s for s in schema["properties"].values()), path
    upload = doc["paths"][API + "/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["required"] == ["file"]
    assert upload["properties"]["file"] == {"type": "string", "format": "binary"}
    signed = doc["paths"]["/signed-upload/{token}"]
    assert set(signed["post"]["requestBody"]["content"]) == {"multipart/form-data"}
    assert set(signed["put"]["requestBody"]["content"]) == {"application/octet-stream"}
    faults = doc["paths"]["/_emulator/faults"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(faults["properties"]) >= {"server_error", "drop_callback", "rate_limit", "callback_delay"}
    webhook = doc["paths"]["/_emulator/webhook"]["put"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert webhook["required"] == ["url"]


def test_parameters_security_and_error_answers(served):
    _, doc, _ = served
    assert doc["components"]["securitySchemes"]["MaviKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "the account's key, raw (no `Bearer ` prefix)",
    }
    assert doc["security"] == [{"MaviKey": []}]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            names = [(p["name"], p["in"]) for p in operation.get("parameters", [])]
            assert names == [(n[1:-1], "path") for n in path.split("/") if n.startswith("{")], path
            responses = operation["responses"]
            assert "422" not in responses
            open_route = path in ("/_emulator/healthz", "/signed-upload/{token}")
            assert (operation.get("security") == []) is open_route, path
            if path.startswith(API):
                assert {"200", "400", "401", "413", "429", "5XX"} <= set(responses), path
                for status in ("400", "401", "413", "429"):
                    schema = responses[status]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/MaviError"}
            elif not open_route:
                assert {"200", "401", "413"} <= set(responses), path
    paid = {p for p, ops in doc["paths"].items() for op in ops.values() if "402" in op["responses"]}
    assert API + "/video/extract-frames" in paid
    assert API + "/{asset_id}/download" in paid
    assert API + "/upload" not in paid
    assert set(doc["components"]["responses"]) == {"NotFound", "MethodNotAllowed"}


class Conformance:
    """Validates real answers with the document's own schemas."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.checked: set[tuple[str, str, str]] = set()

    def check(self, method: str, path: str, answer: httpx.Response) -> Any:
        status = str(answer.status_code)
        responses = self.doc["paths"][path][method]["responses"]
        response = responses.get(status) or responses[status[0] + "XX"]
        media = answer.headers.get("content-type", "").split(";")[0]
        content = response.get("content", {})
        if media not in content:
            assert "*/*" in content, (path, status, media)
            return None
        body = answer.json()
        schema = {**content[media]["schema"], "components": self.doc["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(body))
        assert not errors, (path, status, [e.message for e in errors])
        self.checked.add((method, path, status))
        return body


def test_real_answers_conform(served, videos):
    server, doc, receiver = served
    check = Conformance(doc).check
    client = httpx.Client(base_url=server.root_url, headers=AUTH, timeout=60)
    with videos["small"].open("rb") as handle:
        uploaded = client.post(API + "/upload", files={"file": ("clip.mp4", handle)})
    asset_id = check("post", API + "/upload", uploaded)["data"]["asset_id"]
    while True:
        meta = check("get", API + "/{asset_id}/metadata", client.get(f"{API}/{asset_id}/metadata"))
        if meta["data"]["resource"][0]["upload_status"] == "SUCCESS":
            break
    check("get", API + "/{asset_id}/download", client.get(f"{API}/{asset_id}/download"))
    signed = check(
        "post",
        API + "/upload/signed-url",
        client.post(API + "/upload/signed-url", json={"original_filename": "b.mp4"}),
    )
    assert httpx.put(signed["data"]["signed_url"], content=videos["small"].read_bytes()).status_code == 200
    calls = [
        ("/video/extract-frames", {"asset_id": asset_id}),
        ("/video/split", {"asset_id": asset_id, "segment_seconds": 3}),
        ("/transcriptions/async-generate-video", {"asset_id": asset_id, "model": "gemini-2.5-flash"}),
        ("/transcriptions/sync-generate-audio", {"asset_id": asset_id, "speaker": True}),
        ("/transcriptions/sync-generate-speaker", {"asset_id": asset_id}),
        ("/transcriptions/speech-to-text", {"asset_id": asset_id}),
        (
            "/transcriptions/speech-to-text",
            {"asset_id": asset_id, "provider": "assemblyai", "speaker_labels": True},
        ),
        ("/embeddings/video", {"asset_id": asset_id, "model": "multimodalembedding@001"}),
        (
            "/embeddings/text",
            {"input": ["a cat", "a dog"], "model": "gemini-embedding-001", "dimensionality": 8},
        ),
        (
            "/vu/chat/completions",
            {
                "model": "gemini:gemini-2.5-flash",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            },
        ),
        (
            "/vu/chat/completions",
            {
                "model": "nova:us.amazon.nova-lite-v1:0",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            },
        ),
        ("/vu/chat/completions", {"model": "nobody:model", "messages": []}),
        ("/video/edit", {"asset_ids": [asset_id], "orientation": "sideways", "user_prompt": "x"}),
        ("/video/clip", {}),
    ]
    for path, body in calls:
        check("post", API + path, client.post(API + path, json=body))
    check("get", API + "/{asset_id}/metadata", client.get(f"{API}/re_0/metadata"))
    check("delete", API + "/{asset_id}", client.delete(f"{API}/{asset_id}"))
    check("post", API + "/video/clip", httpx.post(server.base_url + "/video/clip", json={}))  # no key: 401
    for method, path, body in [
        ("get", "/_emulator/healthz", None),
        ("get", "/_emulator/webhook", None),
        ("put", "/_emulator/webhook", {"url": receiver.url}),
        ("put", "/_emulator/faults", {"drop_callback": {"next": 1}}),
        ("get", "/_emulator/faults", None),
        ("put", "/_emulator/faults", {"nope": {}}),
        ("put", "/_emulator/faults", {}),
        ("get", "/_emulator/stats", None),
    ]:
        check(method, path, client.request(method.upper(), path, json=body))
    client.close()
