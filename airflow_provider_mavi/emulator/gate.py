"""What every API request passes before its route: counting, the key, the rate limit, the body cap
(``bodylimit.py``; admin requests get the cap too) and request faults.

It runs at the outermost ASGI layer, where uvicorn's own ``send`` is still in hand, so a connection-reset
fault can abort the real TCP connection (an RST, not an HTTP answer).
"""

from __future__ import annotations

import asyncio
import hmac
import re
import socket
import struct
from typing import TYPE_CHECKING, Any

from starlette.responses import PlainTextResponse

from airflow_provider_mavi.emulator import envelope
from airflow_provider_mavi.emulator.bodylimit import BodyTooLarge, cap_for, counting, declared_length

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from airflow_provider_mavi.emulator.state import EmulatorState

API_PREFIX = "/serve/api/v2"
SIGNED_PREFIX = "/signed-upload/"
SIGNED_ENDPOINT = "UPLOAD signed-url"
_FIXED = {
    "POST /upload",
    "POST /upload/signed-url",
    "POST /video/extract-frames",
    "POST /transcriptions/async-generate-video",
    "POST /transcriptions/async-generate-audio",
}
_ASSET_ROUTE = re.compile(r"/([^/]+)/(metadata|download)")
_ASSET = re.compile(r"/([^/]+)")


def endpoint_of(method: str, path: str) -> str | None:
    """Return the endpoint name used for counting and the rate limit, e.g. ``GET /{asset_id}/metadata``.

    :param method: the HTTP method.
    :param path: the request path.
    :return: ``None`` for paths outside the API (admin endpoints).
    """
    if path.startswith(SIGNED_PREFIX):
        return SIGNED_ENDPOINT
    if not path.startswith(API_PREFIX + "/"):
        return None
    rest = path[len(API_PREFIX) :]
    key = f"{method} {rest}"
    if key in _FIXED:
        return key
    match = _ASSET_ROUTE.fullmatch(rest)
    if match:
        return f"{method} /{{asset_id}}/{match.group(2)}"
    if method == "DELETE" and _ASSET.fullmatch(rest):
        return "DELETE /{asset_id}"
    return key


def authorized(scope: Scope, api_key: str) -> bool:
    """Say whether the raw ``Authorization`` header is the account's key (constant-time compare).

    :param scope: the ASGI scope.
    :param api_key: the key.
    """
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return hmac.compare_digest(value, api_key.encode())
    return False


def root_url(scope: Scope) -> str:
    """Return ``scheme://host[:port]`` as the client addressed this server (for URLs the answers hand out).

    :param scope: the ASGI scope.
    """
    for name, value in scope.get("headers", []):
        if name == b"host":
            return f"{scope.get('scheme', 'http')}://{value.decode('latin-1')}"
    server = scope.get("server") or ("127.0.0.1", 80)
    return f"{scope.get('scheme', 'http')}://{server[0]}:{server[1]}"


def reset_connection(send: Send) -> bool:
    """Abort the TCP connection under ``send`` with an RST.

    Returns ``False`` when the server does not expose its transport.

    :param send: uvicorn's send callable.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


async def _swallow(message: Message) -> None:
    """Drop a response message (the answer the client will never see).

    :param message: an ASGI message.
    """


async def gate(state: EmulatorState, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Apply counting, auth, rate limit, the body cap and request faults, then call the routes.

    :param state: the account.
    :param app: the routes.
    :param scope: the ASGI scope.
    :param receive: the ASGI receive.
    :param send: the ASGI send (uvicorn's own).
    """
    endpoint = endpoint_of(scope["method"], scope["path"])
    cap = cap_for(state.settings, endpoint)
    if endpoint is not None:
        state.stats.count_request(endpoint)
        state.root_url = root_url(scope)
        if endpoint != SIGNED_ENDPOINT and not authorized(scope, state.settings.api_key):
            await envelope.error(401, envelope.UNAUTHORIZED_MSG)(scope, receive, send)
            return
        if not state.limiter.allow(endpoint):
            state.stats.count_rate_limited(endpoint)
            await envelope.rate_limited(state.settings.rate_limit_style)(scope, receive, send)
            return
    length = declared_length(scope)
    if length is not None and length > cap:
        await too_large(endpoint, BodyTooLarge(cap))(scope, receive, send)
        return
    if endpoint is None:
        await app(scope, counting(receive, cap), send)
        return
    await _faulty(state, endpoint, app, scope, counting(receive, cap), send)


def too_large(endpoint: str | None, exc: BodyTooLarge) -> Response:
    """Return the 413 answer: Mavi's envelope, or plain text on the signed URL (a storage host, not Mavi).

    :param endpoint: the endpoint name.
    :param exc: the refusal.
    """
    if endpoint == SIGNED_ENDPOINT:
        return PlainTextResponse(exc.msg, status_code=413)
    return envelope.error(413, exc.msg, flags=True)


async def _faulty(
    state: EmulatorState, endpoint: str, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """Apply the request faults that fire for this request, else answer normally.

    :param state: the account.
    :param endpoint: the endpoint name.
    :param app: the routes.
    :param scope: the ASGI scope.
    :param receive: the ASGI receive.
    :param send: the ASGI send.
    """
    faults = state.faults
    limited = faults.decide("rate_limit", endpoint)
    if limited is not None:
        style = int(limited["status"]) or state.settings.rate_limit_style
        await envelope.rate_limited(style)(scope, receive, send)
        return
    slow = faults.decide("slow_response", endpoint)
    if slow is not None:
        await asyncio.sleep(float(slow["seconds"]))
    reset = faults.decide("connection_reset", endpoint)
    server_error = None if reset is not None else faults.decide("server_error", endpoint)
    fault: dict[str, Any] | None = reset if reset is not None else server_error
    if fault is None:
        await app(scope, receive, send)
        return
    if fault.get("after"):
        await app(scope, receive, _swallow)
    if reset is not None and reset_connection(send):
        return
    status = int(server_error["status"]) if server_error is not None else 500
    await envelope.error(status, "Internal Server Error")(scope, receive, send)
