"""
Pure checks of what the bridge is asked: job ids, text fields and the numbers of query strings.

Each check returns the value or raises :class:`InvalidInput`, whose message is what the client is told (a
``400 {"detail": message}``). The job id rule is the bridge hook's (``hooks.bridge_protocol.check_job_id``,
kept equal by ``tests/unit/bridge/test_checks.py``): an id the hook sends is never refused here, and an id
refused here can never name a stored callback, because the intake refuses it as a ``task_id`` too.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from airflow_provider_mavi.bridge.store.records import JOB_ID_MAX
from airflow_provider_mavi.bridge.store.schema import CONSUMER_NAME_MAX

#: The largest list cursor: the ``seq`` column is a signed 64-bit integer on every store.
CURSOR_MAX = 2**63 - 1
#: A consumer name: letters, digits and ``._~-``, not starting with ``.`` (never ``.`` or ``..`` in a URL).
CONSUMER_NAME = re.compile(rf"[A-Za-z0-9_~-][A-Za-z0-9._~-]{{0,{CONSUMER_NAME_MAX - 1}}}")
_CURSOR = re.compile(r"[0-9]{1,19}")
#: Characters no job id may hold besides control characters and lone surrogates.
_SEPARATORS = "/\\"
_INTEGER = re.compile(r"[+-]?[0-9]{1,25}")


class InvalidInput(ValueError):
    """A request value the bridge refuses; ``str()`` is the message for the client."""


def _bad_character(text: str) -> str | None:
    """The first control character or lone surrogate of ``text`` (what no store column or URL can carry)."""
    return next((c for c in text if unicodedata.category(c) in ("Cc", "Cs")), None)


def _shown(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_job_id(value: object, what: str = "job_id") -> str:
    """
    Return ``value`` when it can name a job; the bridge hook's rule.

    A job id is a string of 1 to 200 characters, not ``.`` or ``..``, without ``/``, ``\\``, control
    characters or lone surrogates.

    :param value: the id, from a path, a batch body or a callback's ``task_id``.
    :param what: how the message names it.
    """
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string")
    if len(value) > JOB_ID_MAX:
        raise InvalidInput(f"{what} must be at most {JOB_ID_MAX} characters (got {len(value)})")
    if value in (".", ".."):
        raise InvalidInput(f"{what} cannot be {value!r}")
    bad = next((c for c in value if c in _SEPARATORS), None) or _bad_character(value)
    if bad is not None:
        raise InvalidInput(f"{what} cannot contain {_shown(bad)} (no '/', '\\' or control characters)")
    return value


def check_text(value: object, what: str, max_length: int, *, names: bool = False) -> str:
    """
    Return ``value`` when it is a non-empty string the store can keep.

    :param value: the value.
    :param what: how the message names it.
    :param max_length: the column's length.
    :param names: also refuse control characters (kinds and asset ids are names; a key may be anything
        printable or not, but never NUL or a lone surrogate).
    """
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string (at most {max_length} characters)")
    if len(value) > max_length:
        raise InvalidInput(f"{what} must be at most {max_length} characters (got {len(value)})")
    if names:
        bad = _bad_character(value)
    else:
        bad = next((c for c in value if c == "\x00" or unicodedata.category(c) == "Cs"), None)
    if bad is not None:
        raise InvalidInput(f"{what} cannot contain {_shown(bad)}")
    return value


def parse_wait(raw: Any, cap: float) -> float:
    """
    Return the seconds to wait: a finite number ``>= 0``, capped at ``cap``; absent means 0.

    :param raw: the query string's text, or the JSON body's value (a number).
    :param cap: the longest wait.
    """
    message = "wait must be a finite number of seconds >= 0"
    if raw is None:
        return 0.0
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidInput(message)
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise InvalidInput(message) from None
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(message)
    return min(value, cap)


def parse_integer(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    """
    Return a query string's integer in ``[low, high]``; absent means ``default``.

    :param raw: the query string's text.
    :param name: the parameter, for the message.
    :param default: the value when absent.
    :param low: the smallest allowed.
    :param high: the largest allowed.
    """
    if raw is None:
        return default
    text = raw
    message = f"{name} must be an integer between {low} and {high}"
    if _INTEGER.fullmatch(text) is None:
        raise InvalidInput(message)
    value = int(text)
    if not low <= value <= high:
        raise InvalidInput(message)
    return value


def check_consumer_name(value: str) -> str:
    """
    Return a consumer name when it follows the rule of :data:`CONSUMER_NAME`.

    :param value: the name, from the path.
    """
    if CONSUMER_NAME.fullmatch(value) is None:
        raise InvalidInput(
            f"a consumer name is 1 to {CONSUMER_NAME_MAX} letters, digits and ._~- (not starting with '.')"
        )
    return value


def parse_cursor(raw: object) -> int:
    """
    Return a list cursor given as a string of digits (as the list's ``next`` and ``cursor``), 0 to
    :data:`CURSOR_MAX`.

    :param raw: the body's ``cursor`` value.
    """
    if not isinstance(raw, str) or _CURSOR.fullmatch(raw) is None or int(raw) > CURSOR_MAX:
        raise InvalidInput(f'the body must be {{"cursor": "<the list cursor, digits>"}} (0 to {CURSOR_MAX})')
    return int(raw)
