"""Helpers for the results tests: copies of a payload with one field changed or removed (the original is
never touched)."""

from __future__ import annotations

import copy
from typing import Any

_DROP = object()


def _edit(payload: Any, value: Any, path: tuple[str | int, ...]) -> Any:
    clone = copy.deepcopy(payload)
    node = clone
    for key in path[:-1]:
        node = node[key]
    if value is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return clone


def changed(payload: Any, value: Any, *path: str | int) -> Any:
    """A deep copy of ``payload`` with the field at ``path`` set to ``value``."""
    return _edit(payload, value, path)


def dropped(payload: Any, *path: str | int) -> Any:
    """A deep copy of ``payload`` without the field at ``path``."""
    return _edit(payload, _DROP, path)
