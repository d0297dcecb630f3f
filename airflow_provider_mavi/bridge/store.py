"""
The bridge's durable inbox: SQLAlchemy Core over a SQLite file (WAL mode) or PostgreSQL.

Blocking calls; the app runs them in threads. Writes arrive in batches (group commit, see ``writer.py``): one
transaction per batch, so a ``200`` is sent only after the commit that holds its callback.

Tables (prefix ``mavi_bridge_``):

- ``schema``: one row, the schema version, so a later release can migrate.
- ``deliveries``: one row per distinct body of a job (``job_id`` + SHA-256 of the canonical JSON), with how
  many times it was posted.
- ``callbacks``: one row per job, in arrival order (``seq`` is the list cursor): the body readers get (the
  first terminal delivery), and the count of every accepted POST for the job.
- ``jobs``: jobs the operators recorded (``PUT /v1/jobs/{job_id}``), with their state.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from airflow_provider_mavi.bridge.notify import CHANNEL, notify_payloads

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
JOB_ID_MAX = 200
IN_CHUNK = 500

JOB_WAITING = "waiting"
JOB_DELIVERED = "delivered"
JOB_ABANDONED = "abandoned"

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
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("submitted_at", sa.Float, nullable=False, index=True),
    sa.Column("updated_at", sa.Float, nullable=False),
)


# The write path is hand-written SQL run on the DB-API cursor: SQLite and PostgreSQL share this ON CONFLICT
# dialect, and SQLAlchemy's per-statement overhead was several times the database work itself.
_UPSERT_DELIVERY = (
    "INSERT INTO mavi_bridge_deliveries "
    "(job_id, body_sha256, received_at, last_received_at, count, terminal, payload) "
    "VALUES (:job_id, :sha, :at, :at, 1, :terminal, :payload) "
    "ON CONFLICT (job_id, body_sha256) DO UPDATE SET count = mavi_bridge_deliveries.count + 1, "
    "last_received_at = excluded.last_received_at "
    "RETURNING count"
)
_UPSERT_CALLBACK = (
    "INSERT INTO mavi_bridge_callbacks (job_id, received_at, updated_at, deliveries, terminal, payload) "
    "VALUES (:job_id, :at, :at, 1, :terminal, :payload) "
    "ON CONFLICT (job_id) DO UPDATE SET deliveries = mavi_bridge_callbacks.deliveries + 1, "
    "updated_at = excluded.updated_at, "
    "payload = CASE WHEN NOT mavi_bridge_callbacks.terminal AND excluded.terminal "
    "THEN excluded.payload ELSE mavi_bridge_callbacks.payload END, "
    "terminal = (mavi_bridge_callbacks.terminal OR excluded.terminal) "
    "RETURNING deliveries"
)


# PostgreSQL: both statements in one round trip (data-modifying CTEs on two different tables).
_WRITE_ONE_PG = " ".join(
    (
        f"WITH d AS ({_UPSERT_DELIVERY}), c AS ({_UPSERT_CALLBACK})",
        "SELECT (SELECT count FROM d), (SELECT deliveries FROM c)",
    )
)


def _pyformat(sql: str) -> str:
    """Turn ``:name`` parameters (sqlite3's named style) into ``%(name)s`` (psycopg2's)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


class StoreError(RuntimeError):
    """The store cannot be used (unreachable, or written by a newer bridge)."""


@dataclass(frozen=True)
class IncomingCallback:
    """
    One accepted callback POST, ready to be written.

    :param job_id: Mavi's ``task_id`` from the body.
    :param body_sha256: hash of the canonical JSON (sorted keys, no spaces), so whitespace does not matter.
    :param payload: the body exactly as Mavi sent it.
    :param terminal: ``False`` when the body says the job is still running (see :func:`is_terminal`).
    :param received_at: epoch seconds.
    """

    job_id: str
    body_sha256: str
    payload: bytes
    terminal: bool
    received_at: float


@dataclass(frozen=True)
class WriteResult:
    """What writing one callback did: ``duplicate`` when the identical body was already stored."""

    job_id: str
    duplicate: bool
    deliveries: int


