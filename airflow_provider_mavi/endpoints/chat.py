"""VLM chat over a video: ``POST /vu/chat/completions`` (sync, ``mavi-api.md`` §12.9).

No Mavi envelope (``answer=Answer.JSON``). The model carries its provider prefix (``gemini:``, ``qwen:``,
``nova:``; any other prefix is refused; a model outside the price table is allowed and priced as unknown).
``content`` is always sent as an array (a bare string is rejected by Mavi). The video goes into the first
user message, as the provider documents it:

- Gemini: ``{"type": "input_file", "file_uri": URL, "mime_type": ...}`` (a URL only: no base64 for video);
- Nova: ``{"type": "video_url", "video_url": URL or a data: URI}``;
- Qwen: the video item is not documented, so a video for a ``qwen:`` model is refused.

Structured output from a JSON Schema (``response_schema``): Gemini ``extra_body.metadata.response_mime_type``
+ ``responseSchema`` (converted, :mod:`.schema`), Qwen ``extra_body.metadata.response_format.json_schema``,
Nova a forced tool (``extra_body.metadata.toolConfig``). The call is paid and follows the submit rule; Mavi
states no QPS for it (the model provider's limits apply): it has its own bucket, paced like the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_mavi.endpoints.base import Answer, Endpoint, Kind, answer
from airflow_provider_mavi.endpoints.checks import (
    check_choice,
    check_flag,
    check_number,
    check_text,
    check_url,
    check_whole,
)
from airflow_provider_mavi.endpoints.models import VLM_PROVIDERS
from airflow_provider_mavi.endpoints.schema import check_json_schema, gemini_schema
from airflow_provider_mavi.results import ChatAnswer, parse_chat_answer
from airflow_provider_mavi.results.vlm_models import VLM_PRICE, split_model

__all__ = ["ROLES", "VIDEO_CHAT", "check_vlm_model", "video_chat_body"]

ROLES: tuple[str, ...] = ("system", "user", "assistant")
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATA_URI = re.compile(r"^data:video/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+$")
_STRUCTURED_KEYS = ("response_mime_type", "responseSchema", "response_format", "toolConfig")


def check_vlm_model(model: object) -> tuple[str, str]:
    """``(provider, model name)`` of a ``provider:model`` name with a documented prefix, else ``ValueError``.

    :param model: e.g. ``gemini:gemini-2.5-flash``.
    """
    text = check_text(model, "model")
    provider, name = split_model(text)
    if provider is None or not name or name != name.strip():
        raise ValueError(
            f"model must be '<provider>:<model>' with provider one of {', '.join(VLM_PROVIDERS)} "
            f"(mavi-api.md §12.9), e.g. 'gemini:gemini-2.5-flash', got {model!r}"
        )
    return provider, name


def _video_item(provider: str, video: str, mime_type: str) -> dict[str, Any]:
    if provider == "qwen":
        raise ValueError(
            "Mavi does not document how to send a video to a qwen: model (only images and text are shown): "
            "use a gemini: or nova: model, or give messages= with the content items you know to work"
        )
    if provider == "nova" and isinstance(video, str) and video.startswith("data:"):
        if not _DATA_URI.match(video):
            raise ValueError("video as data must be a 'data:video/<type>;base64,<data>' URI")
        return {"type": "video_url", "video_url": video}
    if isinstance(video, str) and video.startswith("data:"):
        raise ValueError(
            "gemini: models take a video only as a URL: base64 video is not accepted (mavi-api.md §12.11)"
        )
    url = check_url(video, "video")
    if provider == "nova":
        return {"type": "video_url", "video_url": url}
    check_text(mime_type, "mime_type")
    return {"type": "input_file", "file_uri": url, "mime_type": mime_type}


def _messages(prompt: str | None, messages: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    if (prompt is None) == (messages is None):
        raise ValueError(
            "give either prompt (one question) or messages (a conversation), not both or neither"
        )
    if prompt is not None:
        return [{"role": "user", "content": [{"type": "text", "text": check_text(prompt, "prompt")}]}]
    if isinstance(messages, (str, Mapping)) or not isinstance(messages, Sequence) or not messages:
        raise ValueError(f"messages must be a non-empty list of {{role, content}} objects, got {messages!r}")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or set(message) - {"role", "content"}:
            raise ValueError(
                f"messages[{i}] must be an object with 'role' and 'content' only, got {message!r}"
            )
        role = check_choice(message.get("role"), ROLES, f"messages[{i}].role")
        content = message.get("content")
        if isinstance(content, str):  # always an array: Mavi rejects a bare string
            content = [{"type": "text", "text": check_text(content, f"messages[{i}].content")}]
        if not isinstance(content, list) or not content:
            raise ValueError(f"messages[{i}].content must be a string or a non-empty list of content items")
        for j, item in enumerate(content):
            if not isinstance(item, Mapping) or not isinstance(item.get("type"), str):
                raise ValueError(f"messages[{i}].content[{j}] must be an object with a 'type', got {item!r}")
        out.append({"role": role, "content": [dict(item) for item in content]})
    return out


def _structured(provider: str, schema: Mapping[str, Any], name: str) -> dict[str, Any]:
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"schema_name must be 1 to 64 letters, digits, '_' or '-', got {name!r}")
    if provider == "gemini":
        return {"response_mime_type": "application/json", "responseSchema": gemini_schema(schema)}
    if provider == "qwen":
        return {
            "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": dict(schema)}}
        }
    tool = {
        "name": name,
        "description": "Return the answer as JSON that matches this schema.",
        "inputSchema": {"json": dict(schema)},
    }
    return {"toolConfig": {"tools": [{"toolSpec": tool}]}}


def video_chat_body(
    model: str,
    prompt: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    video: str | None = None,
    mime_type: str = "video/mp4",
    response_schema: Mapping[str, Any] | None = None,
    schema_name: str = "answer",
    metadata: Mapping[str, Any] | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    top_p: float | None = None,
    frequency_penalty: float | None = None,
    presence_penalty: float | None = None,
    n: int | None = None,
    stop: str | Sequence[str] | None = None,
    stream: bool = False,
) -> dict[str, Any]:
    """The body of ``/vu/chat/completions``; options left None are not sent (the provider's defaults apply).

    :param model: ``<provider>:<model>``, provider ``gemini``, ``qwen`` or ``nova``.
    :param prompt: one question (a user message), or
    :param messages: a conversation, ``[{role: system|user|assistant, content: str | [items]}]``.
    :param video: the video: an http(s) URL the provider can fetch (Nova also a ``data:video/...;base64,``
        URI); it goes first in the first user message.
    :param mime_type: the video's MIME type (Gemini's ``mime_type``).
    :param response_schema: a JSON Schema the answer must follow (structured output per provider).
    :param schema_name: the schema's name for Qwen's ``json_schema`` and Nova's tool.
    :param metadata: more ``extra_body.metadata`` for the provider (e.g. Gemini's ``thinking_config``).
    :param temperature: 0 to 2.
    :param max_tokens: >= 1.
    :param top_p: 0 to 1.
    :param frequency_penalty: -2 to 2.
    :param presence_penalty: -2 to 2.
    :param n: answers to generate, >= 1 (only the first is read).
    :param stop: a stop string or strings.
    :param stream: must stay False: the streamed answer is not documented.
    """
    provider, _ = check_vlm_model(model)
    if check_flag(stream, "stream"):
        raise ValueError("stream=True is not supported: Mavi does not document the streamed answer")
    conversation = _messages(prompt, messages)
    if video is not None:
        users = [m for m in conversation if m["role"] == "user"]
        if not users:
            raise ValueError("a video needs a user message to go into; messages has none")
        users[0]["content"].insert(0, _video_item(provider, video, mime_type))
    body: dict[str, Any] = {"model": model, "messages": conversation}
    ranges = {
        "temperature": (temperature, 0, 2),
        "top_p": (top_p, 0, 1),
        "frequency_penalty": (frequency_penalty, -2, 2),
        "presence_penalty": (presence_penalty, -2, 2),
    }
    body.update({k: check_number(v, k, lo, hi) for k, (v, lo, hi) in ranges.items() if v is not None})
    if max_tokens is not None:
        body["max_tokens"] = check_whole(max_tokens, "max_tokens", minimum=1)
    if n is not None:
        body["n"] = check_whole(n, "n", minimum=1)
    if stop is not None:
        body["stop"] = (
            check_text(stop, "stop") if isinstance(stop, str) else [check_text(s, "stop") for s in stop]
        )
    extra: dict[str, Any] = dict(metadata or {})
    if response_schema is not None:
        clash = sorted(set(extra) & set(_STRUCTURED_KEYS))
        if clash:
            raise ValueError(
                f"metadata sets {', '.join(clash)}, which response_schema sets: give one of them"
            )
        extra.update(_structured(provider, check_json_schema(response_schema), schema_name))
    if extra:
        body["extra_body"] = {"metadata": extra}
    return body


VIDEO_CHAT: Endpoint[ChatAnswer] = Endpoint(
    "video_chat", "POST", "/vu/chat/completions", Kind.CALL, creates=True, bucket="VLM Chat Completions",
    price=VLM_PRICE, parse=answer(parse_chat_answer),
    body=video_chat_body, answer=Answer.JSON,
)  # fmt: skip
