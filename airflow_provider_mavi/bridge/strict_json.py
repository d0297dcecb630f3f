"""
Strict JSON for what the bridge accepts: a body it acknowledges must be readable by every route, forever.

Python's ``json`` accepts more than JSON: ``NaN`` and ``Infinity``, ``1e400`` (read as infinity, which no
answer can carry), duplicate keys (the last wins, where other parsers keep the first), integers of any size,
any nesting its stack survives, UTF-16 and UTF-32 bodies, lone surrogates. :func:`parse_strict` accepts
exactly RFC 8259 JSON in UTF-8 within the limits below, and says why it refuses anything else. Pure: no I/O.

The intake is the bridge's hot path, so the usual body costs only C work: one parse, the canonical dump the
intake hashes anyway, and byte scans of the body outside its strings (its keys, brackets and long numbers).
Only a body those scans find suspect is parsed again with a Python hook per number and per object, which
names exactly what is wrong.
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

_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")
#: digits -> 1, exponent -> e, sign -> s, anything else -> 0: a number no double or 64-bit integer holds has
#: 19 digits in a row or an exponent of 3 digits
_NUMBER_SHAPE = bytes(
    ord("1")
    if chr(b).isdigit() and b < 128
    else ord("e")
    if b in b"eE"
    else ord("s")
    if b in b"+-"
    else ord("0")
    for b in range(256)
)
_TOO_DEEP = "the body nests deeper than {} levels"


class JsonRefused(ValueError):
    """
    A body that is not strict JSON.

    :param reason: the metric label (``not_utf8``, ``not_json``, ``too_deep``, ``bad_number``,
        ``duplicate_key``, ``bad_unicode``).
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


# built once: ``json.loads``/``json.dumps`` with options build a new decoder/encoder per call
_DECODER = json.JSONDecoder(parse_constant=_constant)
_PRECISE = json.JSONDecoder(
    parse_constant=_constant,
    parse_float=_finite,
    parse_int=_int64,
    object_pairs_hook=_unique,
)
#: the canonical form the intake hashes: sorted keys, no spaces, UTF-8 characters as they are
CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _precisely(text: str) -> None:
    """Parse again with a hook per number and per object, to say what is wrong (only for a suspect body)."""
    _PRECISE.decode(text)


def outside_strings(document: bytes) -> bytes:
    """
    What a valid JSON document holds outside its strings: punctuation, numbers, ``true``/``false``/``null``.

    :param document: valid JSON, UTF-8.
    """
    if (
        b"\\" in document
    ):  # escaped backslashes, then escaped quotes, go: a string is then "..." without quotes
        document = document.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(document.split(b'"')[::2])  # between the 2n-th and (2n+1)-th quote: a string's inside


def depth_exceeds(skeleton: bytes, limit: int = MAX_DEPTH) -> bool:
    """
    Tell whether a document nests arrays and objects more than ``limit`` deep.

    Each pass removes the innermost empty pairs: a document is ``n`` deep when ``n`` passes empty it.

    :param skeleton: the document outside its strings (:func:`outside_strings`).
    :param limit: the deepest nesting allowed.
    """
    brackets = skeleton.translate(None, _NOT_BRACKET)
    if len(brackets) <= 2 * limit:
        return False
    for _ in range(limit):
        if not brackets:
            return False
        brackets = _INNERMOST.sub(b"", brackets)
    return bool(brackets)


def _suspect_number(skeleton: bytes) -> bool:
    shape = skeleton.translate(_NUMBER_SHAPE)
    return b"1" * 19 in shape or b"e111" in shape or b"es111" in shape


def parse_strict(body: bytes, *, max_depth: int = MAX_DEPTH) -> tuple[Any, bytes]:
    """
    Parse ``body`` as strict JSON; return the value and its canonical form (sorted keys, no spaces, UTF-8), or
    raise :class:`JsonRefused` saying why not.

    Refused: bytes that are not UTF-8, a byte order mark, anything that is not RFC 8259 JSON, ``NaN`` and
    ``Infinity``, numbers that overflow a double, integers beyond 64 bits, a key repeated in one object,
    nesting deeper than ``max_depth``, and strings holding a lone surrogate (``"\\ud800"``).

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
        try:
            value = _DECODER.decode(text)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer of more than 4,300 digits: Python's own limit
            _precisely(text)
            raise
        skeleton = outside_strings(body)
        if depth_exceeds(skeleton, max_depth):
            raise JsonRefused("too_deep", _TOO_DEEP.format(max_depth))
        if _suspect_number(skeleton):
            _precisely(text)
        encoded = CANONICAL.encode(value).encode("utf-8")
        if outside_strings(encoded).count(b":") != skeleton.count(b":"):  # a key gone: it came twice
            _precisely(text)
    except JsonRefused:
        raise
    except RecursionError:
        raise JsonRefused("too_deep", _TOO_DEEP.format(max_depth)) from None
    except json.JSONDecodeError as err:
        raise JsonRefused(
            "not_json", f"the body is not JSON: {err.msg} (line {err.lineno}, column {err.colno})"
        ) from None
    except UnicodeEncodeError:
        raise JsonRefused("bad_unicode", "the body holds a string that is not valid Unicode") from None
    except ValueError:
        raise JsonRefused("not_json", "the body is not JSON") from None
    return value, encoded


def loads_strict(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """
    Parse ``body`` as strict JSON (see :func:`parse_strict`); raise :class:`JsonRefused` saying why not.

    :param body: the raw body.
    :param max_depth: the deepest nesting allowed.
    """
    return parse_strict(body, max_depth=max_depth)[0]
