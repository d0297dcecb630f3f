"""
The bridge's pages for people: the Mavi page (``/ui/``) and one page per job (``/ui/jobs/{job_id}``).

Modules: ``routes.py`` (the router), ``views.py`` (pure: what the pages show), ``pages.py`` (templates,
headers, static files), ``sessions.py`` (the gate: :class:`UiAuth`, and :class:`TokenSessions`, the
standalone bridge's token login), ``airflow_login.py`` (the gate inside the Airflow API server; imports
Airflow, so only ``plugin.py`` imports it).
"""

from __future__ import annotations

from airflow_provider_mavi.bridge.ui.routes import ui_router
from airflow_provider_mavi.bridge.ui.sessions import TokenSessions, UiAuth

__all__ = ["TokenSessions", "UiAuth", "ui_router"]
