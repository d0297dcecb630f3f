"""A short string that a regular expression finds, built from Python's own parse of the pattern.

JSON Schema's ``pattern`` is a search (not anchored): the string only has to contain a match. The shortest
choices are taken (no repetitions beyond the minimum, the first branch, the first character of a set);
anchors and look-arounds add nothing, and the result is checked with ``re.search`` before it is used.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from airflow_provider_mavi.emulator.schemas import SchemaError

_parser = importlib.import_module("re._parser" if hasattr(re, "_parser") else "sre_parse")
_constants = importlib.import_module("re._constants" if hasattr(re, "_constants") else "sre_constants")

_CANDIDATES = "a0 A_-.:/b1zZ9"


def sample_pattern(pattern: str) -> str:
    """Return a short string that ``re.search(pattern, ...)`` finds.

    :param pattern: the regular expression.
    :raises SchemaError: when it is not valid, or uses what the emulator cannot satisfy.
    """
    try:
        parsed = _parser.parse(pattern)
    except re.error as exc:
        raise SchemaError(f"invalid pattern {pattern!r}: {exc}") from exc
    groups: dict[int, str] = {}
    text = _emit(list(parsed), groups)
    if re.search(pattern, text) is None:
        raise SchemaError(f"the emulator cannot make a string for pattern {pattern!r}")
    return text


def _emit(items: list[Any], groups: dict[int, str]) -> str:
    """Return text for a parsed pattern (the shortest choices).

    :param items: parsed ``(op, argument)`` pairs.
    :param groups: text of the groups so far (for back references).
    """
    c = _constants
    out = []
    for op, arg in items:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op is c.ANY:
            out.append("a")
        elif op is c.IN:
            out.append(_in_set(arg))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) or op is getattr(c, "POSSESSIVE_REPEAT", None):
            low, _high, sub = arg
            out.append("".join(_emit(list(sub), groups) for _ in range(low)))
        elif op is c.SUBPATTERN:
            group, sub = arg[0], arg[-1]
            text = _emit(list(sub), groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif op is getattr(c, "ATOMIC_GROUP", None):
            out.append(_emit(list(arg), groups))
        elif op is c.BRANCH:
            out.append(_emit(list(arg[1][0]), groups))
        elif op is c.GROUPREF:
            out.append(groups.get(arg, ""))
        elif op is c.CATEGORY:
            out.append(_category(arg))
        # AT (anchors) and assertions add nothing; the result is checked afterwards.
    return "".join(out)


def _category(category: Any) -> str:
    """Return a character of a category such as ``\\d``.

    :param category: the parser's category constant.
    """
    name = str(category).lower()
    if "not_digit" in name:
        return "a"
    if "digit" in name:
        return "0"
    if "not_space" in name:
        return "a"
    if "space" in name:
        return " "
    if "not_word" in name:
        return "-"
    return "a"


def _in_set(items: list[Any]) -> str:
    """Return a character of a ``[...]`` set.

    :param items: the set's parsed items.
    """
    c = _constants
    negate = any(op is c.NEGATE for op, _ in items)

    def member(char: str) -> bool:
        for op, arg in items:
            if op is c.LITERAL and ord(char) == arg:
                return True
            if op is c.RANGE and arg[0] <= ord(char) <= arg[1]:
                return True
            if op is c.CATEGORY and re.fullmatch(_category_class(arg), char):
                return True
        return False

    for char in _CANDIDATES:
        if member(char) != negate:
            return char
    if not negate:
        for op, arg in items:
            if op is c.LITERAL:
                return chr(arg)
            if op is c.RANGE:
                return chr(arg[0])
    return "~"


def _category_class(category: Any) -> str:
    """Return a regular expression class for a category constant.

    :param category: the parser's category constant.
    """
    name = str(category).lower()
    for key, expression in (("not_digit", r"\D"), ("digit", r"\d"), ("not_space", r"\S"), ("space", r"\s")):
        if key in name:
            return expression
    return r"\W" if "not_word" in name else r"\w"
