"""
The SQLite store: one file in WAL mode with ``synchronous=FULL`` (a commit survives power loss, not just a
crash), one writer at a time (``BEGIN IMMEDIATE``), readers alongside it.

The batch write is hand-written SQL in sqlite3's own ``?`` style, run on the DB-API cursor: two multi-row
upserts per batch (see ``batch.py``) instead of SQLAlchemy statements per callback.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from airflow_provider_mavi.bridge.store.batch import BatchPlan, CallbackRow, DeliveryRow
from airflow_provider_mavi.bridge.store.protocol import StoreError
from airflow_provider_mavi.bridge.store.sql import SqlStore

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import URL, Connection, Engine

    from airflow_provider_mavi.bridge.store.records import IncomingCallback, WriteResult

# Rows per statement: 7 parameters a row stays under 999, the smallest limit of SQLite builds still around.
ROWS_PER_STATEMENT = 128

_UPSERT_DELIVERIES = (
    "INSERT INTO mavi_bridge_deliveries "
    "(job_id, body_sha256, received_at, last_received_at, count, terminal, payload) VALUES {rows} "
    "ON CONFLICT (job_id, body_sha256) DO UPDATE SET "
    "count = mavi_bridge_deliveries.count + excluded.count, last_received_at = excluded.last_received_at "
    "RETURNING job_id, body_sha256, count"
)
_UPSERT_CALLBACKS = (
    "INSERT INTO mavi_bridge_callbacks (job_id, received_at, updated_at, deliveries, terminal, payload) "
    "VALUES {rows} "
    "ON CONFLICT (job_id) DO UPDATE SET deliveries = mavi_bridge_callbacks.deliveries + excluded.deliveries, "
    "updated_at = excluded.updated_at, "
    "payload = CASE WHEN NOT mavi_bridge_callbacks.terminal AND excluded.terminal "
    "THEN excluded.payload ELSE mavi_bridge_callbacks.payload END, "
    "terminal = (mavi_bridge_callbacks.terminal OR excluded.terminal) "
    "RETURNING job_id, deliveries"
)


@lru_cache(maxsize=512)
def _values(template: str, width: int, rows: int) -> str:
    """``template`` with ``rows`` rows of ``width`` ``?`` placeholders."""
    row = "(" + ", ".join("?" * width) + ")"
    return template.format(rows=", ".join([row] * rows))


class SQLiteStore(SqlStore):
    """
    The durable inbox in a SQLite file.

    :param url: a ``sqlite:///path`` URL (a file: ``:memory:`` would not survive the process).
    """

    backend = "sqlite"

    def __init__(self, url: URL) -> None:
        if url.database in (None, "", ":memory:"):
            raise StoreError("the SQLite store must be a file (sqlite:///path/to/bridge.sqlite3)")
        super().__init__(_engine(url, immediate=True), _engine(url, immediate=False))

    def _insert(self, table: sa.Table) -> Any:
        return sqlite_insert(table)

    # ``BEGIN IMMEDIATE`` of the write engine already serialises ``ensure_schema`` between processes.

    def write_callbacks(self, items: Sequence[IncomingCallback]) -> list[WriteResult]:
        """
        Store a batch in one transaction (two multi-row upserts) and return what happened to each, in order.

        :param items: the callbacks, in arrival order.
        """
        if not items:
            return []
        plan = BatchPlan(items)
        body_totals: dict[tuple[str, str], int] = {}
        job_totals: dict[str, int] = {}
        with self.write_engine.begin() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                deliveries = plan.delivery_rows()
                for start in range(0, len(deliveries), ROWS_PER_STATEMENT):
                    chunk = deliveries[start : start + ROWS_PER_STATEMENT]
                    sql = _values(_UPSERT_DELIVERIES, len(DeliveryRow._fields), len(chunk))
                    cursor.execute(sql, [value for row in chunk for value in row])
                    body_totals.update(((job, sha), count) for job, sha, count in cursor.fetchall())
                callbacks = plan.callback_rows()
                for start in range(0, len(callbacks), ROWS_PER_STATEMENT):
                    rows = callbacks[start : start + ROWS_PER_STATEMENT]
                    sql = _values(_UPSERT_CALLBACKS, len(CallbackRow._fields), len(rows))
                    cursor.execute(sql, [value for row in rows for value in row])
                    job_totals.update(cursor.fetchall())
            finally:
                cursor.close()
        return plan.results(body_totals, job_totals)


def _engine(url: URL, *, immediate: bool) -> Engine:
    """An engine whose connections are in WAL mode, ``synchronous=FULL``, and begin as told."""
    engine = sa.create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=8 if not immediate else 1,
        max_overflow=16 if not immediate else 2,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see "begin" below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
