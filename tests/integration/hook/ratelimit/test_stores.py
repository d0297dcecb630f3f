"""The cluster stores, real servers: two "machines" share a bucket, an outage fails loudly, no key leaks."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from airflow_provider_mavi.bridge.testing import free_port
from airflow_provider_mavi.exceptions import MaviRateLimitStoreError
from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter, account_digest, redact_url
from airflow_provider_mavi.hooks.rate_limit.postgres_store import TABLE, libpq_url

from ..conftest import FakeMavi, ok
from .conftest import API_KEY, PG_PASSWORD, REDIS_PASSWORD, RedisServer, busiest_window, run_children

META = {"total": 1, "resource": [{"asset_id": "re_7", "upload_status": "SUCCESS"}]}


def connection(base_url: str, **extra: object) -> str:
    return json.dumps({"conn_type": "mavi", "host": base_url, "password": API_KEY, "extra": extra})


@pytest.mark.slow
def test_two_machines_sharing_no_files_stay_within_one_bucket(fake_mavi: FakeMavi, store_url, tmp_path):
    fake_mavi.route("GET", "/re_7/metadata", ok(META))
    env = {
        **os.environ,
        "AIRFLOW_CONN_MAVI_DEFAULT": connection(
            fake_mavi.base_url, max_requests_per_second=4, rate_limit_url=store_url
        ),
    }
    run_children(tmp_path, env, fake_mavi.base_url + "/re_7/metadata", "metadata", count=6)
    times = [s.at for s in fake_mavi.seen()]
    assert len(times) == 12
    assert busiest_window(times) <= 4  # the two processes together, not 4 each


@pytest.mark.slow
def test_without_a_cluster_store_two_machines_each_send_their_own_rate(fake_mavi: FakeMavi, tmp_path):
    """The control for the test above: with local files only, the same two processes exceed the bucket."""
    fake_mavi.route("GET", "/re_7/metadata", ok(META))
    env = {
        **os.environ,
        "AIRFLOW_CONN_MAVI_DEFAULT": connection(fake_mavi.base_url, max_requests_per_second=4),
    }
    run_children(tmp_path, env, fake_mavi.base_url + "/re_7/metadata", "metadata", count=6)
    assert busiest_window([s.at for s in fake_mavi.seen()]) > 4


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0",
        f"postgresql://mavi:{PG_PASSWORD}@127.0.0.1:{free_port()}/airflow",
    ],
    ids=["redis", "postgres"],
)
def test_a_store_that_is_down_fails_loudly_and_keeps_its_password(url: str, caplog):
    limiter = AccountRateLimiter("http://mavi.test", API_KEY, 1, url=url)
    for attempt in (lambda: limiter.acquire("metadata"), lambda: asyncio.run(limiter.aacquire("metadata"))):
        with pytest.raises(MaviRateLimitStoreError) as info:
            attempt()
        message = str(info.value)
        assert f"cannot use its store {redact_url(url)} (" in message
        assert "never runs unlimited" in message
        for secret in (REDIS_PASSWORD, PG_PASSWORD, API_KEY):
            assert secret not in message
            assert secret not in repr(info.value)
            assert secret not in caplog.text


def test_a_wrong_redis_password_is_a_clear_error_without_it(redis_server: RedisServer):
    url = f"redis://:wrong-{REDIS_PASSWORD}@127.0.0.1:{redis_server.port}/0"
    with pytest.raises(MaviRateLimitStoreError, match="AuthenticationError") as info:
        AccountRateLimiter("http://mavi.test", API_KEY, 1, url=url).acquire("metadata")
    assert REDIS_PASSWORD not in str(info.value)


def test_redis_going_down_mid_run_stops_the_permits():
    server = RedisServer().start()
    try:
        limiter = AccountRateLimiter("http://mavi.test", API_KEY, 100, url=server.url)
        limiter.acquire("metadata")
        server.stop()
        with pytest.raises(MaviRateLimitStoreError, match="ConnectionError"):
            limiter.acquire("metadata")
    finally:
        server.close()


def test_postgres_reconnects_once_after_its_connections_were_cut(postgres_url: str):
    import psycopg

    limiter = AccountRateLimiter("http://mavi.test", API_KEY, 100, url=postgres_url)
    limiter.acquire("metadata")
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as admin:
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert cut is not None
    assert cut[0] >= 1  # the limiter's connection is gone (as after a restart)
    limiter.acquire("metadata")  # a new connection, no error


def test_stores_name_the_account_by_its_hash(redis_server: RedisServer, redis_url: str, postgres_url: str):
    import psycopg

    digest = account_digest("http://mavi.test", API_KEY)
    for url in (redis_url, postgres_url):
        limiter = AccountRateLimiter("http://mavi.test", API_KEY, 100, url=url)
        for bucket in ("metadata", "download"):
            limiter.acquire(bucket)
    keys = sorted(key.decode() for key in redis_server.client().keys("mavi:*"))
    assert keys == [f"mavi:ratelimit:{digest}:download", f"mavi:ratelimit:{digest}:metadata"]
    with psycopg.connect(libpq_url(postgres_url)) as conn:
        rows = sorted(row[0] for row in conn.execute(f"SELECT bucket FROM {TABLE}"))
        public = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        tables = [row[0] for row in conn.execute(public)]
    assert rows == [f"{digest}:download", f"{digest}:metadata"]
    assert tables == [TABLE]
    for name in (*keys, *rows, *tables):
        assert API_KEY not in name
