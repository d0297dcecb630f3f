"""
What the SQLite and PostgreSQL stores share: reads, jobs and purge in SQLAlchemy Core (their cost is not on
the hot path, and Core writes each dialect's SQL and parameter style). Each backend adds its engines, its
schema lock and the hand-written batch write (``sqlite.py``, ``postgres.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from airflow_provider_mavi.bridge.store.records import (
    JOB_ABANDONED,
    JOB_DELIVERED,
    JOB_WAITING,
    JobSubmission,
    PurgeCounts,
    ReceivedCallback,
    SpendRow,
    StoredCallback,
    StoredConsumer,
    StoredDelivery,
    StoredJob,
)
from airflow_provider_mavi.bridge.store.schema import (
    callbacks_table,
    consumers_table,
    deliveries_table,
    ensure_schema,
    jobs_table,
    schema_table,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy.engine import Connection, Engine

    from airflow_provider_mavi.bridge.store.protocol import StoreWatch

IN_CHUNK = 500

_J, _C, _D, _K = jobs_table, callbacks_table, deliveries_table, consumers_table
_JOB_SELECT = sa.select(_J, _C.c.seq.label("delivered")).select_from(
    _J.outerjoin(_C, _C.c.job_id == _J.c.job_id)
)  # ``delivered`` derived from the callbacks table at read time: no race with the writer


def _callback(row: Any) -> StoredCallback:
    return StoredCallback(
        row.job_id, row.seq, row.received_at, row.deliveries, row.payload, bool(row.terminal)
    )


_JOB_FIELDS = [f.name for f in dataclasses.fields(StoredJob) if f.name != "state"]


def _job(row: Any) -> StoredJob:
    """A jobs row as a record: every field of ``StoredJob`` from its column, ``state`` derived."""
    state = JOB_DELIVERED if row.state == JOB_WAITING and row.delivered is not None else row.state
    return StoredJob(**{name: row._mapping[name] for name in _JOB_FIELDS}, state=state)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


class SqlStore:
    """
    The shared part of a SQLAlchemy-backed :class:`~airflow_provider_mavi.bridge.store.CallbackStore`.

    :param write_engine: the engine of writes (small pool; SQLite: one writer at a time).
    :param read_engine: the engine of reads (larger pool, for the app's read threads).
    """

    backend = "sql"
    #: how old a callback must be before the list shows it (see ``PostgresStore``)
    list_settle_seconds = 0.0

    def __init__(self, write_engine: Engine, read_engine: Engine) -> None:
        self.write_engine = write_engine
        self.read_engine = read_engine

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's ``INSERT`` with ``on_conflict_do_update``."""
        raise NotImplementedError

    def _schema_preflight(self, conn: Connection) -> None:
        """First step of :meth:`ensure_schema`'s transaction: lock out other processes, check the backend."""

    def ensure_schema(self) -> None:
        """Create or migrate the tables (see ``schema.ensure_schema``), under the backend's lock."""
        with self.write_engine.begin() as conn:
            self._schema_preflight(conn)
            ensure_schema(conn)

    def ping(self) -> None:
        """Run a trivial query; raises when the store is unreachable."""
        with self.read_engine.connect() as conn:
            conn.execute(sa.select(sa.func.count()).select_from(schema_table)).scalar()

    def close(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        self.read_engine.dispose()

    def watch(self, on_ids: Callable[[list[str]], None]) -> StoreWatch | None:
        """
        No push between processes by default: the app's store poll finds what others stored.

        :param on_ids: unused.
        """
        return None

    # -- reads -------------------------------------------------------------------------------------------

    def get_callbacks(self, job_ids: Sequence[str]) -> list[StoredCallback]:
        """
        Return the records present among ``job_ids``, in arrival order.

        :param job_ids: Mavi's job ids.
        """
        rows: list[Any] = []
        with self.read_engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(job_ids))):
                rows.extend(conn.execute(sa.select(_C).where(_C.c.job_id.in_(chunk))).all())
        rows.sort(key=lambda r: r.seq)
        return [_callback(r) for r in rows]

    def present(self, job_ids: Sequence[str]) -> set[str]:
        """
        Return which of ``job_ids`` have a stored callback.

        :param job_ids: Mavi's job ids.
        """
        found: set[str] = set()
        with self.read_engine.connect() as conn:
            for chunk in _chunks(list(job_ids)):
                found.update(conn.execute(sa.select(_C.c.job_id).where(_C.c.job_id.in_(chunk))).scalars())
        return found

    def list_callbacks(self, after: int, limit: int) -> tuple[list[StoredCallback], int]:
        """
        Return up to ``limit`` records after cursor ``after`` in arrival order, and the next cursor.

        :param after: the cursor of the last record already seen (0 for the start).
        :param limit: the most records to return.
        """
        query = sa.select(_C).where(_C.c.seq > after).order_by(_C.c.seq).limit(limit)
        if self.list_settle_seconds:
            query = query.where(_C.c.received_at <= time.time() - self.list_settle_seconds)
        with self.read_engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_callback(r) for r in rows], (rows[-1].seq if rows else after)

    def get_deliveries(self, job_id: str) -> list[StoredDelivery]:
        """
        Return every distinct body stored for a job, first first.

        :param job_id: Mavi's job id.
        """
        query = sa.select(_D).where(_D.c.job_id == job_id).order_by(_D.c.id)
        with self.read_engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            StoredDelivery(
                r.body_sha256, r.received_at, r.last_received_at, r._mapping["count"], r.terminal, r.payload
            )
            for r in rows
        ]

    def job_kinds(self, job_ids: Sequence[str]) -> dict[str, str]:
        """
        Return the recorded kind of each of ``job_ids`` that has a job record (others are left out).

        :param job_ids: Mavi's job ids.
        """
        kinds: dict[str, str] = {}
        with self.read_engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(job_ids))):
                query = sa.select(_J.c.job_id, _J.c.kind).where(_J.c.job_id.in_(chunk))
                kinds.update({row.job_id: row.kind for row in conn.execute(query)})
        return kinds

    # -- consumers ---------------------------------------------------------------------------------------

    def get_consumer(self, name: str) -> StoredConsumer | None:
        """
        Return a consumer and its cursor, or ``None``.

        :param name: the consumer's name.
        """
        with self.read_engine.connect() as conn:
            row = conn.execute(sa.select(_K).where(_K.c.name == name)).first()
        return StoredConsumer(row.name, row.cursor, row.created_at, row.updated_at) if row else None

    def start_consumer(self, name: str, at_end: bool) -> StoredConsumer:
        """
        Return a consumer, creating it first when missing: at the end of the list, or at its start.

        An existing consumer is returned as it is (a restarted reader resumes where it was). The end is the
        last callback the list can show (on PostgreSQL, settled ones only), so nothing is skipped.

        :param name: the consumer's name.
        :param at_end: create it after every callback stored so far (else before the first).
        """
        now = time.time()
        with self.write_engine.begin() as conn:
            cursor = 0
            if at_end:
                last = sa.select(sa.func.max(_C.c.seq))
                if self.list_settle_seconds:
                    last = last.where(_C.c.received_at <= now - self.list_settle_seconds)
                cursor = int(conn.execute(last).scalar() or 0)
            stmt = self._insert(_K).values(name=name, cursor=cursor, created_at=now, updated_at=now)
            conn.execute(stmt.on_conflict_do_nothing(index_elements=[_K.c.name]))
            row = conn.execute(sa.select(_K).where(_K.c.name == name)).one()
        return StoredConsumer(row.name, row.cursor, row.created_at, row.updated_at)

    def advance_consumer(self, name: str, cursor: int) -> StoredConsumer:
        """
        Move a consumer forward to ``cursor`` (never back: a stale or repeated move changes nothing); a
        missing consumer is created there.

        :param name: the consumer's name.
        :param cursor: the list cursor of the last callback it has processed.
        """
        now = time.time()
        stmt = self._insert(_K).values(name=name, cursor=cursor, created_at=now, updated_at=now)
        ahead = stmt.excluded.cursor > _K.c.cursor
        stmt = stmt.on_conflict_do_update(
            index_elements=[_K.c.name],
            set_={
                "cursor": sa.case((ahead, stmt.excluded.cursor), else_=_K.c.cursor),
                "updated_at": sa.case((ahead, stmt.excluded.updated_at), else_=_K.c.updated_at),
            },
        )
        with self.write_engine.begin() as conn:
            conn.execute(stmt)
            row = conn.execute(sa.select(_K).where(_K.c.name == name)).one()
        return StoredConsumer(row.name, row.cursor, row.created_at, row.updated_at)

    # -- jobs --------------------------------------------------------------------------------------------

    def put_job(self, job: JobSubmission) -> StoredJob:
        """
        Record a submitted job; a repeat updates every field of ``job`` and keeps the first time.

        :param job: the job and what the operator knows of it.
        """
        now = time.time()
        fields = dataclasses.asdict(job)
        changed = {name: value for name, value in fields.items() if name != "job_id"}
        stmt = self._insert(_J).values(**fields, state=JOB_WAITING, submitted_at=now, updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=[_J.c.job_id], set_={**changed, "updated_at": now})
        with self.write_engine.begin() as conn:
            conn.execute(stmt)
            row = conn.execute(_JOB_SELECT.where(_J.c.job_id == job.job_id)).one()
        return _job(row)

    def get_job(self, job_id: str) -> StoredJob | None:
        """
        Return a recorded job, or ``None``.

        :param job_id: Mavi's job id.
        """
        with self.read_engine.connect() as conn:
            row = conn.execute(_JOB_SELECT.where(_J.c.job_id == job_id)).first()
        return _job(row) if row else None

    def find_jobs(self, key: str, limit: int = 100) -> list[StoredJob]:
        """
        Return the jobs recorded under ``key``, newest first.

        :param key: the caller's idempotency key.
        :param limit: the most jobs to return.
        """
        query = _JOB_SELECT.where(_J.c.key == key).order_by(_J.c.submitted_at.desc()).limit(limit)
        with self.read_engine.connect() as conn:
            return [_job(r) for r in conn.execute(query).all()]

    def abandon_job(self, job_id: str) -> StoredJob | None:
        """
        Mark a job as no longer waited for; ``None`` when the job is unknown.

        :param job_id: Mavi's job id.
        """
        with self.write_engine.begin() as conn:
            conn.execute(
                _J.update().where(_J.c.job_id == job_id).values(state=JOB_ABANDONED, updated_at=time.time())
            )
            row = conn.execute(_JOB_SELECT.where(_J.c.job_id == job_id)).first()
        return _job(row) if row else None

    def record_cost(self, job_id: str, cost_usd: float | None) -> StoredJob | None:
        """
        Record a job's price once its task knows it; ``None`` when the job is unknown.

        :param job_id: Mavi's job id.
        :param cost_usd: the price in dollars, None when it cannot be known.
        """
        with self.write_engine.begin() as conn:
            conn.execute(
                _J.update().where(_J.c.job_id == job_id).values(cost_usd=cost_usd, updated_at=time.time())
            )
            row = conn.execute(_JOB_SELECT.where(_J.c.job_id == job_id)).first()
        return _job(row) if row else None

    # -- the Mavi page ---------------------------------------------------------------------------------

    def waiting_jobs(self, limit: int) -> list[StoredJob]:
        """
        Return jobs still waited for (no callback stored, not abandoned), nearest deadline first.

        :param limit: the most jobs to return.
        """
        no_deadline = sa.case((_J.c.deadline.is_(None), 1), else_=0)
        query = (
            _JOB_SELECT.where(_J.c.state == JOB_WAITING, _C.c.seq.is_(None))
            .order_by(no_deadline, _J.c.deadline, _J.c.submitted_at)
            .limit(limit)
        )
        with self.read_engine.connect() as conn:
            return [_job(r) for r in conn.execute(query).all()]

    def received_callbacks(self, limit: int, *, unclaimed: bool = False) -> list[ReceivedCallback]:
        """
        Return the latest callbacks, newest first, each with the job recorded for it.

        :param limit: the most callbacks to return.
        :param unclaimed: only callbacks for which no job is recorded (no task waits for them).
        """
        query = sa.select(_C).order_by(_C.c.seq.desc()).limit(limit)
        if unclaimed:
            query = query.where(~sa.exists().where(_J.c.job_id == _C.c.job_id))
        with self.read_engine.connect() as conn:
            callbacks = [_callback(r) for r in conn.execute(query).all()]
            ids = [c.job_id for c in callbacks]
            jobs = {} if unclaimed or not ids else self._jobs_by_id(conn, ids)
        return [ReceivedCallback(c, jobs.get(c.job_id)) for c in callbacks]

    @staticmethod
    def _jobs_by_id(conn: Connection, job_ids: Sequence[str]) -> dict[str, StoredJob]:
        found: dict[str, StoredJob] = {}
        for chunk in _chunks(job_ids):
            for row in conn.execute(_JOB_SELECT.where(_J.c.job_id.in_(chunk))).all():
                found[row.job_id] = _job(row)
        return found

    def _day(self, epoch: Any) -> Any:
        """The UTC day number (days since the epoch) of an epoch-seconds column, in this dialect's SQL."""
        return sa.func.floor(epoch / 86400)

    def spend(self, since: float) -> list[SpendRow]:
        """
        Return the jobs recorded since ``since`` and their recorded prices, per UTC day and DAG, newest day
        first.

        :param since: epoch seconds.
        """
        day = self._day(_J.c.submitted_at).label("day")
        query = (
            sa.select(
                day,
                _J.c.dag_id,
                sa.func.count().label("jobs"),
                sa.func.count(_J.c.cost_usd).label("priced"),
                sa.func.coalesce(sa.func.sum(_J.c.cost_usd), 0.0).label("cost"),
            )
            .where(_J.c.submitted_at >= since)
            .group_by(day, _J.c.dag_id)
            .order_by(day.desc(), _J.c.dag_id)
        )
        with self.read_engine.connect() as conn:
            rows = conn.execute(query).all()
        epoch = dt.date(1970, 1, 1)
        return [
            SpendRow(
                (epoch + dt.timedelta(days=int(r.day))).isoformat(), r.dag_id, r.jobs, r.priced, float(r.cost)
            )
            for r in rows
        ]

    def count_callbacks(self, since: float) -> int:
        """
        Return how many jobs' callbacks were first received since ``since`` (every replica's).

        :param since: epoch seconds.
        """
        query = sa.select(sa.func.count()).select_from(_C).where(_C.c.received_at >= since)
        with self.read_engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    # -- retention ---------------------------------------------------------------------------------------

    def purge(self, older_than: float) -> PurgeCounts:
        """
        Delete callbacks, deliveries and jobs last touched before ``older_than``; return how many of each.

        :param older_than: epoch seconds.
        """
        with self.write_engine.begin() as conn:
            old_jobs = sa.select(_C.c.job_id).where(_C.c.updated_at < older_than)
            n_d = conn.execute(_D.delete().where(_D.c.job_id.in_(old_jobs))).rowcount
            n_c = conn.execute(_C.delete().where(_C.c.updated_at < older_than)).rowcount
            n_j = conn.execute(_J.delete().where(_J.c.updated_at < older_than)).rowcount
        return PurgeCounts(callbacks=n_c, deliveries=n_d, jobs=n_j)
