"""The plugin mounts the bridge only when enabled and configured."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_mavi.bridge.plugin import URL_PREFIX, MaviBridgePlugin, bridge_apps


def test_disabled_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__MAVI__BRIDGE_PLUGIN_ENABLED", raising=False)
    assert bridge_apps() == []
    assert MaviBridgePlugin.name == "mavi_bridge"


def test_enabled_without_secrets_mounts_nothing_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AIRFLOW__MAVI__BRIDGE_PLUGIN_ENABLED", "True")
    monkeypatch.delenv("MAVI_BRIDGE_CALLBACK_SECRET", raising=False)
    monkeypatch.delenv("MAVI_BRIDGE_API_TOKEN", raising=False)
    with caplog.at_level(logging.ERROR):
        assert bridge_apps() == []
    assert "MAVI_BRIDGE_CALLBACK_SECRET is not set" in caplog.text


def test_enabled_and_configured(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AIRFLOW__MAVI__BRIDGE_PLUGIN_ENABLED", "True")
    monkeypatch.setenv("MAVI_BRIDGE_CALLBACK_SECRET", "c" * 32)
    monkeypatch.setenv("MAVI_BRIDGE_API_TOKEN", "t" * 32)
    monkeypatch.setenv("MAVI_BRIDGE_DB_URL", f"sqlite:///{tmp_path / 'b.sqlite3'}")
    (entry,) = bridge_apps()
    assert entry["url_prefix"] == URL_PREFIX == "/mavi"
    assert entry["app"].title == "Mavi webhook bridge"


def test_the_mavi_page_is_a_navigation_entry_only_when_the_bridge_is_mounted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_mavi.bridge.plugin import mavi_views

    assert mavi_views(False) == []
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/team-a/")
    (view,) = mavi_views(True)
    assert view == {
        "name": "Mavi",
        "href": "/team-a/mavi/ui/",
        "url_route": "mavi",
        "destination": "nav",
        "icon": "/team-a/mavi/ui/static/mavi.svg",
    }
