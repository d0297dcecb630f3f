"""Request body caps: an upload may be large, any other body is small.

Mavi documents no size limit, so the emulator sets its own (README, flags ``--max-upload-bytes`` and
``--max-body-bytes``). A declared ``Content-Length`` over the cap is refused before a byte is read; a body
without one (chunked) is counted as it arrives and refused as soon as it passes the cap. Either way the
answer is a 413 and nothing is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope

    from airflow_provider_mavi.emulator.settings import EmulatorSettings

#: Endpoint names (``gate.endpoint_of``) whose bodies are uploaded files.
UPLOADS = frozenset({"POST /upload", "UPLOAD signed-url"})


class BodyTooLarge(Exception):
    """A request body passed its cap.

    :param limit: the cap in bytes.
    """

    def __init__(self, limit: int) -> None:
        """Keep the cap."""
        super().__init__(f"Request body too large: the limit is {limit} bytes")
        self.limit = limit
        self.msg = str(self)


def cap_for(settings: EmulatorSettings, endpoint: str | None) -> int:
    """Return the body cap of an endpoint.

    :param settings: the account's settings.
    :param endpoint: the endpoint name, ``None`` outside the API (admin).
    """
    return settings.max_upload_bytes if endpoint in UPLOADS else settings.max_body_bytes


def declared_length(scope: Scope) -> int | None:
    """Return the request's ``Content-Length``, or ``None`` when absent or not a number.

    :param scope: the ASGI scope.
    """
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def counting(receive: Receive, limit: int) -> Receive:
    """Wrap ``receive`` so that a body passing ``limit`` bytes raises :class:`BodyTooLarge`.

    :param receive: the ASGI receive.
    :param limit: the cap in bytes.
    """
    seen = 0

    async def receive_counted() -> Message:
        """Receive the next message, counting body bytes."""
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_counted
