"""
The store's tables (SQLAlchemy Core, shared by every backend), the schema version and its migrations.

Tables (prefix ``mavi_bridge_``):

- ``schema``: one row, the schema version.
- ``deliveries``: one row per distinct body of a job (``job_id`` + SHA-256 of the canonical JSON), with how
  many times it was posted.
- ``callbacks``: one row per job, in arrival order (``seq`` is the list cursor): the body readers get (the
  first terminal delivery), and the count of every accepted POST for the job.
- ``jobs``: jobs the operators recorded (``PUT /v1/jobs/{job_id}``), with their state, the Airflow task that
  submitted them, their deadline and, once the task knows it, their price.
- ``consumers``: named readers of the arrival-ordered list and the cursor each has processed (event triggers,
  ``/v1/consumers/{name}``). A new table needs no migration: ``create_all`` adds it, and an older bridge
  neither reads nor writes it.

A schema change: edit the table below, bump :data:`SCHEMA_VERSION` to ``N`` and add ``MIGRATIONS[N]``, a
function that brings a version ``N - 1`` database to ``N`` (``ALTER TABLE ... ADD COLUMN``, a backfill). A
brand-new table needs no migration step: ``create_all`` adds it. A bridge refuses a database whose version is
newer than its own, so an old replica never writes rows it does not understand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from airflow_provider_mavi.bridge.store.protocol import StoreError
from airflow_provider_mavi.bridge.store.records import JOB_ID_MAX

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy.engine import Connection

SCHEMA_VERSION = 2

#: Airflow's own limit on DAG, run and task ids.
AIRFLOW_ID_MAX = 250

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

schema_table = sa.Table(
    "mavi_bridge_schema",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

deliveries_table = sa.Table(
    "mavi_bridge_deliveries",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(JOB_ID_MAX), nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("last_received_at", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("terminal", sa.Boolean, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("job_id", "body_sha256", name="uq_mavi_bridge_deliveries_body"),
)

callbacks_table = sa.Table(
    "mavi_bridge_callbacks",
    metadata,
    sa.Column("seq", _ID, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(JOB_ID_MAX), nullable=False, unique=True),
    sa.Column("received_at", sa.Float, nullable=False, index=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("deliveries", sa.Integer, nullable=False),
    sa.Column("terminal", sa.Boolean, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

jobs_table = sa.Table(
    "mavi_bridge_jobs",
    metadata,
    sa.Column("job_id", sa.String(JOB_ID_MAX), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("asset_id", sa.String(JOB_ID_MAX), nullable=False),
    sa.Column("key", sa.String(1000), nullable=True, index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("submitted_at", sa.Float, nullable=False, index=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    # version 2: who submitted it, until when it is waited for, what it cost
    sa.Column("dag_id", sa.String(AIRFLOW_ID_MAX), nullable=True),
    sa.Column("run_id", sa.String(AIRFLOW_ID_MAX), nullable=True),
    sa.Column("task_id", sa.String(AIRFLOW_ID_MAX), nullable=True),
    sa.Column("map_index", sa.Integer, nullable=True),
    sa.Column("deadline", sa.Float, nullable=True),
    sa.Column("cost_usd", sa.Float, nullable=True),
)


#: Longest consumer name (letters, digits and ``._~-``).
CONSUMER_NAME_MAX = 200

consumers_table = sa.Table(
    "mavi_bridge_consumers",
    metadata,
    sa.Column("name", sa.String(CONSUMER_NAME_MAX), primary_key=True),
    sa.Column("cursor", _ID, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)


def _add_job_task_columns(conn: Connection) -> None:
    """Version 2: the jobs table gains the Airflow task, the deadline and the price (all nullable), and an
    index on ``state`` for the Mavi page's list of waiting jobs."""
    for name in ("dag_id", "run_id", "task_id", "map_index", "deadline", "cost_usd"):
        column = jobs_table.c[name]
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE mavi_bridge_jobs ADD COLUMN {name} {kind}"))
    for index in jobs_table.indexes:
        if list(index.columns) == [jobs_table.c.state]:
            index.create(conn, checkfirst=True)


#: ``MIGRATIONS[n]`` upgrades a version ``n - 1`` database to version ``n``, in the caller's transaction.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _add_job_task_columns}


def ensure_schema(
    conn: Connection,
    *,
    version: int = SCHEMA_VERSION,
    migrations: Mapping[int, Callable[[Connection], None]] = MIGRATIONS,
) -> int:
    """
    Create missing tables, run the migrations a database needs, and return the version it was at.

    Run it in a transaction that holds the backend's schema lock (the stores do), so racing replicas
    migrate once. Returns ``0`` for a new database.

    :param conn: a connection inside the locking transaction.
    :param version: the version this code writes (tests pass another).
    :param migrations: the upgrade steps (tests pass others).
    """
    metadata.create_all(conn, checkfirst=True)
    found = conn.execute(sa.select(schema_table.c.version)).scalar()
    if found is None:
        conn.execute(schema_table.insert().values(version=version))
        return 0
    if found > version:
        raise StoreError(
            f"the store has schema version {found}, newer than this bridge's {version}: upgrade the bridge"
        )
    for step in range(found + 1, version + 1):
        if step not in migrations:
            raise StoreError(f"no migration to schema version {step} (the store is at {found})")
        migrations[step](conn)
    if found < version:
        conn.execute(schema_table.update().values(version=version))
    return int(found)
