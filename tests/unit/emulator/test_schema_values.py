"""Values generated from a JSON schema conform to it (the jsonschema library checks), filled from facts."""

from __future__ import annotations

import re

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.emulator.facts import Facts, Scene
from airflow_provider_mavi.emulator.patterns import sample_pattern
from airflow_provider_mavi.emulator.schema_values import generate, name_words
from airflow_provider_mavi.emulator.schemas import SchemaError, check, from_gemini
from airflow_provider_mavi.emulator.speech import Turn

FACTS = Facts(
    duration=6.0,
    has_video=True,
    width=320,
    height=240,
    fps=10.0,
    frame_count=60,
    scenes=[
        Scene(0, 0, 19, 0.0, 2.0, "Measured 0.0-2.0 s: dark blue."),
        Scene(1, 20, 39, 2.0, 4.0, "Measured 2.0-4.0 s: grey."),
        Scene(2, 40, 59, 4.0, 6.0, "Measured 4.0-6.0 s: green."),
    ],
    brightness=0.35,
    colours=[("dark blue", 0.4), ("grey", 0.3), ("green", 0.2)],
    motion=0.05,
    has_audio=True,
    turns=[Turn(0.0, 1.5, 0, -15.0, 1.0), Turn(2.0, 3.5, 1, -15.0, 1.0)],
    speakers=2,
    voiced_seconds=3.0,
)


def test_gemini_schema_becomes_json_schema():
    gemini = {
        "type": "OBJECT",
        "properties": {
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": "2", "maxItems": "4"},
            "score": {"type": "NUMBER", "nullable": True},
            "any": {"type": "TYPE_UNSPECIFIED"},
        },
        "required": ["tags"],
        "propertyOrdering": ["score", "tags"],
    }
    assert from_gemini(gemini) == {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
            "score": {"type": ["number", "null"]},
            "any": {},
        },
        "required": ["tags"],
        "propertyOrdering": ["score", "tags"],
    }
    value = generate(from_gemini(gemini), FACTS)
    assert list(value) == ["score", "tags", "any"]  # propertyOrdering first
    with pytest.raises(SchemaError, match="unknown schema type"):
        from_gemini({"type": "DATE"})


def test_values_come_from_the_measurements():
    schema = {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "sceneCount": {"type": "integer"},
            "scenes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "start_frame": {"type": "integer"},
                        "end_frame": {"type": "integer"},
                        "start": {"type": "number"},
                        "title": {"type": "string"},
                    },
                },
            },
            "speakers": {"type": "array", "items": {"type": "string"}},
            "duration_seconds": {"type": "number"},
            "has_audio": {"type": "boolean"},
            "is_dark": {"type": "boolean"},
            "colours": {"type": "array", "items": {"type": "string"}},
            "brightness_percent": {"type": "number", "minimum": 0, "maximum": 100},
            "mood": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0.2, "maximum": 1},
        },
    }
    value = generate(schema, FACTS)
    assert value["summary"].startswith("Emulator summary from measurements only")
    assert value["sceneCount"] == 3
    assert [(s["start_frame"], s["end_frame"], s["start"], s["title"]) for s in value["scenes"]] == [
        (0, 19, 0.0, "Scene 1"),
        (20, 39, 2.0, "Scene 2"),
        (40, 59, 4.0, "Scene 3"),
    ]
    assert value["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert value["duration_seconds"] == 6.0
    assert (value["has_audio"], value["is_dark"]) == (True, False)
    assert value["colours"] == ["dark blue", "grey", "green"]
    assert value["brightness_percent"] == pytest.approx(35.0)
    assert value["mood"] == "not measured by the emulator"
    assert value["confidence"] == 0.2  # nothing measured: the lowest allowed


def test_enum_prefers_the_measured_word():
    schema = {"type": "object", "properties": {"lighting": {"enum": ["bright", "dim", "dark"]}}}
    assert generate(schema, FACTS) == {"lighting": "dim"}
    assert generate({"type": "object", "properties": {"x": {"enum": [7, "zz"]}}}, FACTS) == {"x": 7}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer", "minimum": 3, "maximum": 9, "multipleOf": 2},
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001},
        {"type": "string", "minLength": 5000},
        {"type": "string", "maxLength": 3},
        {"type": "string", "pattern": r"^[A-Z]{2}\d{3}(-[a-f]{4})?$"},
        {"type": "string", "format": "date-time"},
        {"type": "array", "items": {"type": "boolean"}, "minItems": 2, "uniqueItems": True},
        {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "uniqueItems": True},
        {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 2},
        {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}},
        {"type": "object", "properties": {"a": {}, "b": {}, "c": {}}, "required": ["c"], "maxProperties": 1},
        {"oneOf": [{"type": "integer", "maximum": -1}, {"type": "integer", "minimum": 0}]},
        {"anyOf": [{"type": "string", "maxLength": 0}, {"type": "null"}]},
        {"allOf": [{"properties": {"a": {"type": "integer"}}, "required": ["a"]}, {"required": ["b"]}]},
        {"type": ["null", "string"], "const": "fixed"},
        {"$defs": {"n": {"type": "object", "properties": {"k": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"},
        {"definitions": {"x": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/definitions/x"}},
        True,
        {},
    ],
)
def test_awkward_schemas_are_satisfied(schema):
    value = generate(schema, FACTS)
    jsonschema.validate(value, schema)
    assert check(value, schema) == []


def test_draft_4_exclusive_bounds():
    schema = {
        "type": "number",
        "minimum": 10,
        "exclusiveMinimum": True,
        "maximum": 11,
        "exclusiveMaximum": True,
    }
    value = generate(schema, FACTS)
    jsonschema.Draft4Validator(schema).validate(value)
    assert 10 < value < 11


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "integer", "minimum": 5, "maximum": 1}, "no number satisfies"),
        ({"type": "integer", "minimum": 1, "maximum": 2, "multipleOf": 5}, "no number satisfies"),
        (False, "allows no value"),
        ({"$ref": "https://example.com/schema.json"}, "only local \\$ref"),
        ({"$ref": "#/nowhere"}, "points at nothing"),
        ({"type": "string", "pattern": "(?!a)a"}, "cannot make a string"),
        ({"type": "string", "pattern": "("}, "invalid pattern"),
        ({"type": "array", "items": {"enum": ["a"]}, "minItems": 2, "uniqueItems": True}, "distinct"),
    ],
)
def test_unsatisfiable_schemas_are_refused(schema, message):
    with pytest.raises(SchemaError, match=message):
        generate(schema, FACTS)


