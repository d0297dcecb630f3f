"""MaviVideoChatOperator: ask a VLM about a video (``/vu/chat/completions``, sync, no bridge)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.endpoints import VIDEO_CHAT, check_vlm_model
from airflow_provider_mavi.endpoints.schema import check_json_schema
from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.operators.sync import MaviSyncOperator
from airflow_provider_mavi.operators.video_source import (
    DEFAULT_MAX_INLINE_BYTES,
    guess_video_mime,
    video_reference,
)
from airflow_provider_mavi.results import ChatAnswer, ChatAnswerError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider_mavi.endpoints import Endpoint

__all__ = ["CHAT_OPTIONS", "MaviVideoChatOperator"]

#: The request options this operator takes as keyword arguments (``endpoints.video_chat_body``'s).
CHAT_OPTIONS = (
    "schema_name",
    "metadata",
    "temperature",
    "max_tokens",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "n",
    "stop",
)


class MaviVideoChatOperator(MaviSyncOperator):
    """
    Ask a VLM (``gemini:``, ``nova:`` or ``qwen:`` model) about a video and wait for the answer (sync: no
    webhook, no bridge). Priced by the model's token price (mavi-api.md §12.9).

    Returns ``{model, answer_id, status, text, parsed, usage: {input_tokens, output_tokens, total_tokens},
    cost_usd, cost_note}``; with ``response_schema`` (a JSON Schema), ``parsed`` is the answer's JSON,
    validated (a ```` ```json ```` fence stripped); an answer that does not match fails the task with
    ``ChatAnswerError`` naming the paid call and the JSON path. With ``output_path`` (a ``.json`` file, local
    or any ``ObjectStoragePath``) the answer is also written there and the XCom adds ``json_path``.

    ``video`` is an http(s) URL (sent as the model's documented video item), a ``data:video/...;base64,``
    URI, or a local / object-storage file: sent inline to ``nova:`` models (up to ``max_inline_bytes``); for
    other models an object-storage path needs ``presign_expires`` (a presigned URL, made by its filesystem),
    and a local file is refused (Gemini takes no base64 video). None: ``messages`` carry everything.

    :param model: ``<provider>:<model>``, e.g. ``gemini:gemini-2.5-flash``. (templated)
    :param video: the video (see above). (templated)
    :param prompt: one question; or (templated)
    :param messages: a conversation, ``[{role, content}]`` (the video goes first in the first user message).
        (templated)
    :param response_schema: a JSON Schema the answer must follow (structured output), checked at parse time.
    :param mime_type: the video's MIME type; None: from its name, else ``video/mp4``. (templated)
    :param output_path: a ``.json`` file for the answer. (templated)
    :param presign_expires: send an object-storage ``video`` as a URL presigned for this many seconds.
    :param max_inline_bytes: the largest file sent inline to Nova (default 25 MB, Amazon's limit).
    :param mavi_conn_id: the ``mavi`` connection (no bridge needed). (templated)
    :param kwargs: the request options of :data:`CHAT_OPTIONS` (``max_tokens``, ``temperature``,
        ``metadata``...), kept in ``options`` (templated); ``mavi_retry_attempts``, ``mavi_retry_delay`` and
        the ``BaseOperator`` arguments.
    """

    call_kind: ClassVar[str] = "video_chat"
    template_fields: Sequence[str] = (
        "model",
        "video",
        "prompt",
        "messages",
        "mime_type",
        "options",
        "output_path",
        "mavi_conn_id",
    )

    def __init__(
        self,
        *,
        model: str,
        video: str | ObjectStoragePath | None = None,
        prompt: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        response_schema: Mapping[str, Any] | None = None,
        mime_type: str | None = None,
        output_path: str | ObjectStoragePath | None = None,
        presign_expires: int | None = None,
        max_inline_bytes: int = DEFAULT_MAX_INLINE_BYTES,
        mavi_conn_id: str = "mavi_default",
        **kwargs: Any,
    ) -> None:
        options = {name: kwargs.pop(name) for name in list(kwargs) if name in CHAT_OPTIONS}
        super().__init__(mavi_conn_id=mavi_conn_id, **kwargs)
        if (prompt is None) == (messages is None):
            raise ValueError("MaviVideoChatOperator takes either prompt or messages, not both or neither")
        if response_schema is not None:
            check_json_schema(response_schema)
        if presign_expires is not None and not (isinstance(presign_expires, int) and presign_expires > 0):
            raise ValueError(
                f"presign_expires must be a whole number of seconds > 0, got {presign_expires!r}"
            )
        if not isinstance(max_inline_bytes, int) or max_inline_bytes <= 0:
            raise ValueError(f"max_inline_bytes must be a whole number > 0, got {max_inline_bytes!r}")
        self.model = model
        self.video = video
        self.prompt = prompt
        self.messages = messages
        self.response_schema = response_schema
        self.mime_type = mime_type
        self.output_path = output_path
        self.presign_expires = presign_expires
        self.max_inline_bytes = max_inline_bytes
        self.options = options

    def request(self) -> dict[str, Any]:
        """The rendered model, video, question, schema and options (the video as given, never its bytes)."""
        try:
            check_vlm_model(self.model)
        except ValueError as error:
            raise MaviOperatorError(f"{error}. Nothing was sent to Mavi.") from None
        video = None if self.video in (None, "") else str(self.video).strip()
        if self.output_path not in (None, "") and not str(self.output_path).endswith(".json"):
            raise MaviOperatorError(
                f"output_path must be a .json file, got {str(self.output_path)!r}. Nothing was sent to Mavi."
            )
        mime_type = self.mime_type or (guess_video_mime(video) if video else "video/mp4")
        options = {key: value for key, value in dict(self.options or {}).items() if value is not None}
        return {
            "model": self.model,
            "video": video,
            "prompt": self.prompt,
            "messages": self.messages,
            "mime_type": mime_type,
            "response_schema": self.response_schema,
            **options,
        }

    def endpoint(self, request: Mapping[str, Any]) -> Endpoint[Any]:
        """``/vu/chat/completions``.

        :param request: the checked request.
        """
        return VIDEO_CHAT

    def call_params(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The request with ``video`` as it is sent: a URL, a presigned URL or a data URI.

        :param request: the checked request.
        """
        params = dict(request)
        if params["video"] is not None:
            provider, _ = check_vlm_model(params["model"])
            params["video"] = video_reference(
                params["video"],
                provider,
                mime_type=params["mime_type"],
                presign_expires=self.presign_expires,
                max_inline_bytes=self.max_inline_bytes,
            )
        return params

    def checked(self, value: ChatAnswer, request: Mapping[str, Any]) -> ChatAnswer:
        """The answer with ``parsed`` set and validated against ``response_schema`` (when given).

        :param value: the parsed answer.
        :param request: the checked request.
        :raises ChatAnswerError: naming the paid answer, its price and the first JSON path that fails.
        """
        try:
            return value.validated(request.get("response_schema"))
        except ChatAnswerError as error:
            cost = "unknown" if value.cost_usd is None else f"${value.cost_usd:.6f}"
            raise ChatAnswerError(
                f"The paid answer {value.answer_id or '(no id)'} of {value.model or request['model']} (cost "
                f"{cost}) is not the JSON asked for: {error}. The answer is not kept: a retry of this task "
                "asks, and pays, again.",
                status=error.status,
                code=error.code,
                mavi_message=error.mavi_message,
            ) from None

    def document(self, value: ChatAnswer, request: Mapping[str, Any]) -> dict[str, Any]:
        """The answer as JSON.

        :param value: the checked answer.
        :param request: the checked request.
        """
        return value.to_dict()

    def _file(self) -> ObjectStoragePath | None:
        return None if self.output_path in (None, "") else ObjectStoragePath(str(self.output_path))

    def prepare_output(self, request: Mapping[str, Any]) -> None:
        """Create the output file's directory before paying.

        :param request: the checked request.
        """
        target = self._file()
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)

    def write(self, request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
        """Write the answer to ``output_path`` when given; return it (with ``json_path``).

        :param request: the checked request.
        :param answer: the answer document.
        """
        target = self._file()
        if target is None:
            return dict(answer)
        target.write_text(json.dumps(answer, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self.log.info("Wrote the answer to %s", target)
        return {**answer, "json_path": str(target)}
