"""Strict JSON: exactly RFC 8259 JSON in UTF-8 within the bridge's limits, and a reason for anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge.strict_json import (
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    JsonRefused,
    loads_strict,
    outside_strings,
    parse_strict,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(INT_MIN, INT_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8"))
)
#: Text that looks like JSON's structure, so the depth check must skip strings.
tricky = st.text(alphabet=st.sampled_from('[]{}"\\,:ab'), max_size=12)
values = st.recursive(
    scalars | tricky,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6) | tricky, inner, max_size=4)
    ),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def keys(value: Any) -> int:
    if isinstance(value, list):
        return sum(keys(v) for v in value)
    if isinstance(value, dict):
        return len(value) + sum(keys(v) for v in value.values())
    return 0


def nest(value: Any, levels: list[str]) -> Any:
    for kind in reversed(levels):
        value = [value] if kind == "list" else {"k": value}
    return value


def refusal(body: bytes) -> JsonRefused:
    with pytest.raises(JsonRefused) as refused:
        loads_strict(body)
    return refused.value


@settings(max_examples=300)
@given(value=values, indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans())
def test_every_json_value_in_the_limits_is_read_back_as_is(
    value: Any, indent: int | None, ascii_only
) -> None:
    body = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    assert loads_strict(body) == value
    assert outside_strings(body).count(b":") == keys(value)  # what the duplicate check counts


@settings(max_examples=200)
@given(value=values, levels=st.lists(st.sampled_from(["list", "dict"]), min_size=1, max_size=MAX_DEPTH + 8))
def test_nesting_deeper_than_the_limit_is_refused(value: Any, levels: list[str]) -> None:
    nested = nest(value, levels)
    body = json.dumps(nested).encode()
    if depth(nested) <= MAX_DEPTH:
        assert loads_strict(body) == nested
    else:
        refused = refusal(body)
        assert (refused.reason, refused.message) == ("too_deep", "the body nests deeper than 64 levels")


def test_nesting_beyond_pythons_stack_is_refused_too() -> None:
    refused = refusal(b"[" * 200_000 + b"]" * 200_000)
    assert refused.reason == "too_deep"


NOT_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E309", "123456789e999", "-0.5e1000"]


@settings(max_examples=200)
@given(value=values, literal=st.sampled_from(NOT_NUMBERS), where=st.integers(0, 3))
def test_non_finite_numbers_anywhere_are_refused(value: Any, literal: str, where: int) -> None:
    hole = "__HOLE__"
    shapes = [hole, [value, hole], {"a": value, "b": {"c": [hole]}}, {"task_id": "j", "x": hole}]
    body = json.dumps(shapes[where]).replace(json.dumps(hole), literal).encode()
    refused = refusal(body)
    assert refused.reason == "bad_number"
    assert literal.lstrip("-") in refused.message


@given(
    literal=st.integers(-(2**70), 2**70).map(str)
    | st.sampled_from([str(INT_MAX), str(INT_MAX + 1), str(INT_MIN), str(INT_MIN - 1), "9" * 5000, "-0"])
)
def test_integers_beyond_64_bits_are_refused(literal: str) -> None:
    body = b'{"n": %s}' % literal.encode()
    number = int(literal) if len(literal) < 100 else None
    if number is not None and INT_MIN <= number <= INT_MAX:
        assert loads_strict(body) == {"n": number}
    else:
        refused = refusal(body)
        assert refused.reason == "bad_number"
        assert refused.message.startswith("the body holds an integer outside the signed 64-bit range: ")
        assert len(refused.message) < 200  # the number is cut short in the message


@given(value=values, key=st.text(max_size=8), path=st.lists(st.sampled_from(["list", "dict"]), max_size=5))
def test_a_key_twice_in_one_object_is_refused(value: Any, key: str, path: list[str]) -> None:
    twice = f"{{{json.dumps(key)}: 1, {json.dumps(key)}: {json.dumps(value)}}}"
    body = json.dumps(nest("__HOLE__", path)).replace('"__HOLE__"', twice).encode()
    refused = refusal(body)
    assert refused.reason == "duplicate_key"
    assert refused.message.startswith("the body has the key ")


@given(value=values, encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-32", "utf-32-be", "latin-1"]))
def test_only_utf8_is_read(value: Any, encoding: str) -> None:
    text = json.dumps({"task_id": "jé", "v": value}, ensure_ascii=False)
    refused = refusal(text.encode(encoding, errors="replace"))
    assert refused.reason in ("not_utf8", "not_json")


@given(prefix=st.text(max_size=10), junk=st.binary(min_size=1, max_size=4).filter(lambda b: not _is_utf8(b)))
def test_invalid_utf8_inside_a_string_is_refused(prefix: str, junk: bytes) -> None:
    body = b'{"task_id": "' + prefix.encode("utf-8", "surrogatepass").replace(b'"', b"") + junk + b'"}'
    refused = refusal(body)
    assert refused.reason in ("not_utf8", "not_json")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        (b"", "not_json", "the body is not JSON: Expecting value (line 1, column 1)"),
        (
            b'{"a": 1,}',
            "not_json",
            "the body is not JSON: Expecting property name enclosed in double quotes (line 1, column 9)",
        ),
        (b"\xef\xbb\xbf{}", "not_json", "the body is not JSON: it starts with a byte order mark"),
        (b'{"a": "\xff"}', "not_utf8", "the body is not valid UTF-8 (byte 7)"),
        (b'{"a": NaN}', "bad_number", "the body holds NaN, which is not a JSON number"),
        (b'{"a": 1e400}', "bad_number", "the body holds a number too large for a double: 1e400"),
        (b'{"a": 1, "a": 2}', "duplicate_key", "the body has the key 'a' more than once"),
        (b'{"a": {"b": 1, "b": 1}}', "duplicate_key", "the body has the key 'b' more than once"),
        (b'{"a": "\\ud800"}', "bad_unicode", "the body holds a string that is not valid Unicode"),
        (b'{"a": "\\ud83d\\ude00"}', None, None),  # a pair is one character
        (b'{"a": "\\\\", "b": "\\"[{:"}', None, None),  # escapes, brackets and colons in strings
        (b'{"v": 1e-400, "w": "99999999999999999999"}', None, None),  # underflow to 0, digits in a string
        (b'{"v": 9223372036854775807, "w": -9223372036854775808}', None, None),
    ],
)
def test_messages_say_why(body: bytes, reason: str | None, message: str | None) -> None:
    if reason is None:
        assert loads_strict(body) == json.loads(body)
        return
    refused = refusal(body)
    assert (refused.reason, refused.message) == (reason, message)


@settings(max_examples=300)
@given(body=st.binary(max_size=200) | values.map(lambda v: json.dumps(v).encode()))
def test_whatever_is_accepted_serialises_strictly_and_as_python_reads_it(body: bytes) -> None:
    try:
        value = loads_strict(body)
    except JsonRefused as refused:
        reason = refused.reason
    else:
        assert json.loads(body) == value
        json.dumps(value, allow_nan=False)
        return
    assert reason in ("not_utf8", "not_json", "too_deep", "bad_number", "duplicate_key", "bad_unicode")


def _reference_accepts(body: bytes) -> bool:
    """The rule checked the slow way on every body: a hook per number and per object, then the dump."""

    def number(text: str) -> float | int:
        value = json.loads(text)
        if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
            raise ValueError(text)
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            raise ValueError(text)
        return value

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise ValueError("duplicate")
        return dict(pairs)

    def constant(name: str) -> None:
        raise ValueError(name)

    try:
        value = json.loads(
            body.decode("utf-8"),
            parse_int=number,
            parse_float=number,
            parse_constant=constant,
            object_pairs_hook=unique,
        )
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return False
    return depth(value) <= MAX_DEPTH


#: JSON numbers around the limits: integers at and past 64 bits, long fractions, 2- to 4-digit exponents.
numbers = st.builds(
    lambda whole, fraction, exponent: f"{whole}{fraction}{exponent}",
    st.sampled_from([INT_MAX, INT_MAX + 1, INT_MIN, INT_MIN - 1, 10**18, 10**19])
    | st.integers(-(2**66), 2**66),
    st.sampled_from(["", ".5", ".0000000000000000000001", ".1234567890123456789012"]),
    st.sampled_from(["", "e99", "E+308", "e309", "e-400", "e400", "e0400", "e-99"]),
)
#: Keys with escaped quotes and backslashes, few enough that one object often repeats one.
keys_text = st.sampled_from(["a", "b", 'q\\"', "\\\\", '\\\\\\"', ":", "\\ud800", "\\ud83d\\ude00", "{["])


@st.composite
def documents(draw: st.DrawFn, levels: int = 3) -> str:
    if levels == 0 or draw(st.booleans()):
        return draw(numbers | keys_text.map(lambda k: f'"{k}"') | st.sampled_from(["true", "null", "[]"]))
    if draw(st.booleans()):
        items = draw(st.lists(documents(levels - 1), max_size=3))
        return "[" + ",".join(items) + "]"
    pairs = draw(st.lists(st.tuples(keys_text, documents(levels - 1)), max_size=3))
    return "{" + ",".join(f'"{k}":{v}' for k, v in pairs) + "}"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents())
def test_the_fast_path_accepts_exactly_what_the_slow_rule_accepts(document: str) -> None:
    body = document.encode()
    try:
        value, canonical = parse_strict(body)
    except JsonRefused:
        assert not _reference_accepts(body), document
    else:
        assert _reference_accepts(body), document
        assert canonical == json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
