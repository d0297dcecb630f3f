"""The limiter as ``MaviHook`` uses it: the endpoint's own bucket, and the connection's store.

The dispatchers pass each endpoint's catalogue bucket to ``acquire``/``aacquire``, and
``MaviHook._rate_limiter`` builds its limiter with ``AccountRateLimiter.from_settings(settings)``, so the
connection's ``rate_limit_scope`` and ``rate_limit_url`` decide where the permits come from.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from airflow_provider_mavi.bridge.testing import free_port
from airflow_provider_mavi.exceptions import MaviRateLimitStoreError
from airflow_provider_mavi.hooks.mavi import MaviHook

from ..conftest import FakeMavi, ok
from .conftest import API_KEY, REDIS_PASSWORD, busiest_window, count_in

META = {"total": 1, "resource": [{"asset_id": "re_7", "upload_status": "SUCCESS"}]}


def connection(base_url: str, **extra: object) -> str:
    return json.dumps({"conn_type": "mavi", "host": base_url, "password": API_KEY, "extra": extra})


def test_the_hook_takes_its_permits_from_the_connections_store(fake_mavi: FakeMavi, monkeypatch, tmp_path):
    fake_mavi.route("GET", "/re_7/metadata", ok(META))
    down = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection(fake_mavi.base_url, rate_limit_url=down))
    with pytest.raises(MaviRateLimitStoreError) as info:
        MaviHook().get_asset_metadata("re_7")
    assert REDIS_PASSWORD not in str(info.value)
    assert fake_mavi.seen() == []  # nothing went out unlimited


@pytest.mark.slow
def test_the_hooks_endpoints_each_get_their_own_bucket(fake_mavi: FakeMavi, monkeypatch, tmp_path):
    fake_mavi.route("GET", "/re_7/metadata", ok(META))
    fake_mavi.route("DELETE", "/re_7", ok(None))
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection(fake_mavi.base_url, max_requests_per_second=4))
    stop = time.monotonic() + 5

    def work(call: str) -> None:
        hook = MaviHook()
        while time.monotonic() < stop:
            getattr(hook, call)("re_7")

    threads = [threading.Thread(target=work, args=(call,)) for call in ("get_asset_metadata", "delete_asset")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for method in ("GET", "DELETE"):
        times = [s.at for s in fake_mavi.seen(method)]
        assert count_in(times, min(times), 4.0) >= 0.8 * 4 * 4.0, method  # each its own 4/s, not half
        assert busiest_window(times) <= 4, method
