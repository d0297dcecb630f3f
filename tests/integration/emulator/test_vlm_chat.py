"""VLM chat (sync, no Mavi envelope): answers from measurements of a video the emulator fetches, JSON that
conforms to the caller's schema, and errors as HTTP 200 with ``status: "errored"``."""

from __future__ import annotations

import base64
import json
import shutil
import time

import jsonschema
import pytest

from airflow_provider_mavi.emulator.schemas import from_gemini

PATH = "/vu/chat/completions"
SCENES_SCHEMA = {
    "type": "OBJECT",
    "properties": {
        "summary": {"type": "STRING"},
        "scene_count": {"type": "INTEGER"},
        "scenes": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {
                    "start_seconds": {"type": "NUMBER"},
                    "end_seconds": {"type": "NUMBER"},
                    "description": {"type": "STRING"},
                },
                "required": ["start_seconds", "end_seconds", "description"],
            },
        },
        "has_speech": {"type": "BOOLEAN"},
        "lighting": {"type": "STRING", "enum": ["dark", "dim", "medium", "bright"]},
    },
    "required": ["summary", "scene_count", "scenes", "has_speech", "lighting"],
}


@pytest.fixture
def video_url(file_server, videos):
    base, folder = file_server
    shutil.copy(videos["small"], folder / "clip.mp4")
    return f"{base}/clip.mp4"


def _gemini(url, text="What happens in this video?", **extra):
    return {
        "model": "gemini:gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "You describe videos."},
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "file_uri": url, "mime_type": "video/mp4"},
                    {"type": "text", "text": text},
                ],
            },
        ],
        **extra,
    }


