"""What every Mavi callback has: a ``task_id`` (the job id), a ``code`` and a message; and the field readers
every callback parser shares, which name the missing or malformed field in their error.

The callback envelope is ``{code, message, data, task_id}`` (``mavi-api.md`` §5): the success ``code`` is
``200``, ``"200"`` or ``"0000"`` (the codes of answers too:
:data:`~airflow_provider_mavi.envelope.SUCCESS_CODES`); the message key is ``message`` in callbacks and
``msg`` elsewhere; transcripts carry a second, inner ``data.success`` flag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from airflow_provider_mavi.envelope import is_success_code
from airflow_provider_mavi.exceptions import MaviCallbackError

__all__ = ["callback_job_id", "callback_outcome", "success_data"]


def field_error(field: str, problem: str) -> MaviCallbackError:
    """The error of a missing or malformed callback field.

    :param field: the field's dotted path, e.g. ``data.asset_id``.
    :param problem: what is wrong with it, e.g. ``is missing or not a string``.
    """
    return MaviCallbackError(f"Mavi callback field {field!r} {problem}", field=field)


def require_mapping(value: object, field: str) -> Mapping[str, Any]:
    """``value`` when it is an object, else the field's error.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    if not isinstance(value, Mapping):
        raise field_error(field, "is missing or not an object")
    return value


def require_text(value: object, field: str) -> str:
    """``value`` when it is a non-empty string, else the field's error.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    if not isinstance(value, str) or not value:
        raise field_error(field, "is missing or not a string")
    return value


def number(value: object, field: str) -> float:
    """``value`` as a float when it is a finite number (not a bool), else the field's error.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise field_error(field, "is missing or not a finite number")
    return float(value)


def optional_number(value: object, field: str) -> float | None:
    """Like :func:`number`, but None stays None.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    return None if value is None else number(value, field)


def count(value: object, field: str) -> int:
    """A non-negative whole number (None counts as 0), else the field's error.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise field_error(field, "is not a non-negative whole number")
    return int(value)


def _message_of(envelope: Mapping[str, Any]) -> str | None:
    for key in ("message", "msg"):
        value = envelope.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def callback_outcome(payload: Mapping[str, Any]) -> tuple[bool, str]:
    """
    Tell whether a callback reports success, and return Mavi's message.

    A callback succeeded when its ``code`` is a success code, it is not marked ``failed``, and an inner
    ``data.success`` flag, when present, is not false. The message is the callback's ``message`` (or
    ``msg``); for a failure reported only by the inner flag, the inner ``data.msg``.

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: when the payload is not an object or carries no ``code``.
    """
    envelope = require_mapping(payload, "(callback body)")
    if "code" not in envelope:
        raise field_error("code", "is missing")
    code = envelope["code"]
    message = _message_of(envelope)
    succeeded = is_success_code(code) and envelope.get("failed") is not True
    if envelope.get("success") is False:
        succeeded = False
    data = envelope.get("data")
    if isinstance(data, Mapping) and data.get("success") is False:
        succeeded = False
        message = _message_of(data) or message
    if message is None:
        message = "SUCCESS" if succeeded else f"no message (code {code!r})"
    return succeeded, message


def callback_job_id(payload: Mapping[str, Any]) -> str:
    """
    Return the Mavi job id (the callback's ``task_id``).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: when ``task_id`` is missing or not a non-empty string.
    """
    return require_text(require_mapping(payload, "(callback body)").get("task_id"), "task_id")


def success_data(payload: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """
    Return the job id and the ``data`` object of a callback that reports success (every parser starts here).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: when the callback is malformed, has no ``data`` object, or reports a failure.
    """
    job_id = callback_job_id(payload)
    succeeded, message = callback_outcome(payload)
    if not succeeded:
        raise MaviCallbackError(f"Mavi reported a failed job: {message}", mavi_message=message, job_id=job_id)
    return job_id, require_mapping(payload.get("data"), "data")
