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

__all__ = ["FieldError", "callback_job_id", "callback_outcome", "success_data"]


class FieldError(MaviCallbackError):
    """A missing or malformed field of a payload, named by its dotted path.

    Callback parsers raise it as is (a :class:`MaviCallbackError`); the catalogue turns it into a
    :class:`~airflow_provider_mavi.exceptions.MaviServerError` naming the request when the payload was the
    answer of a sync call (``endpoints.base.answer``).

    :param field: the field's dotted path, e.g. ``data.asset_id``.
    :param problem: what is wrong with it, e.g. ``is missing or not a string``.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"Mavi callback field {field!r} {problem}", field=field)
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.problem), self.__dict__)


def field_error(field: str, problem: str) -> FieldError:
    """The error of a missing or malformed field.

    :param field: the field's dotted path, e.g. ``data.asset_id``.
    :param problem: what is wrong with it, e.g. ``is missing or not a string``.
    """
    return FieldError(field, problem)


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


def any_text(value: object, field: str) -> str:
    """``value`` when it is a string, possibly empty (a word that is a space), else the field's error.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    if not isinstance(value, str):
        raise field_error(field, "is missing or not a string")
    return value


def optional_text(value: object, field: str) -> str | None:
    """``value`` when it is a string (possibly empty), None when it is absent or null, else the field's error.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    if value is not None and not isinstance(value, str):
        raise field_error(field, "is not a string")
    return value


def require_list(value: object, field: str) -> list[Any]:
    """``value`` when it is a list (possibly empty), else the field's error.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    if not isinstance(value, list):
        raise field_error(field, "is missing or not a list")
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


def optional_seconds(value: object, field: str) -> float | None:
    """A duration: None, or a finite number >= 0 (a negative one would turn into a negative price).

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    seconds = optional_number(value, field)
    if seconds is not None and seconds < 0:
        raise field_error(field, f"is negative ({seconds:g} s)")
    return seconds


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


def whole_number(value: object, field: str) -> int:
    """A required non-negative whole number (``143`` or ``143.0``), else the field's error.

    :param value: the field's value.
    :param field: the field's dotted path.
    """
    if value is None:
        raise field_error(field, "is missing")
    return count(value, field)


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