def test_gemini_json_schema_answer_conforms(server, api, video_url):
    metadata = {"response_mime_type": "application/json", "responseSchema": SCENES_SCHEMA}
    answer = api.post(server, PATH, _gemini(video_url, extra_body={"metadata": metadata}))
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"id", "object", "model", "created_at", "status", "choices", "usage", "meta"}
    assert "code" not in body
    assert "msg" not in body
    assert body["id"].startswith("resp_")
    assert body["object"] == "completion"
    assert (body["model"], body["status"]) == ("gemini:gemini-2.5-flash", "completed")
    assert abs(body["created_at"] - time.time()) < 60
    assert body["meta"] == {"provider": "gemini", "provider_model": "gemini-2.5-flash"}
    (choice,) = body["choices"]
    assert choice["index"] == 0
    text = choice["text"]
    assert text.startswith("```json\n")
    assert text.endswith("\n```")
    value = json.loads(text.removeprefix("```json\n").removesuffix("\n```"))
    jsonschema.validate(value, from_gemini(SCENES_SCHEMA))
    assert value["scene_count"] == 3
    assert [(s["start_seconds"], s["end_seconds"]) for s in value["scenes"]] == [
        (0.0, 2.0),
        (2.0, 4.0),
        (4.0, 6.0),
    ]
    assert value["has_speech"] is True
    assert value["lighting"] in ("dark", "dim", "medium")
    usage = body["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    (job,) = server.stats()["jobs"]
    assert (job["kind"], job["model"], job["state"]) == ("vlm_chat", "gemini:gemini-2.5-flash", "succeeded")
    expected = (usage["input_tokens"] * 0.30 + usage["output_tokens"] * 2.5) / 1_000_000
    assert job["cost_usd"] == pytest.approx(expected, abs=2e-6)


def test_gemini_fence_can_be_switched_off(make_server, api, video_url):
    server = make_server(vlm_json_fence=False)
    metadata = {"response_mime_type": "application/json"}  # JSON without a schema: the measured facts
    text = api.post(server, PATH, _gemini(video_url, extra_body={"metadata": metadata})).json()["choices"][0][
        "text"
    ]
    facts = json.loads(text)
    assert facts["duration_seconds"] == pytest.approx(6.0, abs=0.1)
    assert len(facts["scenes"]) == 3
    assert facts["speakers"] == 2
    assert facts["measured_by"] == "mavi-emulator (no model was run)"


def test_plain_answer_is_measured_and_honest(server, api, video_url):
    body = api.post(server, PATH, _gemini(video_url, text="Who is talking?", n=2)).json()
    texts = [c["text"] for c in body["choices"]]
    assert len(texts) == 2
    assert texts[0] == texts[1]
    assert texts[0].startswith("Emulator answer from measurements only (no vision model was run).")
    assert "3 scene(s) (cuts at 2.0 s, 4.0 s)" in texts[0]
    assert '"Who is talking?"' in texts[0]


def test_qwen_json_schema(server, api, video_url):
    schema = {
        "$defs": {
            "Turn": {
                "type": "object",
                "properties": {
                    "start": {"type": "number"},
                    "end": {"type": "number"},
                    "speaker": {"type": "string"},
                },
                "required": ["start", "end", "speaker"],
                "additionalProperties": False,
            }
        },
        "type": "object",
        "properties": {"speech_turns": {"type": "array", "items": {"$ref": "#/$defs/Turn"}}},
        "required": ["speech_turns"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "turns", "schema": schema}}
    request = {
        "model": "qwen:qwen3-vl-plus",
        "messages": [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": video_url}}]}],
        "extra_body": {"metadata": {"response_format": fmt}},
    }
    body = api.post(server, PATH, request).json()
    assert body["status"] == "completed"
    assert body["model"] == "qwen3-vl-plus"  # no prefix in Qwen's answer
    value = json.loads(body["choices"][0]["text"])  # no fence for Qwen
    jsonschema.validate(value, schema)
    assert [(t["start"], t["end"], t["speaker"]) for t in value["speech_turns"]] == [
        (0.0, 1.5, "SPEAKER_00"),
        (2.0, 3.5, "SPEAKER_01"),
        (4.0, 5.5, "SPEAKER_00"),
    ]
    usage = body["usage"]
    assert server.stats()["jobs"][0]["cost_usd"] == pytest.approx(
        (usage["input_tokens"] * 0.00021 + usage["output_tokens"] * 0.00168) / 1000, abs=2e-6
    )


def test_nova_base64_video_and_tool_schema(server, api, videos):
    data_uri = "data:video/mp4;base64," + base64.b64encode(videos["small"].read_bytes()).decode()
    tool = {
        "toolSpec": {
            "name": "report",
            "description": "Report the video's facts",
            "inputSchema": {
                "json": {
                    "type": "object",
                    "properties": {
                        "duration": {"type": "number"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["duration", "tags"],
                }
            },
        }
    }
    request = {
        "model": "nova:us.amazon.nova-lite-v1:0",
        "messages": [{"role": "user", "content": [{"type": "video_url", "video_url": data_uri}]}],
        "extra_body": {"metadata": {"toolConfig": {"tools": [tool]}}},
    }
    body = api.post(server, PATH, request).json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert body["id"].startswith("chatcmpl_")
    assert body["object"] == "chat.completion"
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["role"] == "assistant"
    (call,) = message["tool_calls"]
    assert call["function"]["name"] == "report"
    value = json.loads(call["function"]["arguments"])
    assert value == json.loads(message["content"])
    assert value["duration"] == pytest.approx(6.0, abs=0.1)
    assert "dark blue" in value["tags"] or value["tags"]
    assert set(body["usage"]) == {"prompt_tokens", "output_token", "total_tokens"}  # sic, as documented


def test_max_tokens_cuts_a_plain_answer(server, api, video_url):
    request = {
        "model": "nova:us.amazon.nova-pro-v1:0",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "video_url", "video_url": video_url}, {"type": "text", "text": "Hi"}],
            }
        ],
        "max_tokens": 5,
    }
    choice = api.post(server, PATH, request).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == "Emulator answer from measurements only"  # 5 tokens


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "gemini-2.5-flash"}, "model must carry its provider prefix"),
        ({"model": "gemini:gemini-9"}, "Unsupported model: gemini:gemini-9"),
        ({"model": "qwen:gemini-2.5-flash"}, "Unsupported model"),
        ({"messages": [{"role": "user", "content": "Describe the video"}]}, "Model input cannot be empty"),
        ({"messages": []}, "Model input cannot be empty"),
        (
            {"messages": [{"role": "system", "content": "only a system prompt"}]},
            "Model input cannot be empty",
        ),
        ({"stream": True}, "stream is not supported"),
        ({"n": 0}, "n must be a positive integer"),
        ({"temperature": 3}, "temperature must be a number from 0.0 to 2.0"),
        (
            {"extra_body": {"metadata": {"responseSchema": {"type": "OBJECT"}}}},
            "responseSchema needs response_mime_type application/json",
        ),
        (
            {
                "extra_body": {
                    "metadata": {
                        "response_mime_type": "application/json",
                        "responseSchema": {"type": "INTEGER", "minimum": 5, "maximum": 1},
                    }
                }
            },
            "Invalid response schema",
        ),
    ],
)
def test_errors_are_http_200_errored(server, api, video_url, change, message):
    answer = api.post(server, PATH, {**_gemini(video_url), **change})
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "errored"
    assert body["error"]["code"] == 400
    assert message in body["error"]["message"]
    assert body["choices"] == []
    assert all(j["state"] == "failed" for j in server.stats()["jobs"])
    assert server.stats()["spend_usd"] == 0


