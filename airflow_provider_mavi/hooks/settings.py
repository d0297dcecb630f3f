"""The ``mavi`` connection, read and checked: base URL, API key, extras (plain keys)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.endpoints import DEFAULT_BASE_URL
from airflow_provider_mavi.exceptions import MaviAuthenticationError
from airflow_provider_mavi.hooks.rate_limit.names import Scope, check_scope, redact_url, store_kind

if TYPE_CHECKING:
    from airflow.sdk import Connection

DEFAULT_TIMEOUT = 60.0
DEFAULT_REQUESTS_PER_SECOND = 1.0


@dataclass(frozen=True)
class MaviConnectionSettings:
    """What a ``mavi`` connection holds, checked. Secrets are left out of ``repr`` (the store URL shows
    without its password).

    :param base_url: the API base URL.
    :param api_key: the API key.
    :param bridge_url: the bridge's base URL, if set.
    :param bridge_token: the bridge's bearer token, if set.
    :param timeout: seconds per HTTP request.
    :param max_requests_per_second: the rate limit of each rate-limit bucket.
    :param rate_limit_scope: ``endpoint`` (a bucket per endpoint) or ``account`` (one bucket for all).
    :param rate_limit_url: the store the whole cluster shares (``redis://``, ``postgresql://``); ``None``:
        a local SQLite file per machine.
    """

    base_url: str
    api_key: str = field(repr=False)
    bridge_url: str | None
    bridge_token: str | None = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    rate_limit_scope: Scope = "endpoint"
    rate_limit_url: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr]
        url = redact_url(self.rate_limit_url) if self.rate_limit_url else None
        return f"{type(self).__name__}({', '.join(shown)}, rate_limit_url={url!r})"


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
        rate_limit_scope=_scope(option("rate_limit_scope"), conn.conn_id),
        rate_limit_url=_store_url(option("rate_limit_url"), conn.conn_id),
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


def _scope(value: Any, conn_id: str) -> Scope:
    """``rate_limit_scope``: ``endpoint`` (default) or ``account``."""
    try:
        return check_scope(value)
    except ValueError:
        raise ValueError(
            f"Connection {conn_id!r}: extra 'rate_limit_scope' must be 'endpoint' or 'account', "
            f"got {value!r}."
        ) from None


def _store_url(value: Any, conn_id: str) -> str | None:
    """``rate_limit_url``: a Redis or PostgreSQL URL, or nothing (the local file); errors hide a password."""
    if value is None:
        return None
    url = str(value).strip()
    if not url:
        return None
    try:
        store_kind(url)
    except ValueError:
        raise ValueError(
            f"Connection {conn_id!r}: extra 'rate_limit_url' must start with redis://, rediss:// or "
            f"postgresql://, got {redact_url(url)!r}."
        ) from None
    return url
