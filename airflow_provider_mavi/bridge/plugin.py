"""
Airflow plugin that mounts the bridge in the Airflow API server at ``/mavi`` (``fastapi_apps``), with the
Mavi page in the Airflow UI (``external_views``: a "Mavi" entry of the navigation that shows ``/mavi/ui/``
in the UI's frame).

Enabled by ``[mavi] bridge_plugin_enabled = True`` (``AIRFLOW__MAVI__BRIDGE_PLUGIN_ENABLED=True``).
The bridge's own settings still come from ``MAVI_BRIDGE_*`` variables. Airflow does not authenticate plugin
apps: the callback secret and the bearer token gate the API, and Airflow's login (checked by the pages
themselves, :mod:`.ui.airflow_login`) gates the pages. With ``ui/airflow_login.py``, the only bridge modules
importing Airflow.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from airflow_provider_mavi.bridge.app import create_app
from airflow_provider_mavi.bridge.redact import RedactingFilter
from airflow_provider_mavi.bridge.settings import BridgeConfigError, BridgeSettings

log = logging.getLogger(__name__)

URL_PREFIX = "/mavi"
#: The Mavi page's route in the Airflow UI: ``/plugin/mavi``.
UI_ROUTE = "mavi"


def _mask(*secrets: str | None) -> None:
    """Register the secrets with Airflow's log masker (Airflow's access log prints request paths)."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older layouts
        return
    for secret in secrets:
        if secret:
            mask_secret(secret)


def _enabled() -> bool:
    return conf.getboolean("mavi", "bridge_plugin_enabled", fallback=False)


def bridge_apps() -> list[dict[str, Any]]:
    """Return the ``fastapi_apps`` entry of the bridge when enabled and configured, else nothing."""
    if not _enabled():
        return []
    try:
        from airflow_provider_mavi.bridge.ui.airflow_login import AirflowLogin

        settings = BridgeSettings.from_env()
        app = create_app(settings, ui_auth=AirflowLogin(settings.api_token or ""))
    except BridgeConfigError as err:
        log.error("Mavi bridge plugin is enabled but cannot start: %s", err)
        return []
    _mask(settings.callback_secret, settings.api_token)
    for name in ("uvicorn.access", "httpx"):
        logging.getLogger(name).addFilter(RedactingFilter(settings.relay_urls))
    return [{"app": app, "url_prefix": URL_PREFIX, "name": "Mavi webhook bridge"}]


def mavi_views(mounted: bool) -> list[dict[str, Any]]:
    """
    Return the "Mavi" navigation entry of the Airflow UI when the bridge is mounted, else nothing.

    :param mounted: whether :func:`bridge_apps` mounted the bridge.
    """
    if not mounted:
        return []
    root = urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")
    return [
        {
            "name": "Mavi",
            "href": f"{root}{URL_PREFIX}/ui/",
            "url_route": UI_ROUTE,
            "destination": "nav",
            "icon": f"{root}{URL_PREFIX}/ui/static/mavi.svg",
        }
    ]


class MaviBridgePlugin(AirflowPlugin):
    """Mounts the Mavi webhook bridge at ``/mavi`` in ``airflow api-server`` when enabled, and its page."""

    name = "mavi_bridge"
    fastapi_apps = bridge_apps()
    external_views = mavi_views(bool(fastapi_apps))
