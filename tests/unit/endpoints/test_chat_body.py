"""The ``/vu/chat/completions`` request: model prefixes, the video item per provider, content always an
array, structured output per provider (Gemini's schema converted from JSON Schema), and every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mavi import endpoints
from airflow_provider_mavi.endpoints.schema import gemini_schema

from .. import mavi_examples as ex

VIDEO = "https://example.com/video.mp4"
SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}


def body(**params: Any) -> dict[str, Any]:
    return endpoints.video_chat_body(**params)


def test_the_documents_gemini_request_is_what_is_built() -> None:
    built = body(
        model="gemini:gemini-2.5-flash",
        video=VIDEO,
        prompt="Summarise this video as JSON.",
        max_tokens=1000,
        response_schema=SCHEMA,
    )
    assert built == ex.VLM_GEMINI_REQUEST


def test_nova_takes_a_video_url_item_and_a_data_uri() -> None:
    built = body(model="nova:us.amazon.nova-lite-v1:0", video=VIDEO, prompt="What happens?")
    assert built["messages"] == [
        {
            "role": "user",
            "content": [{"type": "video_url", "video_url": VIDEO}, {"type": "text", "text": "What happens?"}],
        }
    ]
    data = "data:video/mp4;base64,AAAAGGZ0eXBtcDQy"
    assert body(model="nova:us.amazon.nova-lite-v1:0", video=data, prompt="?")["messages"][0]["content"][
        0
    ] == {
        "type": "video_url",
        "video_url": data,
    }


def test_qwen_refuses_a_video_with_a_clear_message_but_takes_text() -> None:
    with pytest.raises(ValueError, match="does not document how to send a video to a qwen: model"):
        body(model="qwen:qwen3-vl-plus", video=VIDEO, prompt="?")
    assert body(model="qwen:qwen3-vl-plus", prompt="Hello")["model"] == "qwen:qwen3-vl-plus"


def test_string_content_always_becomes_an_array_and_the_video_goes_in_the_first_user_message() -> None:
    built = body(
        model="gemini:gemini-2.5-flash",
        video=VIDEO,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Describe it."},
            {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
            {"role": "user", "content": "Which colour?"},
        ],
    )
    contents = [m["content"] for m in built["messages"]]
    assert all(isinstance(c, list) for c in contents)
    assert contents[0] == [{"type": "text", "text": "You are terse."}]
    assert contents[1][0] == {"type": "input_file", "file_uri": VIDEO, "mime_type": "video/mp4"}
    assert contents[3] == [{"type": "text", "text": "Which colour?"}]


def test_given_messages_are_never_changed() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    body(model="gemini:gemini-2.5-flash", video=VIDEO, messages=messages)
    assert messages == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


def test_options_are_sent_only_when_given() -> None:
    built = body(
        model="gemini:gemini-2.5-flash",
        prompt="?",
        temperature=0,
        top_p=0.9,
        n=1,
        stop=["END"],
        frequency_penalty=-2,
        metadata={"thinking_config": {"thinking_budget": 0}},
    )
    assert {k: v for k, v in built.items() if k not in ("model", "messages")} == {
        "temperature": 0.0,
        "top_p": 0.9,
        "frequency_penalty": -2.0,
        "n": 1,
        "stop": ["END"],
        "extra_body": {"metadata": {"thinking_config": {"thinking_budget": 0}}},
    }
    assert set(body(model="gemini:gemini-2.5-flash", prompt="?")) == {"model", "messages"}


def test_structured_output_per_provider() -> None:
    qwen = body(model="qwen:qwen3-vl-plus", prompt="?", response_schema=SCHEMA, schema_name="summary")
    assert qwen["extra_body"] == {
        "metadata": {
            "response_format": {"type": "json_schema", "json_schema": {"name": "summary", "schema": SCHEMA}}
        }
    }
    nova = body(model="nova:us.amazon.nova-pro-v1:0", prompt="?", response_schema=SCHEMA)
    (tool,) = nova["extra_body"]["metadata"]["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "answer"
    assert tool["toolSpec"]["inputSchema"] == {"json": SCHEMA}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"model": "gemini-2.5-flash"},
            "model must be '<provider>:<model>' with provider one of gemini, qwen, nova",
        ),
        ({"model": "openai:gpt-5"}, "provider one of gemini, qwen, nova"),
        ({"model": "gemini:"}, "provider one of gemini, qwen, nova"),
        ({"model": ""}, "model must be a non-empty string"),
        ({"prompt": None}, "give either prompt .* or messages .*, not both or neither"),
        ({"messages": [{"role": "user", "content": "x"}]}, "not both or neither"),
        ({"prompt": " "}, "prompt must be a non-empty string"),
        (
            {"video": "ftp://host/v.mp4"},
            "video must be an absolute https:// or http:// URL, got a ftp:// URL",
        ),
        (
            {"video": "data:video/mp4;base64,AAAA"},
            "gemini: models take a video only as a URL: base64 video is not",
        ),
        (
            {"video": "data:text/plain;base64,AAAA", "model": "nova:us.amazon.nova-pro-v1:0"},
            "data:video/<type>",
        ),
        ({"mime_type": ""}, "mime_type must be a non-empty string"),
        ({"temperature": 2.5}, "temperature must be a number from 0 to 2, got 2.5"),
        ({"top_p": -0.1}, "top_p must be a number from 0 to 1"),
        ({"presence_penalty": 3}, "presence_penalty must be a number from -2 to 2"),
        ({"max_tokens": 0}, "max_tokens must be a whole number >= 1, got 0"),
        ({"n": 1.5}, "n must be a whole number >= 1"),
        ({"stop": [""]}, "stop must be a non-empty string"),
        ({"stream": True}, "stream=True is not supported: Mavi does not document the streamed answer"),
        (
            {"response_schema": {"type": "object"}, "schema_name": "my schema"},
            "schema_name must be 1 to 64 letters",
        ),
        ({"response_schema": SCHEMA, "metadata": {"responseSchema": {}}}, "metadata sets responseSchema"),
    ],
)
def test_refusals(params: dict[str, Any], message: str) -> None:
    good = {"model": "gemini:gemini-2.5-flash", "prompt": "What happens?", "video": VIDEO}
    with pytest.raises(ValueError, match=message):
        body(**{**good, **params})


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ("hello", "messages must be a non-empty list of"),
        ([], "messages must be a non-empty list of"),
        ({"role": "user", "content": "x"}, "messages must be a non-empty list of"),
        (
            [{"role": "tool", "content": "x"}],
            r"messages\[0\].role must be one of 'system', 'user', 'assistant'",
        ),
        (
            [{"role": "user", "content": "x", "name": "bob"}],
            r"messages\[0\] must be an object with 'role' and 'content' only",
        ),
        ([{"role": "user", "content": []}], r"messages\[0\].content must be a string or a non-empty list"),
        (
            [{"role": "user", "content": [{"text": "x"}]}],
            r"messages\[0\].content\[0\] must be an object with a 'type'",
        ),
        ([{"role": "system", "content": "x"}], "a video needs a user message to go into"),
    ],
)
def test_message_refusals(messages: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        body(model="gemini:gemini-2.5-flash", messages=messages, video=VIDEO)


# ------------------------------------------------------------------------------------------ schemas


def test_a_json_schema_becomes_geminis_response_schema() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Scene report",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "summary": {"type": "string", "description": "one sentence", "maxLength": 200},
            "mood": {"type": ["string", "null"], "enum": ["calm", "tense", None]},
            "people": {"type": "integer", "minimum": 0},
            "scenes": {
                "type": "array",
                "maxItems": 10,
                "items": {"properties": {"start": {"type": "number"}}, "required": ["start"]},
            },
            "outdoor": {"type": "boolean"},
        },
        "required": ["summary", "people"],
    }
    with pytest.raises(ValueError, match=r"Gemini's enums are lists of strings; \$.mood.enum"):
        gemini_schema(schema)
    schema["properties"]["mood"] = {"type": ["string", "null"], "enum": ["calm", "tense"]}  # type: ignore[index]
    assert gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {
            "summary": {"type": "STRING", "description": "one sentence"},
            "mood": {"type": "STRING", "nullable": True, "enum": ["calm", "tense"]},
            "people": {"type": "INTEGER", "minimum": 0},
            "scenes": {
                "type": "ARRAY",
                "maxItems": 10,
                "items": {
                    "type": "OBJECT",
                    "properties": {"start": {"type": "NUMBER"}},
                    "required": ["start"],
                },
            },
            "outdoor": {"type": "BOOLEAN"},
        },
        "required": ["summary", "people"],
    }


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {}},
            r"cannot express '\$defs'",
        ),
        (
            {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}]}}},
            r"cannot express 'anyOf' \(at \$.a\)",
        ),
        ({"type": "string", "const": "x"}, "cannot express 'const'"),
        ({"type": ["string", "integer"]}, r"one type per value; \$ allows \['string', 'integer'\]"),
        ({"description": "no type"}, r"\$ needs a 'type' Gemini knows"),
        ({"type": "array", "items": [{"type": "string"}]}, "not a valid JSON Schema"),
    ],
)
def test_schemas_gemini_cannot_express_are_refused_before_sending(
    schema: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        body(model="gemini:gemini-2.5-flash", prompt="?", response_schema=schema)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "objekt"}, "response_schema is not a valid JSON Schema at type"),
        ({"type": "object", "required": "summary"}, "response_schema is not a valid JSON Schema at required"),
        ({}, "response_schema must be a JSON Schema object"),
        ("summary: str", "response_schema must be a JSON Schema object"),
    ],
)
def test_an_invalid_json_schema_is_refused_for_every_provider(schema: Any, message: str) -> None:
    for model in ("gemini:gemini-2.5-flash", "qwen:qwen3-vl-plus", "nova:us.amazon.nova-pro-v1:0"):
        with pytest.raises(ValueError, match=message):
            body(model=model, prompt="?", response_schema=schema)
