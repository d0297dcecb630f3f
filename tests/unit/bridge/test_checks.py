"""The bridge's input checks: the job id rule is the hook's and the served schema's; numbers stay in range."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge.apidoc import JOB_ID
from airflow_provider_mavi.bridge.checks import (
    CURSOR_MAX,
    InvalidInput,
    check_job_id,
    check_text,
    parse_integer,
    parse_wait,
)
from airflow_provider_mavi.hooks.bridge_protocol import check_job_id as hook_check_job_id

#: Any code point, lone surrogates and control characters included, and the edges of the rule.
any_text = st.text(st.characters(exclude_categories=()), max_size=210) | st.sampled_from(
    [".", "..", "...", ".a", "a/b", "a\\b", "x" * 200, "x" * 201, "", " a ", "\x00", "\x7f", "\x9f", "\xa0"]
)


def outcome(check: Callable[..., Any], *args: Any) -> Any:
    """What ``check(*args)`` returns, or the ``InvalidInput`` it raises."""
    try:
        return check(*args)
    except InvalidInput as err:
        return err


def accepted(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


@settings(max_examples=400)
@given(value=any_text)
def test_the_job_id_rule_is_the_bridge_hooks(value: str) -> None:
    """An id the hook sends is never refused by the bridge, and the bridge accepts no id the hook refuses."""
    assert accepted(check_job_id, value) == accepted(hook_check_job_id, value)


@settings(max_examples=400)
@given(value=any_text.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)))
def test_the_served_schema_says_what_the_check_does(value: str) -> None:
    """The OpenAPI ``job_id`` schema (Python regex semantics, as schemathesis reads it) is the check."""
    by_schema = (
        JOB_ID["minLength"] <= len(value) <= JOB_ID["maxLength"]
        and re.fullmatch(JOB_ID["pattern"], value) is not None
    )
    assert by_schema == accepted(check_job_id, value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "job_id must be a non-empty string"),
        (5, "job_id must be a non-empty string"),
        ("..", "job_id cannot be '..'"),
        ("a" * 201, "job_id must be at most 200 characters (got 201)"),
        ("a\x00b", "job_id cannot contain U+0000 (no '/', '\\' or control characters)"),
        ("a/b", "job_id cannot contain U+002F (no '/', '\\' or control characters)"),
        ("\ud800", "job_id cannot contain U+D800 (no '/', '\\' or control characters)"),
    ],
)
def test_job_id_messages(value: object, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_job_id(value)
    assert str(refused.value) == message


@given(value=any_text)
def test_text_fields_hold_only_what_a_store_keeps(value: str) -> None:
    kept = outcome(check_text, value, "key", 100)
    if isinstance(kept, InvalidInput):
        assert str(kept).startswith("key ")
        assert not value or len(value) > 100 or any(c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF for c in value)
        return
    assert kept == value
    kept.encode("utf-8")  # no lone surrogate
    assert "\x00" not in kept


def finite(number: float) -> bool:
    try:
        return math.isfinite(float(number))
    except OverflowError:  # an integer beyond any double
        return False


@given(number=st.floats() | st.integers() | st.sampled_from([10**400, -(10**400)]), cap=st.floats(0.1, 600))
@example(number=float("nan"), cap=60)
@example(number=1e309, cap=60)
def test_wait_is_a_finite_number_capped(number: float, cap: float) -> None:
    for raw in (number, repr(number), str(number)):
        wait = outcome(parse_wait, raw, cap)
        if isinstance(wait, InvalidInput):
            assert str(wait) == "wait must be a finite number of seconds >= 0"
            assert not (finite(number) and number >= 0)
        else:
            assert wait == min(float(number), cap)
            assert 0 <= wait <= cap


@given(raw=st.text(max_size=40) | st.none() | st.booleans() | st.lists(st.integers(), max_size=2))
def test_wait_refuses_anything_else_with_one_message(raw: object) -> None:
    wait = outcome(parse_wait, raw, 60)
    if isinstance(wait, InvalidInput):
        assert str(wait) == "wait must be a finite number of seconds >= 0"
    else:
        assert 0 <= wait <= 60


@given(number=st.integers(-(2**80), 2**80) | st.sampled_from([CURSOR_MAX, CURSOR_MAX + 1, -1, 0]))
def test_cursor_stays_in_the_columns_range(number: int) -> None:
    after = outcome(parse_integer, str(number), "after", 0, 0, CURSOR_MAX)
    if isinstance(after, InvalidInput):
        assert str(after) == f"after must be an integer between 0 and {CURSOR_MAX}"
        assert not 0 <= number <= CURSOR_MAX
    else:
        assert after == number


@given(raw=st.text(max_size=30))
def test_integers_are_plain_digits(raw: str) -> None:
    try:
        limit = parse_integer(raw, "limit", 100, 1, 1000)
    except InvalidInput:
        return
    assert re.fullmatch(r"[+-]?[0-9]+", raw)
    assert 1 <= limit <= 1000
    assert parse_integer(None, "limit", 100, 1, 1000) == 100
