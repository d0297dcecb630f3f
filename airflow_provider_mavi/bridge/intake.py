"""Pure checks of an incoming callback body: what is stored, or why it is refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, NoReturn

from airflow_provider_mavi.bridge.store import JOB_ID_MAX, IncomingCallback, is_terminal


@dataclass(frozen=True)
class Rejection(Exception):
    """
    Why a callback is refused.

    :param status: the HTTP status to answer.
    :param reason: the metric label (``not_json``, ``not_object``, ``no_task_id``, ``too_large``, ...).
    :param message: what the sender is told.
    """

    status: int
    reason: str
    message: str

    def __str__(self) -> str:
        return self.message


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def canonical_json(value: Any) -> bytes:
    """
    Serialise ``value`` canonically (sorted keys, no spaces, UTF-8); raises ``ValueError`` on lone surrogates.

    :param value: a parsed JSON value.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError("the body holds a string that is not valid Unicode") from err


def parse_callback(body: bytes, received_at: float) -> IncomingCallback:
    """
    Check a callback body and turn it into what the store writes; raises :class:`Rejection`.

    :param body: the raw body.
    :param received_at: epoch seconds.
    """
    try:
        payload = json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise Rejection(400, "not_json", "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise Rejection(400, "not_object", "the body is not a JSON object")
    job_id = payload.get("task_id")
    if not isinstance(job_id, str) or not job_id.strip():
        raise Rejection(400, "no_task_id", "the body has no string task_id")
    if len(job_id) > JOB_ID_MAX or job_id != job_id.strip() or "\x00" in job_id:
        raise Rejection(
            400, "no_task_id", f"task_id must be at most {JOB_ID_MAX} characters, without spaces around"
        )
    try:
        canonical = canonical_json(payload)
    except (ValueError, RecursionError):
        raise Rejection(400, "not_json", "the body is not valid UTF-8 JSON") from None
    return IncomingCallback(
        job_id=job_id,
        body_sha256=hashlib.sha256(canonical).hexdigest(),
        payload=body,
        terminal=is_terminal(payload),
        received_at=received_at,
    )
