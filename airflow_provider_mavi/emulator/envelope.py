"""Mavi's JSON envelopes and the documented error answers (``mavi-api.md`` §1.1, §3.3, §7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from collections.abc import Mapping

LIMIT_MSG = "Request has exceeded the limit."
NO_WEBHOOK_MSG = "An async request requires at least one webhook."
NOT_FOUND_MSG = "Asset not found"
UNAUTHORIZED_MSG = "Unauthorized"
BALANCE_MSG = "Insufficient balance. Please recharge and try again."
DOWNLOAD_BALANCE_MSG = "Insufficient balance to download the resource. Please recharge and try again."


def ok(code: int | str, data: Any) -> JSONResponse:
    """Return a success envelope.

    :param code: the account's success code (``200`` or ``"0000"``).
    :param data: the ``data`` field.
    """
    return JSONResponse({"code": code, "msg": "success", "data": data, "success": True, "failed": False})


def error(
    status: int, msg: str, *, flags: bool = False, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Return an error answer: HTTP status and body ``code`` match, ``data`` is null.

    :param status: the HTTP status.
    :param msg: the message.
    :param flags: add ``success: false, failed: true`` (asset, download and framework errors carry them).
    :param headers: headers to add (``Allow`` on a 405).
    """
    body: dict[str, Any] = {"code": status, "msg": msg, "data": None}
    if flags:
        body.update(success=False, failed=True)
    return JSONResponse(body, status_code=status, headers=headers)


def rate_limited(style: int) -> JSONResponse:
    """Return the account's answer to an exceeded rate limit.

    :param style: ``400`` (the live-observed message) or ``429``.
    """
    if style == 429:
        return error(429, "Too Many Requests")
    return error(400, LIMIT_MSG)


def callback_body(code: int | str, task_id: str, data: Any, *, message: str = "SUCCESS") -> dict[str, Any]:
    """Return a webhook body: note ``message``, not ``msg``, at the top level.

    :param code: the code to send.
    :param task_id: the job id.
    :param data: the endpoint-specific ``data``.
    :param message: the top-level message.
    """
    return {"code": code, "message": message, "data": data, "task_id": task_id}
