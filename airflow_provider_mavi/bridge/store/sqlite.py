"""
The SQLite store: one file in WAL mode with ``synchronous=FULL`` (a commit survives power loss, not just a
crash), one writer at a time (``BEGIN IMMEDIATE``), readers alongside it.

The batch write is hand-written SQL in sqlite3's own ``?`` style on the DB-API connection: two multi-row
upserts per batch (see ``batch.py``), then one row holding every new total as JSON (SQLite's JSON functions,
built in since 3.38 and in most earlier builds). Not ``RETURNING``: the sqlite3 module hands its rows back one
``sqlite3_step`` at a time and releases the GIL around each, and every release is a chance for the busy event
loop to take the GIL and keep it for up to a switch interval (5 ms) before the writer thread gets it back. A
batch of up to 128 callbacks is five steps this way.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from airflow_provider_mavi.bridge.store.batch import BatchPlan
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
    "count = mavi_bridge_deliveries.count + excluded.count, last_received_at = excluded.last_received_at"
)
_UPSERT_CALLBACKS = (
    "INSERT INTO mavi_bridge_callbacks (job_id, received_at, updated_at, deliveries, terminal, payload) "
    "VALUES {rows} "
    "ON CONFLICT (job_id) DO UPDATE SET deliveries = mavi_bridge_callbacks.deliveries + excluded.deliveries, "
    "updated_at = excluded.updated_at, "
    "payload = CASE WHEN NOT mavi_bridge_callbacks.terminal AND excluded.terminal "
    "THEN excluded.payload ELSE mavi_bridge_callbacks.payload END, "
    "terminal = (mavi_bridge_callbacks.terminal OR excluded.terminal)"
)
# Read in the same transaction, under the write lock: the totals are those the upserts just made.
_TOTALS = (
    "SELECT "
    "(SELECT json_group_array(json_array(job_id, body_sha256, count)) FROM mavi_bridge_deliveries "
    "WHERE job_id IN (SELECT value FROM json_each(?1))), "
    "(SELECT json_group_array(json_array(job_id, deliveries)) FROM mavi_bridge_callbacks "
    "WHERE job_id IN (SELECT value FROM json_each(?1)))"
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

    def _day(self, epoch: Any) -> Any:
        """The UTC day number: SQLite builds may lack ``floor``; a cast truncates (epochs are positive)."""
        return sa.cast(epoch / 86400, sa.Integer)

    def __init__(self, url: URL) -> None:
        if url.database in (None, "", ":memory:"):
            raise StoreError("the SQLite store must be a file (sqlite:///path/to/bridge.sqlite3)")
        super().__init__(_engine(url, immediate=True), _engine(url, immediate=False))

    def _insert(self, table: sa.Table) -> Any:
        return sqlite_insert(table)

    def _schema_preflight(self, conn: Connection) -> None:
        # the write engine's BEGIN IMMEDIATE already locks other processes out; check what this build has
        try:
            conn.exec_driver_sql("SELECT json_group_array(json_array(1)) FROM json_each('[1]')").scalar()
        except sa.exc.OperationalError:
            raise StoreError(
                f"this SQLite ({sqlite3.sqlite_version}) has no JSON functions, which the store needs: "
                "use a Python built with SQLite 3.38 or later, or PostgreSQL"
            ) from None

    def write_callbacks(self, items: Sequence[IncomingCallback]) -> list[WriteResult]:
        """
        Store a batch in one transaction (two multi-row upserts) and return what happened to each, in order.

        :param items: the callbacks, in arrival order.
        """
        if not items:
            return []
        plan = BatchPlan(items)
        connection = self.write_engine.raw_connection()  # WAL and synchronous=FULL set on connect
        try:
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                for table, rows in (
                    (_UPSERT_DELIVERIES, plan.delivery_rows()),
                    (_UPSERT_CALLBACKS, plan.callback_rows()),
                ):
                    for start in range(0, len(rows), ROWS_PER_STATEMENT):
                        chunk = rows[start : start + ROWS_PER_STATEMENT]
                        sql = _values(table, len(chunk[0]), len(chunk))
                        cursor.execute(sql, [value for row in chunk for value in row])
                cursor.execute(_TOTALS, (json.dumps(plan.job_ids),))
                [(bodies, jobs)] = cursor.fetchall()
                cursor.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):  # a broken connection: the original error tells why
                    cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        finally:
            connection.close()
        return plan.results(
            {(job_id, sha): count for job_id, sha, count in json.loads(bodies)},
            dict(json.loads(jobs)),
        )


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
        dbapi_connection.isolation_level = None  # BEGIN is explicit: "begin" below, and the batch write's
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
