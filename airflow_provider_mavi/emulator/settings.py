"""Settings of one emulator instance (one Mavi account)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from airflow_provider_mavi.emulator.faults import FaultInjector

API_KEY_ENV = "MAVI_EMULATOR_API_KEY"


@dataclass
class EmulatorSettings:
    """Everything an emulator instance can be told at start.

    :param api_key: the account's key, compared with the raw ``Authorization`` header (never logged).
    :param webhook_url: the account-wide webhook; ``None`` until set.
    :param qps: requests allowed per endpoint in any one-second window.
    :param data_dir: where uploads and frames are stored; a temporary folder when ``None``.
    :param seed: seed for ids and fault decisions, for reproducible runs.
    :param frame_interval: seconds between extracted frames.
    :param success_code: ``200`` (integer) or ``"0000"`` (string), in responses and callbacks.
    :param rate_limit_style: answer to an exceeded limit: 400 "Request has exceeded the limit." or 429.
    :param balance_usd: the account's credit; ``None`` means unlimited.
    :param upload_waiting_seconds: time an upload stays ``WAITING``.
    :param upload_processing_seconds: extra time an upload stays ``UPLOADING`` after the probe.
    :param segment_seconds: length of a video description segment.
    :param callback_attempts: deliveries tried per callback (first one included) until a 2xx answer.
    :param callback_backoff: seconds before the first redelivery; doubled each time.
    :param callback_timeout: seconds a webhook may take to answer before the attempt counts as failed.
    :param workers: threads doing media work.
    :param split_seconds: segment length of ``/video/split`` when the request gives no ``segment_seconds``.
    :param fetch_max_bytes: the largest file fetched from a URL (speech-to-text, VLM).
    :param fetch_timeout: seconds a URL fetch may take.
    :param text_embedding_shape: ``array`` (newest docs: ``data`` is ``[{embedding}]``), ``plural``
        (``data.embedding`` for one input, ``data.embeddings`` for several) or ``singular`` (oldest:
        ``data.embedding``; a list of vectors for several inputs).
    :param vlm_json_fence: wrap Gemini's JSON answers in a Markdown ``json`` fence, as Gemini does.
    :param max_upload_bytes: the largest uploaded file (``/upload``, signed URL); larger gets 413. Mavi
        documents no limit for v2; the default is v1's documented 3 GB.
    :param max_body_bytes: the largest body of any other request (JSON); larger gets 413.
    :param faults: initial fault configuration (see :mod:`airflow_provider_mavi.emulator.faults`).
    """

    api_key: str = field(repr=False)
    webhook_url: str | None = None
    qps: float = 1.0
    data_dir: Path | None = None
    seed: int | None = None
    frame_interval: float = 1.0
    success_code: int | str = 200
    rate_limit_style: Literal[400, 429] = 400
    balance_usd: float | None = None
    upload_waiting_seconds: float = 0.0
    upload_processing_seconds: float = 0.0
    segment_seconds: float = 4.0
    callback_attempts: int = 4
    callback_backoff: float = 0.5
    callback_timeout: float = 10.0
    workers: int = 2
    split_seconds: float = 60.0
    fetch_max_bytes: int = 256 * 1024 * 1024
    fetch_timeout: float = 60.0
    text_embedding_shape: Literal["array", "plural", "singular"] = "array"
    vlm_json_fence: bool = True
    max_upload_bytes: int = 3 * 1024**3
    max_body_bytes: int = 64 * 1024**2
    faults: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check values that would make the emulator misbehave silently."""
        if not self.api_key:
            raise ValueError(f"an API key is required (--api-key or {API_KEY_ENV})")
        if self.success_code not in (200, "0000"):
            raise ValueError("success_code must be 200 or '0000'")
        if self.rate_limit_style not in (400, 429):
            raise ValueError("rate_limit_style must be 400 or 429")
        if self.qps <= 0 or self.frame_interval <= 0 or self.segment_seconds <= 0:
            raise ValueError("qps, frame_interval and segment_seconds must be positive")
        if self.split_seconds < 1 or self.fetch_max_bytes < 1 or self.fetch_timeout <= 0:
            raise ValueError("split_seconds must be at least 1; fetch_max_bytes and fetch_timeout positive")
        if self.text_embedding_shape not in ("array", "plural", "singular"):
            raise ValueError("text_embedding_shape must be 'array', 'plural' or 'singular'")
        if self.max_upload_bytes < 1 or self.max_body_bytes < 1:
            raise ValueError("max_upload_bytes and max_body_bytes must be positive")
        if self.callback_attempts < 1 or self.workers < 1:
            raise ValueError("callback_attempts and workers must be at least 1")
        FaultInjector().configure(self.faults)  # raises FaultConfigError (a ValueError) naming the problem
        if self.data_dir is not None:
            self.data_dir = Path(self.data_dir)

    @classmethod
    def names(cls) -> set[str]:
        """Return the names of every setting."""
        return {f.name for f in fields(cls)}

    @classmethod
    def from_env(cls, **overrides: Any) -> EmulatorSettings:
        """Build settings, taking the key from ``MAVI_EMULATOR_API_KEY`` when none is given.

        :param overrides: settings by name.
        """
        if not overrides.get("api_key"):
            overrides["api_key"] = os.environ.get(API_KEY_ENV, "")
        return cls(**overrides)
