"""The limiter a hook's dispatchers call: one permit per attempt, from the bucket the endpoint names."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from airflow_provider_mavi.hooks.rate_limit.names import (
    ACCOUNT_BUCKET,
    Scope,
    account_digest,
    check_bucket,
    check_scope,
    redact_url,
    store_kind,
)
from airflow_provider_mavi.hooks.rate_limit.pacing import Lease, lease_size, rate_for
from airflow_provider_mavi.hooks.rate_limit.stores import PermitStore, open_store, store_target

if TYPE_CHECKING:
    from airflow_provider_mavi.hooks.settings import MaviConnectionSettings

log = logging.getLogger(__name__)

#: A wait at least this long is logged (INFO), so a slow task shows where its time went.
LOG_WAITS_FROM = 10.0

_LEASES: dict[tuple[int, str, str, int], Lease] = {}
_LEASES_LOCK = threading.Lock()


class AccountRateLimiter:
    """Permits for one Mavi account: one bucket per endpoint (or one for the account), on a shared store.

    Every hook of every process that names the same account (base URL and key), bucket and store takes its
    permits from the same schedule, first come, first served. ``acquire`` blocks the thread;
    ``aacquire`` waits without blocking the event loop (store I/O in a worker thread, then
    ``asyncio.sleep``). Both take from the same buckets. A store that cannot be used raises
    :class:`~airflow_provider_mavi.exceptions.MaviRateLimitStoreError`; nothing is ever let through
    unlimited. Building a limiter does no I/O: the store is opened by the first permit.

    :param base_url: the connection's base URL.
    :param api_key: the API key (only its hash is used, in every store).
    :param requests_per_second: permits per second of each bucket.
    :param scope: ``endpoint`` (a bucket per endpoint, as Mavi documents) or ``account`` (every bucket is
        the account's one bucket).
    :param url: ``rate_limit_url``: ``redis://...`` or ``postgresql://...`` for a store the whole cluster
        shares; ``None`` for the local SQLite file (this machine's processes only).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        requests_per_second: float,
        *,
        scope: Scope | str = "endpoint",
        url: str | None = None,
    ) -> None:
        self.requests_per_second = requests_per_second
        self.scope = check_scope(scope)
        self.url = url or None
        if self.url is not None:
            store_kind(self.url)
        rate = rate_for(requests_per_second)
        self._interval_us = rate.permit_interval_us
        self._interval = self._interval_us / 1_000_000
        self._lease_size = lease_size(rate)
        self._digest = account_digest(base_url, api_key)
        self._target = store_target(self.url, self._digest)  # the local file's directory is fixed here
        self._pid = 0  # the caches below belong to one process: emptied in a forked child
        self._store: PermitStore | None = None
        self._leases: dict[str, Lease] = {}

    @classmethod
    def from_settings(cls, settings: MaviConnectionSettings) -> AccountRateLimiter:
        """The limiter a connection asks for: its rate, ``rate_limit_scope`` and ``rate_limit_url``.

        :param settings: the checked connection.
        """
        return cls(
            settings.base_url,
            settings.api_key,
            settings.max_requests_per_second,
            scope=settings.rate_limit_scope,
            url=settings.rate_limit_url,
        )

    @property
    def store_description(self) -> str:
        """The store, for people: the URL without its password, or ``local SQLite file``."""
        return redact_url(self.url) if self.url else "local SQLite file"

    def __repr__(self) -> str:
        return (
            f"AccountRateLimiter(requests_per_second={self.requests_per_second!r}, scope={self.scope!r}, "
            f"store={self.store_description!r})"
        )

    def bucket_key(self, bucket: str) -> str:
        """The store key of ``bucket`` for this account and scope: ``<account hash>:<bucket>``.

        :param bucket: the endpoint's bucket name (``account`` scope: ignored, after checking it).
        """
        check_bucket(bucket)
        return f"{self._digest}:{ACCOUNT_BUCKET if self.scope == 'account' else bucket}"

    def acquire(self, bucket: str = ACCOUNT_BUCKET) -> None:
        """Block the thread until this caller's permit of ``bucket`` is due.

        :param bucket: the endpoint's rate-limit bucket (its catalogue entry names it).
        """
        key = self.bucket_key(bucket)
        due = self._take_leased(key)
        if due is None:
            due = self._reserve(key)
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)

    async def aacquire(self, bucket: str = ACCOUNT_BUCKET) -> None:
        """Wait, without blocking the event loop, until this caller's permit of ``bucket`` is due.

        :param bucket: the endpoint's rate-limit bucket (see :meth:`acquire`).
        """
        key = self.bucket_key(bucket)
        due = self._take_leased(key)
        if due is None:
            due = await asyncio.to_thread(self._reserve, key)
        pause = due - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)

    def store(self) -> PermitStore:
        """This process's store for this limiter (opened on first use: blocking I/O)."""
        self._own_process()
        if self._store is None:
            self._store = open_store(self.url, self._target)
        return self._store

    def _own_process(self) -> None:
        """Forget what a parent process cached (its store connection, its leased slots) after a fork."""
        pid = os.getpid()
        if pid != self._pid:
            self._pid, self._store, self._leases = pid, None, {}

    def _take_leased(self, key: str) -> float | None:
        """The due moment of a slot this process already reserved for ``key``, if any (no I/O)."""
        if self._lease_size == 1:
            return None
        return self._lease(key).take(time.monotonic(), self._interval)

    def _reserve(self, key: str) -> float:
        """Reserve this caller's slot of ``key`` (and, at high rates, a few more): one store round trip.

        :return: the moment (``time.monotonic()``) the caller may send.
        """
        store = self.store()
        wait = store.reserve(key, self._interval_us, self._lease_size)
        if wait >= LOG_WAITS_FROM:
            log.info("Waiting %.1f s for a Mavi rate-limit permit (bucket %s)", wait, key.partition(":")[2])
        due = time.monotonic() + wait
        if self._lease_size == 1:
            return due
        return self._lease(key).keep(due, self._lease_size, self._interval)

    def _lease(self, key: str) -> Lease:
        """The slots reserved ahead for ``key`` by this process (shared by every limiter of the process)."""
        self._own_process()
        lease = self._leases.get(key)
        if lease is None:
            with _LEASES_LOCK:
                lease = _LEASES.setdefault((self._pid, self._target, key, self._interval_us), Lease())
            self._leases[key] = lease
        return lease
