"""Reading a ``mavi`` connection: base URL forms, extras (plain and prefixed), bad values, hidden secrets."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from airflow_provider_mavi.endpoints import DEFAULT_BASE_URL
from airflow_provider_mavi.hooks.mavi import MaviHook, settings_from_connection

KEY = "sk-mavi-unit-SECRET-0001"
TOKEN = "bridge-token-SECRET-0002"


def conn(**kwargs: object) -> Connection:
    return Connection(conn_id="mavi_default", conn_type="mavi", **kwargs)  # type: ignore[arg-type]


def test_defaults():
    settings = settings_from_connection(conn(password=KEY))
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.timeout == 60
    assert settings.max_requests_per_second == 1
    assert settings.bridge_url is None
    assert settings.bridge_token is None


def test_full_url_in_host_and_string_extras():
    extra = json.dumps(
        {
            "timeout": "12.5",
            "max_requests_per_second": "2",
            "bridge_url": "http://b:8080/",
            "bridge_token": TOKEN,
        }
    )
    settings = settings_from_connection(
        conn(host="http://127.0.0.1:9000/serve/api/v2/", password=KEY, extra=extra)
    )
    assert settings.base_url == "http://127.0.0.1:9000/serve/api/v2"
    assert (settings.timeout, settings.max_requests_per_second) == (12.5, 2.0)
    assert settings.bridge_url == "http://b:8080"
    assert settings.bridge_token == TOKEN


def test_uri_form_builds_the_url_from_host_port_and_schema():
    parsed = Connection.from_uri("mavi://:" + KEY + "@mavi.example:8443/serve%2Fapi%2Fv2", conn_id="m")
    assert settings_from_connection(parsed).base_url == "https://mavi.example:8443/serve/api/v2"


def test_prefixed_extras_are_accepted_too():
    extra = json.dumps({"extra__mavi__timeout": 5, "extra__mavi__bridge_url": "http://b"})
    settings = settings_from_connection(conn(password=KEY, extra=extra))
    assert settings.timeout == 5
    assert settings.bridge_url == "http://b"


@pytest.mark.parametrize(
    ("name", "value"),
    [("timeout", "abc"), ("timeout", 0), ("timeout", -3), ("max_requests_per_second", "inf")],
)
def test_bad_extras_name_the_extra(name, value):
    with pytest.raises(ValueError, match=f"extra '{name}' must be a number > 0"):
        settings_from_connection(conn(password=KEY, extra=json.dumps({name: value})))


def test_reprs_hide_secrets():
    extra = json.dumps({"bridge_token": TOKEN})
    settings = settings_from_connection(conn(password=KEY, extra=extra))
    for text in (repr(settings), str(settings), repr(MaviHook())):
        assert KEY not in text
        assert TOKEN not in text
