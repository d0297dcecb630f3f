"""The PostgreSQL store: every worker and triggerer of the cluster shares the buckets of one database.

One table, ``mavi_rate_limit_permits`` (created on first use), one row per bucket keyed by
``<account hash>:<bucket>``, holding its theoretical arrival time in microseconds. A reservation is one
``INSERT ... ON CONFLICT DO UPDATE`` statement in autocommit: the row lock orders concurrent callers, the
database's clock (``clock_timestamp()``) is the only clock, and the answer is the relative wait. The
bridge's database does fine (its SQLAlchemy URL, ``postgresql+psycopg://...``, is accepted as it is).

One connection per process, shared by its threads; a broken connection is opened again once, then the
store counts as down. Uses ``psycopg`` (3), else ``psycopg2``: no connection pool is needed.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_mavi.exceptions import MaviRateLimitStoreError
from airflow_provider_mavi.hooks.rate_limit.names import redact_url
from airflow_provider_mavi.hooks.rate_limit.stores import store_error

if TYPE_CHECKING:
    from types import ModuleType

TABLE = "mavi_rate_limit_permits"
#: Serialises the ``CREATE TABLE IF NOT EXISTS`` of concurrent first users (any fixed number).
_CREATE_LOCK_ID = 0x6D617669
_CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} (bucket TEXT PRIMARY KEY, tat BIGINT NOT NULL)"
_RESERVE = f"""
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now),
moved AS (
    INSERT INTO {TABLE} AS b (bucket, tat) SELECT %(key)s, now + %(step)s FROM clock
    ON CONFLICT (bucket) DO UPDATE SET tat = GREATEST(b.tat, EXCLUDED.tat - %(step)s) + %(step)s
    RETURNING b.tat
)
SELECT moved.tat - %(step)s - clock.now FROM moved, clock
"""  # noqa: S608 - a constant table name; values are bound parameters
CONNECT_TIMEOUT = 5
#: Milliseconds a reservation may take before the store counts as down.
STATEMENT_TIMEOUT_MS = 10_000


def libpq_url(url: str) -> str:
    """``url`` as libpq reads it: a SQLAlchemy driver suffix (``postgresql+psycopg``) dropped.

    :param url: the store URL.
    """
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


def _driver() -> ModuleType | None:
    """``psycopg`` (3) if installed, else ``psycopg2``, else None."""
    try:
        import psycopg

        return psycopg
    except ImportError:
        pass
    try:
        import psycopg2

        return psycopg2
    except ImportError:
        return None


class PostgresPermitStore:
    """Buckets in a PostgreSQL table (the database's clock).

    :param url: ``postgresql://user:password@host:port/dbname`` (``postgres://`` and ``+driver`` too).
    """

    def __init__(self, url: str) -> None:
        self.description = redact_url(url)
        self._url = url
        driver = _driver()
        if driver is None:
            raise MaviRateLimitStoreError(
                f"rate_limit_url {self.description} needs a PostgreSQL driver: "
                "pip install 'airflow-provider-mavi[postgres]'."
            )
        self._driver = driver
        self._conn: Any = None
        self._lock = threading.Lock()

    def reserve(self, key: str, interval_us: int, count: int) -> float:
        """Reserve the next ``count`` slots of ``key`` (see :class:`~.stores.PermitStore`).

        :param key: the bucket's key.
        :param interval_us: microseconds between two slots.
        :param count: slots to reserve.
        """
        params = {"key": key, "step": interval_us * count}
        with self._lock:
            for _attempt in range(2):
                fresh = self._conn is None
                try:
                    if fresh:
                        self._conn = self._connect()
                    cursor = self._conn.cursor()
                    try:
                        cursor.execute(_RESERVE, params)
                        (wait_us,) = cursor.fetchone()
                    finally:
                        cursor.close()
                    return max(0, int(wait_us)) / 1_000_000
                except self._driver.Error as error:
                    self._close()
                    # A connection that broke since its last use (a restarted server) gets one new try.
                    if fresh or not isinstance(error, self._driver.OperationalError):
                        raise store_error(self.description, error, self._url) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self) -> Any:
        """A new autocommit connection, with the table created if it was missing."""
        conn = self._driver.connect(
            libpq_url(self._url),
            connect_timeout=CONNECT_TIMEOUT,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
        try:
            cursor = conn.cursor()
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK_ID,))
            cursor.execute(_CREATE)
            cursor.close()
            conn.commit()
            conn.autocommit = True
        except BaseException:
            conn.close()
            raise
        return conn

    def _close(self) -> None:
        """Drop the connection (ignoring errors: it is already broken)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # best effort: it is already broken
                conn.close()
