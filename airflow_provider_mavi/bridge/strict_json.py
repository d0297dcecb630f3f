"""
Strict JSON for what the bridge accepts: a body it acknowledges must be readable by every route, forever.

Python's ``json`` accepts more than JSON: ``NaN`` and ``Infinity``, ``1e400`` (read as infinity, which no
answer can carry), duplicate keys (the last wins, where other parsers keep the first), integers of any size,
any nesting its stack survives, UTF-16 and UTF-32 bodies. :func:`loads_strict` accepts exactly RFC 8259 JSON
in UTF-8 within the limits below, and says why it refuses anything else. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

#: Deepest nesting of arrays and objects (a Mavi callback nests about 6 deep).
MAX_DEPTH = 64
#: Integers beyond 64 bits are refused: databases, Airflow's serialisation and most parsers cannot keep them.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")


class JsonRefused(ValueError):
    """
    A body that is not strict JSON.

    :param reason: the metric label (``not_utf8``, ``not_json``, ``too_deep``, ``bad_number``,
        ``duplicate_key``).
    :param message: what the sender is told.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _excerpt(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _constant(name: str) -> NoReturn:
    raise JsonRefused("bad_number", f"the body holds {name}, which is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused("bad_number", f"the body holds a number too large for a double: {_excerpt(text)}")
    return value


def _int64(text: str) -> int:
    value = int(text) if len(text) <= 21 else None
    if value is None or not INT_MIN <= value <= INT_MAX:
        raise JsonRefused(
            "bad_number", f"the body holds an integer outside the signed 64-bit range: {_excerpt(text)}"
        )
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonRefused("duplicate_key", f"the body has the key {_excerpt(key)!r} more than once")
            seen.add(key)
    return value


def depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """
    Tell whether valid JSON ``text`` nests arrays and objects more than ``limit`` deep.

    Strings are cut out, then each pass removes the innermost empty pairs: a document is ``n`` deep when ``n``
    passes empty it. Linear in the text per pass, and no pass at all for a text with few brackets.

    :param text: a valid JSON document.
    :param limit: the deepest nesting allowed.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(limit):
        if not skeleton:
            return False
        skeleton = _INNERMOST.sub("", skeleton)
    return bool(skeleton)


def loads_strict(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """
    Parse ``body`` as strict JSON; raise :class:`JsonRefused` saying why not.

    Refused: bytes that are not UTF-8, a byte order mark, anything that is not RFC 8259 JSON, ``NaN`` and
    ``Infinity``, numbers that overflow a double, integers beyond 64 bits, a key repeated in one object, and
    nesting deeper than ``max_depth``. Strings may still hold lone surrogates (``"\\ud800"`` is valid JSON
    text): :func:`airflow_provider_mavi.bridge.intake.canonical_json` refuses those where a body is stored.

    :param body: the raw body.
    :param max_depth: the deepest nesting allowed.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise JsonRefused("not_utf8", f"the body is not valid UTF-8 (byte {err.start})") from None
    if text.startswith("\ufeff"):
        raise JsonRefused("not_json", "the body is not JSON: it starts with a byte order mark")
    try:
        value = json.loads(
            text, parse_constant=_constant, parse_float=_finite, parse_int=_int64, object_pairs_hook=_unique
        )
    except JsonRefused:
        raise
    except RecursionError:
        raise JsonRefused("too_deep", f"the body nests deeper than {max_depth} levels") from None
    except json.JSONDecodeError as err:
        raise JsonRefused(
            "not_json", f"the body is not JSON: {err.msg} (line {err.lineno}, column {err.colno})"
        ) from None
    except ValueError:
        raise JsonRefused("not_json", "the body is not JSON") from None
    if depth_exceeds(text, max_depth):
        raise JsonRefused("too_deep", f"the body nests deeper than {max_depth} levels")
    return value
