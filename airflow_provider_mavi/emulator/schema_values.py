"""A value that conforms to a JSON schema, filled with measured facts where a field's name says what it wants.

The field's name (and its parent's) is split into words; words such as ``summary``, ``scenes``,
``duration``, ``colours``, ``speakers`` or ``has_audio`` pick the matching measurement from
:class:`~airflow_provider_mavi.emulator.facts.Facts`. Arrays of scenes (or segments, shots, ...) get one item
per detected scene, arrays of speech turns one per measured turn. Fields nothing measured get an honest
default: ``0`` (clamped into range), ``false``, the first ``enum`` value, or a text that says it was not
measured. Every keyword :func:`schemas.check` knows is honoured, and the result is checked against the
schema before it is returned: a schema that cannot be satisfied raises :class:`SchemaError`.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.emulator import fact_lookup as lookup
from airflow_provider_mavi.emulator.fact_lookup import Context, name_words
from airflow_provider_mavi.emulator.patterns import sample_pattern
from airflow_provider_mavi.emulator.schemas import (
    MAX_DEPTH,
    SchemaError,
    bounds,
    check,
    clamp,
    merge_all_of,
    resolve,
    types_of,
)

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.facts import Facts


def generate(schema: Any, facts: Facts) -> Any:
    """Return a value conforming to ``schema`` (plain JSON Schema), filled from ``facts``.

    :param schema: the schema.
    :param facts: the measurements.
    :raises SchemaError: when the schema is invalid or cannot be satisfied.
    """
    value = _Generator(schema, facts).value(schema, Context())
    errors = check(value, schema)
    if errors:
        raise SchemaError("the emulator could not satisfy the schema: " + "; ".join(errors[:3]))
    return value


class _Generator:
    """Builds values for one schema document from one set of facts."""

    def __init__(self, root: Any, facts: Facts) -> None:
        """Keep the document (for ``$ref``) and the facts."""
        self.root = root
        self.facts = facts

    def value(self, schema: Any, ctx: Context) -> Any:
        """Return a value for ``schema`` at ``ctx``.

        :param schema: the (sub)schema.
        :param ctx: where it is.
        """
        if ctx.depth > MAX_DEPTH:
            raise SchemaError("the schema nests too deeply")
        if schema is False:
            raise SchemaError("a schema 'false' allows no value")
        schema = resolve(schema, self.root)
        if schema is True or not isinstance(schema, dict):
            return lookup.text(self.facts, ctx)
        if "allOf" in schema:
            schema = merge_all_of(schema, [resolve(s, self.root) for s in schema["allOf"]])
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.choose(schema["enum"], ctx)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.branch(schema, key, ctx)
        kinds = [k for k in types_of(schema) if k != "null"] or (["null"] if types_of(schema) else ["string"])
        kind = kinds[0]
        if kind == "object":
            return self.object(schema, ctx)
        if kind == "array":
            return self.array(schema, ctx)
        if kind in ("number", "integer"):
            return self.number(schema, ctx, integer=kind == "integer")
        if kind == "boolean":
            return lookup.truth(self.facts, ctx)
        if kind == "null":
            return None
        return self.string(schema, ctx)

    def branch(self, schema: dict[str, Any], key: str, ctx: Context) -> Any:
        """Return the first branch's value that conforms (to exactly one branch, for ``oneOf``).

        :param schema: a schema with ``anyOf`` or ``oneOf``.
        :param key: which of the two.
        :param ctx: where it is.
        """
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        for option in schema[key]:
            merged = merge_all_of(base, [resolve(option, self.root)]) if base else option
            try:
                candidate = self.value(merged, replace(ctx, depth=ctx.depth + 1))
            except SchemaError:
                continue
            if not check(candidate, schema, self.root):
                return candidate
        raise SchemaError(f"no {key} branch could be satisfied")

    def object(self, schema: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Return an object: every listed property (optional ones while ``maxProperties`` allows).

        :param schema: an object schema.
        :param ctx: where it is.
        """
        properties: dict[str, Any] = schema.get("properties") or {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        order = [p for p in schema.get("propertyOrdering") or [] if p in properties]
        names = order + [p for p in properties if p not in order]
        names += [r for r in required if r not in names]
        limit = int(schema.get("maxProperties", len(names)))
        if ctx.depth > MAX_DEPTH // 3:
            limit = min(
                limit, max(len(required), int(schema.get("minProperties", 0)))
            )  # recursive schemas end
        chosen = [n for n in names if n in required]
        chosen += [n for n in names if n not in required][: max(0, limit - len(chosen))]
        out: dict[str, Any] = {}
        for name in names:
            if name in chosen:
                sub = properties.get(name, schema.get("additionalProperties", True))
                out[name] = self.value(
                    sub, replace(ctx, words=frozenset(name_words(name)), depth=ctx.depth + 1)
                )
        extra = schema.get("additionalProperties", True)
        number = 1
        while len(out) < int(schema.get("minProperties", 0)) and extra is not False:
            out[f"extra_{number}"] = self.value(extra, replace(ctx, words=frozenset(), depth=ctx.depth + 1))
            number += 1
        return out

    def array(self, schema: dict[str, Any], ctx: Context) -> list[Any]:
        """Return an array: one item per scene or turn when the name asks for them, else one.

        :param schema: an array schema.
        :param ctx: where it is.
        """
        prefix = schema.get("prefixItems") or (
            schema["items"] if isinstance(schema.get("items"), list) else []
        )
        rest = (
            schema.get("items")
            if isinstance(schema.get("items"), (dict, bool))
            else schema.get("additionalItems", True)
        )
        words = ctx.words
        items_ctx: list[Context] = []
        if words & lookup.SCENE_WORDS and self.facts.scenes and not words & {"speaker", "speakers"}:
            items_ctx = [replace(ctx, scene=s, index=i) for i, s in enumerate(self.facts.scenes)]
        elif words & lookup.TURN_WORDS and self.facts.turns:
            items_ctx = [replace(ctx, turn=t, index=i) for i, t in enumerate(self.facts.turns)]
        elif words & lookup.COLOUR_WORDS and self.facts.colours:
            items_ctx = [
                replace(ctx, index=i, texts=tuple(n for n, _ in self.facts.colours))
                for i in range(len(self.facts.colours))
            ]
        elif words & lookup.TAG_WORDS:
            tags = lookup.tags(self.facts)
            items_ctx = [replace(ctx, index=i, texts=tags) for i in range(len(tags))]
        else:
            items_ctx = [replace(ctx, index=0)]
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, len(items_ctx), len(prefix))))
        count = min(high, max(low, len(items_ctx), len(prefix) if low >= len(prefix) else low))
        out: list[Any] = []
        seen: set[Any] = set()
        for index in range(count):
            item_ctx = replace(items_ctx[index % len(items_ctx)], index=index, depth=ctx.depth + 1)
            sub = prefix[index] if index < len(prefix) else rest
            if sub is False:
                break
            item = self.value(sub if sub is not None else True, item_ctx)
            if schema.get("uniqueItems"):
                try:
                    item = self.unique(item, sub, item_ctx, seen)
                except SchemaError:
                    if index >= low:
                        break  # fewer items than the facts offer, but enough for the schema
                    raise
            out.append(item)
        return out

    def unique(self, item: Any, schema: Any, ctx: Context, seen: set[Any]) -> Any:
        """Return ``item`` or a variant of it not produced before (for ``uniqueItems``).

        :param item: the first try.
        :param schema: the item schema.
        :param ctx: where it is.
        :param seen: keys of the items produced so far.
        """
        first = item
        key = repr(item)
        attempt = 0
        while key in seen:
            attempt += 1
            if attempt > 50:
                raise SchemaError("cannot make enough distinct items for uniqueItems")
            item = self.variant(first, schema, ctx, attempt)
            key = repr(item)
        seen.add(key)
        return item

    def variant(self, item: Any, schema: Any, ctx: Context, attempt: int) -> Any:
        """Return another value for the same item schema.

        :param item: the value that was already used.
        :param schema: the item schema.
        :param ctx: where it is.
        :param attempt: how many variants were tried.
        """
        resolved = resolve(schema, self.root) if isinstance(schema, dict) else {}
        if isinstance(resolved, dict) and isinstance(resolved.get("enum"), list):
            options = resolved["enum"]
            return options[(options.index(item) + attempt) % len(options)] if item in options else options[0]
        if isinstance(item, bool):
            return not item
        if isinstance(item, (int, float)):
            step = resolved.get("multipleOf", 1) if isinstance(resolved, dict) else 1
            for candidate in (item + step * attempt, item - step * attempt):
                if check(type(item)(candidate), resolved, self.root) == []:
                    return type(item)(candidate)
            raise SchemaError("cannot make enough distinct items for uniqueItems")
        if isinstance(item, str):
            suffix = str(attempt + 1)
            high = int(resolved.get("maxLength", 10**9)) if isinstance(resolved, dict) else 10**9
            low = int(resolved.get("minLength", 0)) if isinstance(resolved, dict) else 0
            text = (
                f"{item} {suffix}"
                if len(item) + len(suffix) < high
                else item[: max(0, high - len(suffix))] + suffix
            )
            return text[: -len(suffix)] + "." * (low - len(text)) + suffix if len(text) < low else text
        if isinstance(item, dict) and item:
            first = next(iter(item))
            props = resolved.get("properties", {}) if isinstance(resolved, dict) else {}
            return {**item, first: self.variant(item[first], props.get(first, True), ctx, attempt)}
        raise SchemaError("cannot make enough distinct items for uniqueItems")

    def choose(self, options: list[Any], ctx: Context) -> Any:
        """Return the enum value the facts name, else the first one.

        :param options: the allowed values.
        :param ctx: where it is.
        """
        hint = lookup.text(self.facts, ctx).lower()
        number = lookup.number(self.facts, ctx)
        flag = lookup.truth(self.facts, ctx)
        for option in options:
            if isinstance(option, str) and option and re.search(rf"\b{re.escape(option.lower())}\b", hint):
                return option
        for option in options:
            if isinstance(option, bool) and option == flag:
                return option
        numeric = [o for o in options if isinstance(o, (int, float)) and not isinstance(o, bool)]
        if numeric and number is not None:
            return min(numeric, key=lambda o: abs(o - number))
        return options[0]

    def string(self, schema: dict[str, Any], ctx: Context) -> str:
        """Return a string within the schema's format, pattern and lengths.

        :param schema: a string schema.
        :param ctx: where it is.
        """
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", 10**9))
        pattern = schema.get("pattern")
        seconds = (
            lookup.number(self.facts, ctx)
            if ctx.words & {"start", "end", "time", "timestamp", "begin"}
            else None
        )
        text = _formatted(schema.get("format"), seconds) or lookup.text(self.facts, ctx)
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SchemaError(f"invalid pattern {pattern!r}: {exc}") from exc
            if re.search(pattern, text) is None or not low <= len(text) <= high:
                text = sample_pattern(pattern)
            return text
        if len(text) > high:
            text = text[: max(0, high - 1)].rstrip() + "…" if high > 1 else text[:high]
        return text + "." * (low - len(text)) if len(text) < low else text

    def number(self, schema: dict[str, Any], ctx: Context, *, integer: bool) -> int | float:
        """Return a number inside the schema's bounds and step, from the facts where the name asks.

        :param schema: a number schema.
        :param ctx: where it is.
        :param integer: return an integer.
        """
        measured = lookup.number(self.facts, ctx)
        low, high = bounds(schema)
        value = float(measured) if measured is not None else 0.0
        ratio_words = {"brightness", "motion", "movement", "activity", "lighting", "exposure"}
        if measured is not None and ctx.words & ratio_words and high is not None and high[0] > 1:
            value = measured * high[0]  # a 0-1 measurement on the schema's scale (e.g. 0-100)
        step = schema.get("multipleOf")
        step = (
            float(step)
            if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0
            else None
        )
        if integer:
            step = step if step is not None and step.is_integer() else (math.ceil(step) if step else 1.0)
        value = clamp(value, low, high, step, integer)
        return int(value) if integer else value


def _formatted(fmt: Any, seconds: float | None) -> str | None:
    """Return a string in a known ``format`` (``None`` for none or an unknown one).

    :param fmt: the schema's format.
    :param seconds: a measured time, for time-like formats.
    """
    at = datetime.timedelta(seconds=seconds or 0.0)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + at
    formats = {
        "date-time": epoch.isoformat().replace("+00:00", "Z"),
        "date": epoch.date().isoformat(),
        "time": epoch.time().isoformat(timespec="milliseconds") + "Z",
        "duration": f"PT{(seconds or 0.0):.3f}S",
        "email": "emulator@example.com",
        "uri": "https://example.com/mavi-emulator",
        "url": "https://example.com/mavi-emulator",
        "uuid": "00000000-0000-4000-8000-000000000000",
        "ipv4": "127.0.0.1",
        "ipv6": "::1",
        "hostname": "example.com",
    }
    return formats.get(fmt) if isinstance(fmt, str) else None
