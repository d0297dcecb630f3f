"""Apache Airflow provider for the Mavi (memories.ai Visual Intelligence v2) API."""

from __future__ import annotations

__version__ = "0.1.0"
