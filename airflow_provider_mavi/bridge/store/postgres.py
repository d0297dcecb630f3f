"""
The PostgreSQL store: one database shared by every replica of the bridge.

``postgresql://`` uses psycopg 3; ``postgresql+psycopg2://`` uses psycopg2. Both take the ``%(name)s``
parameter style the hand-written SQL below is written in.

A batch of callbacks, whatever its size, is one round trip: one statement (two data-modifying CTEs over the
batch's rows, see ``batch.py``, and the ``NOTIFY``) sent on an autocommit connection, so it is its own
transaction and the server answers only once it is committed. Round trips, not the database's work, were
the cost: one per callback before, then begin, statement, notify and commit. ``NOTIFY`` is delivered at
commit to every replica's ``LISTEN`` (``notify.py``), which wakes its waiters within milliseconds.
"""

from __future__ import annotations

import base64
import json
import select
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from airflow_provider_mavi.bridge.store.batch import BatchPlan
from airflow_provider_mavi.bridge.store.notify import CHANNEL, PgListener, notify_payloads
from airflow_provider_mavi.bridge.store.protocol import StoreError
from airflow_provider_mavi.bridge.store.sql import SqlStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.engine import URL, Connection
    from sqlalchemy.pool import PoolProxiedConnection

    from airflow_provider_mavi.bridge.store.protocol import StoreWatch
    from airflow_provider_mavi.bridge.store.records import IncomingCallback, WriteResult

POOL_SIZE, POOL_OVERFLOW = 1, 2  # connections of the group-commit writer (it writes one batch at a time)
SCHEMA_LOCK = 7264091  # pg_advisory_xact_lock key: replicas that start together create the tables once

# The rows travel as two JSON arrays of arrays (payloads in base64): three text parameters that both drivers
# pass as they are. Lists as PostgreSQL arrays cost more to adapt, per element, than the database's work.
_WRITE_BATCH = """
WITH d AS (
    INSERT INTO mavi_bridge_deliveries AS t
        (job_id, body_sha256, received_at, last_received_at, count, terminal, payload)
    SELECT r->>0, r->>1, (r->>2)::float8, (r->>3)::float8, (r->>4)::int4, (r->>5)::bool,
        decode(r->>6, 'base64')
    FROM jsonb_array_elements(%(deliveries)s::jsonb) AS r
    ON CONFLICT (job_id, body_sha256) DO UPDATE
        SET count = t.count + excluded.count, last_received_at = excluded.last_received_at
    RETURNING job_id, body_sha256, count
), c AS (
    INSERT INTO mavi_bridge_callbacks AS t (job_id, received_at, updated_at, deliveries, terminal, payload)
    SELECT r->>0, (r->>1)::float8, (r->>2)::float8, (r->>3)::int4, (r->>4)::bool, decode(r->>5, 'base64')
    FROM jsonb_array_elements(%(callbacks)s::jsonb) WITH ORDINALITY AS e(r, arrival)
    ORDER BY arrival
    ON CONFLICT (job_id) DO UPDATE SET
        deliveries = t.deliveries + excluded.deliveries,
        updated_at = excluded.updated_at,
        payload = CASE WHEN NOT t.terminal AND excluded.terminal THEN excluded.payload ELSE t.payload END,
        terminal = t.terminal OR excluded.terminal
    RETURNING job_id, deliveries
), n AS MATERIALIZED (
    SELECT pg_notify(%(channel)s, note) FROM jsonb_array_elements_text(%(notes)s::jsonb) AS note
)
SELECT job_id, body_sha256, count FROM d
UNION ALL
SELECT job_id, NULL, deliveries FROM c
UNION ALL
SELECT NULL, NULL, count(*)::int4 FROM n
"""


def _rows_json(rows: Sequence[tuple[Any, ...]]) -> str:
    """Rows as a JSON array of arrays, the last column (the payload bytes) in base64."""
    return json.dumps([[*row[:-1], base64.b64encode(row[-1]).decode("ascii")] for row in rows])


