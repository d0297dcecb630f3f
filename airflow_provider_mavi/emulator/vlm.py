"""``/vu/chat/completions``: the request's checks and the answer's shapes (``mavi-api.md`` §12.9). Pure.

Errors are answered as the official examples report them (UNVERIFIED): HTTP 200 with
``status: "errored"`` and ``error: {code, message}``; ``code`` is an HTTP-like integer (400 bad input, 402
balance). The answer is built from measurements (``facts.py``); with a JSON schema it is a value that
conforms (``schema_values.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_mavi.emulator import describe, facts, schema_values
from airflow_provider_mavi.emulator.fetch import is_data_uri, is_http_url
from airflow_provider_mavi.emulator.prices import VLM_PRICES
from airflow_provider_mavi.emulator.schemas import SchemaError, from_gemini

EMPTY_INPUT = "Model input cannot be empty"
ROLES = ("system", "user", "assistant")
_MODEL_FAMILY = {"gemini": ("gemini-",), "qwen": ("qwen",), "nova": ("us.amazon.nova-", "amazon.nova-")}
_RANGES = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}
_DEFAULT_MAX_TOKENS = {"gemini": 1000, "qwen": 1024, "nova": 1000}


class VlmError(Exception):
    """A request answered with ``status: "errored"``.

    :param code: the error's code (HTTP-like).
    :param message: the error's message.
    """

    def __init__(self, code: int, message: str) -> None:
        """Keep the code and the message."""
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ChatRequest:
    """What a valid request asks for."""

    provider: str
    model: str
    full_model: str
    text: str
    question: str
    video: str | None
    n: int
    max_tokens: int
    schema: dict[str, Any] | None
    json_mode: bool
    tool_name: str | None


def _model(value: Any) -> tuple[str, str]:
    """Split and check ``<provider>:<model>``.

    :param value: the ``model`` field.
    :raises VlmError: when it is missing, unprefixed or not in the documented table.
    """
    if not isinstance(value, str) or not value.strip():
        raise VlmError(400, "model is required")
    provider, colon, name = value.partition(":")
    if not colon or provider not in _MODEL_FAMILY:
        raise VlmError(400, f"model must carry its provider prefix (gemini:, qwen: or nova:), got {value!r}")
    if name not in VLM_PRICES or not name.startswith(_MODEL_FAMILY[provider]):
        raise VlmError(400, f"Unsupported model: {value}")
    return provider, name


def _video_of(item: dict[str, Any], provider: str) -> str:
    """Return the video reference of a content item, checked for the provider.

    :param item: an ``input_file`` or ``video_url`` item.
    :param provider: ``gemini``, ``qwen`` or ``nova``.
    :raises VlmError: when the provider does not take this item or this kind of reference.
    """
    kind = item["type"]
    if kind == "input_file":
        if provider == "nova":
            raise VlmError(400, "Nova takes video as a video_url item")
        reference = item.get("file_uri")
    else:
        if provider == "gemini":
            raise VlmError(400, "Gemini takes video as an input_file item with file_uri")
        reference = item.get("video_url")
        if isinstance(reference, dict):
            reference = reference.get("url")
    if is_data_uri(reference):
        if provider == "gemini":
            raise VlmError(400, "Gemini does not accept base64 video; give a file URL in file_uri")
        return str(reference)
    if not is_http_url(reference):
        raise VlmError(
            400, f"{kind} needs an http(s) URL" + ("" if provider == "gemini" else " or a base64 data URI")
        )
    return str(reference)


def _content(messages: Any, provider: str) -> tuple[str, str, str | None]:
    """Check the messages; return all their text, the user's text and the video reference (at most one).

    :param messages: the ``messages`` field.
    :param provider: the provider.
    :raises VlmError: ``Model input cannot be empty`` for a missing, empty or string user content.
    """
    if not isinstance(messages, list) or not messages:
        raise VlmError(400, EMPTY_INPUT)
    texts: list[str] = []
    asked: list[str] = []
    videos: list[str] = []
    has_user = False
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise VlmError(400, "each message needs a role: system, user or assistant")
        content = message.get("content")
        if message["role"] == "system" and isinstance(content, str):
            texts.append(content)  # system messages may be strings (UNVERIFIED practice)
            continue
        if not isinstance(content, list) or not content:
            raise VlmError(400, EMPTY_INPUT)
        has_user = has_user or message["role"] == "user"
        for item in content:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == "text" and isinstance(item.get("text"), str):
                texts.append(item["text"])
                if message["role"] == "user":
                    asked.append(item["text"])
            elif kind in ("input_file", "video_url"):
                videos.append(_video_of(item, provider))
            else:
                raise VlmError(
                    400, f"unsupported content item {kind!r}: the emulator takes text and video items"
                )
    if not has_user:
        raise VlmError(400, EMPTY_INPUT)
    if len(videos) > 1:
        raise VlmError(400, "the emulator takes one video per request")
    return "\n".join(texts), "\n".join(asked), (videos[0] if videos else None)


def _output(provider: str, body: dict[str, Any]) -> tuple[dict[str, Any] | None, bool, str | None]:
    """Return the structured-output request: ``(schema, json without a schema, Nova tool name)``.

    :param provider: the provider.
    :param body: the request body.
    :raises VlmError: when the structured-output fields are malformed.
    """
    extra = body.get("extra_body") or {}
    metadata = extra.get("metadata") if isinstance(extra, dict) else None
    if metadata is None:
        return None, False, None
    if not isinstance(metadata, dict):
        raise VlmError(400, "extra_body.metadata must be an object")
    try:
        if provider == "gemini":
            mime = metadata.get("response_mime_type")
            schema = metadata.get("responseSchema", metadata.get("response_schema"))
            if mime not in (None, "text/plain", "application/json", "json_schema"):
                raise VlmError(400, f"unsupported response_mime_type {mime!r}")
            if schema is not None and mime not in ("application/json", "json_schema"):
                raise VlmError(400, "responseSchema needs response_mime_type application/json")
            if schema is not None and not isinstance(schema, dict):
                raise VlmError(400, "responseSchema must be an object")
            return (
                (from_gemini(schema) if schema else None),
                mime in ("application/json", "json_schema"),
                None,
            )
        if provider == "qwen":
            fmt = metadata.get("response_format")
            if fmt is None or fmt == {"type": "text"}:
                return None, False, None
            if isinstance(fmt, dict) and fmt.get("type") == "json_object":
                return None, True, None
            schema = (fmt.get("json_schema") or {}).get("schema") if isinstance(fmt, dict) else None
            if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(schema, dict):
                raise VlmError(
                    400, "response_format must be {type: json_schema, json_schema: {name, schema}}"
                )
            return schema, True, None
        return _nova_tool(metadata.get("toolConfig"))
    except SchemaError as exc:
        raise VlmError(400, f"Invalid response schema: {exc}") from exc


def _nova_tool(config: Any) -> tuple[dict[str, Any] | None, bool, str | None]:
    """Return the schema of the tool Nova is asked to fill (the chosen one, else the first).

    :param config: ``extra_body.metadata.toolConfig``.
    :raises VlmError: when it is malformed.
    """
    if config is None:
        return None, False, None
    tools = config.get("tools") if isinstance(config, dict) else None
    specs = [
        t["toolSpec"] for t in tools or [] if isinstance(t, dict) and isinstance(t.get("toolSpec"), dict)
    ]
    if not specs or not isinstance(config, dict) or not all(isinstance(s.get("name"), str) for s in specs):
        raise VlmError(400, "toolConfig.tools[] needs toolSpec {name, description, inputSchema: {json}}")
    chosen = config.get("toolChoice")
    tool = chosen.get("tool") if isinstance(chosen, dict) else None
    name = tool.get("name") if isinstance(tool, dict) else None
    spec = next((s for s in specs if s["name"] == name), specs[0])
    inputs = spec.get("inputSchema")
    schema = inputs.get("json") if isinstance(inputs, dict) else None
    if not isinstance(schema, dict):
        raise VlmError(400, "toolSpec.inputSchema.json must be a JSON schema object")
    return schema, True, spec["name"]


def parse(body: Any) -> ChatRequest:
    """Check a request in this order: model, messages and content, sampling fields, structured output.

    :param body: the parsed JSON body.
    :raises VlmError: at the first problem.
    """
    if not isinstance(body, dict):
        raise VlmError(400, "the body must be a JSON object")
    provider, name = _model(body.get("model"))
    text, question, video = _content(body.get("messages"), provider)
    for field_name, (low, high) in _RANGES.items():
        value = body.get(field_name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high
        ):
            raise VlmError(400, f"{field_name} must be a number from {low} to {high}")
    n = body.get("n", 1)
    max_tokens = body.get("max_tokens", _DEFAULT_MAX_TOKENS[provider])
    for field_name, value in (("n", n), ("max_tokens", max_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise VlmError(400, f"{field_name} must be a positive integer")
    if body.get("stream") is True:
        raise VlmError(400, "stream is not supported by the emulator (its format is not documented)")
    schema, json_mode, tool = _output(provider, body)
    return ChatRequest(
        provider, name, body["model"], text, question, video, n, max_tokens, schema, json_mode, tool
    )


def answer(request: ChatRequest, found: facts.Facts | None, *, fence: bool) -> tuple[str, bool]:
    """Return the answer text and whether it was cut at ``max_tokens``.

    :param request: the request.
    :param found: the video's measurements, or ``None`` when no video was given.
    :param fence: wrap Gemini JSON in a Markdown ``json`` fence (as Gemini does).
    :raises VlmError: when the schema cannot be satisfied.
    """
    if request.schema is not None or request.json_mode:
        measured = found or facts.Facts(duration=0.0)
        try:
            value = schema_values.generate(request.schema, measured) if request.schema else measured.as_json()
        except SchemaError as exc:
            raise VlmError(400, f"Invalid response schema: {exc}") from exc
        text = json.dumps(value, ensure_ascii=False)
        return (f"```json\n{text}\n```" if fence and request.provider == "gemini" else text), False
    question = " ".join(request.question.split())
    if len(question) > 200:
        question = question[:199] + "…"
    if found is None:
        text = (
            "No video was given, and the emulator answers only with measurements of a video "
            f'(no model was run). Your question was: "{question}".'
        )
    else:
        scenes = "; ".join(f"{s.index + 1}) {s.start:.1f}-{s.end:.1f} s" for s in found.scenes)
        text = (
            "Emulator answer from measurements only (no vision model was run). "
            f"{facts.visual_sentence(found) if found.has_video else ''} {facts.audio_sentence(found)} "
            f'Scenes: {scenes or "none"}. Your question was: "{question}"; the emulator cannot answer it '
            "beyond these measurements."
        )
        text = " ".join(text.split())
    return _cut(text, request.max_tokens)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """Cut a text after ``limit`` tokens (as counted for billing).

    :param text: the text.
    :param limit: the most tokens allowed.
    """
    tokens = list(re.finditer(r"\w+|[^\w\s]", text))
    if len(tokens) <= limit:
        return text, False
    return text[: tokens[limit - 1].end()], True


def usage_tokens(
    request: ChatRequest, found: facts.Facts | None, measures_text: str, text: str
) -> tuple[int, int]:
    """Return ``(input tokens, output tokens)``: the messages plus the measurements read, and the answer.

    :param request: the request.
    :param found: the measurements (``None``: no video).
    :param measures_text: the measurement text the emulator "reads" for the video.
    :param text: the answer.
    """
    read = describe.count_tokens(request.text) + (describe.count_tokens(measures_text) if found else 0)
    return read, describe.count_tokens(text) * request.n


def completed(
    request: ChatRequest, text: str, cut: bool, tokens: tuple[int, int], ids: tuple[str, int]
) -> dict[str, Any]:
    """Return the successful answer in the provider's shape (never the Mavi envelope).

    :param request: the request.
    :param text: the answer.
    :param cut: whether it was cut at ``max_tokens``.
    :param tokens: ``(input, output)`` tokens.
    :param ids: ``(a UUID, Unix seconds)`` for the answer's id and time.
    """
    uid, now = ids
    inputs, outputs = tokens
    if request.provider == "nova":
        message: dict[str, Any] = {"role": "assistant", "content": text}
        reason = "length" if cut else "stop"
        if request.tool_name is not None:
            call = {"name": request.tool_name, "arguments": text}
            message["tool_calls"] = [
                {"id": f"tooluse_{uid.replace('-', '')[:22]}", "type": "function", "function": call}
            ]
            reason = "tool_calls"
        return {
            "id": f"chatcmpl_{uid.replace('-', '')}",
            "object": "chat.completion",
            "created": now,
            "model": request.full_model,
            "choices": [{"index": i, "message": message, "finish_reason": reason} for i in range(request.n)],
            "usage": {"prompt_tokens": inputs, "output_token": outputs, "total_tokens": inputs + outputs},
        }
    return {
        "id": f"resp_{uid}" if request.provider == "gemini" else uid,
        "object": "completion",
        "model": request.full_model if request.provider == "gemini" else request.model,
        "created_at": now,
        "status": "completed",
        "choices": [{"text": text, "index": i} for i in range(request.n)],
        "usage": {"input_tokens": inputs, "output_tokens": outputs, "total_tokens": inputs + outputs},
        "meta": {"provider": request.provider, "provider_model": request.model},
    }


def errored(model: Any, error: VlmError, ids: tuple[str, int]) -> dict[str, Any]:
    """Return an error answer: HTTP 200, ``status: "errored"``, ``error: {code, message}``.

    :param model: the requested ``model`` (echoed when it is a string).
    :param error: the error.
    :param ids: ``(a UUID, Unix seconds)``.
    """
    uid, now = ids
    return {
        "id": f"resp_{uid}",
        "object": "completion",
        "model": model if isinstance(model, str) else None,
        "created_at": now,
        "status": "errored",
        "error": {"code": error.code, "message": error.message},
        "choices": [],
    }
