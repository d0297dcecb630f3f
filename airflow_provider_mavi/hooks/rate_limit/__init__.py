"""The client-side limit on requests to one Mavi account: a bucket per endpoint, shared by the cluster.

Mavi allows about one request per second **per endpoint**, shared by every key of the account. Before each
attempt, a hook's dispatcher takes a permit from the bucket its endpoint names
(``limiter.acquire(bucket)`` / ``await limiter.aacquire(bucket)``). Buckets live in a store every process
that may call Mavi shares: a local SQLite file (this machine), or Redis or PostgreSQL (the whole cluster),
chosen by the connection's ``rate_limit_url``. Permits are reservations served first come, first served
(:mod:`.pacing`), one store round trip each; the account is named by a hash of (base URL, API key) in every
store, never by the key.

Modules: :mod:`.limiter` (:class:`AccountRateLimiter`), :mod:`.pacing` (rates and reservations, pure),
:mod:`.names` (account hash, buckets, scopes, store URLs), :mod:`.stores` and one module per backend.
"""

from __future__ import annotations

from airflow_provider_mavi.hooks.rate_limit.limiter import AccountRateLimiter
from airflow_provider_mavi.hooks.rate_limit.names import (
    ACCOUNT_BUCKET,
    SCOPES,
    account_digest,
    check_bucket,
    check_scope,
    limiter_path,
    redact_url,
    store_kind,
)
from airflow_provider_mavi.hooks.rate_limit.pacing import SAFETY_MARGIN, Rate, lease_size, rate_for
from airflow_provider_mavi.hooks.rate_limit.stores import PermitStore, open_store

__all__ = [
    "ACCOUNT_BUCKET",
    "SAFETY_MARGIN",
    "SCOPES",
    "AccountRateLimiter",
    "PermitStore",
    "Rate",
    "account_digest",
    "check_bucket",
    "check_scope",
    "lease_size",
    "limiter_path",
    "open_store",
    "rate_for",
    "redact_url",
    "store_kind",
]