_PROGRESS_STATES = frozenset({"pending", "queued", "processing", "running", "in_progress", "in-progress"})


def is_terminal(payload: dict[str, Any]) -> bool:
    """
    Tell whether a callback reports an outcome rather than progress.

    Mavi documents only outcome callbacks; a body whose ``status`` (top level or in ``data``) is a progress
    word such as ``processing`` is treated as not terminal, so a later outcome replaces it for readers.

    :param payload: the parsed callback body.
    """
    candidates = [payload.get("status")]
    data = payload.get("data")
    if isinstance(data, dict):
        candidates.append(data.get("status"))
    return not any(isinstance(c, str) and c.strip().lower() in _PROGRESS_STATES for c in candidates)


def iso_utc(epoch: float) -> str:
    """
    Render epoch seconds as ISO 8601 in UTC with milliseconds.

    :param epoch: seconds since the epoch.
    """
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="milliseconds")


def _record(row: Any) -> dict[str, Any]:
    return {
        "job_id": row.job_id,
        "received_at": iso_utc(row.received_at),
        "deliveries": row.deliveries,
        "payload": json.loads(row.payload),
    }


def _job(row: Any) -> dict[str, Any]:
    state = row.state
    if state == JOB_WAITING and row.delivered is not None:
        state = JOB_DELIVERED
    return {
        "job_id": row.job_id,
        "kind": row.kind,
        "asset_id": row.asset_id,
        "key": row.key,
        "state": state,
        "submitted_at": iso_utc(row.submitted_at),
    }


def _jobs_query() -> sa.Select[Any]:
    """Jobs with ``delivered`` derived from the callbacks table at read time (no race with the writer)."""
    j, c = jobs_table, callbacks_table
    return sa.select(j, c.c.seq.label("delivered")).select_from(j.outerjoin(c, c.c.job_id == j.c.job_id))


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


