"""Where the bridge is, from a ``mavi`` connection: ``bridge_url`` and ``bridge_token`` (never shown)."""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook

from airflow_provider_mavi.exceptions import MaviBridgeNotConfiguredError
from airflow_provider_mavi.hooks.bridge_protocol import public_url

if TYPE_CHECKING:
    from airflow.sdk import Connection

__all__ = ["SETTINGS_TTL_SECONDS", "BridgeSettings", "aread_shared", "bridge_settings"]

#: Seconds a connection read in a trigger is re-used by the other triggers of the same event loop.
SETTINGS_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class BridgeSettings:
    """Where the bridge is and how to authenticate (the token is left out of ``repr``).

    :param url: the bridge's base URL (``http://bridge:8787``, or ``.../mavi`` for the plugin).
    :param token: the bearer token (``MAVI_BRIDGE_API_TOKEN``).
    :param page_url: the address people open the bridge's pages at (extra ``bridge_public_url``), when it
        is not ``url`` (workers reach ``http://bridge:8787``, browsers ``https://bridge.example.com``).
    """

    url: str
    token: str = field(repr=False)
    page_url: str | None = None

    @property
    def public_url(self) -> str:
        """The URL without credentials, for messages."""
        return public_url(self.url)

    @property
    def pages_url(self) -> str:
        """The base URL of the bridge's pages for people (``page_url``, else ``url``), without credentials."""
        return public_url(self.page_url or self.url)


def bridge_settings(conn: Connection) -> BridgeSettings:
    """``bridge_url`` and ``bridge_token`` of a ``mavi`` connection (plain extras, or ``extra__mavi__*``).

    :param conn: the connection.
    :raises MaviBridgeNotConfiguredError: when either is missing.
    """
    extra = conn.extra_dejson or {}
    values = [extra.get(name) or extra.get(f"extra__mavi__{name}") for name in ("bridge_url", "bridge_token")]
    if not all(isinstance(value, str) and value.strip() for value in values):
        raise MaviBridgeNotConfiguredError(
            f"Connection {conn.conn_id!r} has no bridge_url or no bridge_token in its extras. Mavi delivers "
            "job results only to the account's webhook, which the bridge receives"
        )
    page = extra.get("bridge_public_url") or extra.get("extra__mavi__bridge_public_url")
    page_url = page.strip().rstrip("/") if isinstance(page, str) and page.strip() else None
    return BridgeSettings(str(values[0]).strip().rstrip("/"), str(values[1]).strip(), page_url)


_loop_settings: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, tuple[float, asyncio.Future[BridgeSettings]]]
] = weakref.WeakKeyDictionary()


async def aread_shared(conn_id: str) -> BridgeSettings:
    """The connection's bridge settings, read once per event loop and TTL however many triggers start.

    A triggerer restarting with thousands of Mavi triggers would otherwise ask the API server for the same
    connection thousands of times. A failed read is not kept.

    :param conn_id: the ``mavi`` connection id.
    """
    loop = asyncio.get_running_loop()
    cache = _loop_settings.setdefault(loop, {})
    entry = cache.get(conn_id)
    failed = entry is not None and entry[1].done() and (entry[1].cancelled() or entry[1].exception())
    if entry is None or failed or entry[0] < time.monotonic():

        async def read() -> BridgeSettings:
            return bridge_settings(await BaseHook.aget_connection(conn_id))

        entry = cache[conn_id] = (time.monotonic() + SETTINGS_TTL_SECONDS, loop.create_task(read()))
    try:
        return await asyncio.shield(entry[1])
    except Exception:
        if cache.get(conn_id) is entry:
            del cache[conn_id]
        raise