def _driver_url(url: URL) -> URL:
    """``postgresql://`` means psycopg 3 (whatever SQLAlchemy's own default); an explicit driver stays."""
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("postgresql+psycopg", "postgresql+psycopg2"):
        raise StoreError(
            f"unsupported PostgreSQL driver {url.drivername!r}: use postgresql:// (psycopg 3) "
            "or postgresql+psycopg2://"
        )
    return url


class PostgresStore(SqlStore):
    """
    The durable inbox in a PostgreSQL database.

    :param url: a ``postgresql://`` or ``postgresql+psycopg2://`` URL.
    """

    backend = "postgresql"
    # Replicas can commit a lower ``seq`` after a higher one; holding back the last two seconds keeps a list
    # cursor from passing a callback that was not yet visible.
    list_settle_seconds = 2.0

    def __init__(self, url: URL) -> None:
        url = _driver_url(url)
        try:
            write = sa.create_engine(url, pool_size=4, max_overflow=4, pool_pre_ping=True)
            read = sa.create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)
            # the group-commit writer's own: autocommit (a statement is a transaction), and no ping round trip
            # (see _live_connection)
            self.batch_engine = sa.create_engine(
                url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=2
            )
        except ImportError as err:
            raise StoreError(
                f"the PostgreSQL driver of {url.drivername} is not installed ({err.name}): "
                "pip install 'psycopg[binary]' (or psycopg2-binary for postgresql+psycopg2://)"
            ) from None
        super().__init__(write, read)

    def _insert(self, table: sa.Table) -> Any:
        return postgresql_insert(table)

    def _schema_preflight(self, conn: Connection) -> None:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})

    def watch(self, on_ids: Callable[[list[str]], None]) -> StoreWatch | None:
        """
        ``LISTEN`` on a dedicated connection in a thread; every replica's commits notify the others.

        :param on_ids: called in the listening thread with the ids of each notification.
        """
        listener = PgListener(self.read_engine, on_ids)
        listener.start()
        return listener

    def close(self) -> None:
        """Close every pooled connection."""
        super().close()
        self.batch_engine.dispose()

    def _live_connection(self) -> PoolProxiedConnection:
        """
        A pooled batch connection the server has not closed meanwhile (restart, failover, idle timeout).

        An idle connection has nothing to read unless the server ended it (its last words, then EOF): a poll
        of the socket finds out without the round trip of a ``SELECT 1`` ping.
        """
        for _ in range(POOL_SIZE + POOL_OVERFLOW):
            connection = self.batch_engine.raw_connection()
            dbapi: Any = connection.dbapi_connection
            try:
                ended = bool(select.select([dbapi.fileno()], [], [], 0)[0])
            except (OSError, ValueError):  # closed on our side already
                ended = True
            if not ended:
                return connection
            connection.invalidate()
            connection.close()
        return self.batch_engine.raw_connection()  # fresh ones by now

    def write_callbacks(self, items: Sequence[IncomingCallback]) -> list[WriteResult]:
        """
        Store a batch in one statement, its own transaction, and return what happened to each, in order.

        :param items: the callbacks, in arrival order.
        """
        if not items:
            return []
        plan = BatchPlan(items)
        params = {
            "deliveries": _rows_json(plan.delivery_rows()),
            "callbacks": _rows_json(plan.callback_rows()),
            "channel": CHANNEL,
            "notes": json.dumps(notify_payloads(plan.job_ids)),
        }
        body_totals: dict[tuple[str, str], int] = {}
        job_totals: dict[str, int] = {}
        connection = self._live_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(_WRITE_BATCH, params)
            rows = cursor.fetchall()
            cursor.close()
        except Exception:
            connection.invalidate()  # whatever broke, the next batch gets a fresh connection
            raise
        finally:
            connection.close()
        for job_id, sha, total in rows:
            if job_id is None:  # the NOTIFY row
                continue
            if sha is None:
                job_totals[job_id] = total
            else:
                body_totals[(job_id, sha)] = total
        return plan.results(body_totals, job_totals)
