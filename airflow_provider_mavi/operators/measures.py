"""Read what a user gives an operator: a media duration (for a price), a frame rate (for seconds), a count.

A measurement may come as a number, a rendered template string, or an upstream task's XCom mapping (the
upload's ``media``: ``{"duration_seconds": ...}``, or a probe's ``{"fps": ...}``). Unknown is ``None``;
anything unreadable is refused before a paid job is submitted, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from airflow_provider_mavi.exceptions import MaviOperatorError

__all__ = ["fps_from", "seconds_from", "whole_from"]

_UNKNOWN = {"", "None", "null"}


def _number(value: object, key: str) -> float | None:
    """The number in ``value`` (or its ``key``, for a mapping); None when unknown; NaN when unreadable."""
    if isinstance(value, Mapping):
        value = value.get(key)
    if value is None or (isinstance(value, str) and value.strip() in _UNKNOWN):
        return None
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def seconds_from(value: object, name: str) -> float | None:
    """
    A media duration in seconds, or None when unknown.

    :param value: seconds (a number or a numeric string), ``None``/``""``/``"None"`` for unknown, or a mapping
        with ``duration_seconds`` (what :class:`MaviUploadOperator` pushes under the XCom key ``media``).
    :param name: the operator field's name, for the message.
    :raises MaviOperatorError: for anything else, or a negative or non-finite number.
    """
    seconds = _number(value, "duration_seconds")
    if seconds is not None and (not math.isfinite(seconds) or seconds < 0):
        raise MaviOperatorError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return seconds


def fps_from(value: object, name: str = "fps") -> float | None:
    """
    A video's frame rate, or None when unknown.

    :param value: frames per second (a number or a numeric string), ``None``/``""``/``"None"`` for unknown,
        or a mapping with ``fps``.
    :param name: the operator field's name, for the message.
    :raises MaviOperatorError: for anything else, or a number that is not > 0.
    """
    fps = _number(value, "fps")
    if fps is not None and (not math.isfinite(fps) or fps <= 0):
        raise MaviOperatorError(f"{name} must be a finite number of frames per second > 0, got {value!r}")
    return fps


def whole_from(value: object, name: str, minimum: int = 1) -> int | None:
    """
    A whole number (e.g. seconds per segment), or None when not given.

    :param value: an int, a string of digits (a rendered template), or ``None``/``""``/``"None"``.
    :param name: the operator field's name, for the message.
    :param minimum: the smallest allowed value.
    :raises MaviOperatorError: for anything else, or a number below ``minimum``.
    """
    if value is None or (isinstance(value, str) and value.strip() in _UNKNOWN):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise MaviOperatorError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise MaviOperatorError(f"{name} must be >= {minimum}, got {value!r}")
    return value
