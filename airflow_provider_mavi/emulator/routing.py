"""Small helpers every route module shares: the account behind a request, its JSON body, field checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import Request

    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset

NOT_READY = "not ready"


class Rejected(Exception):
    """A request the emulator refuses with a Mavi error envelope.

    :param status: the HTTP status (and body ``code``).
    :param msg: the message.
    """

    def __init__(self, status: int, msg: str) -> None:
        """Keep the status and the message."""
        super().__init__(msg)
        self.status = status
        self.msg = msg


def state_of(request: Request) -> EmulatorState:
    """Return the account behind a request.

    :param request: the request.
    """
    state: EmulatorState = request.app.emulator
    return state


async def json_body(request: Request) -> dict[str, Any]:
    """Return the JSON object body, or an empty dict when the body is not a JSON object.

    :param request: the request.
    """
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def is_blank(value: Any) -> bool:
    """Say whether a required field counts as "null or empty" (missing, null, blank string, empty list).

    :param value: the field's value.
    """
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def first_missing(body: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """Return Mavi's message for the first required field that is null or empty, else ``None``.

    :param body: the request body.
    :param names: the required fields, in the order they are checked.
    """
    for name in names:
        if is_blank(body.get(name)):
            return f"{name} cannot be null or empty"
    return None


def usable_asset(state: EmulatorState, asset_id: Any, needs: str) -> Asset | None:
    """Return the ``re_`` asset if it exists, is ``SUCCESS`` and has what the endpoint needs, else ``None``.

    :param state: the account.
    :param asset_id: the requested id (any JSON value).
    :param needs: ``video`` (a video track) or ``media`` (audio or video).
    """
    if not isinstance(asset_id, str) or not asset_id.startswith("re_"):
        return None
    asset = state.store.get(asset_id)
    if asset is None or asset.upload_status != "SUCCESS" or asset.path is None:
        return None
    if needs == "video" and not asset.has_video:
        return None
    if needs == "media" and not (asset.has_video or asset.has_audio):
        return None
    return asset


def boolean(body: dict[str, Any], name: str, default: bool = False) -> bool | None:
    """Return a boolean field, its default when absent or null, or ``None`` when it is not a boolean.

    :param body: the request body.
    :param name: the field.
    :param default: its default.
    """
    value = body.get(name)
    if value is None:
        return default
    return value if isinstance(value, bool) else None


def number(value: Any, *, low: float, high: float) -> float | None:
    """Return a JSON number within ``[low, high]``, else ``None`` (booleans are not numbers).

    :param value: the value.
    :param low: the smallest allowed.
    :param high: the largest allowed.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if low <= value <= high else None
