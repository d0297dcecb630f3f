"""Settings of the webhook bridge, read from the environment (``MAVI_BRIDGE_*``) and overridden by CLI flags.

The callback secret and the API token have ``repr=False`` and are never logged.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

MIN_SECRET_LENGTH = 16
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_PORT = 8787
MAX_WAIT_SECONDS = 60.0

HOW_TO_MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BridgeConfigError(ValueError):
    """A setting is missing or invalid; the message says which one and how to fix it."""


def default_db_url() -> str:
    """
    Return the default store: a SQLite file under ``$XDG_DATA_HOME/mavi-bridge`` (``~/.local/share``).

    The directory is created when missing.
    """
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "mavi-bridge"
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'bridge.sqlite3'}"


def _split_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.replace("\n", ",").split(",") if part.strip())


def _parse_networks(values: list[str]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as err:
            raise BridgeConfigError(
                f"MAVI_BRIDGE_ALLOWED_NETWORKS: {value!r} is not a network (use CIDR, e.g. 10.0.0.0/8)"
            ) from err
    return tuple(networks)


def _read_secret(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value:
        return value.strip()
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as err:
            raise BridgeConfigError(f"{name}_FILE: cannot read {path}: {err.strerror}") from None
    return None


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise BridgeConfigError(f"{name}: {raw!r} is not a number") from None


@dataclass(frozen=True)
class BridgeSettings:
    """
    Everything the bridge needs to run.

    :param db_url: SQLAlchemy URL of the store (SQLite file in WAL mode by default, PostgreSQL in production).
    :param callback_secret: the unguessable secret in the callback URL registered in the Mavi console.
    :param api_token: bearer token of the read API (``/v1/...``).
    :param max_body: largest accepted callback body in bytes.
    :param host: address ``serve`` binds to.
    :param port: port ``serve`` binds to.
    :param public_url: the bridge's public base URL, used by ``mavi-bridge url``.
    :param relay_urls: other URLs every stored callback is forwarded to (after the 200).
    :param allowed_networks: when set, callbacks are accepted only from these source networks.
    :param forwarded_allow_ips: proxies whose ``X-Forwarded-For`` is trusted (uvicorn's setting).
    :param max_wait: cap of the ``wait`` parameter in seconds (a longer wait is cut to it; clients loop).
    :param poll_interval: how often the store is checked for callbacks received by other replicas.
    :param retention_seconds: when set, ``serve`` purges callbacks older than this every hour.
    :param access_log: enable uvicorn's access log (paths redacted).
    :param log_level: log level of ``serve``.
    :param noop_endpoint: also answer ``POST /_noop/{secret}`` (checks, parses, stores nothing).
    """

    db_url: str = ""
    callback_secret: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    max_body: int = DEFAULT_MAX_BODY
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    public_url: str | None = None
    relay_urls: tuple[str, ...] = ()
    allowed_networks: tuple[IPNetwork, ...] = ()
    forwarded_allow_ips: str | None = None
    max_wait: float = MAX_WAIT_SECONDS
    poll_interval: float = 0.5
    retention_seconds: float | None = None
    access_log: bool = False
    log_level: str = "info"
    noop_endpoint: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> BridgeSettings:
        """
        Build settings from ``MAVI_BRIDGE_*`` variables; non-``None`` overrides (CLI flags) win.

        :param env: the environment to read (``os.environ`` when ``None``).
        :param overrides: field values that replace what the environment says.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "db_url": env.get("MAVI_BRIDGE_DB_URL") or "",
            "callback_secret": _read_secret(env, "MAVI_BRIDGE_CALLBACK_SECRET"),
            "api_token": _read_secret(env, "MAVI_BRIDGE_API_TOKEN"),
            "max_body": int(_number(env, "MAVI_BRIDGE_MAX_BODY", DEFAULT_MAX_BODY)),
            "host": env.get("MAVI_BRIDGE_HOST") or "127.0.0.1",
            "port": int(_number(env, "MAVI_BRIDGE_PORT", DEFAULT_PORT)),
            "public_url": env.get("MAVI_BRIDGE_PUBLIC_URL") or None,
            "relay_urls": _split_list(env.get("MAVI_BRIDGE_RELAY_URLS")),
            "allowed_networks": _split_list(env.get("MAVI_BRIDGE_ALLOWED_NETWORKS")),
            "forwarded_allow_ips": env.get("MAVI_BRIDGE_FORWARDED_ALLOW_IPS") or None,
            "poll_interval": _number(env, "MAVI_BRIDGE_POLL_INTERVAL", 0.5),
            "max_wait": _number(env, "MAVI_BRIDGE_MAX_WAIT", MAX_WAIT_SECONDS),
            "log_level": env.get("MAVI_BRIDGE_LOG_LEVEL") or "info",
            "noop_endpoint": (env.get("MAVI_BRIDGE_NOOP_ENDPOINT") or "").lower() in ("1", "true", "yes"),
        }
        retention = env.get("MAVI_BRIDGE_RETENTION")
        if retention:
            values["retention_seconds"] = parse_duration(retention)
        values.update({key: value for key, value in overrides.items() if value is not None})
        values["allowed_networks"] = _parse_networks([str(v) for v in values["allowed_networks"]])
        values["relay_urls"] = tuple(values["relay_urls"])
        return cls(**values).checked(require_secrets=False)

    def checked(self, *, require_secrets: bool = True) -> BridgeSettings:
        """
        Return these settings with defaults filled in, or raise :class:`BridgeConfigError`.

        :param require_secrets: also insist on a callback secret and an API token (needed to serve).
        """
        settings = self if self.db_url else dataclasses.replace(self, db_url=default_db_url())
        if settings.max_body < 1024:
            raise BridgeConfigError("MAVI_BRIDGE_MAX_BODY must be at least 1024 bytes")
        if not 0 < settings.max_wait <= 600:
            raise BridgeConfigError("MAVI_BRIDGE_MAX_WAIT must be more than 0 and at most 600 seconds")
        if settings.poll_interval <= 0:
            raise BridgeConfigError("MAVI_BRIDGE_POLL_INTERVAL must be positive")
        for url in settings.relay_urls:
            if not url.startswith(("http://", "https://")):
                raise BridgeConfigError("MAVI_BRIDGE_RELAY_URLS: every relay URL must start with http(s)://")
        if require_secrets:
            for name, value in (
                ("MAVI_BRIDGE_CALLBACK_SECRET", settings.callback_secret),
                ("MAVI_BRIDGE_API_TOKEN", settings.api_token),
            ):
                if not value:
                    raise BridgeConfigError(
                        f"{name} is not set. The bridge refuses to start without a callback secret and an "
                        f"API token. Make each one with: {HOW_TO_MAKE_A_SECRET} and set it in the "
                        f"environment (or point {name}_FILE at a file holding it)."
                    )
                if len(value) < MIN_SECRET_LENGTH:
                    raise BridgeConfigError(
                        f"{name} is too short (at least {MIN_SECRET_LENGTH} characters). "
                        f"Make one with: {HOW_TO_MAKE_A_SECRET}"
                    )
            if settings.callback_secret == settings.api_token:
                raise BridgeConfigError(
                    "MAVI_BRIDGE_CALLBACK_SECRET and MAVI_BRIDGE_API_TOKEN must differ: the secret goes to "
                    "Mavi, the token stays with Airflow."
                )
        return settings


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """
    Parse ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or a plain number of seconds.

    :param text: the duration as written by a person.
    """
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _UNITS else "s"
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    try:
        value = float(number)
    except ValueError:
        raise BridgeConfigError(f"{text!r} is not a duration (examples: 30d, 12h, 90m, 3600)") from None
    if value <= 0:
        raise BridgeConfigError(f"{text!r}: a duration must be positive")
    return value * _UNITS[unit]
