"""A JSON Schema checked, and turned into Gemini's ``responseSchema`` (``mavi-api.md`` §12.9).

Gemini takes an OpenAPI-style schema with upper-case types (``{"type": "OBJECT", "properties": ...}``). The
conversion keeps what it can express (type, nullable, properties, required, items, enum, description, format,
minimum, maximum, minItems, maxItems), leaves out what only matters when the answer is checked (it is checked
against the full JSON Schema afterwards: title, default, examples, additionalProperties, pattern, lengths...),
and refuses what it cannot express (``$ref``, ``anyOf``/``oneOf``/``allOf``/``not``, ``const``, unknown
keywords), naming the keyword and where it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["check_json_schema", "gemini_schema"]

_TYPES = {
    "object": "OBJECT",
    "array": "ARRAY",
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
}
_IMPLIED = (("properties", "object"), ("items", "array"), ("enum", "string"))
_COPIED = ("description", "format", "minimum", "maximum", "minItems", "maxItems")
_CHECKED_LOCALLY = frozenset(
    {
        "$schema", "$id", "$comment", "title", "default", "examples", "additionalProperties", "pattern",
        "minLength", "maxLength", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems",
        "minProperties", "maxProperties",
    }
)  # fmt: skip
_HANDLED = frozenset({"type", "nullable", "properties", "required", "items", "enum", *_COPIED})


def check_json_schema(schema: object, what: str = "response_schema") -> Mapping[str, Any]:
    """``schema`` when it is a valid JSON Schema object (``jsonschema``'s meta-schema check).

    :param schema: the schema.
    :param what: the parameter, named in the error.
    """
    import jsonschema

    if not isinstance(schema, Mapping) or not schema:
        raise ValueError(
            f"{what} must be a JSON Schema object, e.g. {{'type': 'object', ...}}, got {schema!r}"
        )
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as error:
        where = "/".join(str(part) for part in error.path) or "(top)"
        raise ValueError(f"{what} is not a valid JSON Schema at {where}: {error.message}") from None
    return schema


def _type(node: Mapping[str, Any], path: str) -> tuple[str, bool]:
    declared = node.get("type")
    nullable = False
    if isinstance(declared, list):
        kinds = [kind for kind in declared if kind != "null"]
        nullable = len(kinds) < len(declared)
        if len(kinds) != 1:
            raise ValueError(f"Gemini's responseSchema takes one type per value; {path} allows {declared}")
        declared = kinds[0]
    if declared is None:  # implied by the keywords, as JSON Schema allows
        implied = [kind for key, kind in _IMPLIED if key in node]
        declared = implied[0] if implied else None
    if declared not in _TYPES:
        raise ValueError(
            f"{path} needs a 'type' Gemini knows ({', '.join(_TYPES)}), got {node.get('type')!r}"
        )
    return _TYPES[declared], nullable


def gemini_schema(schema: Mapping[str, Any], path: str = "$") -> dict[str, Any]:
    """Gemini's ``responseSchema`` for a JSON Schema (see the module's docstring for what is kept).

    :param schema: the JSON Schema (already checked with :func:`check_json_schema`).
    :param path: where ``schema`` is in the whole, for messages.
    """
    refused = sorted(set(schema) - _HANDLED - _CHECKED_LOCALLY)
    if refused:
        raise ValueError(
            f"Gemini's responseSchema cannot express {', '.join(map(repr, refused))} (at {path}); "
            "simplify response_schema (no $ref, anyOf, oneOf, allOf, not, const)"
        )
    kind, nullable = _type(schema, path)
    out: dict[str, Any] = {"type": kind}
    if nullable or schema.get("nullable") is True:
        out["nullable"] = True
    out.update({key: schema[key] for key in _COPIED if key in schema})
    if "enum" in schema:
        values = schema["enum"]
        if kind != "STRING" or not all(isinstance(value, str) for value in values):
            raise ValueError(f"Gemini's enums are lists of strings; {path}.enum is {values!r}")
        out["enum"] = list(values)
    if "properties" in schema:
        props = schema["properties"]
        out["properties"] = {name: gemini_schema(sub, f"{path}.{name}") for name, sub in props.items()}
    if "required" in schema:
        out["required"] = list(schema["required"])
    if "items" in schema:
        if not isinstance(schema["items"], Mapping):
            raise ValueError(f"{path}.items must be one schema (tuple items cannot be expressed)")
        out["items"] = gemini_schema(schema["items"], f"{path}[]")
    return out
