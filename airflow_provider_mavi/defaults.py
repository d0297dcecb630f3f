"""Constants that Airflow's provider discovery reads: this module imports nothing.

Airflow imports ``get_provider_info`` the first time any program imports Airflow. Whatever that function
imports must not import Airflow back, or a program whose first import is a provider module (for example
``from airflow_provider_mavi.hooks.settings import MaviConnectionSettings``) fails on a circular import.
"""

from __future__ import annotations

DEFAULT_BASE_URL = "https://mavi-backend.memories.ai/serve/api/v2"
"""Mavi's v2 API root, used when the connection gives no host."""
