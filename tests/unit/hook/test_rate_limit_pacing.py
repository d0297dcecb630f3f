"""The limiter's pure parts: rates, lease sizes, the slots a process reserved ahead, names and store URLs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mavi.hooks.rate_limit import (
    AccountRateLimiter,
    account_digest,
    check_bucket,
    check_scope,
    lease_size,
    limiter_path,
    rate_for,
    redact_url,
    store_kind,
)
from airflow_provider_mavi.hooks.rate_limit.names import url_password
from airflow_provider_mavi.hooks.rate_limit.pacing import Lease
from airflow_provider_mavi.hooks.rate_limit.postgres_store import libpq_url

KEY = "sk-mavi-unit-SECRET-0001"


def test_permit_intervals_carry_the_safety_margin():
    assert rate_for(1).permit_interval_us == 1_100_000
    assert rate_for(4).permit_interval_us == 275_000
    assert rate_for(0.25).permit_interval_us == 4_400_000
    assert rate_for(3).permit_interval_us == 366_667  # rounded up: never faster than asked


def test_one_slot_per_round_trip_at_any_rate_an_account_has():
    for rps in (0.1, 1, 2, 10, 50, 79):
        assert lease_size(rate_for(rps)) == 1
    assert lease_size(rate_for(1000)) == 25  # 2.5 % of a window's 1,000 permits: 27.5 ms of the schedule
    assert lease_size(rate_for(1e6)) == 25_000


def test_a_lease_hands_out_its_slots_in_order_then_runs_dry():
    lease = Lease()
    assert lease.take(0.0, 0.1) is None
    assert lease.keep(1.0, 3, 0.1) == 1.0  # the caller's own slot
    assert lease.take(0.5, 0.1) == pytest.approx(1.1)  # not before its time
    assert lease.take(1.25, 0.1) == pytest.approx(1.25)  # a slot already passed: now, within the lease
    assert lease.take(1.26, 0.1) is None  # three slots: all given


def test_a_lease_ends_with_its_schedule():
    lease = Lease()
    lease.keep(1.0, 5, 0.1)
    assert lease.take(1.5, 0.1) is None  # the lease covered [1.0, 1.5): the rest is lost, never late


def test_a_single_slot_reservation_stores_nothing():
    lease = Lease()
    lease.keep(1.0, 1, 0.1)
    assert lease.take(1.0, 0.1) is None


@given(
    count=st.integers(2, 50),
    interval=st.floats(0.001, 0.5),
    gaps=st.lists(st.floats(0, 0.3), min_size=1, max_size=80),
)
def test_leased_sends_never_run_ahead_of_the_schedule(count: int, interval: float, gaps: list[float]):
    """By any moment, a lease has let through no more permits than its slots that had come due."""
    lease = Lease()
    start = 10.0
    sends = [lease.keep(start, count, interval)]
    now = start
    for gap in gaps:
        now += gap
        due = lease.take(now, interval)
        if due is not None:
            sends.append(due)
    end = start + count * interval
    for index, sent in enumerate(sorted(sends)):
        assert sent >= start + index * interval - 1e-9  # the i-th send is not before the i-th slot
        assert sent < end + 1e-9  # and within the lease


def test_scopes():
    assert check_scope(None) == check_scope("") == check_scope(" Endpoint ") == "endpoint"
    assert check_scope("ACCOUNT") == "account"
    with pytest.raises(ValueError, match="'endpoint' or 'account', got 'bucket'"):
        check_scope("bucket")


def test_bucket_names_are_free_form_but_printable():
    for name in ("metadata", "download", "extract_frames", "signed_upload", "GET /{id}/metadata"):
        assert check_bucket(name) == name
    for bad in ("", "x" * 201, "a\nb", None, 3):
        with pytest.raises(ValueError, match="printable string"):
            check_bucket(bad)
    limiter = AccountRateLimiter("http://x", KEY, 1)
    with pytest.raises(ValueError, match="printable string"):
        limiter.acquire("")  # refused before any store is touched


def test_every_catalogue_bucket_is_a_valid_name():
    from airflow_provider_mavi import endpoints

    buckets = {e.bucket for e in vars(endpoints).values() if isinstance(e, endpoints.Endpoint)}
    assert "Get Asset Metadata" in buckets
    assert len(buckets) >= 8  # one per documented endpoint (the two signed uploads share theirs)
    for bucket in buckets:
        assert check_bucket(bucket) == bucket


def test_bucket_keys_follow_the_scope_and_hide_the_key():
    by_endpoint = AccountRateLimiter("http://x", KEY, 1)
    by_account = AccountRateLimiter("http://x", KEY, 1, scope="account")
    digest = account_digest("http://x", KEY)
    assert by_endpoint.bucket_key("metadata") == f"{digest}:metadata"
    assert by_endpoint.bucket_key("download") == f"{digest}:download"
    assert by_account.bucket_key("metadata") == by_account.bucket_key("download") == f"{digest}:account"
    assert KEY not in by_endpoint.bucket_key("metadata")
    assert account_digest("http://x/", KEY) == digest
    assert account_digest("http://x", KEY + "2") != digest
    assert KEY not in str(limiter_path("http://x", KEY, "/tmp"))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw-SECRET@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://user:pw-SECRET@h:6379/0", "redis://user:***@h:6379/0"),
        ("rediss://h:6380/1", "rediss://h:6380/1"),
        ("redis://user@h/0", "redis://user@h/0"),
        ("postgresql://mavi:pw-SECRET@db:5432/airflow", "postgresql://mavi:***@db:5432/airflow"),
        (
            "postgresql://db/airflow?user=mavi&password=pw-SECRET",
            "postgresql://db/airflow?user=mavi&password=***",
        ),
    ],
)
def test_store_urls_are_shown_without_their_password(url: str, shown: str):
    assert redact_url(url) == shown
    assert "pw-SECRET" not in repr(AccountRateLimiter("http://x", KEY, 1, url=url))
    if "SECRET" in url:
        assert url_password(url) == "pw-SECRET"


def test_store_kinds():
    assert store_kind("redis://h") == store_kind("rediss://h") == "redis"
    assert store_kind("postgresql://h/db") == store_kind("postgres://h/db") == "postgres"
    assert store_kind("postgresql+psycopg2://h/db") == "postgres"
    assert (
        libpq_url("postgresql+psycopg://u:p@h:5/db?sslmode=require")
        == "postgresql://u:p@h:5/db?sslmode=require"
    )
    for bad in ("http://u:pw-SECRET@h/", "sqlite:///x.db", "h:6379"):
        with pytest.raises(ValueError, match="must start with redis://") as info:
            store_kind(bad)
        assert "pw-SECRET" not in str(info.value)
    with pytest.raises(ValueError, match="must start with redis://"):
        AccountRateLimiter("http://x", KEY, 1, url="mysql://h/db")


def test_building_a_limiter_opens_nothing():
    limiter = AccountRateLimiter("http://x", KEY, 1, url="redis://127.0.0.1:1/0")  # nothing listens there
    assert "store='redis://127.0.0.1:1/0'" in repr(limiter)
    assert KEY not in repr(limiter)
