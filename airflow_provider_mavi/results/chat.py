"""The answer of ``POST /vu/chat/completions`` (``mavi-api.md`` §12.9): no Mavi envelope.

Gemini and Qwen answer ``{id, model, status, choices[].text, usage {input_tokens, output_tokens}}``; Nova
answers OpenAI-style, ``choices[].message.content`` and ``usage {prompt_tokens, output_token}`` (sic). The
text is read from ``choices[0].text``, then ``choices[0].message.content`` (the official examples' order);
for a Nova tool extraction (structured output) from the tool call's input when there is no text (the shape of
that answer is not documented: UNVERIFIED). HTTP 200 with ``status: "errored"`` or an ``error`` object is a
failure (UNVERIFIED, the official examples' reading). The price is the model's token price (tiered by input
tokens); the model is read from the answer (with ``meta.provider`` when ``model`` has no prefix).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_mavi.envelope import error_from_response, parse_envelope
from airflow_provider_mavi.exceptions import MaviError, MaviServerError
from airflow_provider_mavi.results.base import Result
from airflow_provider_mavi.results.callback import (
    count,
    field_error,
    optional_text,
    require_list,
    require_mapping,
)
from airflow_provider_mavi.results.prices import Usage, cost_and_note
from airflow_provider_mavi.results.vlm_models import VLM_PROVIDERS, split_model, vlm_price

__all__ = ["ChatAnswer", "ChatAnswerError", "ChatUsage", "parse_chat_answer", "strip_json_fence"]

_FENCE = re.compile(r"^\s*```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)\n?[ \t]*```\s*$", re.DOTALL)


class ChatAnswerError(MaviServerError):
    """The model's answer is not the JSON asked for: not JSON, or not valid against ``response_schema``.

    :param message: what is wrong, with the JSON path of the first problem.
    :param fields: :class:`~airflow_provider_mavi.exceptions.MaviError`'s keyword arguments.
    """


@dataclass(frozen=True)
class ChatUsage:
    """Tokens of one call, as the answer reports them (None: not reported).

    :param input_tokens: ``input_tokens`` (Gemini, Qwen) or ``prompt_tokens`` (Nova).
    :param output_tokens: ``output_tokens``, or Nova's ``output_token`` (sic).
    :param total_tokens: ``total_tokens``.
    """

    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True)
class ChatAnswer(Result):
    """A VLM answer.

    :param answer_id: the answer's ``id``.
    :param model: the model that answered, with its provider prefix when known.
    :param status: e.g. ``completed`` (Gemini, Qwen); None for Nova.
    :param text: the model's text, as sent (a ```` ```json ```` fence included).
    :param parsed: the JSON value of the text, once :meth:`validated` (None before).
    :param usage: the tokens used.
    :param cost_usd: the model's token price; None when the model or a token count is unknown.
    :param cost_note: why ``cost_usd`` is None.
    """

    answer_id: str | None
    model: str | None
    status: str | None
    text: str
    parsed: Any
    usage: ChatUsage
    cost_usd: float | None
    cost_note: str | None

    def json(self) -> Any:
        """The text read as JSON, without a ```` ```json ```` fence around it.

        :raises ChatAnswerError: when it is not JSON.
        """
        try:
            return json.loads(strip_json_fence(self.text))
        except ValueError as exc:
            raise ChatAnswerError(
                f"The model's answer is not JSON ({exc}); it begins: {self.text[:200]!r}"
            ) from None

    def validated(self, schema: Mapping[str, Any] | None) -> ChatAnswer:
        """This answer with :attr:`parsed` set to its JSON, checked against ``schema``; itself when None.

        :param schema: the JSON Schema the request's ``response_schema`` gave.
        :raises ChatAnswerError: when the text is not JSON or does not validate (the first problem, with its
            JSON path).
        """
        if schema is None:
            return self
        import jsonschema

        value = self.json()
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            raise ChatAnswerError(
                f"The model's JSON does not match response_schema at {error.json_path}: {error.message}"
            )
        return dataclasses.replace(self, parsed=value)


def strip_json_fence(text: str) -> str:
    """``text`` without a Markdown code fence around all of it (Gemini adds one even in JSON mode).

    :param text: the model's text.
    """
    match = _FENCE.match(text)
    return match.group(1) if match else text.strip()


def _failure(body: Mapping[str, Any]) -> MaviError | None:
    error = body.get("error")
    if body.get("status") != "errored" and not error:
        return None
    detail = error if isinstance(error, Mapping) else {}
    code = detail.get("code")
    message = detail.get("message") if isinstance(detail.get("message"), str) else None
    if message is None and isinstance(error, str):
        message = error
    code = code if isinstance(code, (int, str)) and not isinstance(code, bool) else None
    mapped = error_from_response(200, {"code": code, "msg": message})  # the class, from the code
    return type(mapped)(
        f"The model call failed (status {body.get('status')!r}, error code {code!r}): "
        f"{message or 'no message'}. Nothing was parsed.",
        status=200,
        code=code,
        mavi_message=message,
    )


def _content_text(content: list[Any]) -> str | None:
    parts = [p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
    if parts:
        return "".join(parts)
    for part in content:  # a Bedrock-style tool use: {"toolUse": {"input": {...}}} (UNVERIFIED)
        tool = part.get("toolUse") if isinstance(part, Mapping) else None
        if isinstance(tool, Mapping) and "input" in tool:
            return json.dumps(tool["input"])
    return None


def _tool_arguments(message: Mapping[str, Any]) -> str | None:
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:  # OpenAI-style (UNVERIFIED)
        function = call.get("function") if isinstance(call, Mapping) else None
        arguments = function.get("arguments") if isinstance(function, Mapping) else None
        if isinstance(arguments, str):
            return arguments
        if isinstance(arguments, Mapping):
            return json.dumps(arguments)
    return None


def _text_of(choice: Mapping[str, Any]) -> str:
    text = choice.get("text")
    if isinstance(text, str):
        return text
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise field_error("choices[0]", "has neither text nor message.content")
    content = message.get("content")
    found = content if isinstance(content, str) and content else None
    if found is None and isinstance(content, list):
        found = _content_text(content)
    if found is None:
        found = _tool_arguments(message)
    if found is None and isinstance(content, str):
        found = content  # an empty answer
    if found is None:
        raise field_error("choices[0].message.content", "is missing or not a string")
    return found


def _model(body: Mapping[str, Any]) -> str | None:
    model = optional_text(body.get("model"), "model")
    meta = body.get("meta")
    provider = meta.get("provider") if isinstance(meta, Mapping) else None
    if model is None and isinstance(meta, Mapping) and isinstance(meta.get("provider_model"), str):
        model = meta["provider_model"]
    if model and provider in VLM_PROVIDERS and split_model(model)[0] is None:
        return f"{provider}:{model}"
    return model


def parse_chat_answer(body: object) -> ChatAnswer:
    """
    Read a ``/vu/chat/completions`` answer.

    :param body: the JSON body (no Mavi envelope).
    :raises MaviError: the mapped error when the answer reports a failure (``status: "errored"``, ``error``).
    :raises FieldError: naming the missing or malformed field.
    """
    answer = require_mapping(body, "(answer body)")
    envelope = parse_envelope(answer)
    if envelope is not None and "choices" not in answer and not envelope.ok:  # Mavi's own error envelope
        raise error_from_response(200, answer)
    failure = _failure(answer)
    if failure is not None:
        raise failure
    choices = require_list(answer.get("choices"), "choices")
    if not choices:
        raise field_error("choices", "is empty")
    text = _text_of(require_mapping(choices[0], "choices[0]"))
    raw = answer.get("usage")
    usage_map = require_mapping({} if raw is None else raw, "usage")

    def tokens(*keys: str) -> int | None:
        for key in keys:
            if usage_map.get(key) is not None:
                return count(usage_map[key], f"usage.{key}")
        return None

    usage = ChatUsage(
        input_tokens=tokens("input_tokens", "prompt_tokens"),
        output_tokens=tokens("output_tokens", "output_token", "completion_tokens"),
        total_tokens=tokens("total_tokens"),
    )
    model = _model(answer)
    unpriced = (
        "the answer reports no token usage"
        if usage.input_tokens is None or usage.output_tokens is None
        else "the input is beyond the model's documented price tiers"
    )
    tokens_used = Usage(prompt_tokens=usage.input_tokens, output_tokens=usage.output_tokens, model=model)
    cost, note = cost_and_note(vlm_price(model), tokens_used, unpriced)
    return ChatAnswer(
        answer_id=optional_text(answer.get("id"), "id"),
        model=model,
        status=optional_text(answer.get("status"), "status"),
        text=text,
        parsed=None,
        usage=usage,
        cost_usd=cost,
        cost_note=note,
    )