def test_video_reference_rules_per_provider(server, api, video_url, file_server):
    data_uri = "data:video/mp4;base64,AAAA"
    gemini_b64 = _gemini(video_url)
    gemini_b64["messages"][1]["content"][0]["file_uri"] = data_uri
    cases = [
        (gemini_b64, "Gemini does not accept base64 video"),
        (
            {
                **_gemini(video_url),
                "messages": [{"role": "user", "content": [{"type": "video_url", "video_url": video_url}]}],
            },
            "Gemini takes video as an input_file item",
        ),
        (
            {
                "model": "nova:us.amazon.nova-lite-v1:0",
                "messages": [{"role": "user", "content": [{"type": "input_file", "file_uri": video_url}]}],
            },
            "Nova takes video as a video_url item",
        ),
        (
            _gemini(file_server[0] + "/missing.mp4"),
            "The video could not be fetched: the URL answered HTTP 404",
        ),
        (_gemini("gs://bucket/video.mp4"), "input_file needs an http(s) URL"),
    ]
    for request, message in cases:
        body = api.post(server, PATH, request).json()
        assert body["status"] == "errored", request
        assert message in body["error"]["message"]
    (file_server[1] / "notes.mp4").write_text("text, not video\n" * 20)
    body = api.post(server, PATH, _gemini(file_server[0] + "/notes.mp4")).json()
    assert body["error"]["message"].startswith("The video could not be decoded")
    assert server.stats()["spend_usd"] == 0


def test_not_json_and_auth(server, api):
    import httpx

    answer = httpx.post(f"{server.base_url}{PATH}", content=b"{nope", headers=api.auth())
    assert answer.status_code == 200
    assert answer.json()["error"] == {"code": 400, "message": "the body must be a JSON object"}
    denied = api.post(server, PATH, _gemini("http://127.0.0.1:9/x.mp4"), key="sk-wrong")
    assert (denied.status_code, denied.json()["msg"]) == (401, "Unauthorized")  # the gate's envelope


def test_rate_limited_like_every_endpoint(make_server, api, video_url):
    server = make_server(qps=1)
    text_only = {
        "model": "gemini:gemini-2.0-flash",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    assert api.post(server, PATH, text_only).json()["status"] == "completed"
    limited = api.post(server, PATH, text_only)
    assert (limited.status_code, limited.json()["msg"]) == (400, "Request has exceeded the limit.")
    assert server.stats()["rate_limited"] == {"POST /vu/chat/completions": 1}
