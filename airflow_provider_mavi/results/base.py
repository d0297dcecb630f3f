"""What every result type shares: a JSON-ready ``to_dict()`` for XCom, and the cost fields.

Result types are small frozen dataclasses. ``to_dict()`` gives their fields and the derived values each class
names in ``_derived`` (e.g. a transcript's ``text``) as plain JSON: dicts, lists, strings, numbers, None.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = ["Result", "json_ready"]


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON: dataclasses and mappings become dicts, tuples and lists become lists.

    :param value: a result, a field of one, or a JSON value.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Result):
            return value.to_dict()
        return {f.name: json_ready(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple keeps its field names
        return json_ready(value._asdict())
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


class Result:
    """Base of the result dataclasses: ``to_dict()`` for XCom.

    ``_derived`` names properties added to ``to_dict()`` after the fields.
    """

    _derived: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (its fields, then its derived values)."""
        if not dataclasses.is_dataclass(self):  # pragma: no cover - every subclass is a dataclass
            raise TypeError(f"{type(self).__name__} is not a dataclass")
        out = {f.name: json_ready(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out.update({name: json_ready(getattr(self, name)) for name in self._derived})
        return out
