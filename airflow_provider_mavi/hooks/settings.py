"""The ``mavi`` connection, read and checked: base URL, API key, extras (plain keys)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.endpoints import DEFAULT_BASE_URL
from airflow_provider_mavi.exceptions import MaviAuthenticationError

if TYPE_CHECKING:
    from airflow.sdk import Connection

DEFAULT_TIMEOUT = 60.0
DEFAULT_REQUESTS_PER_SECOND = 1.0


@dataclass(frozen=True)
class MaviConnectionSettings:
    """What a ``mavi`` connection holds, checked. Secrets are left out of ``repr``.

    :param base_url: the API base URL.
    :param api_key: the API key.
    :param bridge_url: the bridge's base URL, if set.
    :param bridge_token: the bridge's bearer token, if set.
    :param timeout: seconds per HTTP request.
    :param max_requests_per_second: the account's rate limit.
    """

    base_url: str
    api_key: str = field(repr=False)
    bridge_url: str | None
    bridge_token: str | None = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND


def settings_from_connection(conn: Connection) -> MaviConnectionSettings:
    """Read and check a ``mavi`` connection (extras are plain keys; ``extra__mavi__*`` is accepted too).

    :param conn: the Airflow connection.
    """
    extra = conn.extra_dejson or {}

    def option(name: str) -> Any:
        value = extra.get(name)
        if value is None or value == "":
            value = extra.get(f"extra__mavi__{name}")
        return None if value is None or value == "" else value

    api_key = (conn.password or "").strip()
    if not api_key:
        raise MaviAuthenticationError(
            f"The connection {conn.conn_id!r} has no API key: put it in the password field (API Key)."
        )
    if not api_key.isascii() or not api_key.isprintable() or any(ch.isspace() for ch in api_key):
        raise MaviAuthenticationError(
            f"The API key of the connection {conn.conn_id!r} contains spaces or control characters; "
            "paste it again."
        )
    bridge_url = option("bridge_url")
    bridge_token = option("bridge_token")
    return MaviConnectionSettings(
        base_url=_base_url(conn),
        api_key=api_key,
        bridge_url=str(bridge_url).rstrip("/") if bridge_url else None,
        bridge_token=str(bridge_token) if bridge_token else None,
        timeout=_positive(option("timeout"), "timeout", DEFAULT_TIMEOUT, conn.conn_id),
        max_requests_per_second=_positive(
            option("max_requests_per_second"),
            "max_requests_per_second",
            DEFAULT_REQUESTS_PER_SECOND,
            conn.conn_id,
        ),
    )


def _base_url(conn: Connection) -> str:
    """The base URL: the host when it is a full URL, else built from host, port and schema (URI form)."""
    host = (conn.host or "").strip()
    if not host:
        return DEFAULT_BASE_URL
    if "://" in host:
        return host.rstrip("/")
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else ""
    return f"https://{host}{port}{path}".rstrip("/")


def _positive(value: Any, name: str, default: float, conn_id: str) -> float:
    """A positive number from an extra (strings from the UI are fine)."""
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise ValueError(f"Connection {conn_id!r}: extra {name!r} must be a number > 0, got {value!r}.")
    return number
