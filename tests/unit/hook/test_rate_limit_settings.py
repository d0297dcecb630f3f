"""The connection extras of the limiter: ``rate_limit_scope`` and ``rate_limit_url``, read and checked."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from airflow_provider_mavi.get_provider_info import get_provider_info
from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter
from airflow_provider_mavi.hooks.settings import settings_from_connection

KEY = "sk-mavi-unit-SECRET-0001"
PASSWORD = "store-pw-SECRET-0003"


def conn(**extra: object) -> Connection:
    return Connection(conn_id="mavi_prod", conn_type="mavi", password=KEY, extra=json.dumps(extra))


def test_defaults_are_per_endpoint_buckets_in_a_local_file():
    settings = settings_from_connection(conn())
    assert settings.rate_limit_scope == "endpoint"
    assert settings.rate_limit_url is None
    limiter = AccountRateLimiter.from_settings(settings)
    assert (limiter.scope, limiter.url, limiter.requests_per_second) == ("endpoint", None, 1.0)


def test_extras_are_read_plain_or_prefixed_and_reach_the_limiter():
    url = f"redis://:{PASSWORD}@redis:6379/0"
    settings = settings_from_connection(
        conn(rate_limit_scope=" Account ", rate_limit_url=f" {url} ", max_requests_per_second="2")
    )
    assert (settings.rate_limit_scope, settings.rate_limit_url) == ("account", url)
    limiter = AccountRateLimiter.from_settings(settings)
    assert (limiter.scope, limiter.url, limiter.requests_per_second) == ("account", url, 2.0)
    prefixed = settings_from_connection(conn(**{"extra__mavi__rate_limit_url": "postgresql://db/airflow"}))
    assert prefixed.rate_limit_url == "postgresql://db/airflow"
    assert settings_from_connection(conn(rate_limit_url="", rate_limit_scope="")).rate_limit_url is None


def test_repr_shows_the_store_without_its_password():
    settings = settings_from_connection(conn(rate_limit_url=f"postgresql://mavi:{PASSWORD}@db/airflow"))
    for text in (repr(settings), str(settings), repr(AccountRateLimiter.from_settings(settings))):
        assert "postgresql://mavi:***@db/airflow" in text
        assert PASSWORD not in text
        assert KEY not in text


def test_a_bad_scope_names_the_connection():
    expected = "Connection 'mavi_prod': extra 'rate_limit_scope' must be 'endpoint' or 'account', got 'mach"
    with pytest.raises(ValueError, match=expected):
        settings_from_connection(conn(rate_limit_scope="machine"))


@pytest.mark.parametrize("url", [f"http://u:{PASSWORD}@cache:6379/0", "memcached://cache:1", "cache:6379"])
def test_a_bad_store_url_names_the_connection_not_the_password(url: str):
    expected = "Connection 'mavi_prod': extra 'rate_limit_url' must start with"
    with pytest.raises(ValueError, match=expected) as info:
        settings_from_connection(conn(rate_limit_url=url))
    assert PASSWORD not in str(info.value)


def test_the_connection_form_has_both_fields():
    (conn_type,) = get_provider_info()["connection-types"]
    fields = conn_type["conn-fields"]
    assert fields["rate_limit_scope"]["schema"]["enum"] == ["endpoint", "account"]
    assert fields["rate_limit_scope"]["schema"]["default"] == "endpoint"
    assert fields["rate_limit_url"]["sensitive"] is True
    assert fields["rate_limit_url"]["schema"]["format"] == "password"
    for name in ("rate_limit_scope", "rate_limit_url"):
        assert fields[name]["description"]
