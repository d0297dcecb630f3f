"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_mavi import __version__
from airflow_provider_mavi.defaults import DEFAULT_BASE_URL


def get_provider_info() -> dict[str, Any]:
    """Return what ``airflow providers list`` and the connection form show for this provider.

    The bridge's Airflow plugin is registered only through the ``airflow.plugins`` entry point in
    ``pyproject.toml``: declaring it here too would register it twice when ``lazy_discover_providers`` is off
    (Airflow then logs "already registered" and lists a plugin import error).
    """
    return {
        "package-name": "airflow-provider-mavi",
        "name": "Mavi",
        "description": "Video understanding on the Mavi (memories.ai Visual Intelligence v2) API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Mavi",
                "external-doc-url": "https://api-tools.memories.ai/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Mavi", "python-modules": ["airflow_provider_mavi.hooks.mavi"]}],
        "operators": [
            {"integration-name": "Mavi", "python-modules": ["airflow_provider_mavi.operators.mavi"]}
        ],
        "triggers": [
            {
                "integration-name": "Mavi",
                "python-modules": [
                    "airflow_provider_mavi.triggers.mavi",
                    "airflow_provider_mavi.triggers.events",
                ],
            }
        ],
        "sensors": [{"integration-name": "Mavi", "python-modules": ["airflow_provider_mavi.sensors.mavi"]}],
        "extra-links": [
            "airflow_provider_mavi.operators.links.MaviBridgeJobLink",
            "airflow_provider_mavi.operators.links.MaviResultsLink",
        ],
        "asset-uris": [
            {
                "schemes": ["mavi"],
                "handler": "airflow_provider_mavi.asset_uris.sanitize_uri",
                "factory": "airflow_provider_mavi.asset_uris.create_asset",
                "to_openlineage_converter": "airflow_provider_mavi.asset_uris.convert_asset_to_openlineage",
            }
        ],
        "connection-types": [
            {
                "connection-type": "mavi",
                "hook-class-name": "airflow_provider_mavi.hooks.mavi.MaviHook",
                "hook-name": "Mavi",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "schema", "port"],
                    "relabeling": {"host": "Base URL", "password": "API Key"},
                    "placeholders": {"host": DEFAULT_BASE_URL, "password": "sk-mavi-..."},
                },
                "conn-fields": {
                    "bridge_url": {
                        "label": "Bridge URL",
                        "description": "Base URL of the mavi-bridge the triggers read callbacks from.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "bridge_token": {
                        "label": "Bridge token",
                        "description": "Bearer token of the bridge's read API (MAVI_BRIDGE_API_TOKEN).",
                        "schema": {"type": ["string", "null"], "format": "password"},
                        "sensitive": True,
                    },
                    "bridge_public_url": {
                        "label": "Bridge public URL",
                        "description": "Where people open the bridge's pages (the tasks' 'Mavi job' links), "
                        "when it differs from Bridge URL; empty: Bridge URL.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "description": "Timeout of one HTTP request to Mavi.",
                        "schema": {"type": ["number", "null"], "default": 60},
                    },
                    "max_requests_per_second": {
                        "label": "Max requests per second",
                        "description": "Mavi's rate limit of each bucket (each endpoint, or the whole "
                        "account), shared by every task that uses the same rate-limit store.",
                        "schema": {"type": ["number", "null"], "default": 1},
                    },
                    "rate_limit_scope": {
                        "label": "Rate-limit scope",
                        "description": "endpoint: one bucket per endpoint, as Mavi documents (default); "
                        "account: one bucket for every request of the account (the cautious choice).",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["endpoint", "account"],
                            "default": "endpoint",
                        },
                    },
                    "rate_limit_url": {
                        "label": "Rate-limit store URL",
                        "description": "redis://[:password@]host:6379/0 or "
                        "postgresql://user:password@host/db, shared by every worker and triggerer of the "
                        "cluster; empty: a local file, shared by this machine's processes only.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                        "sensitive": True,
                    },
                },
            }
        ],
        "config": {
            "mavi": {
                "description": "Settings of the Mavi provider.",
                "options": {
                    "bridge_plugin_enabled": {
                        "description": "Mount the webhook bridge inside the Airflow API server at /mavi.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "True",
                        "default": "False",
                    },
                },
            }
        },
    }