class Store:
    """
    The durable inbox.

    :param db_url: SQLAlchemy URL (``sqlite:///path`` or ``postgresql://...``).
    """

    def __init__(self, db_url: str) -> None:
        self.url = sa.engine.make_url(db_url)
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"unsupported store {self.dialect!r}: use sqlite:/// or postgresql://")
        if self.dialect == "sqlite":
            if self.url.database in (None, "", ":memory:"):
                raise StoreError("the SQLite store must be a file (sqlite:///path/to/bridge.sqlite3)")
            self.write_engine = self._sqlite_engine(immediate=True)
            self.read_engine = self._sqlite_engine(immediate=False)
        else:
            self.write_engine = sa.create_engine(self.url, pool_size=4, max_overflow=4, pool_pre_ping=True)
            self.read_engine = sa.create_engine(self.url, pool_size=10, max_overflow=30, pool_pre_ping=True)
        self._insert: Any = sqlite_insert if self.dialect == "sqlite" else postgresql_insert
        self._write_sql = (_UPSERT_DELIVERY, _UPSERT_CALLBACK)
        self._write_one_pg = _pyformat(_WRITE_ONE_PG)

    @property
    def list_settle_seconds(self) -> float:
        """
        How old a callback must be before the list shows it.

        SQLite commits one writer at a time, so arrival order is commit order. PostgreSQL replicas can commit
        a lower ``seq`` after a higher one; holding back the last two seconds keeps a cursor from passing a
        callback that was not yet visible.
        """
        return 0.0 if self.dialect == "sqlite" else 2.0

    def _sqlite_engine(self, *, immediate: bool) -> Engine:
        engine = sa.create_engine(
            self.url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=8 if not immediate else 1,
            max_overflow=16 if not immediate else 2,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see "begin" below)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # a commit survives power loss, not just a crash
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def create(self) -> None:
        """Create the tables when missing and check the schema version (safe with several replicas)."""
        with self.write_engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7264091)"))
            metadata.create_all(conn, checkfirst=True)
            version = conn.execute(sa.select(schema_table.c.version)).scalar()
            if version is None:
                conn.execute(schema_table.insert().values(version=SCHEMA_VERSION))
            elif version > SCHEMA_VERSION:
                raise StoreError(
                    f"the store has schema version {version}, newer than this bridge's {SCHEMA_VERSION}: "
                    "upgrade the bridge"
                )

    def schema_version(self) -> int | None:
        """Return the stored schema version."""
        with self.read_engine.connect() as conn:
            return conn.execute(sa.select(schema_table.c.version)).scalar()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        self.read_engine.dispose()

    def ping(self) -> None:
        """Run a trivial query; raises when the store is unreachable."""
        with self.read_engine.connect() as conn:
            conn.execute(sa.select(sa.func.count()).select_from(schema_table)).scalar()

    # -- writes ------------------------------------------------------------------------------------------

    def write_callbacks(self, items: Sequence[IncomingCallback]) -> list[WriteResult]:
        """
        Store a batch of callbacks in one transaction and return what happened to each, in order.

        :param items: the callbacks to store.
        """
        results: list[WriteResult] = []
        upsert_delivery, upsert_callback = self._write_sql
        with self.write_engine.begin() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                for item in items:
                    params = {
                        "job_id": item.job_id,
                        "sha": item.body_sha256,
                        "at": item.received_at,
                        "terminal": item.terminal,
                        "payload": item.payload,
                    }
                    if self.dialect == "postgresql":
                        cursor.execute(self._write_one_pg, params)
                        count, deliveries = cursor.fetchone()  # type: ignore[misc]
                    else:
                        cursor.execute(upsert_delivery, params)
                        count = int(cursor.fetchone()[0])  # type: ignore[index]
                        cursor.execute(upsert_callback, params)
                        deliveries = int(cursor.fetchone()[0])  # type: ignore[index]
                    results.append(WriteResult(item.job_id, duplicate=count > 1, deliveries=deliveries))
                if self.dialect == "postgresql":  # delivered to every LISTENing replica at commit
                    for payload in notify_payloads([i.job_id for i in items]):
                        cursor.execute(
                            "SELECT pg_notify(%(channel)s, %(payload)s)",
                            {"channel": CHANNEL, "payload": payload},
                        )
            finally:
                cursor.close()
        return results

    def put_job(self, job_id: str, *, kind: str, asset_id: str, key: str | None) -> dict[str, Any]:
        """
        Record a submitted job (idempotent: a repeat updates kind, asset and key, keeps the first time).

        :param job_id: Mavi's job id.
        :param kind: what was submitted (``extract_frames``, ``transcribe_video``, ...).
        :param asset_id: the asset the job works on.
        :param key: the caller's idempotency key (for example DAG, task, run and try), if any.
        """
        now = time.time()
        j = jobs_table
        with self.write_engine.begin() as conn:
            stmt = self._insert(j).values(
                job_id=job_id,
                kind=kind,
                asset_id=asset_id,
                key=key,
                state=JOB_WAITING,
                submitted_at=now,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[j.c.job_id],
                set_={"kind": kind, "asset_id": asset_id, "key": key, "updated_at": now},
            )
            conn.execute(stmt)
            row = conn.execute(_jobs_query().where(j.c.job_id == job_id)).one()
        return _job(row)

    def abandon_job(self, job_id: str) -> dict[str, Any] | None:
        """
        Mark a job as no longer waited for; ``None`` when the job is unknown.

        :param job_id: Mavi's job id.
        """
        j = jobs_table
        with self.write_engine.begin() as conn:
            conn.execute(
                j.update().where(j.c.job_id == job_id).values(state=JOB_ABANDONED, updated_at=time.time())
            )
            row = conn.execute(_jobs_query().where(j.c.job_id == job_id)).first()
        return _job(row) if row else None

    def purge(self, older_than: float) -> dict[str, int]:
        """
        Delete callbacks, deliveries and jobs last touched before ``older_than``; return how many of each.

        :param older_than: epoch seconds.
        """
        with self.write_engine.begin() as conn:
            c, d, j = callbacks_table, deliveries_table, jobs_table
            old_jobs = sa.select(c.c.job_id).where(c.c.updated_at < older_than)
            n_d = conn.execute(d.delete().where(d.c.job_id.in_(old_jobs))).rowcount
            n_c = conn.execute(c.delete().where(c.c.updated_at < older_than)).rowcount
            n_j = conn.execute(j.delete().where(j.c.updated_at < older_than)).rowcount
        return {"callbacks": n_c, "deliveries": n_d, "jobs": n_j}

    # -- reads -------------------------------------------------------------------------------------------

    def get_callback(self, job_id: str) -> dict[str, Any] | None:
        """
        Return the record of a job's callback, or ``None``.

        :param job_id: Mavi's job id.
        """
        c = callbacks_table
        with self.read_engine.connect() as conn:
            row = conn.execute(sa.select(c).where(c.c.job_id == job_id)).first()
        return _record(row) if row else None

    def get_callbacks(self, job_ids: Sequence[str]) -> list[dict[str, Any]]:
        """
        Return the records present among ``job_ids``, in arrival order.

        :param job_ids: Mavi's job ids.
        """
        c = callbacks_table
        rows: list[Any] = []
        with self.read_engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(job_ids))):
                rows.extend(conn.execute(sa.select(c).where(c.c.job_id.in_(chunk))).all())
        rows.sort(key=lambda r: r.seq)
        return [_record(r) for r in rows]

    def present(self, job_ids: Sequence[str]) -> set[str]:
        """
        Return which of ``job_ids`` have a stored callback.

        :param job_ids: Mavi's job ids.
        """
        c = callbacks_table
        found: set[str] = set()
        with self.read_engine.connect() as conn:
            for chunk in _chunks(list(job_ids)):
                found.update(conn.execute(sa.select(c.c.job_id).where(c.c.job_id.in_(chunk))).scalars())
        return found

    def list_callbacks(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """
        Return up to ``limit`` records after cursor ``after`` in arrival order, and the next cursor.

        :param after: the cursor of the last record already seen (0 for the start).
        :param limit: the most records to return.
        """
        c = callbacks_table
        query = sa.select(c).where(c.c.seq > after).order_by(c.c.seq).limit(limit)
        if self.list_settle_seconds:
            query = query.where(c.c.received_at <= time.time() - self.list_settle_seconds)
        with self.read_engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_record(r) for r in rows], (rows[-1].seq if rows else after)

    def get_deliveries(self, job_id: str) -> list[dict[str, Any]]:
        """
        Return every distinct body stored for a job, first first (for ``mavi-bridge show``).

        :param job_id: Mavi's job id.
        """
        d = deliveries_table
        with self.read_engine.connect() as conn:
            rows = conn.execute(sa.select(d).where(d.c.job_id == job_id).order_by(d.c.id)).all()
        return [
            {
                "received_at": iso_utc(r.received_at),
                "last_received_at": iso_utc(r.last_received_at),
                "count": r.count,
                "terminal": r.terminal,
                "body_sha256": r.body_sha256,
                "payload": json.loads(r.payload),
            }
            for r in rows
        ]

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """
        Return a recorded job, or ``None``.

        :param job_id: Mavi's job id.
        """
        j = jobs_table
        with self.read_engine.connect() as conn:
            row = conn.execute(_jobs_query().where(j.c.job_id == job_id)).first()
        return _job(row) if row else None

    def find_jobs(self, key: str, limit: int = 100) -> list[dict[str, Any]]:
        """
        Return the jobs recorded under ``key``, newest first.

        :param key: the caller's idempotency key.
        :param limit: the most jobs to return.
        """
        j = jobs_table
        query = _jobs_query().where(j.c.key == key).order_by(j.c.submitted_at.desc()).limit(limit)
        with self.read_engine.connect() as conn:
            return [_job(r) for r in conn.execute(query).all()]

    def count_rows(self) -> dict[str, int]:
        """Return the number of rows of each table (for tests and ``show``)."""
        with self.read_engine.connect() as conn:
            return {
                name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for name, table in (
                    ("callbacks", callbacks_table),
                    ("deliveries", deliveries_table),
                    ("jobs", jobs_table),
                )
            }
