"""
Airflow plugin that mounts the bridge in the Airflow API server at ``/mavi`` (``fastapi_apps``).

Enabled by ``[mavi] bridge_plugin_enabled = True`` (``AIRFLOW__MAVI__BRIDGE_PLUGIN_ENABLED=True``).
The bridge's own settings still come from ``MAVI_BRIDGE_*`` variables. Airflow does not authenticate plugin
apps: the callback secret and the bearer token are the only gate. The only bridge module importing Airflow.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from airflow_provider_mavi.bridge.app import create_app
from airflow_provider_mavi.bridge.redact import RedactingFilter
from airflow_provider_mavi.bridge.settings import BridgeConfigError, BridgeSettings

log = logging.getLogger(__name__)

URL_PREFIX = "/mavi"


def _mask(*secrets: str | None) -> None:
    """Register the secrets with Airflow's log masker (Airflow's access log prints request paths)."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older layouts
        return
    for secret in secrets:
        if secret:
            mask_secret(secret)


def bridge_apps() -> list[dict[str, Any]]:
    """Return the ``fastapi_apps`` entry of the bridge when enabled and configured, else nothing."""
    if not conf.getboolean("mavi", "bridge_plugin_enabled", fallback=False):
        return []
    try:
        settings = BridgeSettings.from_env()
        app = create_app(settings)
    except BridgeConfigError as err:
        log.error("Mavi bridge plugin is enabled but cannot start: %s", err)
        return []
    _mask(settings.callback_secret, settings.api_token)
    for name in ("uvicorn.access", "httpx"):
        logging.getLogger(name).addFilter(RedactingFilter(settings.relay_urls))
    return [{"app": app, "url_prefix": URL_PREFIX, "name": "Mavi webhook bridge"}]


class MaviBridgePlugin(AirflowPlugin):
    """Mounts the Mavi webhook bridge at ``/mavi`` in ``airflow api-server`` when enabled."""

    name = "mavi_bridge"
    fastapi_apps = bridge_apps()
