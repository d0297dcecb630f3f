"""Every framework-level refusal is Mavi's error envelope, never Starlette's ``{"detail": ...}`` nor a 500:
unknown paths, wrong methods, bodies over the cap, malformed JSON, wrong content types."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.emulator.testing import EmulatorServer

KEY = "sk-mavi-framework-0123456789"
AUTH = {"Authorization": KEY}
MAX_BODY = 4096
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
JSON_ENDPOINTS = [
    "/upload/signed-url",
    "/video/extract-frames",
    "/video/clip",
    "/video/split",
    "/video/edit",
    "/transcriptions/async-generate-video",
    "/transcriptions/async-generate-audio",
    "/transcriptions/sync-generate-audio",
    "/transcriptions/async-generate-speaker",
    "/transcriptions/sync-generate-speaker",
    "/transcriptions/async-generate-multi-speaker",
    "/transcriptions/async-summary",
    "/transcriptions/speech-to-text",
    "/embeddings/video",
    "/embeddings/text",
]
REQUIRED_MSG = {
    "/upload/signed-url": "original_filename cannot be null or empty",
    "/video/edit": "asset_ids cannot be null or empty",
    "/transcriptions/speech-to-text": "One of asset_id, url or source_url is required",
    "/embeddings/text": "input cannot be null or empty",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings_ = {"qps": 1e6, "max_body_bytes": MAX_BODY, "data_dir": tmp_path_factory.mktemp("framework")}
    with EmulatorServer(api_key=KEY, webhook_url="http://127.0.0.1:9/hook", **settings_) as emulator:
        yield emulator


def framework_envelope(answer: httpx.Response, status: int) -> str:
    """Assert Mavi's envelope with the framework flags; return the message."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"code", "msg", "data", "success", "failed"}, body
    assert (body["code"], body["data"], body["success"], body["failed"]) == (status, None, False, True)
    assert isinstance(body["msg"], str)
    return str(body["msg"])


SEGMENT = st.text(
    st.characters(codec="ascii", categories=["L", "N"]) | st.sampled_from("-_.~"), min_size=1
).filter(
    lambda s: s.strip(".")  # "." and ".." would be resolved away by the client
)


@FUZZ
@given(segments=st.lists(SEGMENT, min_size=3, max_size=5), under_api=st.booleans())
def test_unknown_paths_are_404_envelopes(server, segments, under_api):
    base = server.base_url if under_api else server.root_url + "/nowhere"
    answer = httpx.get(base + "/" + "/".join(segments), headers=AUTH)
    assert framework_envelope(answer, 404) == "Not Found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/upload"),
        ("PUT", "/upload"),
        ("GET", "/video/extract-frames"),
        ("DELETE", "/video/extract-frames"),
        ("PATCH", "/transcriptions/async-generate-video"),
        ("POST", "/re_1/metadata"),
        ("PUT", "/re_1/download"),
        ("GET", "/vu/chat/completions"),
    ],
)
def test_wrong_methods_are_405_envelopes(server, method, path):
    answer = httpx.request(method, server.base_url + path, headers=AUTH)
    assert framework_envelope(answer, 405) == "Method Not Allowed"


def test_admin_wrong_method_and_path(server):
    assert framework_envelope(httpx.post(server.admin_url + "/stats", headers=AUTH), 405)
    assert framework_envelope(httpx.get(server.admin_url + "/nothing", headers=AUTH), 404)


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_bodies_over_the_cap_are_413_declared_or_chunked(server, path):
    body = b'{"asset_id": "' + b"x" * MAX_BODY + b'"}'
    declared = httpx.post(server.base_url + path, content=body, headers=AUTH)
    chunked = httpx.post(server.base_url + path, content=iter([body[:100], body[100:]]), headers=AUTH)
    for answer in (declared, chunked):
        assert framework_envelope(answer, 413) == f"Request body too large: the limit is {MAX_BODY} bytes"
    admin = httpx.put(server.admin_url + "/faults", content=body, headers=AUTH)
    framework_envelope(admin, 413)
    assert server.stats()["jobs"] == []


@FUZZ
@given(
    path=st.sampled_from(JSON_ENDPOINTS),
    body=st.one_of(
        st.binary(max_size=200),
        st.sampled_from([b"{", b'{"asset_id": ', b"[1, 2", b"nul", b'{"a": NaN}', b"\xff\xfe{}", b"{}}"]),
    ),
    content_type=st.sampled_from(["application/json", "text/plain", "application/octet-stream", None]),
)
def test_malformed_json_and_wrong_content_types_get_the_envelope(server, path, body, content_type):
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    answer = httpx.post(server.base_url + path, content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    parsed = answer.json()
    assert "detail" not in parsed
    assert parsed["code"] == 400
    assert parsed["data"] is None
    # A body that is not a JSON object counts as empty: the first required field is missing.
    assert parsed["msg"] == REQUIRED_MSG.get(path, "asset_id cannot be null or empty")
    assert server.stats()["jobs"] == []


def test_vlm_malformed_json_is_an_errored_answer(server):
    answer = httpx.post(server.base_url + "/vu/chat/completions", content=b"{oops", headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["status"] == "errored"
    assert answer.json()["error"] == {"code": 400, "message": "the body must be a JSON object"}


def test_json_to_the_multipart_upload_is_a_400_envelope(server):
    answer = httpx.post(server.base_url + "/upload", json={"file": "clip.mp4"}, headers=AUTH)
    assert answer.status_code == 400
    assert answer.json() == {"code": 400, "msg": "file cannot be null or empty", "data": None}


def test_admin_malformed_json(server):
    for body in (b"{", b"[]", b'{"url": 5}', b'{"url": "ftp://x"}'):
        answer = httpx.put(server.admin_url + "/webhook", content=body, headers=AUTH)
        assert answer.status_code == 400
        assert answer.json()["code"] == 400
    assert server.app.emulator.webhook_url == "http://127.0.0.1:9/hook"


def test_request_validation_and_bugs_are_envelopes_too(tmp_path):
    """The emulator's own routes read raw requests, so FastAPI's 422 and a bare 500 cannot come from
    them; a route with a typed parameter and one that raises, added to a real server, show the app-wide
    answers."""
    emulator = EmulatorServer(api_key=KEY, data_dir=tmp_path)

    async def typed(number: int) -> dict[str, int]:
        return {"number": number}

    async def broken() -> None:
        raise RuntimeError("a bug")

    emulator.app.add_api_route("/probe/{number}", typed)
    emulator.app.add_api_route("/broken", broken)
    with emulator:
        invalid = httpx.get(emulator.root_url + "/probe/not-a-number")
        assert framework_envelope(invalid, 400).startswith("Invalid request: path.number:")
        assert httpx.get(emulator.root_url + "/probe/7").json() == {"number": 7}
        assert framework_envelope(httpx.get(emulator.root_url + "/broken"), 500) == "Internal Server Error"