@pytest.mark.parametrize(
    "pattern",
    [r"abc", r"^\d{4}-\d{2}-\d{2}$", r"[^a-z]+", r"(foo|bar)baz\1", r"\w+@\w+\.com", r"^(?:x|y){2,3}$"],
)
def test_sample_pattern(pattern):
    assert re.search(pattern, sample_pattern(pattern))


def test_name_words():
    assert name_words("sceneCount") == {"scene", "count"}
    assert name_words("has_audio-track") == {"has", "audio", "track"}


_LEAF = st.one_of(
    st.builds(
        lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
        st.integers(-50, 50),
        st.integers(0, 20),
    ),
    st.builds(lambda lo: {"type": "number", "exclusiveMinimum": lo}, st.floats(-10, 10, allow_nan=False)),
    st.builds(
        lambda n, m: {"type": "string", "minLength": n, "maxLength": n + m},
        st.integers(0, 30),
        st.integers(0, 30),
    ),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=4, unique=True).map(
        lambda e: {"enum": e}
    ),
    st.sampled_from([{"type": "string", "format": f} for f in ("date", "email", "uri", "uuid")]),
)
_NAMES = st.sampled_from(
    ["summary", "scenes", "start", "end", "count", "speakers", "tags", "mood", "x", "has_audio"]
)


def _extend(children):
    return st.one_of(
        st.builds(
            lambda items, lo, span, unique: (
                {"type": "array", "items": items, "minItems": lo, "maxItems": lo + span}
                | (
                    {"uniqueItems": True}
                    if unique and items.get("type") in ("integer", "number", "string")
                    else {}
                )
            ),
            children,
            st.integers(0, 3),
            st.integers(0, 4),
            st.booleans(),
        ),
        st.builds(
            lambda props, required: {
                "type": "object",
                "properties": props,
                "required": [name for name in props if required],
                "additionalProperties": False,
            },
            st.dictionaries(_NAMES, children, max_size=5),
            st.booleans(),
        ),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_LEAF, _extend, max_leaves=12))
def test_random_schemas_conform(schema):
    try:
        value = generate(schema, FACTS)
    except SchemaError:
        return  # e.g. more unique items than a short string range allows: refused, never a wrong value
    jsonschema.validate(value, schema)
