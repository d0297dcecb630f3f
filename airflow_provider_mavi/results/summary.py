"""The ``async-summary`` callback (``mavi-api.md`` §12.4): ``data.data.summary`` and ``data.data.usage``.

The usage key is ``usage`` here, not the ``usage_metadata`` of the transcription endpoints. Mavi publishes no
price for summaries, so ``cost_usd`` is always None (with the reason in ``cost_note``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.results.base import Result
from airflow_provider_mavi.results.callback import (
    count,
    optional_seconds,
    optional_text,
    require_mapping,
    require_text,
    success_data,
)
from airflow_provider_mavi.results.prices import SUMMARY_PRICE, Usage, cost_and_note

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["TokenUsage", "VideoSummary", "parse_summary_callback"]


@dataclass(frozen=True)
class TokenUsage:
    """A model's usage as Mavi reports it.

    :param duration_seconds: processing time, seconds.
    :param model: e.g. ``gemini-2.5-flash``.
    :param prompt_tokens: input tokens (0 when not reported).
    :param output_tokens: output tokens (0 when not reported).
    """

    duration_seconds: float | None
    model: str | None
    prompt_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class VideoSummary(Result):
    """What a summary callback reports.

    :param job_id: the Mavi job id.
    :param summary: the summary text.
    :param usage: ``data.data.usage``.
    :param cost_usd: always None (no published price).
    :param cost_note: why.
    """

    job_id: str
    summary: str
    usage: TokenUsage
    cost_usd: float | None
    cost_note: str | None


def parse_summary_callback(payload: Mapping[str, Any]) -> VideoSummary:
    """
    Parse a successful ``async-summary`` callback.

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id, outer = success_data(payload)
    inner = require_mapping(outer.get("data"), "data.data")
    summary = require_text(inner.get("summary"), "data.data.summary")
    raw = inner.get("usage")
    usage = require_mapping({} if raw is None else raw, "data.data.usage")
    parsed = TokenUsage(
        duration_seconds=optional_seconds(usage.get("duration"), "data.data.usage.duration"),
        model=optional_text(usage.get("model"), "data.data.usage.model"),
        prompt_tokens=count(usage.get("prompt_tokens"), "data.data.usage.prompt_tokens"),
        output_tokens=count(usage.get("output_tokens"), "data.data.usage.output_tokens"),
    )
    tokens = Usage(prompt_tokens=parsed.prompt_tokens, output_tokens=parsed.output_tokens)
    cost, note = cost_and_note(SUMMARY_PRICE, tokens, "")
    return VideoSummary(job_id=job_id, summary=summary, usage=parsed, cost_usd=cost, cost_note=note)
