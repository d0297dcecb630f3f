"""
Pure checks of an incoming callback body: what is stored, or why it is refused.

The rule: whatever the bridge acknowledges, every route can serve. So a body is strict JSON
(:func:`~airflow_provider_mavi.bridge.strict_json.parse_strict`: UTF-8, no ``NaN``/``Infinity``, no number
a double or a 64-bit integer cannot hold, no repeated key, at most 64 levels deep, no lone surrogate), is an
object, and its ``task_id`` can name a job (the bridge hook's rule, no spaces around). Anything else is
a ``400`` that says which rule it broke, and nothing is stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from airflow_provider_mavi.bridge.checks import InvalidInput, check_job_id
from airflow_provider_mavi.bridge.store import IncomingCallback, is_terminal
from airflow_provider_mavi.bridge.strict_json import CANONICAL, JsonRefused, parse_strict


@dataclass(frozen=True)
class Rejection(Exception):
    """
    Why a callback is refused.

    :param status: the HTTP status to answer.
    :param reason: the metric label (``not_json``, ``not_utf8``, ``bad_unicode``, ``too_deep``,
        ``bad_number``, ``duplicate_key``, ``not_object``, ``no_task_id``, ``bad_task_id``, ``too_large``,
        ...).
    :param message: what the sender is told.
    """

    status: int
    reason: str
    message: str

    def __str__(self) -> str:
        return self.message


def canonical_json(value: Any) -> bytes:
    """
    Serialise ``value`` canonically (sorted keys, no spaces, UTF-8); raises ``ValueError`` on lone surrogates
    and on non-finite numbers.

    :param value: a parsed JSON value.
    """
    try:
        return CANONICAL.encode(value).encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError("the body holds a string that is not valid Unicode (a lone surrogate)") from err


def parse_callback(body: bytes, received_at: float) -> IncomingCallback:
    """
    Check a callback body and turn it into what the store writes; raises :class:`Rejection`.

    :param body: the raw body.
    :param received_at: epoch seconds.
    """
    try:
        payload, canonical = parse_strict(body)
    except JsonRefused as refused:
        raise Rejection(400, refused.reason, refused.message) from None
    if not isinstance(payload, dict):
        raise Rejection(400, "not_object", "the body is not a JSON object")
    job_id = payload.get("task_id")
    if not isinstance(job_id, str) or not job_id:
        raise Rejection(400, "no_task_id", "the body has no string task_id")
    try:
        check_job_id(job_id, "task_id")
    except InvalidInput as err:
        raise Rejection(400, "bad_task_id", str(err)) from None
    if job_id != job_id.strip():
        raise Rejection(400, "bad_task_id", "task_id cannot have spaces around it")
    return IncomingCallback(
        job_id=job_id,
        body_sha256=hashlib.sha256(canonical).hexdigest(),
        payload=body,
        terminal=is_terminal(payload),
        received_at=received_at,
    )
