"""Checks of request values, shared by the body builders: each returns the value or raises ``ValueError``
(before anything is sent) with a message that says what is wrong and what is allowed. A URL is never echoed
whole (a signed URL's query is a credential): only its scheme is named.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "check_asset_id",
    "check_asset_ids",
    "check_choice",
    "check_flag",
    "check_number",
    "check_options",
    "check_text",
    "check_texts",
    "check_url",
    "check_whole",
]

_UNSAFE_ID = re.compile(r"[\s/\\?#%\x00-\x1f\x7f]")


def check_asset_id(asset_id: str, what: str = "asset_id") -> str:
    """Return ``asset_id`` if it can be one path segment, else raise :class:`ValueError`.

    :param asset_id: a Mavi asset id (``re_...``, ``im_...``, ``imc_...``).
    :param what: the parameter, named in the error.
    """
    if (
        not isinstance(asset_id, str)
        or not asset_id
        or _UNSAFE_ID.search(asset_id)
        or asset_id in {".", ".."}
    ):
        raise ValueError(
            f"Not a Mavi asset id: {asset_id!r} (expected e.g. 're_660727003963174912') for {what}."
        )
    return asset_id


def check_asset_ids(asset_ids: Sequence[str], what: str = "asset_ids") -> list[str]:
    """A non-empty list (or tuple) of checked asset ids; a bare string is refused, not split into letters.

    :param asset_ids: the ids.
    :param what: the parameter, named in the error.
    """
    if isinstance(asset_ids, str) or not isinstance(asset_ids, (list, tuple)):
        raise ValueError(f"{what} must be a list of asset ids, e.g. ['re_1', 're_2'], got {asset_ids!r}")
    if not asset_ids:
        raise ValueError(f"{what} must hold at least one asset id, got an empty list")
    return [check_asset_id(asset_id, f"{what}[{i}]") for i, asset_id in enumerate(asset_ids)]


def check_choice(value: object, allowed: Sequence[str], what: str) -> str:
    """``value`` when it is one of ``allowed`` (exactly), else ``ValueError`` listing them.

    :param value: the value.
    :param allowed: the allowed values.
    :param what: the parameter, named in the error.
    """
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def check_flag(value: object, what: str) -> bool:
    """``value`` when it is True or False (not a truthy string: ``"False"`` would turn a paid option on).

    :param value: the value.
    :param what: the parameter, named in the error.
    """
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be True or False, got {value!r}")
    return value


def check_whole(value: object, what: str, minimum: int = 0) -> int:
    """``value`` when it is a whole number (an int, not a bool) >= ``minimum``.

    :param value: the value.
    :param what: the parameter, named in the error.
    :param minimum: the smallest allowed value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return value


def check_number(value: object, what: str, low: float | None = None, high: float | None = None) -> float:
    """``value`` when it is a finite number (not a bool) within ``[low, high]``.

    :param value: the value.
    :param what: the parameter, named in the error.
    :param low: the smallest allowed value, if any.
    :param high: the largest allowed value, if any.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        bounds = f" from {low:g} to {high:g}" if low is not None and high is not None else ""
        raise ValueError(f"{what} must be a number{bounds}, got {value!r}")
    return float(value)


def check_text(value: object, what: str, max_length: int | None = None) -> str:
    """``value`` when it is a string with something besides spaces (at most ``max_length`` characters).

    :param value: the value.
    :param what: the parameter, named in the error.
    :param max_length: the most characters allowed, if bounded.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{what} must be at most {max_length} characters, got {len(value)}")
    return value


def check_texts(value: object, what: str) -> list[str]:
    """A non-empty list (or tuple) of non-empty strings; a bare string is refused.

    :param value: the value.
    :param what: the parameter, named in the error.
    """
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{what} must be a non-empty list of strings, e.g. ['a red car'], got {value!r}")
    return [check_text(item, f"{what}[{i}]") for i, item in enumerate(value)]


def check_url(value: object, what: str, schemes: Sequence[str] = ("https", "http")) -> str:
    """``value`` when it is an absolute URL with one of ``schemes``; the error never shows the URL.

    :param value: the URL.
    :param what: the parameter, named in the error.
    :param schemes: the allowed schemes.
    """
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a URL string, got {type(value).__name__}")
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in schemes or not parts.netloc:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        got = f"a {parts.scheme}:// URL" if parts.scheme else "no URL scheme"
        raise ValueError(f"{what} must be an absolute {allowed} URL, got {got}")
    return value.strip()


def check_options(
    options: Mapping[str, Any], checks: Mapping[str, Callable[[Any, str], Any]], what: str
) -> dict[str, Any]:
    """Check provider options against a table ``name -> check(value, name)``; an unknown name is refused
    with the list of known ones. Options set to None are left out (the provider's default applies).

    :param options: the options given.
    :param checks: the known options and their checks.
    :param what: who takes them, named in the error (e.g. ``speech-to-text with assemblyai``).
    """
    unknown = sorted(set(options) - set(checks))
    if unknown:
        raise ValueError(
            f"{what} takes no option(s) {', '.join(unknown)}; the documented ones are: "
            f"{', '.join(sorted(checks))}"
        )
    return {name: checks[name](value, name) for name, value in options.items() if value is not None}
