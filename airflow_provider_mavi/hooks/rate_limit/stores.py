"""Where the buckets' schedules live, and the one operation a store does: reserve the next slots of a bucket.

- no ``rate_limit_url``: a SQLite file on this machine (:mod:`.sqlite_store`), shared by its processes;
- ``redis://``: a Redis server (:mod:`.redis_store`), shared by the whole cluster;
- ``postgresql://``: a PostgreSQL database (:mod:`.postgres_store`), shared by the whole cluster.

A bucket's state is one number, its *theoretical arrival time* (TAT): the moment its next slot is free.
:meth:`PermitStore.reserve` moves it on atomically, ``tat = max(tat, now) + count * interval``, and answers
how long the caller waits for its first slot. The cluster stores read ``now`` from the store's own clock and
answer a *relative* wait, so machines whose clocks disagree still space their requests correctly.

Every store is opened once per process (a connection never crosses a fork) and used by all its threads.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

from airflow_provider_mavi.exceptions import MaviRateLimitStoreError
from airflow_provider_mavi.hooks.rate_limit.names import local_path, store_kind, url_password


class PermitStore(Protocol):
    """A bucket store: one atomic reservation per call, safe to call from any thread of the process."""

    #: The store for messages: ``the local file /tmp/...`` or the URL without its password.
    description: str

    def reserve(self, key: str, interval_us: int, count: int) -> float:
        """Reserve the next ``count`` slots of the bucket ``key``, ``interval_us`` apart.

        :param key: the bucket's key (account hash and bucket name).
        :param interval_us: microseconds between two slots.
        :param count: slots to reserve.
        :return: seconds until the first reserved slot (0 or more), from the moment of the answer.
        :raises MaviRateLimitStoreError: the store cannot be used.
        """
        ...


def store_error(description: str, error: BaseException, url: str | None = None) -> MaviRateLimitStoreError:
    """The loud error of a store that cannot be used, scrubbed of the URL's password.

    :param description: the store, already redacted.
    :param error: what the driver raised.
    :param url: the store URL, whose password is removed from the driver's text if it appears there.
    """
    reason = " ".join(str(error).split()) or type(error).__name__
    password = url_password(url) if url else None
    if password:
        reason = reason.replace(password, "***")
    return MaviRateLimitStoreError(
        f"The Mavi rate limiter cannot use its store {description} ({type(error).__name__}: {reason}). "
        "No request was sent: the limiter never runs unlimited. Start or fix the store, or change the "
        "connection's rate_limit_url."
    )


_STORES: dict[tuple[int, str], PermitStore] = {}
_LOCK = threading.Lock()


def store_target(url: str | None, digest: str) -> str:
    """What names a store: its URL, or the path of the account's local file (no I/O).

    :param url: the connection's ``rate_limit_url``.
    :param digest: the account's hash (names the local file, under ``MAVI_RATE_LIMIT_DIR`` as set now).
    """
    return url or str(local_path(digest))


def open_store(url: str | None, target: str) -> PermitStore:
    """This process's store named ``target`` (:func:`store_target`), opened on first use.

    :param url: the connection's ``rate_limit_url``; ``None`` for the local file.
    :param target: :func:`store_target` of the URL and the account.
    """
    key = (os.getpid(), target)
    store = _STORES.get(key)
    if store is not None:
        return store
    with _LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = _make_store(url, target)
        return store


def _make_store(url: str | None, target: str) -> PermitStore:
    """A new store for ``url``, or for the local file ``target``."""
    if url is None:
        from airflow_provider_mavi.hooks.rate_limit.sqlite_store import SQLitePermitStore

        return SQLitePermitStore(target)
    if store_kind(url) == "redis":
        from airflow_provider_mavi.hooks.rate_limit.redis_store import RedisPermitStore

        return RedisPermitStore(url)
    from airflow_provider_mavi.hooks.rate_limit.postgres_store import PostgresPermitStore

    return PostgresPermitStore(url)
