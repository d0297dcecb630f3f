"""
``POST /callbacks/{secret}`` as a plain ASGI handler: the hot path, kept off FastAPI's routing and request
objects (which cost more than the store's own work). ``POST /_noop/{secret}`` runs the same checks without the
store, as the benchmark's baseline.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.bridge.intake import Rejection, parse_callback

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.types import Receive, Scope, Send

    from airflow_provider_mavi.bridge.runtime import Runtime

log = logging.getLogger("airflow_provider_mavi.bridge")


async def send_json(send: Send, status: int, body: Any, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """
    Send a complete JSON response.

    :param send: the ASGI send callable.
    :param status: the HTTP status.
    :param body: what to serialise.
    :param headers: more headers.
    """
    data = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def client_host(scope: Scope) -> str:
    """
    Return the remote address of a request (after uvicorn's proxy-header handling).

    :param scope: the ASGI scope.
    """
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class CallbackInbox:
    """
    Receives Mavi's callbacks: secret (constant time, first), source network, size, JSON, then the store.

    :param runtime: the app's runtime (store writer, metrics, relay).
    """

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        assert settings.callback_secret is not None
        self.runtime = runtime
        self.secret = settings.callback_secret.encode()
        self.max_body = settings.max_body
        self.networks = settings.allowed_networks

    async def reject(self, scope: Scope, send: Send, status: int, reason: str, message: str) -> None:
        """
        Count, log one line naming the remote address, and answer ``{"detail": message}``.

        :param scope: the ASGI scope.
        :param send: the ASGI send callable.
        :param status: the HTTP status.
        :param reason: the metric label.
        :param message: what the sender is told.
        """
        self.runtime.metrics.rejected.labels(reason).inc()
        log.warning("mavi-bridge: callback refused (%s, %s) from %s", status, reason, client_host(scope))
        await send_json(send, status, {"detail": message})

    async def __call__(self, scope: Scope, receive: Receive, send: Send, secret: str, *, store: bool) -> None:
        """
        Handle one callback POST.

        :param scope: the ASGI scope.
        :param receive: the ASGI receive callable.
        :param send: the ASGI send callable.
        :param secret: the secret from the path.
        :param store: ``False`` for the no-op baseline.
        """
        if not hmac.compare_digest(secret.encode(), self.secret):
            await self.reject(scope, send, 404, "secret", "Not Found")
            return
        if self.networks:
            try:
                source = ipaddress.ip_address(client_host(scope))
                allowed = any(source in network for network in self.networks)
            except ValueError:
                allowed = False
            if not allowed:
                await self.reject(scope, send, 403, "network", "source address not allowed")
                return
        too_large = f"body larger than {self.max_body} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                await self.reject(scope, send, 413, "too_large", too_large)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self.reject(scope, send, 413, "too_large", too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            item = parse_callback(body, time.time())
        except Rejection as rejection:
            await self.reject(scope, send, rejection.status, rejection.reason, rejection.message)
            return
        if not store:
            await send_json(send, 200, {"job_id": item.job_id, "deliveries": 0, "duplicate": False})
            return
        runtime = self.runtime
        assert runtime.writer is not None
        try:
            result = await runtime.writer.submit(item)
        except Exception as err:
            runtime.metrics.rejected.labels("store").inc()
            log.error(
                "mavi-bridge: could not store callback for job %s from %s (%s)",
                item.job_id,
                client_host(scope),
                type(err).__name__,
            )
            await send_json(send, 503, {"detail": "store unavailable, retry later"})
            return
        runtime.metrics.received.inc()
        if result.duplicate:
            runtime.metrics.duplicates.inc()
        elif runtime.relay is not None:
            runtime.relay.offer(body)
        await send_json(
            send,
            200,
            {"job_id": result.job_id, "deliveries": result.deliveries, "duplicate": result.duplicate},
        )
