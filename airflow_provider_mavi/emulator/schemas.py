"""JSON schemas as the VLM endpoint receives them: Gemini style made plain, ``$ref`` resolved, values checked.

- :func:`from_gemini` turns Gemini's schema (``"type": "OBJECT"``, ``nullable``, counts as strings such
  as ``"minItems": "1"``) into plain JSON Schema.
- :func:`check` returns what is wrong with a value against a schema (an empty list: it conforms). It covers
  the keywords :mod:`schema_values` generates for; ``format`` is not asserted (as JSON Schema's default).
- :func:`clamp` and :func:`merge_all_of` help build values that conform.
"""

from __future__ import annotations

import math
import re
from typing import Any

GEMINI_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
_COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")
MAX_DEPTH = 24


class SchemaError(ValueError):
    """A schema the emulator cannot use or cannot satisfy; the message says which part."""


def from_gemini(schema: Any) -> Any:
    """Return a Gemini-style schema as plain JSON Schema (lower-case types, ``nullable`` as a type list).

    :param schema: the schema.
    :raises SchemaError: on an unknown type.
    """
    if isinstance(schema, list):
        return [from_gemini(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            upper = value.upper()
            if upper == "TYPE_UNSPECIFIED":
                continue
            if upper not in GEMINI_TYPES:
                raise SchemaError(f"unknown schema type {value!r}")
            out["type"] = upper.lower()
        elif key in _COUNTS and isinstance(value, str) and value.isdigit():
            out[key] = int(value)
        elif key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: from_gemini(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf", "oneOf", "allOf", "not", "additionalProperties"):
            out[key] = from_gemini(value)
        elif key == "nullable":
            continue
        else:
            out[key] = value
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def resolve(schema: Any, root: Any, depth: int = 0) -> Any:
    """Follow local ``$ref`` (``#/...``) until a schema without one.

    :param schema: the schema.
    :param root: the document refs point into.
    :param depth: how many refs were followed.
    :raises SchemaError: on a remote, broken or endless reference.
    """
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if depth > MAX_DEPTH:
            raise SchemaError("too many nested $ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaError(f"only local $ref are supported, not {ref!r}")
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise SchemaError(f"$ref {ref!r} points at nothing")
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **rest} if rest and isinstance(target, dict) else target
        depth += 1
    return schema


def types_of(schema: dict[str, Any]) -> list[str]:
    """Return the types a schema allows (inferred from its keywords when ``type`` is missing).

    :param schema: the schema.
    """
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list) and declared:
        return [t for t in declared if isinstance(t, str)]
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return ["object"]
    if "items" in schema or "prefixItems" in schema or "minItems" in schema:
        return ["array"]
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return ["number"]
    if any(k in schema for k in ("pattern", "minLength", "maxLength", "format")):
        return ["string"]
    return []


def _is_type(value: Any, kind: str) -> bool:
    """Say whether a value is of a JSON Schema type.

    :param value: the value.
    :param kind: the type name.
    """
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return False


def check(value: Any, schema: Any, root: Any = None, path: str = "$", depth: int = 0) -> list[str]:
    """Return what is wrong with ``value`` against ``schema`` (empty: it conforms).

    :param value: the value.
    :param schema: a plain JSON Schema.
    :param root: the document ``$ref`` points into (default: ``schema``).
    :param path: where ``value`` is, for the messages.
    :param depth: nesting, to stop runaway recursion.
    """
    root = schema if root is None else root
    if depth > MAX_DEPTH * 4:
        return [f"{path}: too deep"]
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{path}: no value is allowed"]
    schema = resolve(schema, root)
    if not isinstance(schema, dict):
        return []
    errors: list[str] = []
    kinds = types_of(schema) if "type" in schema else []
    if kinds and not any(_is_type(value, k) for k in kinds):
        return [f"{path}: expected {'/'.join(kinds)}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    if isinstance(schema.get("enum"), list) and value not in schema["enum"]:
        errors.append(f"{path}: must be one of {schema['enum']!r}")
    for sub in schema.get("allOf") or []:
        errors += check(value, sub, root, path, depth + 1)
    if schema.get("anyOf") and all(check(value, s, root, path, depth + 1) for s in schema["anyOf"]):
        errors.append(f"{path}: matches no anyOf branch")
    if schema.get("oneOf"):
        matching = sum(1 for s in schema["oneOf"] if not check(value, s, root, path, depth + 1))
        if matching != 1:
            errors.append(f"{path}: matches {matching} oneOf branches, not 1")
    if "not" in schema and not check(value, schema["not"], root, path, depth + 1):
        errors.append(f"{path}: matches the 'not' schema")
    if isinstance(value, dict):
        errors += _check_object(value, schema, root, path, depth)
    elif isinstance(value, list):
        errors += _check_array(value, schema, root, path, depth)
    elif isinstance(value, str):
        errors += _check_string(value, schema, path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        errors += _check_number(value, schema, path)
    return errors


def _check_object(
    value: dict[str, Any], schema: dict[str, Any], root: Any, path: str, depth: int
) -> list[str]:
    """Check an object's keywords.

    :param value: the object.
    :param schema: its schema.
    :param root: the ``$ref`` document.
    :param path: where it is.
    :param depth: nesting.
    """
    errors = [f"{path}: missing {name!r}" for name in schema.get("required") or [] if name not in value]
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            errors += check(item, properties[name], root, f"{path}.{name}", depth + 1)
        elif extra is False:
            errors.append(f"{path}: unexpected {name!r}")
        elif isinstance(extra, dict):
            errors += check(item, extra, root, f"{path}.{name}", depth + 1)
    if len(value) < int(schema.get("minProperties", 0)):
        errors.append(f"{path}: too few properties")
    if "maxProperties" in schema and len(value) > int(schema["maxProperties"]):
        errors.append(f"{path}: too many properties")
    return errors


def _check_array(value: list[Any], schema: dict[str, Any], root: Any, path: str, depth: int) -> list[str]:
    """Check an array's keywords.

    :param value: the array.
    :param schema: its schema.
    :param root: the ``$ref`` document.
    :param path: where it is.
    :param depth: nesting.
    """
    errors = []
    prefix = schema.get("prefixItems") or (schema["items"] if isinstance(schema.get("items"), list) else [])
    rest = (
        schema.get("items")
        if isinstance(schema.get("items"), (dict, bool))
        else schema.get("additionalItems", True)
    )
    for index, item in enumerate(value):
        sub = prefix[index] if index < len(prefix) else rest
        if sub is not None:
            errors += check(item, sub, root, f"{path}[{index}]", depth + 1)
    if len(value) < int(schema.get("minItems", 0)):
        errors.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > int(schema["maxItems"]):
        errors.append(f"{path}: more than {schema['maxItems']} items")
    if schema.get("uniqueItems") and len({_frozen(v) for v in value}) != len(value):
        errors.append(f"{path}: items are not unique")
    return errors


def _frozen(value: Any) -> Any:
    """Return a hashable copy of a JSON value (for uniqueness).

    :param value: the value.
    """
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, bool):
        return ("bool", value)
    return value


def _check_string(value: str, schema: dict[str, Any], path: str) -> list[str]:
    """Check a string's keywords.

    :param value: the string.
    :param schema: its schema.
    :param path: where it is.
    """
    errors = []
    if len(value) < int(schema.get("minLength", 0)):
        errors.append(f"{path}: shorter than {schema['minLength']}")
    if "maxLength" in schema and len(value) > int(schema["maxLength"]):
        errors.append(f"{path}: longer than {schema['maxLength']}")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                errors.append(f"{path}: does not match {pattern!r}")
        except re.error:
            errors.append(f"{path}: invalid pattern {pattern!r}")
    return errors


def _check_number(value: float, schema: dict[str, Any], path: str) -> list[str]:
    """Check a number's keywords (draft 4 boolean and later numeric exclusive bounds).

    :param value: the number.
    :param schema: its schema.
    :param path: where it is.
    """
    low, high = bounds(schema)
    errors = []
    if low is not None and (value < low[0] or (low[1] and value == low[0])):
        errors.append(f"{path}: below the minimum")
    if high is not None and (value > high[0] or (high[1] and value == high[0])):
        errors.append(f"{path}: above the maximum")
    step = schema.get("multipleOf")
    if (
        isinstance(step, (int, float))
        and step > 0
        and not math.isclose(value / step, round(value / step), abs_tol=1e-9)
    ):
        errors.append(f"{path}: not a multiple of {step}")
    return errors


def bounds(schema: dict[str, Any]) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    """Return ``((minimum, exclusive), (maximum, exclusive))``, either ``None`` when unbounded.

    :param schema: a number schema.
    """
    low: tuple[float, bool] | None = None
    high: tuple[float, bool] | None = None
    if isinstance(schema.get("minimum"), (int, float)):
        low = (float(schema["minimum"]), schema.get("exclusiveMinimum") is True)
    if isinstance(schema.get("exclusiveMinimum"), (int, float)) and not isinstance(
        schema["exclusiveMinimum"], bool
    ):
        value = float(schema["exclusiveMinimum"])
        low = (value, True) if low is None or value >= low[0] else low
    if isinstance(schema.get("maximum"), (int, float)):
        high = (float(schema["maximum"]), schema.get("exclusiveMaximum") is True)
    if isinstance(schema.get("exclusiveMaximum"), (int, float)) and not isinstance(
        schema["exclusiveMaximum"], bool
    ):
        value = float(schema["exclusiveMaximum"])
        high = (value, True) if high is None or value <= high[0] else high
    return low, high


def clamp(
    value: float,
    low: tuple[float, bool] | None,
    high: tuple[float, bool] | None,
    step: float | None,
    integer: bool,
) -> float:
    """Move a value into bounds, onto the step grid (and onto whole numbers for integers).

    :param value: the wanted value.
    :param low: ``(minimum, exclusive)`` or ``None``.
    :param high: ``(maximum, exclusive)`` or ``None``.
    :param step: ``multipleOf``, if any.
    :param integer: whole numbers only.
    :raises SchemaError: when no allowed value exists.
    """
    unit = step or (1.0 if integer else None)
    if low is not None:
        floor = low[0] + (unit if unit and low[1] else (1e-6 if low[1] else 0.0))
        value = max(value, floor)
    if high is not None:
        ceiling = high[0] - (unit if unit and high[1] else (1e-6 if high[1] else 0.0))
        value = min(value, ceiling)
    if unit:
        value = round(value / unit) * unit
        if low is not None and (value < low[0] or (low[1] and value <= low[0])):
            value += unit * math.ceil((low[0] - value) / unit + (1e-9 if not low[1] else 1))
        if high is not None and (value > high[0] or (high[1] and value >= high[0])):
            raise SchemaError("no number satisfies the schema's bounds and step")
        value = round(value, 9)
    return value


def merge_all_of(base: dict[str, Any], others: list[Any]) -> dict[str, Any]:
    """Merge schemas for ``allOf`` (properties and required lists combine; later keywords win).

    :param base: the schema holding ``allOf``.
    :param others: the resolved sub-schemas.
    """
    merged = {k: v for k, v in base.items() if k != "allOf"}
    for other in others:
        if not isinstance(other, dict):
            continue
        for key, value in other.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = [*merged.get("required", []), *value]
            elif key not in merged:
                merged[key] = value
    return merged
