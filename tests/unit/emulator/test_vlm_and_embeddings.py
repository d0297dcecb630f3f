"""VLM request checks and answer shapes, embeddings and data URIs: pure parts, no server."""

from __future__ import annotations

import base64
import json
import math

import pytest
from PIL import Image

from airflow_provider_mavi.emulator import embeddings, fetch, vlm
from airflow_provider_mavi.emulator.facts import Facts
from airflow_provider_mavi.emulator.media import FrameMeasure
from airflow_provider_mavi.emulator.scenes import VideoScan


def _request(model="gemini:gemini-2.5-flash", content=None, **extra):
    content = content if content is not None else [{"type": "text", "text": "hello"}]
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def test_parse_reads_the_documented_fields():
    item = {"type": "input_file", "file_uri": "https://example.com/v.mp4", "mime_type": "video/mp4"}
    request = vlm.parse(_request(content=[item, {"type": "text", "text": "What?"}], n=2, max_tokens=50))
    assert (request.provider, request.model, request.video, request.n, request.max_tokens) == (
        "gemini",
        "gemini-2.5-flash",
        "https://example.com/v.mp4",
        2,
        50,
    )
    assert vlm.parse(_request("qwen:qwen-vl-max")).max_tokens == 1024  # the provider's default
    nova = vlm.parse(
        _request(
            "nova:amazon.nova-lite-v1:0", [{"type": "video_url", "video_url": "data:video/mp4;base64,AAAA"}]
        )
    )
    assert nova.video == "data:video/mp4;base64,AAAA"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "the body must be a JSON object"),
        (_request(model=None), "model is required"),
        (_request("openai:gpt-4o"), "provider prefix"),
        (_request("nova:gemini-2.5-flash"), "Unsupported model"),
        (_request(content="just a string"), "Model input cannot be empty"),
        (_request(content=[{"type": "image_url", "image_url": "x"}]), "unsupported content item 'image_url'"),
        (
            _request(content=[{"type": "input_file", "file_uri": "https://a/b.mp4"}] * 2),
            "one video per request",
        ),
        (_request(top_p=1.5), "top_p must be a number"),
        (_request(max_tokens=True), "max_tokens must be a positive integer"),
        (_request(extra_body={"metadata": {"response_format": {"type": "json_schema"}}}), None),
        (
            _request(
                "qwen:qwen-vl-max", extra_body={"metadata": {"response_format": {"type": "json_schema"}}}
            ),
            "response_format",
        ),
        (
            _request("nova:us.amazon.nova-pro-v1:0", extra_body={"metadata": {"toolConfig": {"tools": []}}}),
            "toolConfig",
        ),
    ],
)
def test_parse_refuses(body, message):
    if message is None:  # Gemini ignores Qwen's field
        assert vlm.parse(body).schema is None
        return
    with pytest.raises(vlm.VlmError, match=message) as caught:
        vlm.parse(body)
    assert caught.value.code == 400


def test_answer_shapes():
    facts = Facts(duration=2.0)
    for model, keys in (
        (
            "gemini:gemini-2.5-flash",
            {"id", "object", "model", "created_at", "status", "choices", "usage", "meta"},
        ),
        (
            "qwen:qwen3-vl-flash",
            {"id", "object", "model", "created_at", "status", "choices", "usage", "meta"},
        ),
        ("nova:us.amazon.nova-lite-v1:0", {"id", "object", "created", "model", "choices", "usage"}),
    ):
        request = vlm.parse(_request(model))
        text, cut = vlm.answer(request, facts, fence=True)
        body = vlm.completed(
            request, text, cut, (10, 5), ("1b4e28ba-2fa1-41d2-883f-0016d3cca427", 1767093284)
        )
        assert set(body) == keys
    gemini = vlm.completed(vlm.parse(_request()), "hi", False, (10, 5), ("u", 1))
    assert (gemini["id"], gemini["model"]) == ("resp_u", "gemini:gemini-2.5-flash")
    assert gemini["usage"] == {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    qwen = vlm.completed(vlm.parse(_request("qwen:qwen3-vl-flash")), "hi", False, (1, 1), ("u", 1))
    assert (qwen["id"], qwen["model"]) == ("u", "qwen3-vl-flash")
    error = vlm.errored("gemini:x", vlm.VlmError(400, "Model input cannot be empty"), ("u", 1))
    assert (error["status"], error["error"]) == (
        "errored",
        {"code": 400, "message": "Model input cannot be empty"},
    )


def test_json_answers_are_fenced_for_gemini_only():
    metadata = {
        "response_mime_type": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}},
    }
    gemini = vlm.parse(_request(extra_body={"metadata": metadata}))
    assert vlm.answer(gemini, None, fence=True)[0] == '```json\n{"n": 0}\n```'
    assert vlm.answer(gemini, None, fence=False)[0] == '{"n": 0}'
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
    }
    qwen = vlm.parse(_request("qwen:qwen-vl-plus", extra_body={"metadata": {"response_format": fmt}}))
    assert json.loads(vlm.answer(qwen, None, fence=True)[0]) == {"n": 0}


def test_text_vectors():
    one = embeddings.text_vector("A red box moves right")
    assert len(one) == embeddings.TEXT_DIMENSION
    assert math.fsum(v * v for v in one) == pytest.approx(1.0, abs=1e-5)
    assert one == embeddings.text_vector("A red box moves right")
    near = embeddings.text_vector("the red box moving to the right")
    far = embeddings.text_vector("interest rates and bond yields")
    assert embeddings.cosine(one, near) > 0.4 > embeddings.cosine(one, far)
    assert len(embeddings.text_vector("short", 256)) == 256
    assert len(embeddings.text_vector("!!!", 8)) == 8


def _scan(colour, frames=4):
    measure = FrameMeasure(time=0.0, brightness=sum(colour) / 765, colours={}, motion=0.0)
    return VideoScan(
        fps=1.0,
        frame_count=frames,
        width=32,
        height=32,
        duration=float(frames),
        measures=[measure] * frames,
        thumbnails=[Image.new("RGB", (32, 32), colour)] * frames,
    )


def test_video_vectors_follow_the_picture():
    red, darker_red, blue = _scan((200, 30, 30)), _scan((185, 35, 30)), _scan((30, 40, 200))
    v_red, v_dark, v_blue = (embeddings.video_vector(s, None) for s in (red, darker_red, blue))
    assert len(v_red) == embeddings.VIDEO_DIMENSION == 1408
    assert embeddings.cosine(v_red, v_dark) > embeddings.cosine(v_red, v_blue)
    assert embeddings.resample([1.0, 3.0], 5) == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert embeddings.resample([], 3) == [0.0, 0.0, 0.0]


def test_data_uris(tmp_path):
    raw = b"\x00\x01video bytes"
    uri = "data:video/mp4;base64," + base64.b64encode(raw).decode()
    assert fetch.is_data_uri(uri)
    assert not fetch.is_http_url(uri)
    assert fetch.decode_data_uri(uri, tmp_path / "v", max_bytes=100).read_bytes() == raw
    with pytest.raises(fetch.FetchError, match="limit of 4 bytes"):
        fetch.decode_data_uri(uri, tmp_path / "w", max_bytes=4)
    with pytest.raises(fetch.FetchError, match="not valid base64"):
        fetch.decode_data_uri("data:video/mp4;base64,@@@@", tmp_path / "x", max_bytes=100)
    assert fetch.is_http_url("https://example.com/a.mp4")
    assert not fetch.is_http_url("gs://bucket/a.mp4")
    assert not fetch.is_http_url(5)
